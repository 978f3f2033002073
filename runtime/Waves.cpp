//===- Waves.cpp - A seeded synthetic time-series classification task -----===//
//
// This file implements make_waves; Waves.h states the distribution.
//
//===----------------------------------------------------------------------===//
#include "runtime/Waves.h"

#include "ir/Random.h"

#include <cmath>
#include <fmt/format.h>

namespace netc::rt {

Dataset make_waves(const WaveOptions &o) {
  std::string name = fmt::format("waves(count: {}, length: {}, seed: {}, noise: {})", o.count, o.length, o.seed,
                                 o.noise);
  Dataset d{name, name, HostArray{{o.count, o.length}, {}}, {}};
  d.inputs.data.resize(size_t(o.count * o.length));
  d.labels.resize(size_t(o.count));
  Pcg32 rng(o.seed);
  for (int64_t i = 0; i < o.count; ++i) {
    int32_t label = int32_t(rng.below(3));
    double period = rng.uniform(6, 40), phase = rng.uniform(), amp = rng.uniform(0.5, 1.5),
           offset = rng.uniform(-0.5, 0.5);
    d.labels[size_t(i)] = label;
    float *x = d.inputs.data.data() + i * o.length;
    for (int64_t t = 0; t < o.length; ++t) {
      double u = std::fmod(double(t) / period + phase, 1.0);
      double shape = label == 0 ? std::sin(2 * M_PI * u) : label == 1 ? (u < 0.5 ? 1.0 : -1.0) : 2 * u - 1;
      x[t] = float(offset + amp * shape + o.noise * rng.normal());
    }
  }
  return d;
}

} // namespace netc::rt
