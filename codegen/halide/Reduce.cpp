//===- Reduce.cpp - Halide lowering of reduce_sum, reduce_max, reduce_mean
//
// One Func per reduction: a pure initial value, then an update over an RDom
// spanning the reduced axes (innermost axis first; extents may be the batch
// N). reduce_mean adds a second update dividing by the element count.
// reduce_max starts from the slice's first element rather than -inf, which
// Halide's no-NaN/no-Inf float optimisations would not respect.
//
//===----------------------------------------------------------------------===//
#include "codegen/halide/Families.h"

#include <algorithm>

namespace netc::hl {
namespace {

using Halide::Expr;

/// The input index of a reduction: RDom variables on reduced axes, the
/// output's Vars elsewhere (skipping kept size-1 dimensions).
struct ReduceIndex {
  std::vector<Halide::Var> out_vars;
  std::vector<Expr> in_idx; // IR order, reads the RDom
  std::vector<Expr> first;  // IR order, index 0 on reduced axes
  Expr count;               // number of elements folded into one output
  std::optional<Halide::RDom> r;
};

ReduceIndex reduce_index(const Node &n, const Value &x, const Halide::Expr &batch) {
  const Shape &s = x.type.shape;
  std::vector<int64_t> axes = n.attrs.get_ints("axes");
  bool keepdims = n.attrs.get_int("keepdims") != 0;
  auto reduced = [&](size_t d) {
    return std::find(axes.begin(), axes.end(), static_cast<int64_t>(d)) != axes.end();
  };
  ReduceIndex ri;
  ri.out_vars = make_vars(n.type.rank());
  std::vector<Expr> out_idx = ir_index(ri.out_vars);
  std::vector<Halide::Range> ranges; // innermost reduced axis first
  ri.count = 1.0f;
  for (size_t d = s.size(); d-- > 0;)
    if (reduced(d)) {
      ranges.emplace_back(0, extent(s[d], batch));
      ri.count = ri.count * Halide::cast<float>(extent(s[d], batch));
    }
  if (!ranges.empty())
    ri.r = Halide::RDom(ranges, fresh_name("r"));
  size_t next_out = 0, next_r = ranges.size();
  for (size_t d = 0; d < s.size(); ++d) {
    if (reduced(d)) {
      ri.in_idx.push_back((*ri.r)[static_cast<int>(--next_r)]);
      ri.first.push_back(0);
      next_out += keepdims ? 1 : 0;
    } else {
      ri.in_idx.push_back(out_idx[next_out]);
      ri.first.push_back(out_idx[next_out++]);
    }
  }
  return ri;
}

} // namespace

Halide::Func lower_reduce(const Node &n, std::span<const Value> in, const Halide::Expr &batch) {
  NETC_ASSERT(in.size() == 1, "reductions take one operand");
  ReduceIndex ri = reduce_index(n, in[0], batch);
  const std::vector<Halide::Var> &v = ri.out_vars;
  std::vector<int64_t> axes = n.attrs.get_ints("axes");
  bool inner = !axes.empty() && axes.back() + 1 == in[0].type.rank();
  Halide::Func out(fresh_name(std::string(op_name(n.op)) + (inner ? kInnerTag : "")));
  Expr x = call_ir(in[0].func, ri.in_idx);
  if (!ri.r) { // no axes: every output element is one input element
    out(v) = x;
    return out;
  }
  if (n.op == OpKind::ReduceMax) { // out = max_r x
    out(v) = call_ir(in[0].func, ri.first);
    out(v) = Halide::max(out(v), x);
    return out;
  }
  NETC_ASSERT(n.op == OpKind::ReduceSum || n.op == OpKind::ReduceMean, "not a reduction");
  out(v) = 0.0f; // out = Σ_r x
  out(v) += x;
  if (n.op == OpKind::ReduceMean) // out = (Σ_r x) / count
    out(v) = out(v) / ri.count;
  return out;
}

} // namespace netc::hl
