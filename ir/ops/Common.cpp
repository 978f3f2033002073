//===- Common.cpp - Helpers shared by the op family files -----------------===//
#include "ir/ops/Common.h"

#include <algorithm>

namespace netc::opsupport {

std::string require_f32(const TensorType &t, const char *what) {
  if (t.dtype == DType::F32)
    return {};
  return std::string(what) + " must be f32, found " + t.str();
}

Shape reduced_shape(const Shape &s, const std::vector<int64_t> &axes, bool keepdims) {
  Shape out;
  for (size_t i = 0; i < s.size(); ++i) {
    bool reduced = std::find(axes.begin(), axes.end(), static_cast<int64_t>(i)) != axes.end();
    if (!reduced)
      out.push_back(s[i]);
    else if (keepdims)
      out.push_back(1);
  }
  return out;
}

std::string check_axes(const std::vector<int64_t> &axes, int rank) {
  for (size_t i = 0; i < axes.size(); ++i) {
    if (axes[i] < 0 || axes[i] >= rank)
      return "axis " + std::to_string(axes[i]) + " is out of range for rank " +
             std::to_string(rank);
    if (i > 0 && axes[i] <= axes[i - 1])
      return "axes must be sorted and unique, found " + shape_str(axes);
  }
  return {};
}

std::vector<int64_t> broadcast_index(const Shape &in, const Shape &out) {
  int64_t total = num_elements(out, 1);
  std::vector<int64_t> idx(static_cast<size_t>(total));
  size_t r = out.size(), lead = r - in.size();
  // Strides of `in` viewed at rank r, 0 where the operand is broadcast.
  std::vector<int64_t> st(r, 0);
  std::vector<int64_t> ins = strides_of(in);
  for (size_t i = lead; i < r; ++i)
    st[i] = in[i - lead] == 1 && out[i] != 1 ? 0 : ins[i - lead];
  std::vector<int64_t> pos(r, 0);
  int64_t src = 0;
  for (int64_t k = 0; k < total; ++k) {
    idx[k] = src;
    // Odometer increment of the output position.
    for (int d = static_cast<int>(r) - 1; d >= 0; --d) {
      src += st[d];
      if (++pos[d] < out[d])
        break;
      src -= st[d] * pos[d];
      pos[d] = 0;
    }
  }
  return idx;
}

std::vector<int64_t> reduce_index(const Shape &in, const std::vector<int64_t> &axes) {
  Shape keep = reduced_shape(in, axes, true);
  return broadcast_index(keep, in);
}

OpCost elementwise_cost(const Node &n, std::span<const TensorType> in, int64_t batch,
                        double flops_per_element) {
  return {flops_per_element * static_cast<double>(num_elements(n.type.shape, batch)),
          io_bytes(n, in, batch)};
}

ValueId spread(Builder &b, ValueId dy, const Shape &x_shape, const std::vector<int64_t> &axes) {
  ValueId k = b.reshape(dy, reduced_shape(x_shape, axes, true));
  return b.broadcast(k, x_shape);
}

AxisSplit split_at_axis(const Shape &s, int64_t axis) {
  AxisSplit sp;
  for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d)
    (d < axis ? sp.outer : d == axis ? sp.extent : sp.inner) *= s[d];
  return sp;
}

} // namespace netc::opsupport
