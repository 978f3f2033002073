//===- ShapeInference.cpp - Recompute every node's type -------------------===//
#include "passes/ShapeInference.h"

#include "ir/OpInfo.h"

namespace netc {

namespace {

/// A node "has no type" when the parser left it default-constructed: f32 of
/// rank 0 on an op whose rule gives something else. Scalars that really are
/// f32[] re-derive to the same type, so treating them as absent is harmless.
bool untyped(const Node &n) { return n.type == TensorType{} ; }

bool infer_function(Function &f, Diagnostics &diag) {
  bool ok = true;
  std::vector<bool> bad(f.nodes.size(), false);
  std::vector<TensorType> in;
  for (size_t i = 0; i < f.nodes.size(); ++i) {
    Node &n = f.nodes[i];
    in.clear();
    bool operand_bad = false;
    for (ValueId v : n.operands) {
      operand_bad |= bad[v];
      in.push_back(f.nodes[v].type);
    }
    // An error upstream already explains this node; do not cascade.
    if (operand_bad) {
      bad[i] = true;
      continue;
    }
    TypeResult r = infer_type(n, in);
    if (!r.type) {
      diag.error(n.loc, std::string(op_name(n.op)) + ": " + r.error);
      bad[i] = true;
      ok = false;
      continue;
    }
    if (untyped(n)) {
      n.type = *r.type;
    } else if (n.type != *r.type) {
      diag.error(n.loc, std::string(op_name(n.op)) + ": declared type " + n.type.str() +
                            " but the operands give " + r.type->str());
      bad[i] = true;
      ok = false;
    }
  }
  return ok;
}

} // namespace

bool infer_shapes(Module &m, Diagnostics &diag) {
  bool ok = true;
  for (Function &f : m.functions)
    ok &= infer_function(f, diag);
  return ok;
}

} // namespace netc
