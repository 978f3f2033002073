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
// Grouping today: one kernel per non-leaf node, with constant and
// batch_size operands inlined into their consumer. The fusion pass (a later
// issue) will hand codegen larger groups through the same structure.
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
};

/// Plans `m` (after the pass pipeline) for `target` (a Halide target string,
/// part of every kernel's symbol so objects for different targets never mix).
ModelPlan plan_model(const Module &m, const std::string &target);

/// A stable 64-bit FNV-1a hash, as 16 hex digits.
std::string stable_hash(const std::string &text);

} // namespace netc::codegen
