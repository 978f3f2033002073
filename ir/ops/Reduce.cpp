//===- Reduce.cpp - reduce_sum, reduce_max, reduce_mean -------------------===//
//
// Reductions over a sorted set of axes, dropping them or keeping them as 1
// (keepdims). Reducing the batch axis is allowed: the loss is a mean over it.
//
//===----------------------------------------------------------------------===//
#include "ir/ops/Common.h"

#include <algorithm>
#include <limits>

namespace netc::ops {
using namespace opsupport;

namespace {

std::vector<int64_t> axes_of(const Node &n) { return n.attrs.get_ints("axes"); }

TypeResult reduce_infer(const Node &n, std::span<const TensorType> in) {
  if (!n.attrs.is_ints("axes") || !n.attrs.is_int("keepdims"))
    return TypeResult::fail("needs attributes `axes` (ints) and `keepdims` (int)");
  if (std::string e = require_f32(in[0], "operand"); !e.empty())
    return TypeResult::fail(e);
  if (std::string e = check_axes(axes_of(n), in[0].rank()); !e.empty())
    return TypeResult::fail(e + " (operand " + in[0].str() + ")");
  return TypeResult::ok(f32(reduced_shape(in[0].shape, axes_of(n), n.attrs.get_int("keepdims"))));
}

/// Folds each input element into its output slot with `f`, from `init`.
template <typename F>
Tensor reduce_eval(const Node &n, const Tensor &x, double init, F f) {
  Tensor out(DType::F32, reduced_shape(x.shape, axes_of(n), n.attrs.get_int("keepdims")), init);
  std::vector<int64_t> idx = reduce_index(x.shape, axes_of(n));
  for (int64_t i = 0; i < x.size(); ++i)
    out[idx[i]] = f(out[idx[i]], x[i]);
  return out;
}

OpCost reduce_cost(const Node &n, std::span<const TensorType> in, int64_t batch) {
  return {static_cast<double>(num_elements(in[0].shape, batch)), io_bytes(n, in, batch)};
}

/// Number of elements folded into each output: a static count, times the
/// batch size when the batch axis is reduced.
std::pair<double, bool> reduce_count(const Node &n, const Shape &x) {
  double count = 1;
  bool over_batch = false;
  for (int64_t a : axes_of(n)) {
    if (x[a] == kBatch)
      over_batch = true;
    else
      count *= static_cast<double>(x[a]);
  }
  return {count, over_batch};
}

} // namespace

//===-- reduce_sum;  dx = broadcast(dy) -----------------------------------===//
const OpInfo ReduceSumInfo = {
    reduce_infer,
    [](VjpContext &c) {
      Shape xs = c.b.type(c.node.operands[0]).shape;
      c.dx[0] = spread(c.b, c.dy, xs, axes_of(c.node));
    },
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &) {
      return reduce_eval(n, *in[0], 0.0, [](double a, double x) { return a + x; });
    },
    reduce_cost,
};

//===-- reduce_max;  dx = dy where x equals the max, else 0 ---------------===//
// Ties pass the full adjoint to every maximal element.
const OpInfo ReduceMaxInfo = {
    reduce_infer,
    [](VjpContext &c) {
      ValueId x = c.node.operands[0];
      Shape xs = c.b.type(x).shape;
      ValueId y = spread(c.b, c.self, xs, axes_of(c.node));
      ValueId mask = c.b.op(OpKind::Equal, {x, y});
      c.dx[0] = c.b.mul(spread(c.b, c.dy, xs, axes_of(c.node)), mask);
    },
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &) {
      return reduce_eval(n, *in[0], -std::numeric_limits<double>::infinity(),
                         [](double a, double x) { return std::max(a, x); });
    },
    reduce_cost,
};

//===-- reduce_mean;  dx = broadcast(dy) / count --------------------------===//
const OpInfo ReduceMeanInfo = {
    reduce_infer,
    [](VjpContext &c) {
      Shape xs = c.b.type(c.node.operands[0]).shape;
      auto [count, over_batch] = reduce_count(c.node, xs);
      ValueId g = c.dy;
      if (count != 1)
        g = c.b.mul(g, c.b.constant(1.0 / count));
      if (over_batch)
        g = c.b.div(g, c.b.op(OpKind::BatchSize, {}));
      c.dx[0] = spread(c.b, g, xs, axes_of(c.node));
    },
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &) {
      Tensor s = reduce_eval(n, *in[0], 0.0, [](double a, double x) { return a + x; });
      double count = in[0]->size() > 0 ? static_cast<double>(in[0]->size()) / s.size() : 1;
      for (double &v : s.data)
        v /= count;
      return s;
    },
    reduce_cost,
};

} // namespace netc::ops
