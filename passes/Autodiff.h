//===- Autodiff.h - Reverse-mode differentiation ---------------*- C++ -*-===//
//
// Builds the module's derivative functions from @eval and @predict with one
// reverse sweep (Autodiff.cpp): the forward graph, then the adjoint of every
// value the differentiated output depends on through a chosen set of leaves,
// in reverse topological order, each op's VJP rule (ir/ops) emitting ordinary
// IR. Adjoints reaching one value along several paths are summed.
//
//   @train_step(args of @eval)     outputs `loss` and `grad.<param>` for every
//                                  trainable parameter: d loss / d param;
//                                  param nodes that read the same parameter
//                                  (shared weights) add up.
//   @saliency(args of @predict, score.seed)
//                                  outputs `score` and `grad.<input>` for every
//                                  input: d sum(score * score.seed) / d input,
//                                  where `score` is @predict's first output, or
//                                  the operand of its final softmax /
//                                  log_softmax (the class scores before
//                                  normalisation). A one-hot seed selects the
//                                  score of one class per example.
//   @saliency_loss(args of @eval)  outputs `loss` and `grad.<input>` for every
//                                  f32 input: d loss / d input (labels get none).
//
// All three reach through scans (backprop through time): each scanned body
// gets a VJP function @<body>.vjp (numbered when another sweep wants other
// adjoints of it) with only the adjoints that sweep uses: the parameters'
// for @train_step, the sequences' for the saliency functions.
//
// requires: shapes inferred; @eval's `loss`, if any, is a scalar f32[].
// guarantees: @train_step when @eval has a `loss`; @saliency (and
//   @saliency_loss with a loss) only when every @predict argument is f32 and
//   @predict has an f32 first output with the batch dimension outermost.
//   Each gradient has its input's or parameter's type. @eval and @predict are
//   unchanged. Parameters the loss does not depend on get a warning and no
//   gradient.
// does nothing for modules with neither a `loss` nor an f32 @predict.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

namespace netc {

bool differentiate(Module &m, Diagnostics &diag);

/// The output name autodiff gives the gradient of `param` (or input).
std::string grad_output_name(const std::string &param);

/// The argument of @saliency holding the adjoint of `score`. The dot keeps it
/// from clashing with a model input's name (an identifier).
inline constexpr const char *kSaliencySeedArg = "score.seed";

} // namespace netc
