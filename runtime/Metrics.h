//===- Metrics.h - Accuracy and running means ------------------*- C++ -*-===//
//
// The numbers a trainer prints per epoch: classification accuracy from a
// batch of scores (logits or probabilities; argmax is the same) and running
// means of the loss. Both accumulate across batches of different sizes, so
// the last, partial batch weighs only as much as the examples it holds.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <span>

namespace netc::rt {

/// The index of the largest of `scores`; the first one on ties, and NaN never
/// wins (a row of NaNs gives 0).
int64_t argmax(std::span<const float> scores);

/// How many rows of `scores` ([labels.size(), num_classes], row-major) have
/// their argmax equal to the row's label.
int64_t count_correct(std::span<const float> scores, std::span<const int32_t> labels, int64_t num_classes);

/// A mean over a stream of values, each with a weight (e.g. a batch's mean
/// loss weighted by its batch size).
class RunningMean {
public:
  void add(double value, double weight = 1.0) {
    sum_ += value * weight;
    weight_ += weight;
  }
  /// The weighted mean so far; 0 before anything was added.
  double mean() const { return weight_ > 0 ? sum_ / weight_ : 0.0; }
  double total_weight() const { return weight_; }
  void reset() { sum_ = weight_ = 0; }

private:
  double sum_ = 0, weight_ = 0;
};

/// Accuracy over a stream of batches: correct / seen.
class RunningAccuracy {
public:
  /// Adds one batch of scores [labels.size(), num_classes] and its labels.
  void add(std::span<const float> scores, std::span<const int32_t> labels, int64_t num_classes) {
    correct_ += count_correct(scores, labels, num_classes);
    seen_ += int64_t(labels.size());
  }
  /// correct / seen in [0, 1]; 0 before anything was added.
  double accuracy() const { return seen_ ? double(correct_) / double(seen_) : 0.0; }
  int64_t correct() const { return correct_; }
  int64_t seen() const { return seen_; }
  void reset() { correct_ = seen_ = 0; }

private:
  int64_t correct_ = 0, seen_ = 0;
};

} // namespace netc::rt
