//===- Loss.cpp - softmax, log_softmax, cross_entropy ---------------------===//
//
// Numerically stable normalisations and the categorical cross-entropy on
// integer labels. All subtract the maximum before exponentiating.
//
//===----------------------------------------------------------------------===//
#include "ir/ops/Common.h"

#include <cmath>
#include <limits>

namespace netc::ops {
using namespace opsupport;

namespace {

TypeResult axis_infer(const Node &n, std::span<const TensorType> in) {
  if (std::string e = require_f32(in[0], "operand"); !e.empty())
    return TypeResult::fail(e);
  int64_t axis = n.attrs.get_int("axis", -1);
  if (!n.attrs.is_int("axis") || axis < 0 || axis >= in[0].rank())
    return TypeResult::fail("attribute `axis` must be an axis of " + in[0].str());
  return TypeResult::ok(in[0]);
}

/// Visits each 1-D slice along `axis`: f(offset of its first element, stride).
template <typename F> void for_each_slice(const Shape &s, int64_t axis, F f) {
  int64_t inner = 1, outer = 1;
  for (size_t i = axis + 1; i < s.size(); ++i)
    inner *= s[i];
  for (int64_t i = 0; i < axis; ++i)
    outer *= s[i];
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i)
      f(o * s[axis] * inner + i, inner);
}

/// log Σ exp over one slice, stably.
double log_sum_exp(const Tensor &x, int64_t base, int64_t stride, int64_t len) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t k = 0; k < len; ++k)
    m = std::max(m, x[base + k * stride]);
  if (std::isinf(m))
    return m;
  double s = 0;
  for (int64_t k = 0; k < len; ++k)
    s += std::exp(x[base + k * stride] - m);
  return m + std::log(s);
}

Tensor normalise(const Node &n, const Tensor &x, bool log_space) {
  int64_t axis = n.attrs.get_int("axis"), len = x.shape[axis];
  Tensor out(DType::F32, x.shape);
  for_each_slice(x.shape, axis, [&](int64_t base, int64_t stride) {
    double lse = log_sum_exp(x, base, stride, len);
    for (int64_t k = 0; k < len; ++k) {
      double v = x[base + k * stride] - lse;
      out[base + k * stride] = log_space ? v : std::exp(v);
    }
  });
  return out;
}

OpCost normalise_cost(const Node &n, std::span<const TensorType> in, int64_t batch) {
  return elementwise_cost(n, in, batch, 5);
}

} // namespace

//===-- softmax {axis};  dx = y·(dy - Σ_axis dy·y) ------------------------===//
const OpInfo SoftmaxInfo = {
    axis_infer,
    [](VjpContext &c) {
      int64_t axis = c.node.attrs.get_int("axis");
      ValueId s = c.b.reduce_sum(c.b.mul(c.dy, c.self), {axis}, /*keepdims=*/true);
      c.dx[0] = c.b.mul(c.self, c.b.sub(c.dy, s));
    },
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &) {
      return normalise(n, *in[0], false);
    },
    normalise_cost,
};

//===-- log_softmax {axis};  dx = dy - exp(y)·Σ_axis dy -------------------===//
const OpInfo LogSoftmaxInfo = {
    axis_infer,
    [](VjpContext &c) {
      int64_t axis = c.node.attrs.get_int("axis");
      ValueId s = c.b.reduce_sum(c.dy, {axis}, /*keepdims=*/true);
      ValueId p = c.b.op(OpKind::Exp, {c.self});
      c.dx[0] = c.b.sub(c.dy, c.b.mul(p, s));
    },
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &) {
      return normalise(n, *in[0], true);
    },
    normalise_cost,
};

//===-- cross_entropy(logits [..., C], labels i32[...]) -> f32[...] -------===//
// Per example: log Σ_c exp(logits_c) - logits_label.
// d/dlogits = (softmax(logits) - one_hot(label))·dy; labels get no gradient.
// A label outside [0, C) gives NaN; data loaders reject such labels first.
const OpInfo CrossEntropyInfo = {
    /*infer=*/[](const Node &, std::span<const TensorType> in) {
      const TensorType &logits = in[0], &labels = in[1];
      if (std::string e = require_f32(logits, "logits"); !e.empty())
        return TypeResult::fail(e);
      if (labels.dtype != DType::I32)
        return TypeResult::fail("labels must be i32 class indices, found " + labels.str());
      Shape lead(logits.shape.begin(), logits.shape.end() - (logits.rank() ? 1 : 0));
      if (logits.rank() < 1 || labels.shape != lead)
        return TypeResult::fail("logits " + logits.str() + " do not match labels " +
                                labels.str() + ": expected labels of shape " + shape_str(lead));
      return TypeResult::ok(f32(lead));
    },
    /*vjp=*/
    [](VjpContext &c) {
      ValueId logits = c.node.operands[0], labels = c.node.operands[1];
      Shape ls = c.b.type(logits).shape;
      int64_t axis = static_cast<int64_t>(ls.size()) - 1;
      ValueId p = c.b.op(OpKind::Softmax, {logits}, Attrs{{"axis", axis}});
      ValueId onehot = c.b.op(OpKind::OneHot, {labels}, Attrs{{"classes", ls.back()}});
      Shape keep = c.b.type(c.dy).shape;
      keep.push_back(1);
      c.dx[0] = c.b.mul(c.b.sub(p, onehot), c.b.reshape(c.dy, keep));
    },
    /*eval=*/
    [](const Node &, std::span<const Tensor *const> in, const EvalEnv &) {
      const Tensor &x = *in[0], &labels = *in[1];
      int64_t classes = x.shape.back();
      Tensor out(DType::F32, labels.shape);
      for (int64_t i = 0; i < labels.size(); ++i) {
        double label = labels[i];
        if (!(label >= 0 && label < static_cast<double>(classes))) {
          out[i] = std::numeric_limits<double>::quiet_NaN();
          continue;
        }
        out[i] = log_sum_exp(x, i * classes, 1, classes) - x[i * classes + static_cast<int64_t>(label)];
      }
      return out;
    },
    /*cost=*/
    [](const Node &n, std::span<const TensorType> in, int64_t batch) {
      return OpCost{5.0 * static_cast<double>(num_elements(in[0].shape, batch)),
                    io_bytes(n, in, batch)};
    },
};

} // namespace netc::ops
