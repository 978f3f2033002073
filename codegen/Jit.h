//===- Jit.h - Run a planned module in-process with Halide's JIT -*- C++ -*-===//
//
// Executes exactly what `netc build` compiles (the same plan, the same
// kernel pipelines and schedules), but JIT-compiled and on host tensors, so
// tests can compare whole compiled train steps with the reference
// interpreter without linking a trainer, and `netc bench` can time kernels.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Kernels.h"
#include "ir/Interpreter.h"

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace netc::codegen {

/// Realizes one kernel call on its input and output buffers (at the run's
/// batch times the call's batch_scale): the root's, then the co-outputs'.
using RunKernel = std::function<void(const KernelCall &, const std::vector<Halide::Buffer<>> &inputs,
                                     std::vector<Halide::Buffer<>> &outputs)>;

/// Runs `call` of `plan` as the driver does, on host buffers `slots` (one
/// per slot, dense, at `batch`): a kernel through `run`, or a scan loop,
/// whose body's kernels `run` gets on per-step views of the slots.
void run_call(const ModelPlan &plan, const KernelCall &call, std::vector<Halide::Buffer<>> &slots,
              int64_t batch, const RunKernel &run);

/// Runs only call `c` of `calls` (loop.before, loop.calls or loop.after)
/// of `loop` at iteration `k` (0-based, in loop order), on that step's
/// views: `netc bench` times a loop's kernels so.
void run_loop_call(const ModelPlan &plan, const ScanLoop &loop, const std::vector<KernelCall> &calls,
                   size_t c, int64_t k, std::vector<Halide::Buffer<>> &slots, int64_t batch,
                   const RunKernel &run);

class JitModel {
public:
  /// JIT-compiles every kernel of the plan of `m` for `target` (host by default).
  JitModel(const Module &m, const Halide::Target &target = Halide::get_host_target());
  ~JitModel();

  /// Runs function `name` like the trainer's driver does: kernels in order,
  /// then the updates written into `params`. Arguments are float64 host
  /// tensors (converted to the slots' float32/int32); outputs come back the
  /// same way. The batch size is the first argument's N.
  std::map<std::string, Tensor> call(const std::string &name, const std::vector<Tensor> &args,
                                     ParamStore &params);

  const ModelPlan &plan() const { return plan_; }

private:
  struct Compiled;
  const Module &m_;
  Halide::Target target_;
  ModelPlan plan_;
  std::vector<std::unique_ptr<Compiled>> kernels_;
};

} // namespace netc::codegen
