//===- ShapeInference.h - Recompute every node's type ----------*- C++ -*-===//
//
// requires: operands defined before use (the verifier's SSA invariant).
// guarantees: every node's type is what its op's shape rule computes from
//   its operands' types; nodes parsed without a type get one.
// reports: each node whose operands do not fit its op, at the node's
//   location, with the shapes involved; a stored type that disagrees with the
//   rule is replaced only if it was absent, else reported.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

namespace netc {

/// Infers types in every function of `m` in place. Returns false on error.
bool infer_shapes(Module &m, Diagnostics &diag);

} // namespace netc
