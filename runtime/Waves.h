//===- Waves.h - A seeded synthetic time-series classification task -*- C++ -*-===//
//
// What a `train` block's `data = waves(count: 4000, length: 128, seed: 1)`
// names: `count` series of `length` samples, each one of three wave shapes
// (the label), drawn from one PCG32 seeded with `seed`:
//
//   label     0 sine, 1 square, 2 sawtooth (uniform)
//   period    P ~ U[6, 40] samples; phase φ ~ U[0, 1) periods;
//   amplitude A ~ U[0.5, 1.5]; offset c ~ U[-0.5, 0.5]
//   x[t]      c + A·shape((t / P + φ) mod 1) + noise·N(0, 1)
//   shapes    sine: sin(2πu); square: +1 for u < 1/2, else -1;
//             sawtooth: 2u - 1
//
// Per series the draws are, in order: label, period, phase, amplitude,
// offset, then one normal per sample. The task needs the shape, not the
// level or the speed, so neither a per-series mean nor a frequency gives it
// away; noise (default 0.3, a third of the typical amplitude) blurs the
// corners that tell a square from a sine.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Dataset.h"

#include <cstdint>

namespace netc::rt {

struct WaveOptions {
  int64_t count = 4000, length = 128;
  uint64_t seed = 1;
  double noise = 0.3;
};

/// The three shapes' names, by label.
inline constexpr const char *kWaveNames[3] = {"sine", "square", "sawtooth"};

/// Generates the series: inputs [count, length], one label each.
Dataset make_waves(const WaveOptions &o);

} // namespace netc::rt
