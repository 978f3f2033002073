//===- Verifier.h - IR well-formedness -------------------------*- C++ -*-===//
//
// Checks a module's structural invariants: operands defined before use (SSA,
// topological order), arities, Arg nodes first with indices 0..n-1, params
// named by param nodes and updates declared in the module with matching
// types, unique output names, and every node's type equal to what its op's
// shape rule computes from its operands. The pipeline runs it between passes
// in test builds; a failure names the pass that just ran.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

namespace netc {

/// Returns true if `m` is well-formed; otherwise reports every problem found
/// (at the offending node's location) and returns false.
bool verify_module(const Module &m, Diagnostics &diag);

} // namespace netc
