//===- Batcher.h - Mini-batches over a dataset -----------------*- C++ -*-===//
//
// A Batcher splits N examples into ceil(N / B) batches of B indices; the
// last batch holds the remainder and is never dropped (10 examples, batch 4:
// 4, 4, 2), so every example is seen once per epoch.
//
// In shuffled mode each epoch's order is a Fisher-Yates shuffle driven by
// PCG32 seeded from (seed, epoch) alone, not from the previous epoch's
// generator state: a run resumed at epoch k reproduces epoch k's order
// without replaying epochs 0..k-1. Sequential mode (evaluation) visits
// 0..N-1 in order.
//
// gather_batch copies a batch's inputs and labels into caller buffers laid
// out as the compiled step functions expect: inputs row-major [B, ...].
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Dataset.h"

#include <cstdint>
#include <span>
#include <vector>

namespace netc::rt {

/// The order in which epoch `epoch` visits examples 0..n-1, shuffled by a
/// generator seeded from (seed, epoch) only. n must be below 2^32.
std::vector<int64_t> shuffled_order(int64_t n, uint64_t seed, int64_t epoch);

class Batcher {
public:
  /// Shuffled batches: each epoch's order depends only on (seed, epoch).
  static Batcher shuffled(int64_t num_examples, int64_t batch_size, uint64_t seed);
  /// Batches in index order, the same every epoch (for evaluation).
  static Batcher sequential(int64_t num_examples, int64_t batch_size);

  /// Selects the epoch whose order batch() reports; starts at epoch 0.
  void set_epoch(int64_t epoch);
  int64_t epoch() const { return epoch_; }

  /// ceil(num_examples / batch_size); the last batch may be smaller.
  int64_t num_batches() const;
  /// The example indices of batch `b` of the current epoch, 0 <= b < num_batches().
  std::span<const int64_t> batch(int64_t b) const;
  /// The whole order of the current epoch.
  std::span<const int64_t> order() const { return order_; }

  int64_t num_examples() const { return int64_t(order_.size()); }
  int64_t batch_size() const { return batch_size_; }
  bool is_shuffled() const { return shuffle_; }

private:
  Batcher(int64_t num_examples, int64_t batch_size, bool shuffle, uint64_t seed);

  std::vector<int64_t> order_;
  int64_t batch_size_;
  bool shuffle_;
  uint64_t seed_;
  int64_t epoch_ = 0;
};

/// Copies the examples `indices` of `data` into `inputs` (row-major
/// [indices.size(), example_size]) and their labels into `labels`
/// ([indices.size(), label_size]). The buffers must hold at least that many
/// elements.
void gather_batch(const Dataset &data, std::span<const int64_t> indices, std::span<float> inputs,
                  std::span<int32_t> labels);

} // namespace netc::rt
