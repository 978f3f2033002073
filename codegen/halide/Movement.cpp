//===- Movement.cpp - Halide lowering of the movement ops -----------------===//
//
// Index arithmetic only. Reshape is a row-major reinterpretation; it splits
// both shapes into the shortest aligned groups of equal element count (the
// batch N counting as its own factor) and maps each group on its own, so
// [N, 28, 28] -> [N, 784] costs one division by 28, and a group that keeps
// its dimension (N -> N) costs nothing. slice shifts one index; concat
// selects between its operands. one_hot, gather and scatter_add
// index by data: gather is a clamped load, scatter_add an update definition
// over the ids (schedule_output keeps that loop serial: ids repeat).
//
//===----------------------------------------------------------------------===//
#include "codegen/halide/Families.h"

namespace netc::hl {
namespace {

using Halide::Expr;

/// A run of dimensions [begin, end) of each shape holding the same elements.
struct Group {
  size_t in_begin, in_end, out_begin, out_end;
};

/// Static product and whether the batch N is among the dimensions.
struct Size {
  int64_t product = 1;
  bool has_batch = false;
  void take(int64_t d) {
    if (d == kBatch)
      has_batch = true;
    else
      product *= d;
  }
  bool operator==(const Size &) const = default;
};

/// The aligned groups of a reshape from `in` to `out`. Trailing size-1
/// dimensions left over on either side belong to no group.
std::vector<Group> reshape_groups(const Shape &in, const Shape &out) {
  std::vector<Group> groups;
  size_t a = 0, b = 0;
  while (a < in.size() && b < out.size()) {
    Group g{a, a, b, b};
    Size sa, sb;
    sa.take(in[a++]);
    sb.take(out[b++]);
    // Grow the side that lacks N, else the side with fewer elements.
    while (!(sa == sb)) {
      bool grow_in = sa.has_batch != sb.has_batch ? !sa.has_batch : sa.product < sb.product;
      if (grow_in && a < in.size())
        sa.take(in[a++]);
      else if (!grow_in && b < out.size())
        sb.take(out[b++]);
      else
        NETC_UNREACHABLE("reshape " + shape_str(in) + " -> " + shape_str(out) +
                         " changes the element count");
    }
    g.in_end = a;
    g.out_end = b;
    groups.push_back(g);
  }
  return groups;
}

/// Row-major linear index of `idx[begin, end)` within extents `ext`.
Expr linearise(const std::vector<Expr> &idx, const std::vector<Expr> &ext, size_t begin,
               size_t end) {
  Expr lin = idx[begin];
  for (size_t d = begin + 1; d < end; ++d)
    lin = lin * ext[d] + idx[d];
  return lin;
}

// reshape {shape}: x at the input index with the same row-major linear index.
} // namespace

Halide::Func lower_reshape(const Node &n, const Value &x, const Halide::Expr &batch) {
  std::vector<Halide::Var> v = make_vars(n.type.rank());
  std::vector<Expr> out_idx = ir_index(v);
  const Shape &is = x.type.shape, &os = n.type.shape;
  std::vector<Expr> in_ext = extents(is, batch), out_ext = extents(os, batch);
  std::vector<Expr> in_idx(is.size(), Expr(0));
  for (const Group &g : reshape_groups(is, os)) {
    if (g.in_end - g.in_begin == 1 && g.out_end - g.out_begin == 1) {
      in_idx[g.in_begin] = out_idx[g.out_begin]; // the dimension is kept
      continue;
    }
    Expr lin = linearise(out_idx, out_ext, g.out_begin, g.out_end);
    for (size_t d = g.in_end; d-- > g.in_begin;) {
      bool outermost = d == g.in_begin;
      in_idx[d] = outermost ? lin : lin % in_ext[d];
      if (!outermost)
        lin = lin / in_ext[d];
    }
  }
  Halide::Func out(fresh_name("reshape"));
  out(v) = call_ir(x.func, in_idx);
  return out;
}

// transpose {perm}: out[i_0, ..., i_k] = x[j] with j[perm[d]] = i_d.
Halide::Func lower_transpose(const Node &n, const Value &x) {
  std::vector<Halide::Var> v = make_vars(n.type.rank());
  std::vector<Expr> out_idx = ir_index(v), in_idx(out_idx.size());
  std::vector<int64_t> perm = n.attrs.get_ints("perm");
  for (size_t d = 0; d < perm.size(); ++d)
    in_idx[perm[d]] = out_idx[d];
  Halide::Func out(fresh_name("transpose"));
  out(v) = call_ir(x.func, in_idx);
  return out;
}

// broadcast {shape}: out[i] = x[i with size-1 and missing leading dims at 0].
Halide::Func lower_broadcast(const Node &n, const Value &x) {
  std::vector<Halide::Var> v = make_vars(n.type.rank());
  Halide::Func out(fresh_name("broadcast"));
  out(v) = call_ir(x.func, broadcast_ir_index(x.type.shape, n.type.shape, ir_index(v)));
  return out;
}

// slice {axis, begin, size}: out[i] = x[i shifted by begin along axis].
Halide::Func lower_slice(const Node &n, const Value &x) {
  std::vector<Halide::Var> v = make_vars(n.type.rank());
  std::vector<Expr> idx = ir_index(v);
  int64_t axis = n.attrs.get_int("axis");
  idx[axis] = idx[axis] + static_cast<int>(n.attrs.get_int("begin"));
  Halide::Func out(fresh_name("slice"));
  out(v) = call_ir(x.func, idx);
  return out;
}

// concat {axis}: a below a's extent along axis, b after it. Each side's index
// is clamped into its own extent so bounds inference never asks an input
// buffer for the other side's rows.
Halide::Func lower_concat(const Node &n, const Value &a, const Value &b) {
  std::vector<Halide::Var> v = make_vars(n.type.rank());
  std::vector<Expr> ia = ir_index(v), ib = ia;
  int64_t axis = n.attrs.get_int("axis");
  int na = static_cast<int>(a.type.shape[axis]), nb = static_cast<int>(b.type.shape[axis]);
  Expr k = ia[axis];
  ia[axis] = Halide::min(k, na - 1);
  ib[axis] = Halide::clamp(k - na, 0, nb - 1);
  Halide::Func out(fresh_name("concat"));
  out(v) = Halide::select(k < na, call_ir(a.func, ia), call_ir(b.func, ib));
  return out;
}

Halide::Func lower_concat_root(const TensorType &type, int64_t axis, std::span<const Value> pieces) {
  std::vector<Halide::Var> v = make_vars(type.rank());
  Halide::Func out(fresh_name(kConcatRoot));
  out(v) = Halide::undef(Halide::Float(32));
  int64_t begin = 0;
  for (const Value &p : pieces) {
    int64_t size = p.type.shape[static_cast<size_t>(axis)];
    Halide::RDom r(0, static_cast<int>(size), "piece");
    std::vector<Expr> at = ir_index(v), from = at;
    at[axis] = r.x + static_cast<int>(begin);
    from[axis] = r.x;
    std::vector<Expr> lhs(at.rbegin(), at.rend());
    out(lhs) = call_ir(p.func, from);
    begin += size;
  }
  NETC_ASSERT(begin == type.shape[static_cast<size_t>(axis)], "concat pieces do not cover the axis");
  return out;
}

// one_hot {classes}: out[i..., c] = labels[i...] == c ? 1 : 0 (out of range: all 0).
Halide::Func lower_one_hot(const Node &n, const Value &labels) {
  std::vector<Halide::Var> v = make_vars(n.type.rank());
  std::vector<Expr> idx = ir_index(v);
  Expr c = idx.back();
  idx.pop_back();
  Halide::Func out(fresh_name("one_hot"));
  out(v) = Halide::select(call_ir(labels.func, idx) == c, 1.0f, 0.0f);
  return out;
}

// gather: out[i..., d] = 0 <= ids[i...] < V ? table[ids[i...], d] : 0. The
// load is clamped so an out-of-range id never reads outside the table.
Halide::Func lower_gather(const Node &n, const Value &table, const Value &ids) {
  std::vector<Halide::Var> v = make_vars(n.type.rank());
  std::vector<Expr> idx = ir_index(v);
  Expr d = idx.back();
  idx.pop_back();
  int rows = static_cast<int>(table.type.shape[0]);
  Expr id = call_ir(ids.func, idx);
  Expr row = Halide::clamp(id, 0, rows - 1);
  Halide::Func out(fresh_name("gather"));
  out(v) = Halide::select(id >= 0 && id < rows, call_ir(table.func, {row, d}), 0.0f);
  return out;
}

// scatter_add {rows}: out[v, d] = 0, then for every index r of ids (serially,
// in order): out[clamp(ids[r]), d] += valid ? updates[r, d] : 0.
Halide::Func lower_scatter_add(const Node &n, const Value &ids, const Value &updates,
                               const Halide::Expr &batch) {
  std::vector<Halide::Var> v = make_vars(2);
  int rows = static_cast<int>(n.attrs.get_int("rows"));
  Halide::Func out(fresh_name(kScatterAdd));
  out(v) = 0.0f;
  std::vector<Expr> ext = extents(ids.type.shape, batch);
  Halide::Region region;
  for (size_t k = ext.size(); k-- > 0;) // Halide order: innermost first
    region.emplace_back(Expr(0), ext[k]);
  if (region.empty())
    region.emplace_back(Expr(0), Expr(1)); // a scalar id: one update
  Halide::RDom r(region);
  std::vector<Expr> id_idx; // IR order; r[0] is the innermost id dimension
  for (size_t k = 0; k < ids.type.shape.size(); ++k)
    id_idx.push_back(r[static_cast<int>(ids.type.shape.size() - 1 - k)]);
  Expr id = call_ir(ids.func, id_idx);
  std::vector<Expr> upd_idx = id_idx;
  upd_idx.push_back(v[0]);
  Expr valid = id >= 0 && id < rows;
  out(v[0], Halide::clamp(id, 0, rows - 1)) +=
      Halide::select(valid, call_ir(updates.func, upd_idx), 0.0f);
  return out;
}

} // namespace netc::hl
