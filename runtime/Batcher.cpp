//===- Batcher.cpp - Mini-batches over a dataset --------------------------===//
//
// This file implements epoch orders, batch slicing and batch gathering.
//
//===----------------------------------------------------------------------===//
#include "runtime/Batcher.h"

#include "ir/Random.h" // header-only: the runtime does not link the IR

#include <algorithm>
#include <cassert>
#include <cstring>
#include <numeric>

namespace netc::rt {

std::vector<int64_t> shuffled_order(int64_t n, uint64_t seed, int64_t epoch) {
  assert(n >= 0 && n <= int64_t(UINT32_MAX) && "shuffled_order: n must fit PCG32's below()");
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t(0));
  // One generator per (seed, epoch), on PCG32's default stream. Mixing the
  // epoch into the seed rather than using it as the stream avoids PCG's
  // correlated streams.
  Pcg32 rng(mix64(seed ^ mix64(uint64_t(epoch))));
  // Fisher-Yates: position i takes a uniform pick among positions 0..i.
  for (int64_t i = n - 1; i > 0; --i) {
    int64_t j = rng.below(static_cast<uint32_t>(i + 1));
    std::swap(order[size_t(i)], order[size_t(j)]);
  }
  return order;
}

Batcher::Batcher(int64_t num_examples, int64_t batch_size, bool shuffle, uint64_t seed)
    : order_(static_cast<size_t>(num_examples)), batch_size_(batch_size), shuffle_(shuffle), seed_(seed) {
  assert(num_examples >= 0 && batch_size > 0 && "Batcher: bad sizes");
  set_epoch(0);
}

Batcher Batcher::shuffled(int64_t num_examples, int64_t batch_size, uint64_t seed) {
  return Batcher(num_examples, batch_size, true, seed);
}

Batcher Batcher::sequential(int64_t num_examples, int64_t batch_size) {
  return Batcher(num_examples, batch_size, false, 0);
}

void Batcher::set_epoch(int64_t epoch) {
  epoch_ = epoch;
  if (shuffle_)
    order_ = shuffled_order(num_examples(), seed_, epoch);
  else
    std::iota(order_.begin(), order_.end(), int64_t(0));
}

int64_t Batcher::num_batches() const { return (num_examples() + batch_size_ - 1) / batch_size_; }

std::span<const int64_t> Batcher::batch(int64_t b) const {
  assert(b >= 0 && b < num_batches() && "Batcher::batch: index out of range");
  int64_t begin = b * batch_size_;
  int64_t end = std::min(begin + batch_size_, num_examples());
  return std::span<const int64_t>(order_).subspan(size_t(begin), size_t(end - begin));
}

void gather_batch(const Dataset &data, std::span<const int64_t> indices, std::span<float> inputs,
                  std::span<int32_t> labels) {
  size_t row = static_cast<size_t>(data.example_size()), lrow = static_cast<size_t>(data.label_size());
  assert(inputs.size() >= indices.size() * row && labels.size() >= indices.size() * lrow &&
         "gather_batch: buffers too small");
  for (size_t k = 0; k < indices.size(); ++k) {
    size_t i = static_cast<size_t>(indices[k]);
    assert(indices[k] >= 0 && indices[k] < data.size() && "gather_batch: index out of range");
    std::memcpy(inputs.data() + k * row, data.inputs.data.data() + i * row, row * sizeof(float));
    std::memcpy(labels.data() + k * lrow, data.labels.data() + i * lrow, lrow * sizeof(int32_t));
  }
}

} // namespace netc::rt
