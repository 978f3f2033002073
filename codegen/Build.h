//===- Build.h - `netc build`: module to native trainer --------*- C++ -*-===//
//
// Plans kernels and slots, compiles each kernel with Halide (through the
// cache), emits and compiles the step driver with LLVM, and links both with
// the Halide runtime object and the trainer runtime into one executable that
// needs neither Halide nor LLVM to run.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <ostream>
#include <string>

namespace netc::codegen {

struct BuildOptions {
  std::string output = "trainer";
  /// host, baseline, or a Halide target string.
  std::string target = "host";
  /// "" (build the trainer), "halide" (print each kernel's lowered Halide
  /// statement), "llvm" (print the driver's LLVM IR), "obj" (write the
  /// model object to `output` without linking).
  std::string emit;
  bool verbose = false;
  /// manual, adams2019, li2018 or mullapudi2016 (codegen/Plan.h).
  std::string schedule = "manual";
};

/// Returns false after reporting errors through `diag`.
bool build_trainer(const Module &m, const BuildOptions &opts, Diagnostics &diag, std::ostream &out);

} // namespace netc::codegen
