//===- Simplify.h - DCE, CSE, constant folding, algebraic rules -*- C++ -*-===//
//
// Rebuilds every function in one forward sweep per round, until a fixpoint:
//   - algebraic identities, a table of rewrite rules (Simplify.cpp, one
//     comment per rule giving its algebra);
//   - constant folding of elementwise and movement ops on constants;
//   - common-subexpression elimination (same op, operands, attrs, type);
//   - dead-code elimination (nodes no output or update depends on);
//   - across functions: outputs of a scan body that no scan selects
//     (a sequence's adjoint in a body VJP when the sequence is an input) are
//     dropped and the scans' `output` indices renumbered; then the bodies'
//     dead nodes go too. Entry functions (eval, train_step, predict) keep
//     their outputs;
//   - a scan whose body adds a sequence input to its state and reads
//     neither otherwise, with that sequence zero after the first step the
//     scan runs, starts from that step's value plus its initial state and no
//     longer reads the sequence (ScanFold.cpp; a body loses that argument);
//   - two products by parameters that are summed, a·W + b·U, become one,
//     [a, b]·[W; U] (MatmulJoin.cpp: a recurrent cell's x_t·W + h·U).
//
// requires: shapes inferred.
// guarantees: the functions compute the same outputs and updates (up to
//   float rounding; `x * 0 -> 0` assumes x is finite, as fast-math does);
//   Arg nodes are kept, so the entry functions' signatures do not change
//   (only a scan body can lose an argument, to the fold above).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <functional>
#include <optional>

namespace netc {

bool simplify(Module &m, Diagnostics &diag);

/// Drops the outputs of scan bodies that no scan selects (output 0, the state,
/// stays) and renumbers the scans' `output` attributes; true if any went.
bool prune_body_outputs(Module &m);

/// Folds into the initial state the sequence inputs that scan bodies only add
/// to their state, where every scan over such a body passes one that is zero
/// after its first step (ScanFold.cpp); true if any was folded.
bool fold_scan_inputs(Module &m);

/// Rewrites a·W + b·U (W, U parameters; the products and the adds between
/// them read nowhere else) as [a, b]·[W; U] in `f` (MatmulJoin.cpp); true
/// if any was joined.
bool join_matmuls(Function &f);

/// Whether `n` is a constant whose every element is `value`.
bool is_splat_node(const Node &n, double value);

/// How many times each node of `f` is read: as an operand (once per
/// operand slot), an output or an update.
std::vector<int> use_counts(const Function &f);

/// Appends `from`'s outputs and updates to `to`, their values mapped
/// through `remap` (from's node ids to to's): the last step of a pass that
/// rebuilds a function node by node.
void copy_results(const Function &from, const std::vector<ValueId> &remap, Function &to);

/// What stands for node `i` of the function being rebuilt: a value built
/// with the builder (`remap` maps the old ids before i to the new ones), or
/// nullopt to keep `n`, the node with its operands remapped (the hook may
/// edit it).
using RebuildHook = std::function<std::optional<ValueId>(
    Builder &b, size_t i, Node &n, const std::vector<ValueId> &remap)>;

/// `f` rebuilt node by node through `hook`, with its outputs and updates.
Function rebuild_function(const Function &f, const RebuildHook &hook);

/// Simplifies one function; returns the number of nodes removed.
int simplify_function(Function &f);

} // namespace netc
