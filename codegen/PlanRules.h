//===- PlanRules.h - What may alias; which sums wait for loops -*- C++ -*-===//
//
// Helpers of the planner (codegen/Plan.cpp) that read only the IR and its
// kernels.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Plan.h"

#include <map>
#include <string>
#include <vector>

namespace netc::codegen {

/// Which body kernels sum over the batch's rows only (a weight gradient
/// transpose(x) @ g, a bias gradient reduce_sum over axis 0) into a summed
/// output nothing else in the body reads, from sequences, parameters and
/// body values: those can run once after the loop on all steps' rows, the
/// body values stacked over the steps for it. Needs time at axis 1 behind
/// the batch (the rows of [N, T, ...] merge). Only while the stacked body
/// values take at most 512 KB (kStackBytes) at the train block's batch:
/// stacking is a write at every step and a read after the loop, from
/// beyond L2 when large, where the step's own products read the step's
/// rows from cache.
/// Side by side (bench/ab.py, one core each, sums at every step as B):
/// lstm.net, whose dG is 3.7 MB stacked at batch 64, B/A 1.024 at batch
/// 64 and 1.037 at 256; gru.net (2.75 MB) 1.03 and 1.18. rnn.net, whose
/// dz is 0.9 MB, ran slower so (0.92 and 0.96) while each per-step sum
/// had an `add` kernel of its own; with the sums added in their products
/// (accumulated_sum), 1.091 at batch 64 and 1.072 at 256. Below 512 KB
/// (goldfish_lstm.net's dG, 0.33 MB at batch 32) nothing was measured
/// apart from the VM's noise: the line keeps such stacks, a quarter of
/// L2 or less, and their one product after the loop.
/// `train_batch` is the train block's batch.
std::vector<bool> sums_after_loop(const Function &body, const std::vector<Kernel> &kernels,
                                  const std::vector<ValueId> &sums, const Node &lead,
                                  const Function &f, size_t nseq, const std::vector<int> &last_use,
                                  int64_t train_batch);

/// The parameter each of `f`'s updates may be written over by the kernel
/// that computes it (as its root or as a co-output), by the update's value:
/// no later kernel or loop body reads the parameter's old value, the kernel
/// reads it pointwise, and no output the kernel stores after it reads it.
/// `kernels` are `f`'s in run order, a loop's with its scans as nodes.
std::map<ValueId, std::string> in_place_updates(const Module &m, const Function &f,
                                                const std::vector<Kernel> &kernels);

} // namespace netc::codegen
