//===- Autodiff.cpp - Reverse-mode differentiation of the loss ------------===//
//
// The algorithm, on the SSA graph (nodes are already topologically ordered):
//   1. copy @eval's nodes into @train_step, keeping only the loss output;
//   2. mark the nodes that depend on a trainable parameter (forward sweep)
//      and those the loss depends on (backward sweep); only nodes in both
//      carry adjoints;
//   3. seed adj[loss] = 1 and walk nodes from the loss down, applying each
//      op's VJP and accumulating operand adjoints with `add`;
//   4. sum the adjoints of param nodes per parameter name.
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

} // namespace

bool differentiate(Module &m, Diagnostics &diag) {
  const Function *eval = m.find_function("eval");
  if (!eval || eval->output("loss") == kNoValue)
    return true;
  ValueId loss = eval->output("loss");
  if (eval->type(loss) != TensorType{DType::F32, {}}) {
    diag.error(eval->node(loss).loc,
               "the loss must be a scalar f32[], found " + eval->type(loss).str(),
               "reduce it, e.g. with mean(...)");
    return false;
  }

  Function f;
  f.name = "train_step";
  f.loc = eval->loc;
  f.nodes = eval->nodes;
  size_t forward_size = f.nodes.size();

  // 2. Active = depends on a trainable parameter; needed = the loss depends on it.
  std::vector<bool> active(forward_size, false), needed(forward_size, false);
  for (size_t i = 0; i < forward_size; ++i) {
    active[i] = is_trainable_param(m, f.nodes[i]);
    for (ValueId v : f.nodes[i].operands)
      active[i] = active[i] || active[v];
  }
  needed[loss] = true;
  for (size_t i = forward_size; i-- > 0;)
    if (needed[i])
      for (ValueId v : f.nodes[i].operands)
        needed[v] = true;

  // 3. Reverse sweep.
  Builder b(f);
  std::vector<ValueId> adj(forward_size, kNoValue);
  b.set_loc(f.nodes[loss].loc);
  adj[loss] = b.constant(1.0);
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

  // 4. One gradient per trainable parameter, summed over its param nodes.
  std::map<std::string, ValueId> grads;
  for (size_t i = 0; i < forward_size; ++i) {
    if (!is_trainable_param(m, f.nodes[i]) || adj[i] == kNoValue)
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
  return true;
}

} // namespace netc
