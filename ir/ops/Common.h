//===- Common.h - Helpers shared by the op family files --------*- C++ -*-===//
//
// Small pieces the family files (Leaf, Elementwise, Matmul, Movement, Reduce,
// Loss) share: type checks that produce the standard messages, broadcasting
// iteration for the reference implementations, and reduction shapes.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/OpInfo.h"

#include <span>
#include <string>
#include <vector>

namespace netc::opsupport {

inline TensorType f32(Shape s) { return {DType::F32, std::move(s)}; }

/// "" if `t` is f32, else the message "<what> must be f32, found i32[N]".
std::string require_f32(const TensorType &t, const char *what);

/// The shape after reducing `axes` of `s` (kept as 1 with keepdims).
Shape reduced_shape(const Shape &s, const std::vector<int64_t> &axes, bool keepdims);

/// Checks that `axes` are sorted, unique and within [0, rank).
std::string check_axes(const std::vector<int64_t> &axes, int rank);

/// out[i] = f(in[i]).
template <typename F> Tensor map_unary(const Tensor &in, F f) {
  Tensor out(DType::F32, in.shape);
  for (int64_t i = 0; i < in.size(); ++i)
    out[i] = f(in[i]);
  return out;
}

/// For each element of a broadcast result of shape `out`, the flat index of
/// the element of an operand of shape `in` it reads (numpy rules).
std::vector<int64_t> broadcast_index(const Shape &in, const Shape &out);

/// out = f(a, b) with numpy broadcasting.
template <typename F>
Tensor map_binary(const Tensor &a, const Tensor &b, const Shape &out_shape, F f) {
  Tensor out(DType::F32, out_shape);
  std::vector<int64_t> ia = broadcast_index(a.shape, out_shape);
  std::vector<int64_t> ib = broadcast_index(b.shape, out_shape);
  for (int64_t i = 0; i < out.size(); ++i)
    out[i] = f(a[ia[i]], b[ib[i]]);
  return out;
}

/// For a reduction of `in` over `axes`, the flat index in the (keepdims or
/// not, same element order) result that each input element contributes to.
std::vector<int64_t> reduce_index(const Shape &in, const std::vector<int64_t> &axes);

/// A shape seen as [outer, extent, inner] around one axis (row-major).
struct AxisSplit {
  int64_t outer = 1, extent = 1, inner = 1;
};
/// For a concrete shape: the element counts before, at and after `axis`.
AxisSplit split_at_axis(const Shape &s, int64_t axis);

/// Elementwise cost: `flops_per_element` per result element, plus I/O bytes.
OpCost elementwise_cost(const Node &n, std::span<const TensorType> in, int64_t batch,
                        double flops_per_element);

/// The adjoint `dy` of a reduction over `axes` spread back to `x_shape`:
/// reshape to the keepdims shape, then broadcast.
ValueId spread(Builder &b, ValueId dy, const Shape &x_shape, const std::vector<int64_t> &axes);

} // namespace netc::opsupport
