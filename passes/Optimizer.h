//===- Optimizer.h - The optimizer update as IR ----------------*- C++ -*-===//
//
// Turns @train_step's `grad.<p>` outputs into parameter updates, so the
// update rule fuses with the gradient computation like any other IR.
//
// SGD with momentum, as PyTorch defines it (the velocity starts at zero, so
// the first step's velocity is the gradient):
//     g  = grad + weight_decay·w
//     v' = momentum·v + g                   (state @<p>.velocity)
//     s  = g + momentum·v'  if nesterov, else v'
//     w' = w - lr·s
// The learning rate is module state @lr (f32[]), initialised from the train
// block, so a trainer flag or a schedule can change it without recompiling.
//
// requires: autodiff has run (no @train_step: nothing to do).
// guarantees: @train_step has outputs `loss` only, and one update per
//   trainable parameter with a gradient plus one per optimizer state tensor;
//   the state is declared in the module (kind State, init zeros).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

namespace netc {

bool apply_optimizer(Module &m, Diagnostics &diag);

} // namespace netc
