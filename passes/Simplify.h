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
//     longer reads the sequence (ScanFold.cpp; a body loses that argument).
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

namespace netc {

bool simplify(Module &m, Diagnostics &diag);

/// Drops the outputs of scan bodies that no scan selects (output 0, the state,
/// stays) and renumbers the scans' `output` attributes; true if any went.
bool prune_body_outputs(Module &m);

/// Folds into the initial state the sequence inputs that scan bodies only add
/// to their state, where every scan over such a body passes one that is zero
/// after its first step (ScanFold.cpp); true if any was folded.
bool fold_scan_inputs(Module &m);

/// Simplifies one function; returns the number of nodes removed.
int simplify_function(Function &f);

} // namespace netc
