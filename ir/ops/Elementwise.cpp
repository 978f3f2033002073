//===- Elementwise.cpp - Unary and broadcasting binary ops ----------------===//
//
// Shape rules, VJPs, reference implementations and costs of the elementwise
// ops. Binary ops broadcast numpy-style; their VJPs sum the adjoint back down
// to each operand's shape (Builder::unbroadcast).
//
//===----------------------------------------------------------------------===//
#include "ir/ops/Common.h"

#include <cmath>
#include <numbers>

namespace netc::ops {
using namespace opsupport;

namespace {

TypeResult unary_infer(const Node &, std::span<const TensorType> in) {
  if (std::string e = require_f32(in[0], "operand"); !e.empty())
    return TypeResult::fail(e);
  return TypeResult::ok(in[0]);
}

TypeResult binary_infer(const Node &n, std::span<const TensorType> in) {
  if (in[0].dtype != in[1].dtype)
    return TypeResult::fail("operand types differ: " + in[0].str() + " and " + in[1].str());
  if (n.op != OpKind::Equal)
    if (std::string e = require_f32(in[0], "operands"); !e.empty())
      return TypeResult::fail(e);
  std::optional<Shape> s = broadcast_shapes(in[0].shape, in[1].shape);
  if (!s)
    return TypeResult::fail("cannot broadcast " + in[0].str() + " and " + in[1].str());
  return TypeResult::ok(f32(*s));
}

template <double (*F)(double)>
Tensor unary_eval(const Node &, std::span<const Tensor *const> in, const EvalEnv &) {
  return map_unary(*in[0], F);
}

template <double (*F)(double, double)>
Tensor binary_eval(const Node &n, std::span<const Tensor *const> in, const EvalEnv &env) {
  return map_binary(*in[0], *in[1], concrete_shape(n.type.shape, env.batch), F);
}

template <int Flops>
OpCost cost_of(const Node &n, std::span<const TensorType> in, int64_t batch) {
  return elementwise_cost(n, in, batch, Flops);
}

double neg_f(double x) { return -x; }
double exp_f(double x) { return std::exp(x); }
double log_f(double x) { return std::log(x); }
double sqrt_f(double x) { return std::sqrt(x); }
double relu_f(double x) { return x > 0 ? x : 0.0; }
double step_f(double x) { return x > 0 ? 1.0 : 0.0; }
double sigmoid_f(double x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }
double tanh_f(double x) { return std::tanh(x); }
double floor_f(double x) { return std::floor(x); }
double cos_f(double x) { return std::cos(x); }
double add_f(double a, double b) { return a + b; }
double sub_f(double a, double b) { return a - b; }
double mul_f(double a, double b) { return a * b; }
double div_f(double a, double b) { return a / b; }
double equal_f(double a, double b) { return a == b ? 1.0 : 0.0; }
double minimum_f(double a, double b) { return a < b ? a : b; }
double maximum_f(double a, double b) { return a > b ? a : b; }
double pow_f(double a, double b) { return std::pow(a, b); }

/// The operands' shapes, for unbroadcasting adjoints.
Shape shape_of(VjpContext &c, int i) { return c.b.type(c.node.operands[i]).shape; }

/// The VJP of minimum and maximum: a gets dy where operand `hi` exceeds
/// operand `lo` (mask step(x_hi - x_lo)), b gets the rest of dy.
void select_vjp(VjpContext &c, int hi, int lo) {
  ValueId diff = c.b.sub(c.node.operands[hi], c.node.operands[lo]);
  ValueId da = c.b.mul(c.dy, c.b.op(OpKind::Step, {diff}));
  if (c.want(0))
    c.dx[0] = c.b.unbroadcast(da, shape_of(c, 0));
  if (c.want(1))
    c.dx[1] = c.b.unbroadcast(c.b.sub(c.dy, da), shape_of(c, 1));
}

} // namespace

//===-- neg: -x;  d/dx = -1 ----------------------------------------------===//
const OpInfo NegInfo = {unary_infer, [](VjpContext &c) { c.dx[0] = c.b.neg(c.dy); },
                        unary_eval<neg_f>, cost_of<1>};

//===-- exp: e^x;  d/dx = e^x = y -----------------------------------------===//
const OpInfo ExpInfo = {unary_infer, [](VjpContext &c) { c.dx[0] = c.b.mul(c.dy, c.self); },
                        unary_eval<exp_f>, cost_of<1>};

//===-- log: ln x;  d/dx = 1/x --------------------------------------------===//
const OpInfo LogInfo = {unary_infer,
                        [](VjpContext &c) { c.dx[0] = c.b.div(c.dy, c.node.operands[0]); },
                        unary_eval<log_f>, cost_of<1>};

//===-- sqrt: √x;  d/dx = 1/(2√x) = 0.5/y ---------------------------------===//
const OpInfo SqrtInfo = {unary_infer,
                         [](VjpContext &c) {
                           ValueId half = c.b.constant(0.5);
                           c.dx[0] = c.b.mul(c.dy, c.b.div(half, c.self));
                         },
                         unary_eval<sqrt_f>, cost_of<1>};

//===-- relu: y = max(x, 0);  d/dx = step(x) = step(y) ---------------------===//
// The mask reads y (y > 0 exactly where x > 0), so the pre-activation has no
// reader but the relu and fuses with it (a matmul's or conv's bias add and
// relu become one epilogue, passes/Fusion.cpp).
const OpInfo ReluInfo = {unary_infer,
                         [](VjpContext &c) {
                           ValueId mask = c.b.op(OpKind::Step, {c.self});
                           c.dx[0] = c.b.mul(c.dy, mask);
                         },
                         unary_eval<relu_f>, cost_of<1>};

//===-- step: 1 where x > 0 else 0; piecewise constant, no gradient -------===//
const OpInfo StepInfo = {unary_infer, nullptr, unary_eval<step_f>, cost_of<1>};

//===-- sigmoid: 1/(1+e^-x);  d/dx = y(1-y) -------------------------------===//
const OpInfo SigmoidInfo = {unary_infer,
                            [](VjpContext &c) {
                              ValueId one_minus = c.b.sub(c.b.constant(1.0), c.self);
                              c.dx[0] = c.b.mul(c.dy, c.b.mul(c.self, one_minus));
                            },
                            unary_eval<sigmoid_f>, cost_of<4>};

//===-- tanh;  d/dx = 1 - y² ----------------------------------------------===//
const OpInfo TanhInfo = {unary_infer,
                         [](VjpContext &c) {
                           ValueId y2 = c.b.mul(c.self, c.self);
                           c.dx[0] = c.b.mul(c.dy, c.b.sub(c.b.constant(1.0), y2));
                         },
                         unary_eval<tanh_f>, cost_of<4>};

//===-- floor: largest integer <= x; piecewise constant, no gradient ------===//
const OpInfo FloorInfo = {unary_infer, nullptr, unary_eval<floor_f>, cost_of<1>};

//===-- cos;  d/dx = -sin x = cos(x + π/2) --------------------------------===//
const OpInfo CosInfo = {unary_infer,
                        [](VjpContext &c) {
                          ValueId half_pi = c.b.constant(std::numbers::pi / 2);
                          ValueId shifted = c.b.add(c.node.operands[0], half_pi);
                          c.dx[0] = c.b.mul(c.dy, c.b.op(OpKind::Cos, {shifted}));
                        },
                        unary_eval<cos_f>, cost_of<4>};

//===-- add: a + b;  da = dy, db = dy (each summed to its shape) ----------===//
const OpInfo AddInfo = {binary_infer,
                        [](VjpContext &c) {
                          if (c.want(0))
                            c.dx[0] = c.b.unbroadcast(c.dy, shape_of(c, 0));
                          if (c.want(1))
                            c.dx[1] = c.b.unbroadcast(c.dy, shape_of(c, 1));
                        },
                        binary_eval<add_f>, cost_of<1>};

//===-- sub: a - b;  da = dy, db = -dy ------------------------------------===//
const OpInfo SubInfo = {binary_infer,
                        [](VjpContext &c) {
                          if (c.want(0))
                            c.dx[0] = c.b.unbroadcast(c.dy, shape_of(c, 0));
                          if (c.want(1))
                            c.dx[1] = c.b.unbroadcast(c.b.neg(c.dy), shape_of(c, 1));
                        },
                        binary_eval<sub_f>, cost_of<1>};

//===-- mul: a * b;  da = dy·b, db = dy·a ---------------------------------===//
const OpInfo MulInfo = {binary_infer,
                        [](VjpContext &c) {
                          ValueId a = c.node.operands[0], b = c.node.operands[1];
                          if (c.want(0))
                            c.dx[0] = c.b.unbroadcast(c.b.mul(c.dy, b), shape_of(c, 0));
                          if (c.want(1))
                            c.dx[1] = c.b.unbroadcast(c.b.mul(c.dy, a), shape_of(c, 1));
                        },
                        binary_eval<mul_f>, cost_of<1>};

//===-- div: a / b;  da = dy/b, db = -dy·a/b² = -dy·y/b -------------------===//
const OpInfo DivInfo = {binary_infer,
                        [](VjpContext &c) {
                          ValueId b = c.node.operands[1];
                          if (c.want(0))
                            c.dx[0] = c.b.unbroadcast(c.b.div(c.dy, b), shape_of(c, 0));
                          if (!c.want(1))
                            return;
                          ValueId t = c.b.div(c.b.mul(c.dy, c.self), b);
                          c.dx[1] = c.b.unbroadcast(c.b.neg(t), shape_of(c, 1));
                        },
                        binary_eval<div_f>, cost_of<1>};

//===-- equal: 1.0 where a == b else 0.0 (a mask; no gradient) ------------===//
const OpInfo EqualInfo = {binary_infer, nullptr, binary_eval<equal_f>, cost_of<1>};

//===-- minimum: a < b ? a : b;  da = dy·[a < b], db = dy·[a >= b] -------===//
// The adjoint goes to one operand; ties go to b (a measure-zero choice).
const OpInfo MinimumInfo = {binary_infer, [](VjpContext &c) { select_vjp(c, 1, 0); },
                            binary_eval<minimum_f>, cost_of<1>};

//===-- maximum: a > b ? a : b;  da = dy·[a > b], db = dy·[a <= b] -------===//
const OpInfo MaximumInfo = {binary_infer, [](VjpContext &c) { select_vjp(c, 0, 1); },
                            binary_eval<maximum_f>, cost_of<1>};

//===-- pow: a^b;  da = dy·b·a^(b-1), db = dy·y·ln a (a > 0) ---------------===//
const OpInfo PowInfo = {binary_infer,
                        [](VjpContext &c) {
                          ValueId a = c.node.operands[0], b = c.node.operands[1];
                          if (c.want(0)) {
                            ValueId bm1 = c.b.sub(b, c.b.constant(1.0));
                            ValueId a_bm1 = c.b.op(OpKind::Pow, {a, bm1});
                            ValueId da = c.b.mul(c.dy, c.b.mul(b, a_bm1));
                            c.dx[0] = c.b.unbroadcast(da, shape_of(c, 0));
                          }
                          if (!c.want(1))
                            return;
                          ValueId ln_a = c.b.op(OpKind::Log, {a});
                          ValueId db = c.b.mul(c.dy, c.b.mul(c.self, ln_a));
                          c.dx[1] = c.b.unbroadcast(db, shape_of(c, 1));
                        },
                        binary_eval<pow_f>, cost_of<8>};

} // namespace netc::ops
