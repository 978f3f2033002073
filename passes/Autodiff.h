//===- Autodiff.h - Reverse-mode differentiation of the loss ---*- C++ -*-===//
//
// Builds @train_step from @eval: the forward graph, then the adjoint of every
// value the loss depends on through a trainable parameter, in reverse
// topological order, each op's VJP rule (ir/ops) emitting ordinary IR.
// Adjoints reaching one value along several paths are summed; parameter
// nodes that read the same parameter (shared weights) add up.
//
// requires: shapes inferred; @eval has a scalar f32[] output `loss`.
// guarantees: @train_step(args of @eval) has outputs `loss` and
//   `grad.<param>` for every trainable parameter the loss depends on, each of
//   the parameter's type. @eval is unchanged. Parameters the loss does not
//   depend on get a warning and no gradient.
// does nothing for modules without a `loss` (inference-only models).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

namespace netc {

bool differentiate(Module &m, Diagnostics &diag);

/// The output name autodiff gives the gradient of `param`.
std::string grad_output_name(const std::string &param);

} // namespace netc
