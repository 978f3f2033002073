//===- Loss.cpp - Halide lowering of softmax, log_softmax, cross_entropy --===//
//
// All three go through the stable log-sum-exp of a 1-D slice along an axis:
// lse = m + log Σ exp(x - m) with m the slice's maximum. The maximum and the
// sum are two small Funcs over the remaining dimensions ("row statistics"),
// marked compute_root here: that is valid wherever the kernel puts the op,
// costs one pass over the rows, and schedule_output vectorises them.
//
//===----------------------------------------------------------------------===//
#include "codegen/halide/Families.h"

#include <limits>

namespace netc::hl {
namespace {

using Halide::Expr;

/// The log-sum-exp of `x` along IR axis `axis`, as a function of the other
/// indices (IR order, `axis` removed).
struct RowStats {
  Halide::Func max, sum;
  /// lse at the IR index `idx` of x (its `axis` entry is ignored).
  Expr lse(std::vector<Expr> idx) const {
    idx.erase(idx.begin() + axis);
    return call_ir(max, idx) + Halide::log(call_ir(sum, idx));
  }
  int64_t axis;
};

RowStats row_stats(const Value &x, int64_t axis, const Halide::Expr &batch) {
  const Shape &s = x.type.shape;
  // A reduction over the innermost IR axis: the scheduler keeps it serial.
  std::string tag = axis + 1 == x.type.rank() ? kInnerTag : "";
  RowStats st{Halide::Func(fresh_name("row_max" + tag)), Halide::Func(fresh_name("row_sum" + tag)),
              axis};
  std::vector<Halide::Var> kv = make_vars(x.type.rank() - 1);
  std::vector<Expr> keep = ir_index(kv), at = keep, first = keep;
  Halide::RDom r(0, extent(s[axis], batch), fresh_name("r"));
  at.insert(at.begin() + axis, r.x);
  first.insert(first.begin() + axis, 0);
  // max_r x, from the slice's first element (no -inf under fast math).
  st.max(kv) = call_ir(x.func, first);
  st.max(kv) = Halide::max(st.max(kv), call_ir(x.func, at));
  // Σ_r exp(x - max)
  st.sum(kv) = 0.0f;
  st.sum(kv) += Halide::exp(call_ir(x.func, at) - st.max(kv));
  st.max.compute_root();
  st.sum.compute_root();
  return st;
}

// softmax {axis}: exp(x - lse);  log_softmax {axis}: x - lse.
Halide::Func normalise(const Node &n, const Value &x, const Halide::Expr &batch) {
  RowStats st = row_stats(x, n.attrs.get_int("axis"), batch);
  std::vector<Halide::Var> v = make_vars(n.type.rank());
  std::vector<Expr> idx = ir_index(v);
  Expr shifted = call_ir(x.func, idx) - st.lse(idx);
  Halide::Func out(fresh_name(op_name(n.op)));
  out(v) = n.op == OpKind::Softmax ? Halide::exp(shifted) : shifted;
  return out;
}

// cross_entropy(logits [..., C], labels [...]): lse(logits) - logits[label];
// NaN where the label is outside [0, C), as the reference.
Halide::Func cross_entropy(const Node &n, const Value &logits, const Value &labels,
                           const Halide::Expr &batch) {
  int64_t axis = logits.type.rank() - 1, classes = logits.type.shape.back();
  RowStats st = row_stats(logits, axis, batch);
  std::vector<Halide::Var> v = make_vars(n.type.rank());
  std::vector<Expr> idx = ir_index(v);
  Expr label = call_ir(labels.func, idx);
  std::vector<Expr> at = idx;
  at.push_back(Halide::clamp(label, 0, static_cast<int32_t>(classes - 1)));
  Expr loss = st.lse(at) - call_ir(logits.func, at);
  Expr nan = Halide::Expr(std::numeric_limits<float>::quiet_NaN());
  Halide::Func out(fresh_name("cross_entropy"));
  // strict_float: under Halide's default fast math a NaN constant may be folded away.
  out(v) = Halide::strict_float(
      Halide::select(label >= 0 && label < static_cast<int32_t>(classes), loss, nan));
  return out;
}

} // namespace

Halide::Func lower_loss(const Node &n, std::span<const Value> in, const Halide::Expr &batch) {
  if (n.op == OpKind::CrossEntropy) {
    NETC_ASSERT(in.size() == 2, "cross_entropy takes logits and labels");
    return cross_entropy(n, in[0], in[1], batch);
  }
  NETC_ASSERT(in.size() == 1 && (n.op == OpKind::Softmax || n.op == OpKind::LogSoftmax),
              "softmax and log_softmax take one operand");
  return normalise(n, in[0], batch);
}

} // namespace netc::hl
