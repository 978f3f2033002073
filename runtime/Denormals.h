//===- Denormals.h - Flush denormal floats to zero ------------*- C++ -*-===//
//
// Training drives small values (softmax probabilities of confident wrong
// classes, their gradients, decaying optimizer state) into the denormal
// range, where x86 cores take a microcode assist on every operation that
// reads or writes one. examples/mlp.net ran its second and third epochs at
// 16,600 samples/s against 38,600 for the first on one thread; with
// denormals flushed, at 52,800-63,500 each, with the same losses and
// accuracies to four decimals. So the native trainer
// and `netc bench` flush them, as TensorFlow's CPU runtime does; the
// reference interpreter (`netc train`) keeps IEEE arithmetic.
//
//===----------------------------------------------------------------------===//
#pragma once

namespace netc::rt {

/// Sets the calling thread's MXCSR to flush denormal results to zero (FTZ)
/// and to read denormal operands as zero (DAZ). Threads created afterwards
/// (Halide's worker pool) inherit the mode. Returns false where the target
/// has no such mode (not x86 with SSE), changing nothing.
bool flush_denormals();

} // namespace netc::rt
