//===- Pipeline.h - The compiler's pass pipeline ---------------*- C++ -*-===//
//
// One straight-line function runs every pass in order; each step has a
// stable kebab-case name (see pipeline_pass_names()). The driver's
// --print-after, --print-before, --print-after-all, --disable-pass,
// --stop-after and --time-passes act on these names.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace netc {

struct PipelineOptions {
  std::set<std::string> print_after;  // pass names, or "all"
  std::set<std::string> print_before; // pass names, or "all"
  std::set<std::string> disabled;     // passes to skip
  std::string stop_after;             // stop the pipeline after this pass
  bool time_passes = false;
  /// Run the verifier after every pass (on in tests and debug builds).
  bool verify_each = true;
  bool print_locations = false;
};

/// The pass names, in pipeline order.
const std::vector<std::string> &pipeline_pass_names();

/// Runs the pipeline on `m` in place. Dumps requested by `opts` go to `dump`
/// as `// ----- IR after <pass> -----` followed by the module text. Returns
/// false after reporting errors (user errors, or a verifier failure that
/// names the pass that just ran).
bool run_pipeline(Module &m, Diagnostics &diag, const PipelineOptions &opts, std::ostream &dump);

} // namespace netc
