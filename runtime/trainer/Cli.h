//===- Cli.h - The trainer's command line ----------------------*- C++ -*-===//
//
// `./trainer train|eval|predict|info|saliency|filters|activations|topk
// [flags]` (docs/trainer.md). Defaults
// come from the model's train block (netc_model_json "config"); flags
// override them. Exit codes: 0 success, 1 a data, checkpoint or kernel
// error (the message names the file and what is wrong), 2 a usage error,
// 130 / 143 training stopped by SIGINT / SIGTERM (after checkpointing).
//
// trainer_main takes the model as a ModelABI, so the real `main`
// (Main.cpp) and the unit tests' hand-written model run the same code.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/trainer/Model.h"

#include <iostream>
#include <ostream>

namespace netc::rt {

/// Exit codes.
inline constexpr int kExitOk = 0, kExitError = 1, kExitUsage = 2;

/// Runs the trainer's command line over `abi`; returns the exit code.
/// Normal output goes to `out`, errors and notes to `err`.
int trainer_main(int argc, const char *const *argv, const ModelABI &abi, std::ostream &out = std::cout,
                 std::ostream &err = std::cerr);

} // namespace netc::rt
