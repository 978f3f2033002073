//===- Autodiff.cpp - Reverse-mode differentiation ------------------------===//
//
// One reverse sweep (backpropagate) serves every derivative function. On the
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
//===----------------------------------------------------------------------===//
#include "passes/Autodiff.h"

#include "ir/OpInfo.h"

#include <map>

namespace netc {

std::string grad_output_name(const std::string &param) { return "grad." + param; }

namespace {

bool is_trainable_param(const Module &m, const Node &n) {
  if (n.op != OpKind::Param)
    return false;
  const ParamDecl *p = m.find_param(n.attrs.get_str("name"));
  return p && p->trainable();
}

/// Steps 2 and 3 over the first wrt.size() nodes of b's function (the
/// forward graph): the adjoint of every forward node given adj[out] = seed,
/// with respect to the leaves marked in `wrt`; kNoValue where none flows.
std::vector<ValueId> backpropagate(Builder &b, const std::vector<bool> &wrt, ValueId out, ValueId seed) {
  const Function &f = b.function();
  size_t forward_size = wrt.size();
  std::vector<bool> active(forward_size, false), needed(forward_size, false);
  for (size_t i = 0; i < forward_size; ++i) {
    active[i] = wrt[i];
    for (ValueId v : f.nodes[i].operands)
      active[i] = active[i] || active[v];
  }
  needed[out] = true;
  for (size_t i = forward_size; i-- > 0;)
    if (needed[i])
      for (ValueId v : f.nodes[i].operands)
        needed[v] = true;

  std::vector<ValueId> adj(forward_size, kNoValue);
  adj[out] = seed;
  for (size_t i = forward_size; i-- > 0;) {
    if (adj[i] == kNoValue || !active[i] || !needed[i])
      continue;
    const Node node = f.nodes[i]; // copy: the builder appends to f.nodes
    const OpInfo &info = op_info(node.op);
    if (!info.vjp)
      continue;
    b.set_loc(node.loc);
    VjpContext ctx{b, node, static_cast<ValueId>(i), adj[i],
                   std::vector<ValueId>(node.operands.size(), kNoValue)};
    for (ValueId v : node.operands) // only adjoints that flow on to a leaf
      ctx.wants.push_back(active[v]);
    info.vjp(ctx);
    for (size_t k = 0; k < node.operands.size(); ++k) {
      ValueId operand = node.operands[k], dx = ctx.dx[k];
      if (dx == kNoValue || !active[operand])
        continue;
      NETC_ASSERT(f.nodes[dx].type == f.nodes[operand].type,
                  std::string("VJP of ") + op_name(node.op) + " gave " + f.nodes[dx].type.str() +
                      " for an operand of type " + f.nodes[operand].type.str());
      adj[operand] = adj[operand] == kNoValue ? dx : b.add(adj[operand], dx);
    }
  }
  return adj;
}

/// @train_step: @eval plus d loss / d every trainable parameter.
void build_train_step(Module &m, const Function &eval, Diagnostics &diag) {
  ValueId loss = eval.output("loss");
  Function f;
  f.name = "train_step";
  f.loc = eval.loc;
  f.nodes = eval.nodes;
  size_t forward_size = f.nodes.size();
  std::vector<bool> wrt(forward_size);
  for (size_t i = 0; i < forward_size; ++i)
    wrt[i] = is_trainable_param(m, f.nodes[i]);
  Builder b(f);
  b.set_loc(f.nodes[loss].loc);
  std::vector<ValueId> adj = backpropagate(b, wrt, loss, b.constant(1.0));

  // 4. One gradient per trainable parameter, summed over its param nodes.
  std::map<std::string, ValueId> grads;
  for (size_t i = 0; i < forward_size; ++i) {
    if (!wrt[i] || adj[i] == kNoValue)
      continue;
    std::string name = f.nodes[i].attrs.get_str("name");
    auto it = grads.find(name);
    b.set_loc(f.nodes[i].loc);
    grads[name] = it == grads.end() ? adj[i] : b.add(it->second, adj[i]);
  }
  f.outputs = {{"loss", loss}};
  for (const ParamDecl &p : m.params) {
    if (!p.trainable())
      continue;
    auto it = grads.find(p.name);
    if (it == grads.end()) {
      diag.warning(p.loc, "parameter @" + p.name + " does not affect the loss; it will not train");
      continue;
    }
    f.outputs.push_back({grad_output_name(p.name), it->second});
  }
  m.functions.push_back(std::move(f));
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
/// `extra` of type `extra_type` after `src`'s own (kNoValue: none). Returns
/// the remapping of src's values.
std::vector<ValueId> copy_with_arg(const Function &src, Function &f, const std::string &name,
                                   const std::string &extra, const TensorType &extra_type) {
  f.name = name;
  f.loc = src.loc;
  std::vector<ValueId> remap(src.nodes.size(), kNoValue);
  size_t num_args = src.args().size();
  for (size_t i = 0; i < src.nodes.size(); ++i) {
    if (i == num_args && !extra.empty()) {
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
std::vector<bool> float_args(const Function &f, size_t forward_size) {
  std::vector<bool> wrt(forward_size, false);
  for (ValueId a : f.args())
    wrt[a] = static_cast<size_t>(a) < forward_size && f.type(a).dtype == DType::F32;
  return wrt;
}

/// @saliency(args of @predict, score.seed): d sum(score * seed) / d inputs.
void build_saliency(Module &m, const Function &predict) {
  ValueId score = score_value(predict);
  Function f;
  std::vector<ValueId> remap =
      copy_with_arg(predict, f, "saliency", kSaliencySeedArg, predict.type(score));
  size_t num_inputs = predict.args().size();
  std::vector<bool> wrt = float_args(f, f.nodes.size());
  wrt[f.args().back()] = false; // the seed is a constant of the sweep
  Builder b(f);
  std::vector<ValueId> adj = backpropagate(b, wrt, remap[score], f.args().back());
  f.outputs = {{"score", remap[score]}};
  if (add_input_grads(f, adj, num_inputs))
    m.functions.push_back(std::move(f));
}

/// @saliency_loss(args of @eval): d loss / d f32 inputs.
void build_saliency_loss(Module &m, const Function &eval) {
  Function f;
  std::vector<ValueId> remap = copy_with_arg(eval, f, "saliency_loss", "", {});
  ValueId loss = remap[eval.output("loss")];
  std::vector<bool> wrt = float_args(f, f.nodes.size());
  Builder b(f);
  b.set_loc(f.nodes[loss].loc);
  std::vector<ValueId> adj = backpropagate(b, wrt, loss, b.constant(1.0));
  f.outputs = {{"loss", loss}};
  if (add_input_grads(f, adj, f.args().size()))
    m.functions.push_back(std::move(f));
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
  if (eval_copy)
    build_train_step(m, *eval_copy, diag);
  if (predict_copy) {
    build_saliency(m, *predict_copy);
    if (eval_copy)
      build_saliency_loss(m, *eval_copy);
  }
  return true;
}

} // namespace netc
