//===- Movement.cpp - reshape, transpose, broadcast, one_hot, gather, ... -===//
//
// Ops that move or replicate data without arithmetic (reshape, transpose,
// broadcast, one_hot, gather, slice, concat), and scatter_add, the adjoint of
// gather (the embedding lookup's pair), which sums the rows it moves.
//
//===----------------------------------------------------------------------===//
#include "ir/ops/Common.h"

#include <algorithm>
#include <fmt/format.h>

namespace netc::ops {
using namespace opsupport;

namespace {
OpCost copy_cost(const Node &n, std::span<const TensorType> in, int64_t batch) {
  return {0, io_bytes(n, in, batch)};
}
int batch_dims(const Shape &s) { return static_cast<int>(std::count(s.begin(), s.end(), kBatch)); }

/// Calls f(i, row) for each ids[i] that names a row in [0, rows); gather and
/// scatter_add skip the others (a zero row, a dropped update).
template <typename F> void for_each_row(const Tensor &ids, int64_t rows, F f) {
  for (int64_t i = 0; i < ids.size(); ++i) {
    double id = ids[i];
    if (id >= 0 && id < static_cast<double>(rows))
      f(i, static_cast<int64_t>(id));
  }
}
} // namespace

//===-- reshape {shape};  dx = reshape(dy, shape of x) --------------------===//
// Per-example element counts must agree, and the batch dimension must be kept
// (it may move, e.g. [N, 28, 28] -> [N, 784]).
const OpInfo ReshapeInfo = {
    /*infer=*/[](const Node &n, std::span<const TensorType> in) {
      if (!n.attrs.is_ints("shape"))
        return TypeResult::fail("needs attribute `shape` (ints)");
      Shape s = n.attrs.get_ints("shape");
      for (int64_t d : s)
        if (d != kBatch && d < 0)
          return TypeResult::fail("negative dimension in " + shape_str(s));
      if (batch_dims(s) > 1 || batch_dims(s) != batch_dims(in[0].shape))
        return TypeResult::fail("cannot reshape " + in[0].str() + " to " + shape_str(s) +
                                ": the batch dimension N must appear once on both sides or on "
                                "neither");
      if (static_elements(s) != static_elements(in[0].shape))
        return TypeResult::fail("cannot reshape " + in[0].str() + " to " + shape_str(s) + ": " +
                                std::to_string(static_elements(in[0].shape)) + " vs " +
                                std::to_string(static_elements(s)) + " elements per example");
      return TypeResult::ok({in[0].dtype, s});
    },
    /*vjp=*/
    [](VjpContext &c) { c.dx[0] = c.b.reshape(c.dy, c.b.type(c.node.operands[0]).shape); },
    /*eval=*/
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &env) {
      Tensor out = *in[0];
      out.shape = concrete_shape(n.type.shape, env.batch);
      return out;
    },
    /*cost=*/copy_cost,
};

//===-- transpose {perm}: out[i...] = x[perm-permuted i...];  dx = transpose(dy, perm⁻¹)
const OpInfo TransposeInfo = {
    /*infer=*/[](const Node &n, std::span<const TensorType> in) {
      std::vector<int64_t> perm = n.attrs.get_ints("perm");
      std::vector<int64_t> sorted = perm;
      std::sort(sorted.begin(), sorted.end());
      bool ok = n.attrs.is_ints("perm") && static_cast<int>(perm.size()) == in[0].rank();
      for (size_t i = 0; ok && i < sorted.size(); ++i)
        ok = sorted[i] == static_cast<int64_t>(i);
      if (!ok)
        return TypeResult::fail("`perm` " + shape_str(perm) + " is not a permutation of the " +
                                std::to_string(in[0].rank()) + " axes of " + in[0].str());
      Shape s;
      for (int64_t p : perm)
        s.push_back(in[0].shape[p]);
      return TypeResult::ok({in[0].dtype, s});
    },
    /*vjp=*/
    [](VjpContext &c) {
      std::vector<int64_t> perm = c.node.attrs.get_ints("perm"), inv(perm.size());
      for (size_t i = 0; i < perm.size(); ++i)
        inv[perm[i]] = static_cast<int64_t>(i);
      c.dx[0] = c.b.transpose(c.dy, inv);
    },
    /*eval=*/
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &) {
      const Tensor &x = *in[0];
      std::vector<int64_t> perm = n.attrs.get_ints("perm");
      Shape out_shape;
      for (int64_t p : perm)
        out_shape.push_back(x.shape[p]);
      Tensor out(x.dtype, out_shape);
      std::vector<int64_t> xs = strides_of(x.shape), pos(perm.size(), 0);
      for (int64_t k = 0; k < out.size(); ++k) {
        int64_t src = 0;
        for (size_t d = 0; d < perm.size(); ++d)
          src += pos[d] * xs[perm[d]];
        out[k] = x[src];
        for (int d = static_cast<int>(perm.size()) - 1; d >= 0; --d) {
          if (++pos[d] < out_shape[d])
            break;
          pos[d] = 0;
        }
      }
      return out;
    },
    /*cost=*/copy_cost,
};

//===-- broadcast {shape}: numpy broadcast to shape;  dx = unbroadcast(dy) -===//
const OpInfo BroadcastInfo = {
    /*infer=*/[](const Node &n, std::span<const TensorType> in) {
      if (!n.attrs.is_ints("shape"))
        return TypeResult::fail("needs attribute `shape` (ints)");
      Shape s = n.attrs.get_ints("shape");
      std::optional<Shape> b = broadcast_shapes(in[0].shape, s);
      if (!b || *b != s)
        return TypeResult::fail("cannot broadcast " + in[0].str() + " to " + shape_str(s));
      return TypeResult::ok({in[0].dtype, s});
    },
    /*vjp=*/
    [](VjpContext &c) { c.dx[0] = c.b.unbroadcast(c.dy, c.b.type(c.node.operands[0]).shape); },
    /*eval=*/
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &env) {
      Shape s = concrete_shape(n.type.shape, env.batch);
      std::vector<int64_t> idx = broadcast_index(in[0]->shape, s);
      Tensor out(in[0]->dtype, s);
      for (int64_t k = 0; k < out.size(); ++k)
        out[k] = (*in[0])[idx[k]];
      return out;
    },
    /*cost=*/copy_cost,
};

//===-- one_hot {classes}: i32[...] -> f32[..., classes]; no gradient -----===//
// A label outside [0, classes) gives an all-zero row.
const OpInfo OneHotInfo = {
    /*infer=*/[](const Node &n, std::span<const TensorType> in) {
      if (in[0].dtype != DType::I32)
        return TypeResult::fail("expects i32 class indices, found " + in[0].str());
      if (!n.attrs.is_int("classes") || n.attrs.get_int("classes") <= 0)
        return TypeResult::fail("needs a positive attribute `classes` (int)");
      Shape s = in[0].shape;
      s.push_back(n.attrs.get_int("classes"));
      return TypeResult::ok(f32(s));
    },
    /*vjp=*/nullptr,
    /*eval=*/
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &) {
      int64_t c = n.attrs.get_int("classes");
      Shape s = in[0]->shape;
      s.push_back(c);
      Tensor out(DType::F32, s);
      for (int64_t i = 0; i < in[0]->size(); ++i) {
        double label = (*in[0])[i];
        if (label >= 0 && label < static_cast<double>(c))
          out[i * c + static_cast<int64_t>(label)] = 1.0;
      }
      return out;
    },
    /*cost=*/copy_cost,
};

//===-- gather: out[i..., d] = table[ids[i...], d]  (table f32[V, D]) -----===//
// An id outside [0, V) gives a zero row. d/dtable = scatter_add(ids, dy)
// {rows = V}; ids get no gradient.
const OpInfo GatherInfo = {
    /*infer=*/[](const Node &, std::span<const TensorType> in) {
      const TensorType &table = in[0], &ids = in[1];
      if (table.dtype != DType::F32 || table.rank() != 2 || table.has_batch())
        return TypeResult::fail("table must be f32[V, D] with static V and D, found " +
                                table.str());
      if (ids.dtype != DType::I32)
        return TypeResult::fail("ids must be i32 row indices, found " + ids.str());
      Shape s = ids.shape;
      s.push_back(table.shape[1]);
      return TypeResult::ok(f32(s));
    },
    /*vjp=*/
    [](VjpContext &c) {
      ValueId ids = c.node.operands[1];
      int64_t rows = c.b.type(c.node.operands[0]).shape[0];
      c.dx[0] = c.b.op(OpKind::ScatterAdd, {ids, c.dy}, Attrs{{"rows", rows}});
    },
    /*eval=*/
    [](const Node &, std::span<const Tensor *const> in, const EvalEnv &) {
      const Tensor &table = *in[0], &ids = *in[1];
      int64_t v = table.shape[0], d = table.shape[1];
      Shape s = ids.shape;
      s.push_back(d);
      Tensor out(DType::F32, s);
      for_each_row(ids, v, [&](int64_t i, int64_t row) {
        for (int64_t j = 0; j < d; ++j)
          out[i * d + j] = table[row * d + j];
      });
      return out;
    },
    /*cost=*/
    [](const Node &n, std::span<const TensorType> in, int64_t batch) {
      // Only the rows read: the ids, and one table row per output row.
      double out = static_cast<double>(num_elements(n.type.shape, batch));
      return OpCost{0, 4.0 * (2 * out + static_cast<double>(num_elements(in[1].shape, batch)))};
    },
};

//===-- scatter_add {rows}: out[v, d] = Σ_{i: ids[i] = v} updates[i, d] ---===//
// ids i32[...], updates f32[..., D] -> f32[rows, D]; rows no id names are
// zero, and updates whose id is outside [0, rows) are dropped.
// d/dupdates = gather(dy, ids); ids get no gradient.
const OpInfo ScatterAddInfo = {
    /*infer=*/[](const Node &n, std::span<const TensorType> in) {
      const TensorType &ids = in[0], &upd = in[1];
      if (ids.dtype != DType::I32)
        return TypeResult::fail("ids must be i32 row indices, found " + ids.str());
      if (std::string e = require_f32(upd, "updates"); !e.empty())
        return TypeResult::fail(e);
      if (!n.attrs.is_int("rows") || n.attrs.get_int("rows") <= 0)
        return TypeResult::fail("needs a positive attribute `rows` (int)");
      Shape lead(upd.shape.begin(), upd.shape.end() - (upd.rank() ? 1 : 0));
      if (upd.rank() < 1 || lead != ids.shape || upd.shape.back() == kBatch)
        return TypeResult::fail("updates " + upd.str() + " do not match ids " + ids.str() +
                                ": expected updates of shape " + shape_str(ids.shape) +
                                " plus a static row length D");
      return TypeResult::ok(f32({n.attrs.get_int("rows"), upd.shape.back()}));
    },
    /*vjp=*/
    [](VjpContext &c) { c.dx[1] = c.b.op(OpKind::Gather, {c.dy, c.node.operands[0]}); },
    /*eval=*/
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &) {
      const Tensor &ids = *in[0], &upd = *in[1];
      int64_t rows = n.attrs.get_int("rows"), d = upd.shape.back();
      Tensor out(DType::F32, {rows, d});
      for_each_row(ids, rows, [&](int64_t i, int64_t row) {
        for (int64_t j = 0; j < d; ++j)
          out[row * d + j] += upd[i * d + j];
      });
      return out;
    },
    /*cost=*/
    [](const Node &n, std::span<const TensorType> in, int64_t batch) {
      return OpCost{static_cast<double>(num_elements(in[1].shape, batch)), io_bytes(n, in, batch)};
    },
};

//===-- slice {axis, begin, size}: out = x[..., begin:begin+size, ...] ------===//
// Along one static axis. dx = dy padded with zeros back to x's extent (a
// concat with zero constants: the pad needs no op of its own).
const OpInfo SliceInfo = {
    /*infer=*/[](const Node &n, std::span<const TensorType> in) {
      if (!n.attrs.is_int("axis") || !n.attrs.is_int("begin") || !n.attrs.is_int("size"))
        return TypeResult::fail("needs attributes `axis`, `begin` and `size` (ints)");
      int64_t axis = n.attrs.get_int("axis"), begin = n.attrs.get_int("begin"),
              size = n.attrs.get_int("size");
      if (axis < 0 || axis >= in[0].rank())
        return TypeResult::fail("attribute `axis` must be an axis of " + in[0].str());
      int64_t extent = in[0].shape[axis];
      if (extent == kBatch)
        return TypeResult::fail("cannot slice the batch dimension of " + in[0].str());
      if (begin < 0 || size <= 0 || begin + size > extent)
        return TypeResult::fail(fmt::format("[{}, {}) is not a non-empty range within axis {} "
                                            "of {} (extent {})",
                                            begin, begin + size, axis, in[0].str(), extent));
      Shape s = in[0].shape;
      s[axis] = size;
      return TypeResult::ok({in[0].dtype, s});
    },
    /*vjp=*/
    [](VjpContext &c) {
      int64_t axis = c.node.attrs.get_int("axis"), begin = c.node.attrs.get_int("begin"),
              size = c.node.attrs.get_int("size");
      Shape full = c.b.type(c.node.operands[0]).shape;
      int64_t after = full[axis] - begin - size;
      auto zeros = [&](int64_t extent) {
        Shape s = full;
        s[axis] = extent;
        return c.b.constant(0.0, f32(s));
      };
      ValueId dx = c.dy;
      Attrs at{{"axis", axis}};
      if (begin > 0)
        dx = c.b.op(OpKind::Concat, {zeros(begin), dx}, at);
      if (after > 0)
        dx = c.b.op(OpKind::Concat, {dx, zeros(after)}, at);
      c.dx[0] = dx;
    },
    /*eval=*/
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &) {
      const Tensor &x = *in[0];
      int64_t axis = n.attrs.get_int("axis"), begin = n.attrs.get_int("begin"),
              size = n.attrs.get_int("size");
      AxisSplit sp = split_at_axis(x.shape, axis);
      Shape s = x.shape;
      s[axis] = size;
      Tensor out(x.dtype, s);
      for (int64_t o = 0; o < sp.outer; ++o)
        for (int64_t k = 0; k < size; ++k)
          for (int64_t i = 0; i < sp.inner; ++i)
            out[(o * size + k) * sp.inner + i] = x[(o * sp.extent + begin + k) * sp.inner + i];
      return out;
    },
    /*cost=*/copy_cost,
};

//===-- concat {axis}: a and b side by side along axis ---------------------===//
// The other dimensions must agree (the batch dimension included); the axis
// must be static. da, db = the two slices of dy.
const OpInfo ConcatInfo = {
    /*infer=*/[](const Node &n, std::span<const TensorType> in) {
      const TensorType &a = in[0], &b = in[1];
      if (!n.attrs.is_int("axis"))
        return TypeResult::fail("needs attribute `axis` (int)");
      int64_t axis = n.attrs.get_int("axis");
      if (a.dtype != b.dtype)
        return TypeResult::fail("operands differ in dtype: " + a.str() + " and " + b.str());
      if (axis < 0 || axis >= a.rank())
        return TypeResult::fail("attribute `axis` must be an axis of " + a.str());
      bool fits = a.rank() == b.rank();
      for (int d = 0; fits && d < a.rank(); ++d)
        fits = d == axis || a.shape[d] == b.shape[d];
      if (!fits)
        return TypeResult::fail("cannot join " + a.str() + " and " + b.str() + " along axis " +
                                std::to_string(axis) + ": the other dimensions differ");
      if (a.shape[axis] == kBatch || b.shape[axis] == kBatch)
        return TypeResult::fail("cannot join along the batch dimension (" + a.str() + ", " +
                                b.str() + ")");
      Shape s = a.shape;
      s[axis] += b.shape[axis];
      return TypeResult::ok({a.dtype, s});
    },
    /*vjp=*/
    [](VjpContext &c) {
      int64_t axis = c.node.attrs.get_int("axis");
      int64_t na = c.b.type(c.node.operands[0]).shape[axis];
      int64_t nb = c.b.type(c.node.operands[1]).shape[axis];
      if (c.want(0))
        c.dx[0] = c.b.slice(c.dy, axis, 0, na);
      if (c.want(1))
        c.dx[1] = c.b.slice(c.dy, axis, na, nb);
    },
    /*eval=*/
    [](const Node &n, std::span<const Tensor *const> in, const EvalEnv &) {
      const Tensor &a = *in[0], &b = *in[1];
      int64_t axis = n.attrs.get_int("axis");
      AxisSplit sa = split_at_axis(a.shape, axis), sb = split_at_axis(b.shape, axis);
      Shape s = a.shape;
      s[axis] += b.shape[axis];
      Tensor out(a.dtype, s);
      int64_t row = (sa.extent + sb.extent) * sa.inner;
      for (int64_t o = 0; o < sa.outer; ++o) {
        int64_t k = o * row;
        for (int64_t i = 0; i < sa.extent * sa.inner; ++i)
          out[k++] = a[o * sa.extent * sa.inner + i];
        for (int64_t i = 0; i < sb.extent * sb.inner; ++i)
          out[k++] = b[o * sb.extent * sb.inner + i];
      }
      return out;
    },
    /*cost=*/copy_cost,
};

} // namespace netc::ops
