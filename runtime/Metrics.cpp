//===- Metrics.cpp - Accuracy and running means ---------------------------===//
//
// This file implements argmax and the count of correct predictions.
//
//===----------------------------------------------------------------------===//
#include "runtime/Metrics.h"

#include <cassert>

namespace netc::rt {

int64_t argmax(std::span<const float> scores) {
  int64_t best = -1;
  for (size_t i = 0; i < scores.size(); ++i)
    // `>` is false for NaN, so a NaN never displaces a number.
    if (best < 0 ? scores[i] == scores[i] : scores[i] > scores[size_t(best)])
      best = int64_t(i);
  return best < 0 ? 0 : best;
}

int64_t count_correct(std::span<const float> scores, std::span<const int32_t> labels, int64_t num_classes) {
  assert(num_classes > 0 && scores.size() >= labels.size() * size_t(num_classes) &&
         "count_correct: scores must be [labels.size(), num_classes]");
  int64_t correct = 0;
  for (size_t r = 0; r < labels.size(); ++r)
    correct += argmax(scores.subspan(r * size_t(num_classes), size_t(num_classes))) == labels[r];
  return correct;
}

} // namespace netc::rt
