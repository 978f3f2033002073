//===- Interpreter.h - The reference interpreter ---------------*- C++ -*-===//
//
// Runs any IR function on host tensors by calling each op's reference
// implementation in node order. No Halide, no cleverness: it is the oracle
// that compiled kernels and passes are checked against.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"
#include "ir/Tensor.h"

#include <map>
#include <string>
#include <vector>

namespace netc {

/// Parameter and optimizer-state values by name.
using ParamStore = std::map<std::string, Tensor>;

struct CallResult {
  std::map<std::string, Tensor> outputs;
  std::map<std::string, Tensor> updates;
};

/// Runs `f` on `args` (one per Arg, in order). The batch size is read from
/// the first argument whose declared type has the batch dimension.
/// `keep_values`, when non-null, receives every node's value (for tests).
CallResult interpret(const Function &f, const std::vector<Tensor> &args, const ParamStore &params,
                     std::vector<Tensor> *keep_values = nullptr);
/// The same for a function of module `m`, whose scans call other functions
/// of `m` (their bodies).
CallResult interpret(const Module &m, const Function &f, const std::vector<Tensor> &args,
                     const ParamStore &params, std::vector<Tensor> *keep_values = nullptr);

/// Writes a call's updates into the store (the end of a train step).
void apply_updates(ParamStore &params, const CallResult &r);

/// Fresh parameters and state, initialised as each declaration says
/// (glorot_uniform, he_uniform, zeros, ones, normal) from `seed`.
ParamStore init_params(const Module &m, uint64_t seed);

} // namespace netc
