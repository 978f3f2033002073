//===- Common.cpp - Shared pieces of the Halide lowering ------------------===//
#include "codegen/halide/Families.h"

namespace netc::hl {

Halide::Expr extent(int64_t d, const Halide::Expr &batch) {
  return d == kBatch ? batch : Halide::Expr(static_cast<int32_t>(d));
}

Halide::Type halide_type(DType t) {
  switch (t) {
  case DType::F32:
    return Halide::Float(32);
  case DType::I32:
    return Halide::Int(32);
  }
  NETC_UNREACHABLE("bad dtype");
}

Halide::Func rfactor_chunks(Halide::Func f, const Halide::RVar &r, const Halide::RVar &ro,
                            const Halide::RVar &ri, int chunk, const Halide::Var &u, int vw) {
  f.update(0).split(r, ro, ri, chunk, Halide::TailStrategy::GuardWithIf);
  Halide::Func partial = f.update(0).rfactor(ro, u);
  partial.compute_root()
      .vectorize(f.args()[0], vw, Halide::TailStrategy::GuardWithIf)
      .parallel(u);
  return partial;
}

} // namespace netc::hl
