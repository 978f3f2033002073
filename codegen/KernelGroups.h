//===- KernelGroups.h - Which IR nodes form one kernel ---------*- C++ -*-===//
//
// The planner's view of a function's nodes as kernels: the groups the
// fusion pass's attributes name (or one per node without them), each
// closed over the inline nodes it reads; a kernel's content key, which
// names its compiled object; and the shapes of a kernel the planner
// treats specially (an update read pointwise, a concatenation of parts).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Plan.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace netc::codegen {

/// The key text of a kernel: its nodes with operands renamed to kernel-local
/// names (in0, in1, ... for inputs; n0, n1, ... for its own nodes).
std::string kernel_key(const Function &f, const Kernel &k);

/// Arguments and parameters: values that live in slots of their own.
bool is_leaf(const Node &n);

/// The parts of kernel `k` of `body` when its root joins values along their
/// last axis (a tree of concats on it, members of the kernel): each leaf
/// with its first column in the result, in order; *joins gets the concats.
/// Nothing when the root is no such concat or a leaf appears twice.
std::vector<std::pair<ValueId, int64_t>> concat_parts(const Function &body, const Kernel &k,
                                                      std::set<ValueId> *joins);

/// The members of each kernel, in order, roots last; kernels in root order.
/// From the fusion pass's attributes, or one kernel per non-leaf node when
/// there are none.
std::vector<std::vector<ValueId>> kernel_groups(const Function &f,
                                                const std::vector<bool> &is_result);

/// Which members of `groups` (kernel_groups' answer) are co-outputs
/// (Kernel::also): not the root, but a result or read by another kernel
/// (directly, or through inline nodes it recomputes).
std::vector<bool> co_outputs(const Function &f, const std::vector<std::vector<ValueId>> &groups,
                             const std::vector<bool> &is_result);

/// A kernel from its members: the inline nodes they read are added (and
/// recomputed here); values in slots become its inputs, in first-use order.
Kernel make_kernel(const Function &f, const std::vector<ValueId> &members,
                   const std::vector<bool> &in_slot);

/// Whether kernel `k` reads `p` only at the element it writes: every path
/// from `p` to the root is pointwise arithmetic on the root's shape.
bool reads_pointwise(const Function &f, const Kernel &k, ValueId p);

} // namespace netc::codegen
