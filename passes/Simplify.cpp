//===- Simplify.cpp - DCE, CSE, constant folding, algebraic rules ---------===//
#include "passes/Simplify.h"

#include "ir/OpInfo.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

namespace netc {

namespace {

/// The value of a splat constant, if `v` is one.
std::optional<double> splat(const Builder &b, ValueId v) {
  const Node &n = b.node(v);
  if (n.op != OpKind::Constant)
    return std::nullopt;
  return n.attrs.get_float("value");
}

bool is_splat(const Builder &b, ValueId v, double value) { return is_splat_node(b.node(v), value); }

/// `v` if it already has the node's result type (so it can replace it).
std::optional<ValueId> if_same_type(const Builder &b, const Node &n, ValueId v) {
  if (b.type(v) == n.type)
    return v;
  return std::nullopt;
}

using Rule = std::optional<ValueId> (*)(Builder &, const Node &);

/// A piece of a value along one axis: [begin, begin + size), `v` or zeros.
struct Piece {
  int64_t begin, size;
  ValueId v; // kNoValue: a zero constant
};

/// `v` as pieces along `axis`: through concats on that axis, with zero
/// constants marked.
void pieces(const Builder &b, ValueId v, int64_t axis, int64_t begin, std::vector<Piece> &out) {
  const Node &n = b.node(v);
  int64_t size = b.type(v).shape[static_cast<size_t>(axis)];
  if (n.op == OpKind::Concat && n.attrs.get_int("axis") == axis) {
    pieces(b, n.operands[0], axis, begin, out);
    pieces(b, n.operands[1], axis, begin + b.type(n.operands[0]).shape[static_cast<size_t>(axis)], out);
  } else {
    out.push_back({begin, size, is_splat(b, v, 0) ? kNoValue : v});
  }
}

/// add(concat(a, b), concat(c, d)) cut at the same places along the axis is
/// concat(a + c, b + d), and zero pieces drop out: the adjoint of a value
/// read through several slices (an LSTM's gates) is a sum of zero-padded
/// pieces, which becomes one concat of the pieces. Applies when every
/// non-zero piece lies on the common cuts (only zeros are cut further).
std::optional<ValueId> piecewise_add(Builder &b, const Node &n) {
  if (n.op != OpKind::Add || b.type(n.operands[0]) != n.type || b.type(n.operands[1]) != n.type)
    return std::nullopt;
  int64_t axis = -1;
  for (ValueId v : n.operands)
    if (b.node(v).op == OpKind::Concat)
      axis = b.node(v).attrs.get_int("axis");
  if (axis < 0)
    return std::nullopt;
  std::vector<Piece> all;
  pieces(b, n.operands[0], axis, 0, all);
  pieces(b, n.operands[1], axis, 0, all);
  std::set<int64_t> cuts;
  for (const Piece &p : all)
    if (p.v != kNoValue) {
      cuts.insert(p.begin);
      cuts.insert(p.begin + p.size);
    }
  cuts.insert(0);
  cuts.insert(n.type.shape[static_cast<size_t>(axis)]);
  // The result's pieces: the non-zero pieces on each interval, summed.
  std::vector<int64_t> at(cuts.begin(), cuts.end());
  std::vector<std::vector<ValueId>> terms(at.size() - 1);
  for (const Piece &p : all) {
    if (p.v == kNoValue)
      continue;
    size_t i = static_cast<size_t>(std::find(at.begin(), at.end(), p.begin) - at.begin());
    if (at[i + 1] != p.begin + p.size)
      return std::nullopt; // a value would have to be sliced
    terms[i].push_back(p.v);
  }
  ValueId result = kNoValue;
  for (size_t i = 0; i + 1 < at.size(); ++i) {
    TensorType t = n.type;
    t.shape[static_cast<size_t>(axis)] = at[i + 1] - at[i];
    ValueId piece = terms[i].empty() ? b.constant(0.0, t) : terms[i][0];
    for (size_t j = 1; j < terms[i].size(); ++j)
      piece = b.add(piece, terms[i][j]);
    result = result == kNoValue ? piece : b.op(OpKind::Concat, {result, piece}, Attrs{{"axis", axis}});
  }
  return result;
}

// Each rule sees a node whose operands are already simplified (ids in the new
// function) and returns its replacement, or nullopt.
const Rule kRules[] = {
    piecewise_add,
    // x + 0 = x,  0 + x = x
    [](Builder &b, const Node &n) -> std::optional<ValueId> {
      if (n.op != OpKind::Add)
        return std::nullopt;
      if (is_splat(b, n.operands[1], 0))
        return if_same_type(b, n, n.operands[0]);
      if (is_splat(b, n.operands[0], 0))
        return if_same_type(b, n, n.operands[1]);
      return std::nullopt;
    },
    // x - 0 = x,  0 - x = -x
    [](Builder &b, const Node &n) -> std::optional<ValueId> {
      if (n.op != OpKind::Sub)
        return std::nullopt;
      if (is_splat(b, n.operands[1], 0))
        return if_same_type(b, n, n.operands[0]);
      if (is_splat(b, n.operands[0], 0) && b.type(n.operands[1]) == n.type)
        return b.neg(n.operands[1]);
      return std::nullopt;
    },
    // x * 1 = x,  1 * x = x,  x / 1 = x
    [](Builder &b, const Node &n) -> std::optional<ValueId> {
      if ((n.op == OpKind::Mul || n.op == OpKind::Div) && is_splat(b, n.operands[1], 1))
        return if_same_type(b, n, n.operands[0]);
      if (n.op == OpKind::Mul && is_splat(b, n.operands[0], 1))
        return if_same_type(b, n, n.operands[1]);
      return std::nullopt;
    },
    // x * 0 = 0,  0 * x = 0  (x finite)
    [](Builder &b, const Node &n) -> std::optional<ValueId> {
      if (n.op == OpKind::Mul && (is_splat(b, n.operands[0], 0) || is_splat(b, n.operands[1], 0)))
        return b.constant(0.0, n.type);
      return std::nullopt;
    },
    // -(-x) = x
    [](Builder &b, const Node &n) -> std::optional<ValueId> {
      if (n.op == OpKind::Neg && b.node(n.operands[0]).op == OpKind::Neg)
        return b.node(n.operands[0]).operands[0];
      return std::nullopt;
    },
    // x * (-y) = -(x * y)... not applied: it moves work, it does not remove it.
    // reshape(x) = x when the shape is unchanged;  reshape(reshape(x)) = reshape(x)
    [](Builder &b, const Node &n) -> std::optional<ValueId> {
      if (n.op != OpKind::Reshape)
        return std::nullopt;
      ValueId x = n.operands[0];
      if (b.type(x) == n.type)
        return x;
      if (b.node(x).op == OpKind::Reshape)
        return b.reshape(b.node(x).operands[0], n.type.shape);
      return std::nullopt;
    },
    // transpose(x, identity) = x;  transpose(transpose(x, p), q) = transpose(x, p∘q)
    [](Builder &b, const Node &n) -> std::optional<ValueId> {
      if (n.op != OpKind::Transpose)
        return std::nullopt;
      std::vector<int64_t> q = n.attrs.get_ints("perm");
      bool identity = true;
      for (size_t i = 0; i < q.size(); ++i)
        identity = identity && q[i] == static_cast<int64_t>(i);
      if (identity)
        return n.operands[0];
      const Node &inner = b.node(n.operands[0]);
      if (inner.op != OpKind::Transpose)
        return std::nullopt;
      std::vector<int64_t> p = inner.attrs.get_ints("perm"), r(q.size());
      for (size_t j = 0; j < q.size(); ++j)
        r[j] = p[q[j]];
      return b.transpose(inner.operands[0], r);
    },
    // broadcast(x) = x when the shape is unchanged;  reduce over no axes = x
    [](Builder &b, const Node &n) -> std::optional<ValueId> {
      if (n.op == OpKind::Broadcast || n.op == OpKind::ReduceSum || n.op == OpKind::ReduceMean ||
          n.op == OpKind::ReduceMax)
        return if_same_type(b, n, n.operands[0]);
      return std::nullopt;
    },
    // broadcast(reshape(x), S) = broadcast(x, S)  when x itself broadcasts to S
    [](Builder &b, const Node &n) -> std::optional<ValueId> {
      if (n.op != OpKind::Broadcast || b.node(n.operands[0]).op != OpKind::Reshape)
        return std::nullopt;
      ValueId x = b.node(n.operands[0]).operands[0];
      std::optional<Shape> s = broadcast_shapes(b.type(x).shape, n.type.shape);
      if (!s || *s != n.type.shape)
        return std::nullopt;
      return b.broadcast(x, n.type.shape);
    },
    // reshape(broadcast(s, S), T) = broadcast(s, T)  for a single-element s
    [](Builder &b, const Node &n) -> std::optional<ValueId> {
      if (n.op != OpKind::Reshape || b.node(n.operands[0]).op != OpKind::Broadcast)
        return std::nullopt;
      ValueId x = b.node(n.operands[0]).operands[0];
      TensorType xt = b.type(x);
      if (xt.has_batch() || static_elements(xt.shape) != 1 || xt.rank() > n.type.rank())
        return std::nullopt;
      return b.broadcast(b.reshape(x, {}), n.type.shape);
    },
    // a ⊙ broadcast(x) = a ⊙ x  when the op's own broadcasting gives the same shape
    [](Builder &b, const Node &n) -> std::optional<ValueId> {
      if (op_fusion_class(n.op) != FusionClass::Broadcast || n.operands.size() != 2)
        return std::nullopt;
      for (int i = 0; i < 2; ++i) {
        const Node &bc = b.node(n.operands[i]);
        if (bc.op != OpKind::Broadcast)
          continue;
        std::vector<ValueId> ops = n.operands;
        ops[i] = bc.operands[0];
        std::optional<Shape> s = broadcast_shapes(b.type(ops[0]).shape, b.type(ops[1]).shape);
        if (s && *s == n.type.shape)
          return b.op(n.op, ops, n.attrs);
      }
      return std::nullopt;
    },
    // Constant folding: an elementwise op on splat constants is a splat
    // constant; so is reshaping, transposing or broadcasting one.
    [](Builder &b, const Node &n) -> std::optional<ValueId> {
      FusionClass fc = op_fusion_class(n.op);
      bool foldable = (fc == FusionClass::Elementwise || fc == FusionClass::Broadcast ||
                       n.op == OpKind::Reshape || n.op == OpKind::Transpose) &&
                      !n.operands.empty() && n.type.dtype == DType::F32;
      if (!foldable)
        return std::nullopt;
      std::vector<Tensor> scalars;
      for (ValueId v : n.operands) {
        std::optional<double> s = splat(b, v);
        if (!s)
          return std::nullopt;
        scalars.emplace_back(b.type(v).dtype, Shape{}, *s);
      }
      if (n.op == OpKind::Reshape || n.op == OpKind::Transpose || n.op == OpKind::Broadcast)
        return b.constant(scalars[0][0], n.type);
      Node scalar_node = n;
      scalar_node.type = {DType::F32, {}};
      std::vector<const Tensor *> in;
      for (const Tensor &t : scalars)
        in.push_back(&t);
      Tensor r = op_info(n.op).eval(scalar_node, in, EvalEnv{});
      return b.constant(r[0], n.type);
    },
};

using CseKey = std::tuple<OpKind, std::vector<ValueId>, Attrs, DType, Shape>;

/// One forward sweep: rules, folding and CSE into a fresh function.
Function rewrite(const Function &f) {
  Function out;
  out.name = f.name;
  out.loc = f.loc;
  Builder b(out);
  std::map<CseKey, ValueId> seen;
  std::vector<ValueId> remap(f.nodes.size(), kNoValue);
  // CSE over everything the builder appends, including nodes rules create.
  auto intern = [&](size_t first_new) -> ValueId {
    ValueId last = static_cast<ValueId>(out.nodes.size()) - 1;
    for (size_t i = first_new; i < out.nodes.size(); ++i) {
      const Node &n = out.nodes[i];
      if (n.op == OpKind::Arg)
        continue;
      CseKey key{n.op, n.operands, n.attrs, n.type.dtype, n.type.shape};
      seen.emplace(key, static_cast<ValueId>(i));
    }
    return last;
  };
  for (size_t i = 0; i < f.nodes.size(); ++i) {
    Node n = f.nodes[i];
    for (ValueId &v : n.operands)
      v = remap[v];
    b.set_loc(n.loc);
    if (n.op != OpKind::Arg) {
      CseKey key{n.op, n.operands, n.attrs, n.type.dtype, n.type.shape};
      if (auto it = seen.find(key); it != seen.end()) {
        remap[i] = it->second;
        continue;
      }
      size_t before = out.nodes.size();
      std::optional<ValueId> r;
      for (Rule rule : kRules)
        if ((r = rule(b, n)))
          break;
      if (r) {
        intern(before);
        // A rule may have built a node that duplicates an earlier one.
        const Node &rn = out.nodes[*r];
        CseKey rkey{rn.op, rn.operands, rn.attrs, rn.type.dtype, rn.type.shape};
        auto it = seen.find(rkey);
        remap[i] = it != seen.end() && rn.op != OpKind::Arg ? it->second : *r;
        continue;
      }
    }
    out.nodes.push_back(n);
    remap[i] = intern(out.nodes.size() - 1);
  }
  copy_results(f, remap, out);
  return out;
}

/// Drops nodes nothing depends on; keeps Arg nodes and the order.
Function eliminate_dead(const Function &f) {
  std::vector<bool> live = live_nodes(f, /*keep_args=*/true);
  Function out;
  out.name = f.name;
  out.loc = f.loc;
  std::vector<ValueId> remap(f.nodes.size(), kNoValue);
  for (size_t i = 0; i < f.nodes.size(); ++i) {
    if (!live[i])
      continue;
    Node n = f.nodes[i];
    for (ValueId &v : n.operands)
      v = remap[v];
    remap[i] = static_cast<ValueId>(out.nodes.size());
    out.nodes.push_back(std::move(n));
  }
  copy_results(f, remap, out);
  return out;
}

bool same_graph(const Function &a, const Function &b) {
  if (a.nodes.size() != b.nodes.size())
    return false;
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const Node &x = a.nodes[i], &y = b.nodes[i];
    if (x.op != y.op || x.operands != y.operands || !(x.attrs == y.attrs) || x.type != y.type)
      return false;
  }
  return true;
}

} // namespace

bool is_splat_node(const Node &n, double value) {
  return n.op == OpKind::Constant && n.attrs.get_float("value") == value;
}

std::vector<int> use_counts(const Function &f) {
  std::vector<int> uses(f.nodes.size(), 0);
  for (const Node &n : f.nodes)
    for (ValueId v : n.operands)
      ++uses[static_cast<size_t>(v)];
  for (const NamedValue &o : f.outputs)
    ++uses[static_cast<size_t>(o.value)];
  for (const Update &u : f.updates)
    ++uses[static_cast<size_t>(u.value)];
  return uses;
}

void copy_results(const Function &from, const std::vector<ValueId> &remap, Function &to) {
  for (const NamedValue &o : from.outputs)
    to.outputs.push_back({o.name, remap[static_cast<size_t>(o.value)]});
  for (const Update &u : from.updates)
    to.updates.push_back({u.param, remap[static_cast<size_t>(u.value)]});
}

Function rebuild_function(const Function &f, const RebuildHook &hook) {
  Function out;
  out.name = f.name;
  out.loc = f.loc;
  Builder b(out);
  std::vector<ValueId> remap(f.nodes.size(), kNoValue);
  for (size_t i = 0; i < f.nodes.size(); ++i) {
    Node n = f.nodes[i];
    for (ValueId &v : n.operands)
      v = remap[static_cast<size_t>(v)];
    b.set_loc(n.loc);
    if (std::optional<ValueId> r = hook(b, i, n, remap)) {
      remap[i] = *r;
      continue;
    }
    out.nodes.push_back(std::move(n));
    remap[i] = static_cast<ValueId>(out.nodes.size() - 1);
  }
  copy_results(f, remap, out);
  return out;
}

int simplify_function(Function &f) {
  size_t before = f.nodes.size();
  for (int round = 0; round < 16; ++round) {
    Function next = eliminate_dead(rewrite(f));
    bool done = same_graph(next, f);
    f = std::move(next);
    if (done)
      break;
  }
  return static_cast<int>(before) - static_cast<int>(f.nodes.size());
}

bool prune_body_outputs(Module &m) {
  // Which outputs of each body some scan selects (output 0, the state, always).
  std::map<std::string, std::set<int64_t>> selected;
  for (const Function &f : m.functions)
    for (const Node &n : f.nodes)
      if (n.op == OpKind::Scan)
        selected[n.attrs.get_str("body")].insert(n.attrs.get_int("output"));
  // Renumbering: body -> (old output index -> new one).
  std::map<std::string, std::vector<int64_t>> renumber;
  for (Function &f : m.functions) {
    auto it = selected.find(f.name);
    if (it == selected.end() || f.name == "eval" || f.name == "train_step" ||
        f.name == "predict")
      continue;
    std::vector<int64_t> to(f.outputs.size(), -1);
    std::vector<NamedValue> kept;
    for (size_t j = 0; j < f.outputs.size(); ++j)
      if (j == 0 || it->second.count(static_cast<int64_t>(j))) {
        to[j] = static_cast<int64_t>(kept.size());
        kept.push_back(f.outputs[j]);
      }
    if (kept.size() == f.outputs.size())
      continue;
    f.outputs = std::move(kept);
    renumber[f.name] = std::move(to);
  }
  for (Function &f : m.functions)
    for (Node &n : f.nodes)
      if (n.op == OpKind::Scan && n.attrs.get_int("output") > 0)
        if (auto it = renumber.find(n.attrs.get_str("body")); it != renumber.end())
          n.attrs.set("output", it->second[n.attrs.get_int("output")]);
  return !renumber.empty();
}

bool simplify(Module &m, Diagnostics &) {
  // Dead scans found by one round can leave body outputs unused, whose
  // pruning leaves dead nodes in the bodies, a folded scan input leaves its
  // sequence dead, and joined products their parts: repeat until nothing
  // changes.
  bool changed;
  do {
    for (Function &f : m.functions)
      simplify_function(f);
    changed = prune_body_outputs(m);
    changed = fold_scan_inputs(m) || changed;
    for (Function &f : m.functions)
      changed = join_matmuls(f) || changed;
  } while (changed);
  return true;
}

} // namespace netc
