//===- Lower.h - IR ops to Halide definitions ------------------*- C++ -*-===//
//
// One lowering per op family (codegen/halide/<Family>.cpp, beside
// ir/ops/<Family>.cpp). A value of IR shape [d0, ..., dk] is a Halide Func
// with k+1 pure variables in Halide order: the first variable indexes the
// LAST IR dimension (innermost), the last variable the first (outermost).
// Dimensions equal to the batch N take their extent from the `batch` Expr.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <Halide.h>
#include <span>
#include <vector>

namespace netc::hl {

/// A lowered value: its Halide Func and its IR type.
struct Value {
  Halide::Func func;
  TensorType type;
};

/// The extent of IR dimension `d` (a constant, or `batch` for N).
Halide::Expr extent(int64_t d, const Halide::Expr &batch);

/// `rank` fresh pure Vars, Halide order (the first is the innermost).
std::vector<Halide::Var> make_vars(int rank);

/// The Halide element type of an IR dtype.
Halide::Type halide_type(DType t);

/// Defines node `n` (not a leaf: arg and param are the kernel's inputs) from
/// its operands' values. `batch` is the runtime batch size (an int32 Expr).
/// The returned Func carries a default schedule suitable when it is a
/// kernel's output (compute_root is the caller's business).
Halide::Func lower_op(const Node &n, std::span<const Value> operands, const Halide::Expr &batch);

/// Schedules `out`, the output of a kernel whose root node is `n`, for the
/// CPU. Precondition: `out` is the pipeline's output Func (the schedule
/// reads its output_buffer() bounds).
/// Vectorised inner loops, parallel outer loops, matmul tiled for cache
/// and registers. `target` is the Halide target the kernel compiles for.
/// `exact_tails`: the output may alias an input (an in-place update), so no
/// loop may recompute an element (GuardWithIf tails, never ShiftInwards).
/// `streams_state`: the output is an optimizer's step fused into the
/// gradient it follows, whose epilogue reads and writes the parameter and
/// its moments, each the output's size: a small enough matmul then runs
/// its blocks of rows outermost, so they stream row after row.
/// `long_reduction`: a matmul whose reduction runs over many rows (a scan's
/// weight gradient over every step's rows, ScanLoop::after) is blocked
/// along the reduction too, so a block of the right operand stays in cache
/// while every output tile uses it.
/// `costly`: how many of the kernel's nodes are transcendental functions
/// (is_transcendental), which make a pointwise output worth running in
/// parallel at fewer elements.
/// `rhs_packed`: the matmul's right operand arrives packed into panels of
/// matmul_panel_cols columns (Kernel::packed_rhs), read in place.
/// `co_outputs`: the Funcs of the values `out` (a Tuple) writes besides its
/// root (Kernel::also). When `out` is a plain pointwise loop nest, each is
/// computed once per vector of it, into registers: Halide simplifies each
/// Tuple element on its own, so the root's expression would compute them
/// again (an LSTM step's new hidden state all five sigmoids and tanhs of
/// its gates and cell).
/// No argument has a default: each is a property of the kernel that the
/// caller must state (a defaulted rhs_packed went unpassed from 8bcfedc to
/// 1b52c53, and every step copied the panels it should have read in place).
void schedule_output(const Node &n, Halide::Func out, const Halide::Target &target,
                     bool exact_tails, bool streams_state, bool long_reduction, int costly,
                     bool rhs_packed, const std::vector<Halide::Func> &co_outputs);

/// Columns of the panels the matmul schedule sweeps on `target`: 4 vectors
/// on AVX-512 (64), 2 on narrower targets.
int64_t matmul_panel_cols(const Halide::Target &target);

/// exp, log, sigmoid, tanh, cos and pow: a polynomial (and a division) per
/// element, several times the cost of plain arithmetic.
bool is_transcendental(OpKind op);

/// A kernel's root concat along IR `axis` of `pieces` (the leaves of nested
/// concats on that axis, in order): written piece by piece, one update per
/// piece over its own range, so every piece is computed once with dense
/// loads and stores (the select of lower_op's concat evaluates both sides
/// through clamped, gathered indices). Scheduled by schedule_output.
Halide::Func lower_concat_root(const TensorType &type, int64_t axis, std::span<const Value> pieces);

/// Schedules `out`, a reshape that flattens trailing dimensions of a dense
/// input whose innermost extent `row` divides out's innermost extent (the
/// MLP's [N,28,28] -> [N,784]): a row-by-row vectorised copy.
void schedule_flatten_copy(Halide::Func out, int64_t row, const Halide::Target &target);

} // namespace netc::hl
