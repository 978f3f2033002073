//===- Plan.h - Kernels and buffer slots of a module -----------*- C++ -*-===//
//
// The plan is what codegen builds from an optimised module:
//   - slots: every buffer the step functions touch (parameters and state
//     first, in module order, shared by all functions; then each function's
//     arguments and kernel outputs);
//   - kernels: groups of IR nodes, each compiled to one Halide pipeline
//     `int <symbol>(int32_t batch, halide_buffer_t *inputs..., halide_buffer_t *out)`;
//     identical kernels (same nodes, types and target) share one symbol;
//   - per function: the kernel calls in order, then the update copies.
//
// Grouping: the fusion pass's `kernel = k` attributes (passes/Fusion.h);
// a kernel's nodes are its members plus the inline nodes (constants,
// batch_size, movement) they read, recomputed in each kernel. IR without
// those attributes (fusion disabled) gets one kernel per non-leaf node,
// with constant and batch_size operands inlined.
//
// Memory: a temporary slot is reused by a later value of the same type once
// every kernel that reads its current value has run (lifetimes over each
// function, in call order; functions never overlap, so the pool of
// temporaries is shared by all of them). Results (outputs, updates) and
// arguments keep slots of their own. An update is written in place, straight
// into its parameter or state slot, when no later kernel reads the old value
// and its own kernel reads it only pointwise at the element it writes; such
// kernels use exact tails (no overlapping recomputation), and need no copy.
// Kernels scheduled by an autoscheduler (which may recompute overlapping
// tails) never write in place.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <string>
#include <vector>

namespace netc::codegen {

struct Slot {
  TensorType type;
  std::string role; // "param", "state", "arg", "temp"
  std::string name; // parameter or argument name, for dumps
};

struct Kernel {
  const Function *function = nullptr;
  /// Nodes of `function`, in order; the last is the kernel's output.
  std::vector<ValueId> nodes;
  /// Values read from slots, in the kernel's argument order.
  std::vector<ValueId> inputs;
  /// Content key: everything the compiled object depends on except the target.
  std::string key;
  /// The C symbol, `netc_k_` + a hash of key and target.
  std::string symbol;
  /// The output may alias an input (an in-place update): every loop must
  /// compute each element once (no ShiftInwards overlap).
  bool exact_tails = false;
  /// "manual" (codegen/halide/Schedule.cpp) or a Halide autoscheduler:
  /// "adams2019", "li2018", "mullapudi2016" (their estimates use
  /// `batch_estimate` for N).
  std::string schedule = "manual";
  int64_t batch_estimate = 64;
};

struct KernelCall {
  int kernel;              // index into ModelPlan::kernels
  std::vector<int> inputs; // slots, in the kernel's argument order
  int output;              // slot
};

struct Copy {
  int from, to;
  int64_t bytes;
};

struct NamedSlot {
  std::string name;
  int slot;
};

struct FunctionPlan {
  std::string name;
  std::vector<NamedSlot> args, outputs, updates;
  std::vector<KernelCall> calls;
  std::vector<Copy> copies;
};

struct ModelPlan {
  std::vector<Slot> slots;
  std::vector<Kernel> kernels;
  std::vector<FunctionPlan> functions;
  /// The type of every kernel output that is not written in place, over all
  /// functions: what the temporaries would take without slot reuse.
  std::vector<TensorType> temp_values;
};

/// Bytes of a buffer of type `t` at batch `batch`.
int64_t buffer_bytes(const TensorType &t, int64_t batch);

/// Bytes of the temporaries (slots of role "temp") at batch `batch`: the
/// arena the step functions work in, beside parameters, state and inputs.
int64_t arena_bytes(const ModelPlan &plan, int64_t batch);

/// The same without slot reuse (one buffer per kernel output).
int64_t unshared_temp_bytes(const ModelPlan &plan, int64_t batch);

/// Plans `m` (after the pass pipeline) for `target` (a Halide target string,
/// part of every kernel's symbol so objects for different targets never mix)
/// with the kernels scheduled by `schedule` (see Kernel::schedule).
ModelPlan plan_model(const Module &m, const std::string &target,
                     const std::string &schedule = "manual");

/// Why `m` cannot be compiled natively ("" when it can), with the offending
/// node's location in *loc: the driver does not run scans yet
/// (docs/recurrence.md; `netc train` runs them in the interpreter).
std::string codegen_unsupported(const Module &m, Loc *loc);

/// The schedules plan_model accepts.
const std::vector<std::string> &schedule_names();

/// A stable 64-bit FNV-1a hash, as 16 hex digits.
std::string stable_hash(const std::string &text);

} // namespace netc::codegen
