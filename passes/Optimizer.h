//===- Optimizer.h - The optimizer update as IR ----------------*- C++ -*-===//
//
// Turns @train_step's `grad.<p>` outputs into parameter updates, so the
// update rule fuses with the gradient computation like any other IR and
// shows in IR dumps (`netc ir --after=optimizer`).
//
// Config keys read (the train block, flattened by the frontend; a missing key
// takes PyTorch's default, so hand-written IR may leave them out):
//   optimizer = "sgd" | "rmsprop" | "adam" | "adamw" | "adagrad" | "adadelta"
//   optimizer.<hyper-parameter>   numbers; flags are 0/1
//   schedule = "step" | "exponential" | "cosine", schedule.<argument>
//   clip_value, clip_norm         numbers
// The rules, with their math, defaults and state tensors, are in
// OptimizerRules.cpp and docs/language.md (section 7).
//
// Module state the pass declares (kind State, f32; the trainer checkpoints
// and restores it like parameters):
//   @lr    f32[], init the train block's lr: the *base* learning rate; a
//          trainer's --lr writes it, a schedule scales it per step.
//   @step  f32[], init 0: steps taken, incremented by every train step;
//          declared only when a schedule, adam/adamw, or adagrad with
//          lr_decay reads it (exact up to 2^24 steps).
//   @<p>.<name>  per-parameter state of p's type (velocity, square_avg,
//          grad_avg, exp_avg, exp_avg_sq, max_exp_avg_sq, sum, acc_delta),
//          init zeros (adagrad's sum: initial_accumulator_value).
//
// requires: autodiff has run (no @train_step: nothing to do).
// guarantees: @train_step has outputs `loss` (and any non-gradient outputs)
//   only; updates are @step (if declared), then for each trainable parameter
//   with a gradient, in gradient-output order, its state tensors and the
//   parameter itself; every state read is declared in the module.
// errors: an unknown optimizer or schedule, or an `optimizer.*` key the
//   optimizer does not take, is reported at @train_step's location.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

namespace netc {

/// Appends the train block's optimizer update to @train_step; false (with
/// diagnostics) when the config names something unknown.
bool apply_optimizer(Module &m, Diagnostics &diag);

} // namespace netc
