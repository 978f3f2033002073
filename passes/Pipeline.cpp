//===- Pipeline.cpp - The compiler's pass pipeline ------------------------===//
//
// The order of the passes is this one function, read top to bottom:
//
//   shape-infer  every node's type from its operands (fills parsed IR)
//   verify       structural invariants of what the frontend or parser built
//   autodiff     @train_step = @eval + the loss's gradient w.r.t. parameters
//   optimizer    gradients become parameter and state updates
//   simplify     algebraic rules, constant folding, CSE, DCE
//   fuse         groups nodes into kernels (a `kernel = k` attribute each)
//
//===----------------------------------------------------------------------===//
#include "passes/Pipeline.h"

#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "passes/Autodiff.h"
#include "passes/Fusion.h"
#include "passes/Optimizer.h"
#include "passes/ShapeInference.h"
#include "passes/Simplify.h"

#include <chrono>
#include <fmt/format.h>

namespace netc {

const std::vector<std::string> &pipeline_pass_names() {
  static const std::vector<std::string> names = {"shape-infer", "verify", "autodiff", "optimizer",
                                                 "simplify",    "fuse"};
  return names;
}

namespace {

/// Runs one named step with the dumps, timing and verification it asks for.
class Runner {
public:
  Runner(Module &m, Diagnostics &diag, const PipelineOptions &opts, std::ostream &dump)
      : m_(m), diag_(diag), opts_(opts), dump_(dump) {}

  ~Runner() {
    if (opts_.time_passes && !times_.empty()) {
      std::string report = "===- pass execution timing -===\n";
      for (const auto &[name, ms] : times_)
        report += fmt::format("  {:>9.3f} ms  {}\n", ms, name);
      dump_ << report;
    }
  }

  /// False when the pipeline must stop (an error, or --stop-after reached).
  template <typename F> bool step(const std::string &name, F pass) {
    if (stopped_)
      return false;
    if (opts_.disabled.count(name))
      return true;
    if (opts_.print_before.count(name) || opts_.print_before.count("all"))
      print("before", name);
    auto t0 = std::chrono::steady_clock::now();
    bool ok = pass(m_, diag_);
    auto t1 = std::chrono::steady_clock::now();
    times_.emplace_back(name, std::chrono::duration<double, std::milli>(t1 - t0).count());
    if (!ok)
      return stopped_ = true, false;
    if (opts_.verify_each && name != "verify" && !verify_module(m_, diag_)) {
      diag_.error(Loc{}, "IR verification failed after pass `" + name + "` (a compiler bug)");
      return stopped_ = true, false;
    }
    if (opts_.print_after.count(name) || opts_.print_after.count("all"))
      print("after", name);
    if (opts_.stop_after == name)
      stopped_ = true;
    return true;
  }

private:
  void print(const char *when, const std::string &name) {
    PrintOptions po;
    po.locations = opts_.print_locations;
    dump_ << "// ----- IR " << when << " " << name << " -----\n" << print_module(m_, po);
    dump_.flush();
  }

  Module &m_;
  Diagnostics &diag_;
  const PipelineOptions &opts_;
  std::ostream &dump_;
  std::vector<std::pair<std::string, double>> times_;
  bool stopped_ = false;
};

} // namespace

bool run_pipeline(Module &m, Diagnostics &diag, const PipelineOptions &opts, std::ostream &dump) {
  Runner r(m, diag, opts, dump);
  r.step("shape-infer", infer_shapes);
  r.step("verify", verify_module);
  r.step("autodiff", differentiate);
  r.step("optimizer", apply_optimizer);
  r.step("simplify", simplify);
  r.step("fuse", fuse_kernels);
  return !diag.has_errors();
}

} // namespace netc
