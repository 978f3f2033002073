//===- Driver.h - Shared pieces of the netc driver -------------*- C++ -*-===//
#pragma once

#include "ir/IR.h"
#include "passes/Pipeline.h"

#include <optional>
#include <ostream>
#include <string>

namespace netc {

/// Where the front of the pipeline stops, for --stop-after=parse|lower.
struct FrontOptions {
  std::string model;        // --model: which model of the file
  std::string input_format; // "net", "nir", or "" (by extension)
};

/// Reads `path` (.net source or .nir IR text), runs the frontend and the
/// pass pipeline, printing requested dumps to `dump`. Returns the module, or
/// nullopt after diagnostics were reported. With --stop-after=parse (or ast)
/// on .net input, the AST is printed to `dump` and *ast_printed is set.
std::optional<Module> compile_input(const std::string &path, const FrontOptions &front,
                                    const PipelineOptions &opts, Diagnostics &diag,
                                    std::ostream &dump, bool *ast_printed = nullptr);

/// `netc train`: trains with the reference interpreter (see Train.cpp).
struct InterpTrainOptions {
  std::optional<int64_t> epochs, batch, seed, limit, validate_limit;
  std::optional<double> lr;
};
int train_interpreted(Module &m, const InterpTrainOptions &o, Diagnostics &diag);

/// `netc bench`: times each kernel of a function (see Bench.cpp).
struct BenchOptions {
  std::string schedule = "manual"; // or "all"
  std::string function = "train_step";
  std::string target = "host";
  std::optional<int64_t> batch;
  int reps = 15;
  int threads = 0; // 0: Halide's default (all cores)
};
int run_bench(const Module &m, const SourceManager &sm, const BenchOptions &o, std::ostream &out);

} // namespace netc
