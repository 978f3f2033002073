//===- Leaf.cpp - Halide lowering of constant and batch_size --------------===//
//
// The two leaves that are computed rather than passed in: arg and param are
// the kernel's inputs (ImageParams) and never reach lower_op.
//
//===----------------------------------------------------------------------===//
#include "codegen/halide/Families.h"

namespace netc::hl {

Halide::Func lower_leaf(const Node &n, const Halide::Expr &batch) {
  Halide::Func out(fresh_name(op_name(n.op)));
  std::vector<Halide::Var> v = make_vars(n.type.rank());
  if (n.op == OpKind::Constant) {
    // constant v : T — out(i...) = v, in T's dtype.
    double value = n.attrs.get_float("value");
    Halide::Expr e = n.type.dtype == DType::I32
                         ? Halide::Expr(static_cast<int32_t>(value))
                         : Halide::Expr(static_cast<float>(value));
    out(v) = e;
  } else {
    NETC_ASSERT(n.op == OpKind::BatchSize, "not a computed leaf");
    // batch_size : f32[] — out() = N.
    out(v) = Halide::cast<float>(batch);
  }
  return out;
}

} // namespace netc::hl
