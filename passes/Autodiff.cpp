//===- Autodiff.cpp - Reverse-mode differentiation ------------------------===//
//
// One reverse sweep (Backprop::run) serves every derivative function. On the
// SSA graph (nodes are already topologically ordered):
//   1. copy the forward function's nodes into the new function;
//   2. mark the nodes that depend on a leaf we differentiate with respect to
//      (forward sweep: `active`) and those the output depends on (backward
//      sweep: `needed`); only nodes in both carry adjoints;
//   3. seed adj[output] and walk nodes from the output down, applying each
//      op's VJP and accumulating operand adjoints with `add`;
//   4. read the adjoints of the leaves: @train_step sums them per parameter
//      name, the saliency functions output them per input.
//
// A scan is differentiated by backprop through time: its body becomes a VJP
// function of its own (the same sweep, run on the body with respect to its
// state and the sequences whose adjoints the caller wants), and a reversed
// scan over the saved states runs it (Backprop::scan_vjp, docs/recurrence.md).
// The forward values the VJP reads that depend on the step's matmuls (an
// LSTM's gates) are stored by the forward scan rather than recomputed
// (Backprop::values_to_save, stack_saved). So @train_step and the saliency
// functions both reach through scans.
//
//===----------------------------------------------------------------------===//
#include "passes/Autodiff.h"

#include "ir/OpInfo.h"
#include "ir/Printer.h"

#include <map>
#include <optional>

namespace netc {

std::string grad_output_name(const std::string &param) { return "grad." + param; }

namespace {

bool is_trainable_param(const Module &m, const Node &n) {
  if (n.op != OpKind::Param)
    return false;
  const ParamDecl *p = m.find_param(n.attrs.get_str("name"));
  return p && p->trainable();
}

/// Whether running `f` reads a trainable parameter, itself or in the body of
/// one of its scans (the verifier rules out recursive bodies).
bool reads_trainable(const Module &m, const Function &f) {
  for (const Node &n : f.nodes) {
    if (is_trainable_param(m, n))
      return true;
    if (n.op == OpKind::Scan) {
      const Function *body = m.find_function(n.attrs.get_str("body"));
      if (body && reads_trainable(m, *body))
        return true;
    }
  }
  return false;
}

/// The output names of a body's VJP function (see build_body_vjp).
std::string arg_adjoint_name(const std::string &arg) { return "d." + arg; }
const char *const kGradPrefix = "grad.";

/// Forward values of a scan body stored by the forward scan for the body's
/// VJP (Backprop::values_to_save): the new state (read from the scan's own
/// stacked output) and `values`, body nodes of one leading shape stacked
/// along their last axis into one per-step value of `shape`.
struct Saved {
  bool state = false;
  std::vector<ValueId> values;
  Shape shape;
  bool empty() const { return !state && values.empty(); }
  int64_t axis() const { return static_cast<int64_t>(shape.size()) - 1; }
};

/// Steps 2 and 3 over the first wrt.size() nodes of a function (the forward
/// graph), appending the adjoint computation to it; a scan's VJP
/// differentiates its body into a function of `m` of its own.
class Backprop {
public:
  Backprop(Module &m, Function &f, Diagnostics &diag) : m_(m), f_(f), b_(f), diag_(diag) {}

  /// The adjoint of every forward node given adj[out] = seed, with respect
  /// to the leaves marked in `wrt` and, with `params`, every trainable
  /// parameter (read directly or in a scan body), whose gradients go to
  /// `grads`. False (with an error) where a scan cannot be differentiated.
  bool run(const std::vector<bool> &wrt, bool params, ValueId out, ValueId seed) {
    params_ = params;
    size_t forward_size = wrt.size();
    // Active = depends on a leaf; needed = the output depends on it.
    std::vector<bool> active(forward_size, false), needed(forward_size, false);
    for (size_t i = 0; i < forward_size; ++i) {
      const Node &n = f_.nodes[i];
      active[i] = wrt[i] || (params && is_trainable_param(m_, n));
      if (params && n.op == OpKind::Scan) {
        const Function *body = m_.find_function(n.attrs.get_str("body"));
        active[i] = body && reads_trainable(m_, *body);
      }
      for (ValueId v : n.operands)
        active[i] = active[i] || active[v];
    }
    needed[out] = true;
    for (size_t i = forward_size; i-- > 0;)
      if (needed[i])
        for (ValueId v : f_.nodes[i].operands)
          needed[v] = true;

    adj.assign(forward_size, kNoValue);
    adj[out] = seed;
    for (size_t i = forward_size; i-- > 0;) {
      if (adj[i] == kNoValue || !active[i] || !needed[i])
        continue;
      const Node node = f_.nodes[i]; // copy: the builder appends to f.nodes
      b_.set_loc(node.loc);
      VjpContext ctx{b_, node, static_cast<ValueId>(i), adj[i],
                     std::vector<ValueId>(node.operands.size(), kNoValue)};
      for (ValueId v : node.operands) // only adjoints that flow on to a leaf
        ctx.wants.push_back(active[v]);
      if (node.op == OpKind::Scan) {
        if (!scan_vjp(ctx))
          return false;
      } else if (const OpInfo &info = op_info(node.op); info.vjp) {
        info.vjp(ctx);
      }
      for (size_t k = 0; k < node.operands.size(); ++k) {
        ValueId operand = node.operands[k], dx = ctx.dx[k];
        if (dx == kNoValue || !active[operand])
          continue;
        NETC_ASSERT(f_.nodes[dx].type == f_.nodes[operand].type,
                    std::string("VJP of ") + op_name(node.op) + " gave " +
                        f_.nodes[dx].type.str() + " for an operand of type " +
                        f_.nodes[operand].type.str());
        adj[operand] = adj[operand] == kNoValue ? dx : b_.add(adj[operand], dx);
      }
    }

    // 4. With `params`: one gradient per trainable parameter, summed over
    // its param nodes (and the scans whose bodies read it).
    if (params)
      for (size_t i = 0; i < forward_size; ++i)
        if (is_trainable_param(m_, f_.nodes[i]) && adj[i] != kNoValue) {
          b_.set_loc(f_.nodes[i].loc);
          add_grad(f_.nodes[i].attrs.get_str("name"), adj[i]);
        }
    return true;
  }

  /// The adjoint of each forward node (kNoValue where none reached it).
  std::vector<ValueId> adj;
  /// Per trainable parameter: its gradient (param nodes and scan bodies).
  std::map<std::string, ValueId> grads;

private:
  void add_grad(const std::string &param, ValueId g) {
    auto it = grads.find(param);
    grads[param] = it == grads.end() ? g : b_.add(it->second, g);
  }

  /// Backprop through time (docs/recurrence.md). For
  ///   %h = scan %xs..., %h0 {body = "f", axis = a}
  /// with adjoint %dh, the states before each step are
  ///   %prev = concat(reshape(%h0), slice(%h, 0, T-1))
  /// and one reversed scan over (%xs..., %prev, %dh) with @f.vjp carries the
  /// state's adjoint from step T-1 down to 0; sibling scans select @f.vjp's
  /// other outputs: the adjoint of each sequence the caller wants (stacked)
  /// and, when differentiating parameters, each one's gradient (summed over
  /// the steps). %h0's adjoint is the carried adjoint after step 0, the first
  /// of the stacked ones.
  bool scan_vjp(VjpContext &c) {
    const Node &n = c.node;
    if (n.attrs.get_int("reverse") != 0 || n.attrs.get_int("output") != 0) {
      diag_.error(n.loc, "autodiff: cannot differentiate a reversed scan or one that selects "
                         "a body output other than the state (a gradient of a gradient)");
      return false;
    }
    size_t k = n.operands.size() - 1;
    std::vector<bool> seq_wanted(k);
    for (size_t i = 0; i < k; ++i)
      seq_wanted[i] = c.want(i) && b_.type(n.operands[i]).dtype == DType::F32;
    std::string body = n.attrs.get_str("body");
    Saved saved;
    std::optional<Function> built = build_body_vjp(body, seq_wanted, Saved{}, &saved);
    if (!built)
      return false;
    if (!saved.empty())
      built = build_body_vjp(body, seq_wanted, saved, nullptr);
    std::vector<NamedValue> vjp_outputs = built->outputs;
    std::string vjp = add_function_once(std::move(*built), body + ".vjp");

    int64_t axis = n.attrs.get_int("axis");
    ValueId h0 = n.operands[k];
    TensorType state = b_.type(h0);
    int64_t steps = b_.type(n.operands[0]).shape[axis];
    ValueId prev = b_.reshape(h0, scan_stacked_shape(state.shape, axis, 1));
    if (steps > 1)
      prev = b_.op(OpKind::Concat, {prev, b_.slice(c.self, axis, 0, steps - 1)},
                   Attrs{{"axis", axis}});
    std::vector<ValueId> operands(n.operands.begin(), n.operands.end() - 1);
    operands.push_back(prev);
    operands.push_back(c.dy);
    if (saved.state)
      operands.push_back(c.self);
    if (!saved.values.empty())
      operands.push_back(stack_saved(c, body, saved));
    operands.push_back(b_.constant(0.0, state));
    Attrs base{{"body", vjp}, {"axis", axis}, {"reverse", int64_t(1)}};
    auto select = [&](size_t output, const Shape &step, bool sum) {
      Attrs a = base;
      a.set("output", static_cast<int64_t>(output));
      a.set("shape", step);
      if (sum)
        a.set("sum", int64_t(1));
      return b_.op(OpKind::Scan, operands, a);
    };

    ValueId carried = b_.op(OpKind::Scan, operands, base);
    if (c.want(k))
      c.dx[k] = b_.reshape(b_.slice(carried, axis, 0, 1), state.shape);
    size_t output = 1; // @f.vjp's outputs after d.<state>: see build_body_vjp
    for (size_t i = 0; i < k; ++i)
      if (seq_wanted[i])
        c.dx[i] = select(output++, scan_step_type(b_.type(n.operands[i]), axis).shape, false);
    for (; output < vjp_outputs.size(); ++output) {
      std::string param = vjp_outputs[output].name.substr(std::string(kGradPrefix).size());
      add_grad(param, select(output, m_.find_param(param)->type.shape, true));
    }
    return true;
  }

  /// Adds `f` to the module as @<name>, or finds the same function added
  /// before (the body scanned twice); a different one of that name (other
  /// wanted adjoints, or a later pass pruned its outputs) gets a numbered
  /// name. Returns the name.
  std::string add_function_once(Function f, const std::string &name) {
    std::string chosen = name;
    for (int num = 2;; ++num) {
      f.name = chosen;
      const Function *same = m_.find_function(chosen);
      if (!same) {
        m_.functions.push_back(std::move(f));
        return chosen;
      }
      if (print_function(*same) == print_function(f))
        return chosen;
      chosen = name + std::to_string(num);
    }
  }

  /// Stores `saved.values` in the forward pass: the body becomes
  /// @<body>.save, the same function with one more output, their
  /// concatenation, and the forward scans over the same operands run it (its
  /// state is unchanged); a sibling scan selecting the new output (one loop
  /// with them in codegen) is the stacked [.., T, ..] sequence returned.
  ValueId stack_saved(VjpContext &c, const std::string &body, const Saved &saved) {
    Function save = *m_.find_function(body);
    Builder sb(save);
    sb.set_loc(save.loc);
    ValueId joined = saved.values[0];
    for (size_t i = 1; i < saved.values.size(); ++i)
      joined = sb.op(OpKind::Concat, {joined, saved.values[i]}, Attrs{{"axis", saved.axis()}});
    save.outputs.push_back({"saved", joined});
    int64_t output = static_cast<int64_t>(save.outputs.size()) - 1;
    std::string name = add_function_once(std::move(save), body + ".save");
    std::vector<ValueId> operands = c.node.operands;
    for (Node &other : f_.nodes)
      if (other.op == OpKind::Scan && other.operands == operands &&
          other.attrs.get_str("body") == body)
        other.attrs.set("body", name);
    Attrs a = c.node.attrs;
    a.set("body", name);
    a.set("output", output);
    a.set("shape", saved.shape);
    return b_.op(OpKind::Scan, operands, a);
  }

  /// Builds (does not add) @<body>.vjp(%args of @body..., %grad.out,
  /// %grad.next) from @body(%xs..., %state) -> (%new_state, ...): the adjoint
  /// of the body's new state is grad.out + grad.next (the stacked output's
  /// adjoint at this step plus the state's adjoint carried back from the next
  /// step). Outputs, in order: d.<state arg> (the carried adjoint), d.<xs arg>
  /// for each sequence marked in `seq_wanted` (zero where none flows), and,
  /// when this sweep differentiates parameters, grad.<param> per trainable
  /// parameter the body reads. Sequences not wanted get no adjoint at all.
  std::optional<Function> build_body_vjp(const std::string &body_name,
                                         const std::vector<bool> &seq_wanted,
                                         const Saved &saved, Saved *to_save) {
    const Function body = *m_.find_function(body_name); // copy: m.functions grows
    Function g;
    g.name = body_name + ".vjp";
    g.loc = body.loc;
    Builder gb(g);
    gb.set_loc(body.loc);
    std::vector<ValueId> args = body.args(), remap(body.nodes.size(), kNoValue);
    for (ValueId a : args)
      remap[a] = gb.arg(body.node(a).attrs.get_str("name"), body.type(a));
    ValueId out = body.outputs[0].value;
    ValueId dh = gb.arg("grad.out", body.type(out));
    ValueId saved_state = saved.state ? gb.arg("saved.state", body.type(out)) : kNoValue;
    ValueId saved_values =
        saved.values.empty() ? kNoValue : gb.arg("saved", {DType::F32, saved.shape});
    ValueId dnext = gb.arg("grad.next", body.type(out));
    // The forward graph is copied whole (the adjoint is derived from it);
    // `stored` maps a saved node's copy to its slice of the saved input,
    // which the adjoint reads instead (below).
    std::map<ValueId, ValueId> stored;
    int64_t offset = 0;
    for (size_t i = 0; i < body.nodes.size(); ++i) {
      if (body.nodes[i].op == OpKind::Arg)
        continue;
      Node copy = body.nodes[i];
      for (ValueId &v : copy.operands)
        v = remap[v];
      g.nodes.push_back(std::move(copy));
      remap[i] = static_cast<ValueId>(g.nodes.size() - 1);
      if (saved.state && static_cast<ValueId>(i) == out)
        stored[remap[i]] = saved_state;
      if (std::find(saved.values.begin(), saved.values.end(), static_cast<ValueId>(i)) !=
          saved.values.end()) {
        int64_t size = body.type(static_cast<ValueId>(i)).shape.back();
        stored[remap[i]] = gb.slice(saved_values, saved.axis(), offset, size);
        offset += size;
      }
    }
    size_t forward_size = g.nodes.size();
    // Leaves: the state (its adjoint is carried) and the wanted sequences.
    std::vector<bool> wrt(forward_size, false);
    ValueId state_arg = args.back();
    wrt[remap[state_arg]] = body.type(state_arg).dtype == DType::F32;
    for (size_t i = 0; i + 1 < args.size(); ++i)
      wrt[remap[args[i]]] = seq_wanted[i];
    ValueId seed = gb.add(dh, dnext);
    Backprop inner(m_, g, diag_);
    if (!inner.run(wrt, params_, remap[out], seed))
      return std::nullopt;
    gb.set_loc(body.loc);
    auto adjoint_or_zero = [&](ValueId a) {
      ValueId d = inner.adj[remap[a]];
      return d != kNoValue ? d : gb.constant(0.0, {DType::F32, body.type(a).shape});
    };
    std::vector<NamedValue> outputs;
    outputs.push_back({arg_adjoint_name(body.node(state_arg).attrs.get_str("name")),
                       adjoint_or_zero(state_arg)});
    for (size_t i = 0; i + 1 < args.size(); ++i)
      if (seq_wanted[i])
        outputs.push_back({arg_adjoint_name(body.node(args[i]).attrs.get_str("name")),
                           adjoint_or_zero(args[i])});
    for (const ParamDecl &p : m_.params)
      if (auto it = inner.grads.find(p.name); it != inner.grads.end())
        outputs.push_back({kGradPrefix + p.name, it->second});
    g.outputs = std::move(outputs);
    // The adjoint reads the saved values; the forward nodes that computed
    // them (and what only they needed) are left to dead-code elimination.
    for (size_t j = forward_size; j < g.nodes.size(); ++j)
      for (ValueId &v : g.nodes[j].operands)
        if (auto it = stored.find(v); it != stored.end())
          v = it->second;
    for (NamedValue &o : g.outputs)
      if (auto it = stored.find(o.value); it != stored.end())
        o.value = it->second;
    if (to_save)
      *to_save = values_to_save(body, g, forward_size, remap);
    return g;
  }

  /// The forward values of `body` that its VJP `g` (built without saving;
  /// its first `forward_size` nodes the forward copy, `remap` body -> g)
  /// reads and that depend on a matmul or a convolution within the step:
  /// storing them in the forward scan costs a write and a read per step,
  /// recomputing them the matmul. Those of one leading shape (the first's)
  /// are stacked side by side along their last axis; the new state itself
  /// is read from the scan's own output instead.
  Saved values_to_save(const Function &body, const Function &g, size_t forward_size,
                       const std::vector<ValueId> &remap) {
    std::vector<bool> costly(forward_size, false), read(forward_size, false);
    for (size_t i = 0; i < forward_size; ++i) {
      const Node &n = g.nodes[i];
      costly[i] = n.op == OpKind::MatMul || n.op == OpKind::Conv2D ||
                  n.op == OpKind::Conv2DGradInput || n.op == OpKind::Conv2DGradFilter;
      for (ValueId v : n.operands)
        costly[i] = costly[i] || costly[static_cast<size_t>(v)];
    }
    for (size_t j = forward_size; j < g.nodes.size(); ++j)
      for (ValueId v : g.nodes[j].operands)
        if (static_cast<size_t>(v) < forward_size)
          read[static_cast<size_t>(v)] = true;
    for (const NamedValue &o : g.outputs)
      if (static_cast<size_t>(o.value) < forward_size)
        read[static_cast<size_t>(o.value)] = true;
    Saved s;
    std::optional<Shape> lead;
    for (size_t b = 0; b < body.nodes.size(); ++b) {
      ValueId gi = remap[b];
      if (body.nodes[b].op == OpKind::Arg || gi == kNoValue || !read[gi] || !costly[gi])
        continue;
      if (static_cast<ValueId>(b) == body.outputs[0].value) {
        s.state = true;
        continue;
      }
      TensorType t = body.type(static_cast<ValueId>(b));
      if (t.dtype != DType::F32 || t.rank() == 0 || t.shape.back() == kBatch)
        continue;
      Shape prefix(t.shape.begin(), t.shape.end() - 1);
      if (!lead) {
        lead = prefix;
        s.shape = t.shape;
        s.shape.back() = 0;
      }
      if (prefix != *lead)
        continue;
      s.values.push_back(static_cast<ValueId>(b));
      s.shape.back() += t.shape.back();
    }
    return s;
  }

  Module &m_;
  Function &f_;
  Builder b_;
  Diagnostics &diag_;
  bool params_ = false;
};

/// A function named `name` computing `src`'s nodes (same values), no outputs.
Function forward_copy(const Function &src, const char *name) {
  Function f;
  f.name = name;
  f.loc = src.loc;
  f.nodes = src.nodes;
  return f;
}

/// @train_step: @eval plus d loss / d every trainable parameter.
bool build_train_step(Module &m, const Function &eval, Diagnostics &diag) {
  ValueId loss = eval.output("loss");
  Function f = forward_copy(eval, "train_step");
  std::vector<bool> wrt(f.nodes.size(), false); // the leaves are the parameters
  Backprop bp(m, f, diag);
  Builder b(f);
  b.set_loc(f.nodes[loss].loc);
  if (!bp.run(wrt, /*params=*/true, loss, b.constant(1.0)))
    return false;

  f.outputs = {{"loss", loss}};
  for (const ParamDecl &p : m.params) {
    if (!p.trainable())
      continue;
    auto it = bp.grads.find(p.name);
    if (it == bp.grads.end()) {
      diag.warning(p.loc, "parameter @" + p.name + " does not affect the loss; it will not train");
      continue;
    }
    f.outputs.push_back({grad_output_name(p.name), it->second});
  }
  m.functions.push_back(std::move(f));
  return true;
}

/// The value @saliency differentiates: @predict's first output, or what its
/// final softmax normalises.
ValueId score_value(const Function &predict) {
  ValueId v = predict.outputs[0].value;
  const Node &n = predict.node(v);
  return n.op == OpKind::Softmax || n.op == OpKind::LogSoftmax ? n.operands[0] : v;
}

/// Whether @predict's inputs are all f32 and its first output is f32 with
/// the batch dimension outermost: what an input gradient needs.
bool has_float_inputs(const Function &predict) {
  if (predict.outputs.empty())
    return false;
  for (ValueId a : predict.args())
    if (predict.type(a).dtype != DType::F32)
      return false;
  const TensorType &t = predict.type(score_value(predict));
  return t.dtype == DType::F32 && !t.shape.empty() && t.shape[0] == kBatch;
}

/// A function named `name` computing `src`'s nodes, with an extra argument
/// `extra` of type `extra_type` after `src`'s own. Returns the remapping of
/// src's values.
std::vector<ValueId> copy_with_arg(const Function &src, Function &f, const std::string &name,
                                   const std::string &extra, const TensorType &extra_type) {
  f.name = name;
  f.loc = src.loc;
  std::vector<ValueId> remap(src.nodes.size(), kNoValue);
  size_t num_args = src.args().size();
  for (size_t i = 0; i < src.nodes.size(); ++i) {
    if (i == num_args) {
      Builder b(f);
      b.set_loc(src.loc);
      b.arg(extra, extra_type);
    }
    Node n = src.nodes[i];
    for (ValueId &v : n.operands)
      v = remap[v];
    remap[i] = static_cast<ValueId>(f.nodes.size());
    f.nodes.push_back(std::move(n));
  }
  return remap;
}

/// Appends `grad.<input>` outputs: the adjoints of f's f32 arguments among
/// the first `num_inputs`. False when the output depends on none of them.
bool add_input_grads(Function &f, const std::vector<ValueId> &adj, size_t num_inputs) {
  bool any = false;
  std::vector<ValueId> args = f.args();
  for (size_t k = 0; k < num_inputs; ++k)
    if (adj[args[k]] != kNoValue) {
      f.outputs.push_back({grad_output_name(f.node(args[k]).attrs.get_str("name")), adj[args[k]]});
      any = true;
    }
  return any;
}

/// The leaves to differentiate an input gradient with respect to.
std::vector<bool> float_args(const Function &f) {
  std::vector<bool> wrt(f.nodes.size(), false);
  for (ValueId a : f.args())
    wrt[a] = f.type(a).dtype == DType::F32;
  return wrt;
}

/// @saliency(args of @predict, score.seed): d sum(score * seed) / d inputs.
bool build_saliency(Module &m, const Function &predict, Diagnostics &diag) {
  ValueId score = score_value(predict);
  Function f;
  std::vector<ValueId> remap =
      copy_with_arg(predict, f, "saliency", kSaliencySeedArg, predict.type(score));
  size_t num_inputs = predict.args().size();
  std::vector<bool> wrt = float_args(f);
  wrt[f.args().back()] = false; // the seed is a constant of the sweep
  Backprop bp(m, f, diag);
  if (!bp.run(wrt, /*params=*/false, remap[score], f.args().back()))
    return false;
  f.outputs = {{"score", remap[score]}};
  if (add_input_grads(f, bp.adj, num_inputs))
    m.functions.push_back(std::move(f));
  return true;
}

/// @saliency_loss(args of @eval): d loss / d f32 inputs.
bool build_saliency_loss(Module &m, const Function &eval, Diagnostics &diag) {
  Function f = forward_copy(eval, "saliency_loss");
  ValueId loss = eval.output("loss");
  std::vector<bool> wrt = float_args(f);
  Builder b(f);
  b.set_loc(f.nodes[loss].loc);
  ValueId seed = b.constant(1.0);
  Backprop bp(m, f, diag);
  if (!bp.run(wrt, /*params=*/false, loss, seed))
    return false;
  f.outputs = {{"loss", loss}};
  if (add_input_grads(f, bp.adj, f.args().size()))
    m.functions.push_back(std::move(f));
  return true;
}

} // namespace

bool differentiate(Module &m, Diagnostics &diag) {
  const Function *eval = m.find_function("eval");
  bool has_loss = eval && eval->output("loss") != kNoValue;
  if (has_loss) {
    ValueId loss = eval->output("loss");
    if (eval->type(loss) != TensorType{DType::F32, {}}) {
      diag.error(eval->node(loss).loc,
                 "the loss must be a scalar f32[], found " + eval->type(loss).str(),
                 "reduce it, e.g. with mean(...)");
      return false;
    }
  }
  // Copies: pushing functions invalidates pointers into m.functions.
  std::optional<Function> eval_copy, predict_copy;
  if (has_loss)
    eval_copy = *eval;
  if (const Function *p = m.find_function("predict"); p && has_float_inputs(*p))
    predict_copy = *p;
  if (eval_copy && !build_train_step(m, *eval_copy, diag))
    return false;
  if (predict_copy) {
    if (!build_saliency(m, *predict_copy, diag))
      return false;
    if (eval_copy && !build_saliency_loss(m, *eval_copy, diag))
      return false;
  }
  return true;
}

} // namespace netc
