//===- Families.h - Per-family Halide lowerings (private) -------*- C++ -*-===//
//
// The entry points lower_op dispatches to, one per file of codegen/halide/,
// and the layout helpers they share. Private to codegen/halide.
//
// Layout: an IR value of rank r is a Func of r pure Vars in Halide order, so
// Var h indexes IR dimension r-1-h. The helpers below translate between IR
// order (outermost first) and Halide order (innermost first).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/halide/Lower.h"

#include <string>
#include <vector>

namespace netc::hl {

/// The same Vars as Exprs in IR order (outermost first).
std::vector<Halide::Expr> ir_index(const std::vector<Halide::Var> &vars);

/// Calls `f` at an index given in IR order.
Halide::Expr call_ir(const Halide::Func &f, const std::vector<Halide::Expr> &ir_idx);

/// The IR-order index into an operand of shape `in` that numpy broadcasting
/// reads for the result index `out_idx` of shape `out` (trailing alignment;
/// a size-1 operand dimension reads index 0).
std::vector<Halide::Expr> broadcast_ir_index(const Shape &in, const Shape &out,
                                             const std::vector<Halide::Expr> &out_idx);

/// Extents of `s` as Exprs, IR order.
std::vector<Halide::Expr> extents(const Shape &s, const Halide::Expr &batch);

/// A fresh, unique Func name with a readable prefix ("softmax_max$3").
std::string fresh_name(const std::string &prefix);

/// Whether Func name `s` starts with `prefix` (the name markers below).
inline bool starts_with(const std::string &s, const char *prefix) {
  return s.rfind(prefix, 0) == 0;
}

/// A sum with no pure loop worth running in parallel, made parallel: the
/// reduction variable `r` of `f`'s first update is split into chunks of
/// `chunk` (`ro` the chunk, `ri` inside one) and rfactored over `ro` into
/// `partial(f's vars..., u)`,
/// computed at the root, vectorised along f's innermost Var, its chunks
/// `u` parallel; `f`'s update then adds the partials in chunk order, so the
/// sum does not depend on the thread count. Returns `partial`, whose update
/// the caller orders (ending with `u`, which it runs in parallel).
Halide::Func rfactor_chunks(Halide::Func f, const Halide::RVar &r, const Halide::RVar &ro,
                            const Halide::RVar &ri, int chunk, const Halide::Var &u, int vw);

/// The largest power of two <= e (e >= 1): a vector width that fits a
/// static extent.
inline int pow2_below(int64_t e) {
  int p = 1;
  while (2 * static_cast<int64_t>(p) <= e)
    p *= 2;
  return p;
}

/// Name prefix of the matmul accumulator, which schedule_output recognises
/// inside fused kernels to tile the kernel's output around it.
inline constexpr const char *kMatmulAcc = "matmul_acc";

/// Name prefix of the matmul's right operand as the accumulator reads it:
/// inlined unless schedule_output packs it, a panel of columns at a time.
inline constexpr const char *kMatmulRhs = "matmul_rhs";

/// Name marker of a reduction whose reduced axes include its input's
/// innermost axis: schedule_output keeps its reduction loop innermost and
/// serial instead of vectorising across outputs.
inline constexpr const char *kInnerTag = "_inner";

/// Name prefix of scatter_add's Func, whose update over the ids
/// schedule_output vectorises along rows but never parallelises (ids repeat).
inline constexpr const char *kScatterAdd = "scatter_add";

/// Name prefix of lower_concat_root's Func: no pure step, one update per
/// piece, each scheduled as a pointwise stage.
inline constexpr const char *kConcatRoot = "concat_root";

Halide::Func lower_leaf(const Node &n, const Halide::Expr &batch);
Halide::Func lower_elementwise(const Node &n, std::span<const Value> in);
Halide::Func lower_matmul(const Node &n, std::span<const Value> in, const Halide::Expr &batch);
Halide::Func lower_reshape(const Node &n, const Value &x, const Halide::Expr &batch);
Halide::Func lower_transpose(const Node &n, const Value &x);
Halide::Func lower_broadcast(const Node &n, const Value &x);
Halide::Func lower_slice(const Node &n, const Value &x);
Halide::Func lower_concat(const Node &n, const Value &a, const Value &b);
Halide::Func lower_one_hot(const Node &n, const Value &labels);
Halide::Func lower_gather(const Node &n, const Value &table, const Value &ids);
Halide::Func lower_scatter_add(const Node &n, const Value &ids, const Value &updates,
                               const Halide::Expr &batch);
Halide::Func lower_reduce(const Node &n, std::span<const Value> in, const Halide::Expr &batch);
Halide::Func lower_loss(const Node &n, std::span<const Value> in, const Halide::Expr &batch);
Halide::Func lower_conv(const Node &n, std::span<const Value> in, const Halide::Expr &batch);

/// Schedules the output of a kernel whose root is conv2d, one of its
/// gradients or a conv2d's elementwise epilogue (register-blocked direct
/// convolution); false for other kernels. `exact_tails`: no point computed
/// twice (an in-place output).
bool schedule_conv(const Node &n, Halide::Func out, const Halide::Target &target,
                   bool exact_tails);

} // namespace netc::hl
