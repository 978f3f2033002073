//===- ScanFold.cpp - A sequence input nonzero at one step joins the state -===//
//
// A scan body that adds one of its sequence inputs to its state, and reads
// neither otherwise, depends on the two only through their sum:
//
//   @f(%x_t..., %g_t, %s) { %a = add %g_t, %s  ... uses %a, never %g_t or %s }
//
// When the scan's %g is zero at every step but the first it runs (the last
// one for a reversed scan), the sum at that step is g_first + init and, at
// every later step, the carried state itself. So the scan can start from
// g_first + init, the body can read its state where it read %a, and %g is
// no longer an input. A backprop-through-time scan is this case whenever the
// loss reads only the last state: its body adds the stacked output's adjoint
// (%grad.out) to the carried one (%grad.next), and that adjoint is zero but
// at the last step (docs/recurrence.md). The fold saves building the
// mostly-zero [N, T, ..] adjoint sequence and the per-step add.
//
//===----------------------------------------------------------------------===//
#include "passes/Simplify.h"

#include "ir/OpInfo.h"

#include <map>
#include <optional>

namespace netc {

namespace {

/// The index of the sequence argument of `body` that the body only adds to
/// its state (the last argument), which it reads nowhere else: the add's
/// operands are exactly that argument and the state, of the same type.
std::optional<size_t> added_to_state(const Function &body) {
  std::vector<ValueId> args = body.args();
  if (args.size() < 2)
    return std::nullopt;
  ValueId state = args.back();
  std::vector<int> uses = use_counts(body);
  ValueId user = kNoValue;
  for (size_t i = 0; i < body.nodes.size(); ++i)
    for (ValueId v : body.nodes[i].operands)
      if (v == state)
        user = static_cast<ValueId>(i);
  if (user == kNoValue || uses[static_cast<size_t>(state)] != 1)
    return std::nullopt;
  const Node &add = body.node(user);
  if (add.op != OpKind::Add || add.type != body.type(state))
    return std::nullopt;
  ValueId other = add.operands[0] == state ? add.operands[1] : add.operands[0];
  for (size_t a = 0; a + 1 < args.size(); ++a)
    if (args[a] == other && uses[static_cast<size_t>(other)] == 1 &&
        body.type(other) == body.type(state))
      return a;
  return std::nullopt;
}

bool is_zero(const Function &f, ValueId v) { return is_splat_node(f.node(v), 0.0); }

/// The step `step` of the sequence `v` of `f` (its `axis` removed) when `v`
/// is zero at every other step, built with `b` (which appends to `f`);
/// nullopt when that cannot be shown. With `b` null it only asks (the value
/// is then kNoValue). Seen through zero constants, concatenations along the
/// axis (each part holding the step or zero) and along other axes (each part
/// sparse the same way), and single-step sequences.
std::optional<ValueId> only_step(const Function &f, Builder *b, ValueId v, int64_t axis,
                                 int64_t step) {
  const Node &n = f.node(v);
  TensorType t = f.type(v);
  Shape step_shape = scan_step_type(t, axis).shape;
  if (is_zero(f, v))
    return b ? b->constant(0.0, {t.dtype, step_shape}) : kNoValue;
  if (n.op == OpKind::Concat) {
    int64_t cat = n.attrs.get_int("axis");
    ValueId first = n.operands[0], second = n.operands[1];
    if (cat == axis) {
      int64_t cut = f.type(first).shape[static_cast<size_t>(axis)];
      if (step < cut)
        return is_zero(f, second) ? only_step(f, b, first, axis, step) : std::nullopt;
      return is_zero(f, first) ? only_step(f, b, second, axis, step - cut) : std::nullopt;
    }
    std::optional<ValueId> x = only_step(f, b, first, axis, step);
    std::optional<ValueId> y = x ? only_step(f, b, second, axis, step) : std::nullopt;
    if (!y)
      return std::nullopt;
    return b ? b->op(OpKind::Concat, {*x, *y}, Attrs{{"axis", cat > axis ? cat - 1 : cat}})
             : kNoValue;
  }
  if (t.shape[static_cast<size_t>(axis)] == 1 && step == 0)
    return b ? b->reshape(v, step_shape) : kNoValue;
  return std::nullopt;
}

/// Whether scan node `n` of `f` can run without its sequence operand `a`:
/// that sequence has a static step count and is shown zero after the first
/// step the scan runs. With `b` (appending to `f`), builds the new initial
/// state; else only asks (the value is then kNoValue).
std::optional<ValueId> folded_init(const Function &f, Builder *b, const Node &n, size_t a) {
  ValueId seq = n.operands[a], init = n.operands.back();
  int64_t axis = n.attrs.get_int("axis");
  int64_t steps = f.type(seq).shape[static_cast<size_t>(axis)];
  if (steps == kBatch || steps < 1 || scan_step_type(f.type(seq), axis) != f.type(init))
    return std::nullopt;
  int64_t first = n.attrs.get_int("reverse", 0) != 0 ? steps - 1 : 0;
  std::optional<ValueId> g = only_step(f, b, seq, axis, first);
  if (!g || !b)
    return g;
  return b->add(*g, init);
}

/// `body` without its argument `a`, reading its state where it read the
/// state plus that argument.
Function without_added_arg(const Function &body, size_t a) {
  std::vector<ValueId> args = body.args();
  ValueId dropped = args[a], state = args.back();
  Function out;
  out.name = body.name;
  out.loc = body.loc;
  std::vector<ValueId> remap(body.nodes.size(), kNoValue);
  for (size_t i = 0; i < body.nodes.size(); ++i) {
    const Node &n = body.nodes[i];
    if (static_cast<ValueId>(i) == dropped)
      continue;
    if (n.op == OpKind::Add && (n.operands[0] == dropped || n.operands[1] == dropped)) {
      remap[i] = remap[static_cast<size_t>(state)];
      continue;
    }
    Node copy = n;
    for (ValueId &v : copy.operands)
      v = remap[static_cast<size_t>(v)];
    if (n.op == OpKind::Arg && static_cast<ValueId>(i) > dropped) // renumbered
      copy.attrs.set("index", n.attrs.get_int("index") - 1);
    remap[i] = static_cast<ValueId>(out.nodes.size());
    out.nodes.push_back(std::move(copy));
  }
  copy_results(body, remap, out);
  return out;
}

/// Rebuilds `f` with the scans over the bodies in `fold` (body -> argument)
/// passing the folded initial state instead of that argument.
Function with_folded_scans(const Function &f, const std::map<std::string, size_t> &fold) {
  return rebuild_function(f, [&](Builder &b, size_t, Node &n,
                                 const std::vector<ValueId> &) -> std::optional<ValueId> {
    if (n.op != OpKind::Scan)
      return std::nullopt;
    if (auto it = fold.find(n.attrs.get_str("body")); it != fold.end()) {
      ValueId init = *folded_init(b.function(), &b, n, it->second);
      n.operands.erase(n.operands.begin() + static_cast<std::ptrdiff_t>(it->second));
      n.operands.back() = init;
    }
    return std::nullopt;
  });
}

} // namespace

bool fold_scan_inputs(Module &m) {
  // The bodies whose every scan can fold the argument the body adds to its
  // state (a body scanned elsewhere over a dense sequence keeps it).
  std::map<std::string, size_t> fold;
  std::map<std::string, bool> all_fold;
  for (const Function &body : m.functions)
    if (std::optional<size_t> a = added_to_state(body))
      fold[body.name] = *a;
  if (fold.empty())
    return false;
  for (const Function &f : m.functions) {
    for (const Node &n : f.nodes)
      if (n.op == OpKind::Scan)
        if (auto it = fold.find(n.attrs.get_str("body")); it != fold.end()) {
          bool ok = folded_init(f, nullptr, n, it->second).has_value();
          auto [at, fresh] = all_fold.emplace(it->first, ok);
          at->second = at->second && ok;
        }
  }
  for (auto it = fold.begin(); it != fold.end();)
    it = all_fold.count(it->first) && all_fold[it->first] ? std::next(it) : fold.erase(it);
  if (fold.empty())
    return false;
  for (Function &f : m.functions) {
    if (auto it = fold.find(f.name); it != fold.end())
      f = without_added_arg(f, it->second);
    f = with_folded_scans(f, fold);
  }
  return true;
}

} // namespace netc
