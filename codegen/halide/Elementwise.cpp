//===- Elementwise.cpp - Halide lowering of unary and binary ops ----------===//
//
// Pointwise ops on the result's Vars. Binary ops broadcast numpy-style: an
// operand of lower rank aligns with the trailing dimensions, and a size-1
// dimension reads index 0 (broadcast_ir_index). Arithmetic is float32.
//
//===----------------------------------------------------------------------===//
#include "codegen/halide/Families.h"

namespace netc::hl {
namespace {

using Halide::Expr;

/// The value of elementwise op `op` on operand values `x` (and `y`).
Expr pointwise(OpKind op, Expr x, Expr y) {
  switch (op) {
  case OpKind::Neg: // -x
    return -x;
  case OpKind::Exp: // e^x
    return Halide::exp(x);
  case OpKind::Log: // ln x
    return Halide::log(x);
  case OpKind::Sqrt: // √x
    return Halide::sqrt(x);
  case OpKind::Relu: // x > 0 ? x : 0
    return Halide::select(x > 0.0f, x, 0.0f);
  case OpKind::Step: // x > 0 ? 1 : 0
    return Halide::select(x > 0.0f, 1.0f, 0.0f);
  case OpKind::Sigmoid: { // 1/(1+e^-x) for x ≥ 0, e^x/(1+e^x) below: e = e^-|x| ≤ 1
    Expr e = Halide::exp(-Halide::abs(x));
    return Halide::select(x >= 0.0f, 1.0f / (1.0f + e), e / (1.0f + e));
  }
  case OpKind::Tanh: {
    // Halide's tanh is a scalar libm call per element (17 ns: an LSTM step
    // spent most of its time there); exp vectorises. tanh |x| =
    // (1 - e)/(1 + e) with e = e^-2|x| <= 1 (no overflow) from |x| = 1/4,
    // where the cancellation in 1 - e amplifies exp's rounding 1.5 times at
    // most; below, the odd Taylor series to x^9 (the next term, 1382/155925
    // x^11, is under 1e-8 of tanh there).
    Expr a = Halide::abs(x), x2 = x * x;
    Expr e = Halide::exp(-2.0f * a);
    Expr series =
        a * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315 + x2 * (62.0f / 2835)))));
    Expr t = Halide::select(a < 0.25f, series, (1.0f - e) / (1.0f + e));
    return Halide::select(x < 0.0f, -t, t);
  }
  case OpKind::Floor: // ⌊x⌋
    return Halide::floor(x);
  case OpKind::Cos: // cos x
    return Halide::cos(x);
  case OpKind::Add: // x + y
    return x + y;
  case OpKind::Sub: // x - y
    return x - y;
  case OpKind::Mul: // x * y
    return x * y;
  case OpKind::Div: // x / y
    return x / y;
  case OpKind::Equal: // x == y ? 1 : 0 (f32 or i32 operands, f32 result)
    return Halide::select(x == y, 1.0f, 0.0f);
  case OpKind::Minimum: // x < y ? x : y
    return Halide::min(x, y);
  case OpKind::Maximum: // x > y ? x : y
    return Halide::max(x, y);
  case OpKind::Pow: // x^y
    return Halide::pow(x, y);
  // The other families' ops, listed from Ops.def by family (lower_op sends
  // none of them here), so a new elementwise op fails the build until it has
  // a case above, and a new family until it has a line here.
#define NETC_OTHER_Elementwise(Name)
#define NETC_OTHER_Leaf(Name) case OpKind::Name:
#define NETC_OTHER_Matmul(Name) case OpKind::Name:
#define NETC_OTHER_Movement(Name) case OpKind::Name:
#define NETC_OTHER_Reduce(Name) case OpKind::Name:
#define NETC_OTHER_Conv(Name) case OpKind::Name:
#define NETC_OTHER_Loss(Name) case OpKind::Name:
#define NETC_OTHER_Control(Name) case OpKind::Name:
#define NETC_OP(Name, Spelling, Arity, Family, Fusion, AttrDoc) NETC_OTHER_##Family(Name)
#include "ir/Ops.def"
    break;
  }
  NETC_UNREACHABLE(std::string("not an elementwise op: ") + op_name(op));
}

} // namespace

Halide::Func lower_elementwise(const Node &n, std::span<const Value> in) {
  Halide::Func out(fresh_name(op_name(n.op)));
  std::vector<Halide::Var> v = make_vars(n.type.rank());
  std::vector<Expr> idx = ir_index(v);
  if (in.size() == 1) {
    out(v) = pointwise(n.op, call_ir(in[0].func, idx), Expr());
    return out;
  }
  NETC_ASSERT(in.size() == 2, "elementwise ops take one or two operands");
  Expr a = call_ir(in[0].func, broadcast_ir_index(in[0].type.shape, n.type.shape, idx));
  Expr b = call_ir(in[1].func, broadcast_ir_index(in[1].type.shape, n.type.shape, idx));
  out(v) = pointwise(n.op, a, b);
  return out;
}

} // namespace netc::hl
