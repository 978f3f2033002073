//===- Init.h - Parameter initialisation, shared by all trainers -*- C++ -*-===//
//
// Header-only so the reference interpreter (ir/) and native trainers
// (runtime/) initialise parameters identically from the same seed: a
// compiled train step and an interpreted one start from the same bits.
//
//   glorot_uniform  U(-√(6/(fan_in+fan_out)), +...)   (Keras' dense default)
//   he_uniform      U(-√(6/fan_in), +...)
//   normal          N(0, stddev²), attribute `stddev` (default 0.01)
//   ones, zeros, constant (attribute `value`)
//
// Fans for a shape [..., in, out]: fan_out = last dimension, fan_in = the
// product of the others (the receptive field times input channels).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Random.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace netc {

/// True for the init names init_values understands.
inline bool known_init(const std::string &init) {
  return init == "glorot_uniform" || init == "he_uniform" || init == "normal" || init == "ones" ||
         init == "zeros" || init == "constant" || init.empty();
}

/// Fills `out` (one float per element of `shape`) as `init` says, drawing
/// from `rng` (which advances only for the random kinds).
inline void init_values(const std::string &init, const std::vector<int64_t> &shape, double value,
                        double stddev, Pcg32 &rng, std::vector<float> &out) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  out.assign(static_cast<size_t>(n), 0.0f);
  double fan_out = shape.empty() ? 1.0 : static_cast<double>(shape.back());
  double fan_in = shape.size() >= 2 ? static_cast<double>(n) / fan_out
                                    : static_cast<double>(shape.empty() ? 1 : shape[0]);
  if (init == "glorot_uniform" || init == "he_uniform") {
    double limit = init == "glorot_uniform" ? std::sqrt(6.0 / (fan_in + fan_out))
                                            : std::sqrt(6.0 / fan_in);
    for (float &v : out)
      v = static_cast<float>(rng.uniform(-limit, limit));
  } else if (init == "normal") {
    for (float &v : out)
      v = static_cast<float>(rng.normal() * stddev);
  } else if (init == "ones" || init == "constant") {
    float c = static_cast<float>(init == "ones" ? 1.0 : value);
    for (float &v : out)
      v = c;
  }
}

} // namespace netc
