//===- Matmul.cpp - Halide lowering of matmul -----------------------------===//
//
// matmul [M, K] x [K, P] -> [M, P] as an accumulator Func with a reduction
// over K (whose extent may be the batch N: the weight gradient Xᵀ·dY), and a
// pure output Func that copies it. The split lets schedule_output compute the
// accumulator in a register block inside each output tile (Halide's classic
// matrix-multiply schedule), and lets a fused bias/activation consumer tile
// itself around the same accumulator. The right operand is read through its
// own Func, inlined unless the schedule packs it (a contiguous panel of
// columns, Schedule.cpp).
//
//===----------------------------------------------------------------------===//
#include "codegen/halide/Families.h"

namespace netc::hl {

// C(j, i) = Σ_k A(k, i) · B(j, k)   (Halide order: j indexes P, i indexes M)
Halide::Func lower_matmul(const Node &n, std::span<const Value> in, const Halide::Expr &batch) {
  NETC_ASSERT(in.size() == 2 && in[0].type.rank() == 2 && in[1].type.rank() == 2,
              "matmul takes two rank-2 operands");
  Halide::Var j("j"), i("i");
  Halide::RDom k(0, extent(in[0].type.shape[1], batch), "k");
  Halide::Func acc(fresh_name(kMatmulAcc)), out(fresh_name("matmul"));
  Halide::Func rhs(fresh_name(kMatmulRhs));
  rhs(j, i) = in[1].func(j, i);
  acc(j, i) = 0.0f;
  acc(j, i) += in[0].func(k, i) * rhs(j, k);
  out(j, i) = acc(j, i);
  return out;
}

} // namespace netc::hl
