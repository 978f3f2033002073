//===- Fusion.h - Group IR nodes into kernels -------------------*- C++ -*-===//
//
// Decides which nodes of each function are computed together in one kernel
// (one Halide pipeline), and records the decision in the IR as an integer
// attribute `kernel = k` on every node that belongs to kernel k of its
// function. Kernels are numbered 0, 1, ... in the order of their roots.
//
// A kernel has one root, its output (the member with the largest index),
// which lands in a buffer slot; every other member is computed inside the
// kernel and never stored, except its co-outputs: members that are results
// or that other kernels read, written to slots of their own by the same
// loop nest (elementwise values of the root's type on a pointwise path to
// it; codegen/Plan.h, Kernel::also). Nodes with no `kernel` attribute are either
// leaves (arg, param), or *inline* nodes (constant, batch_size and the
// movement ops reshape, transpose, broadcast, one_hot) that codegen
// recomputes inside every kernel that reads them: they are index
// arithmetic, free next to a memory round trip. (A reshape read directly by
// a matmul is the exception: it is its own kernel, a copy, so the matmul's
// inner loop has no division.)
//
// A producer joins its consumer's kernel when every (effective) user of it
// is in that kernel, it is not a function result, and the rule table in
// Fusion.cpp allows the (producer, consumer) pair: elementwise chains fuse
// into their consumers and into reductions; a matmul or a forward conv2d
// fuses into a same-shaped elementwise epilogue (bias, activation, the
// optimizer's velocity update); reductions (softmax, cross-entropy, sums)
// fuse into an elementwise consumer; nothing fuses into a matmul or conv
// but inline nodes. A new optimizer state is a co-output of the parameter
// update that reads it; an elementwise value that several kernels read is
// a co-output of the first of them to run, when that kernel's root is
// elementwise of its type and on a pointwise path from it (the others run
// later and read its slot). In a scan body, the parts of an output joined
// along the last axis are not computed inside the join (the plan writes
// each part into its columns of the stacked output).
//
// requires: shapes inferred, simplify has run (DCE: every node is used).
// guarantees: every non-leaf, non-inline node has `kernel = k`; kernel k's
//   members used outside it or named as results are its root and its
//   co-outputs, and every kernel reading a co-output runs after it; each
//   kernel holds at most one matmul or conv2d; an inline node that is a result is
//   the root of its own kernel. Semantics are unchanged (attributes only).
// invalidates: nothing; a later rewrite of the IR must re-run fusion (the
//   pass overwrites any `kernel` attributes it finds).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

namespace netc {

bool fuse_kernels(Module &m, Diagnostics &diag);

/// The attribute naming a node's kernel.
inline constexpr const char *kKernelAttr = "kernel";

} // namespace netc
