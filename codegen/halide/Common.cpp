//===- Common.cpp - Shared pieces of the Halide lowering ------------------===//
#include "codegen/halide/Lower.h"

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

} // namespace netc::hl
