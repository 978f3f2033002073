//===- Random.h - A small, portable, seeded generator ----------*- C++ -*-===//
//
// PCG32 (O'Neill, pcg-random.org, "PCG XSH RR 64/32"): the same sequence on
// every platform and standard library, unlike std:: distributions. Used for
// parameter initialisation, shuffling and augmentation, so a seed names a run.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cmath>
#include <cstdint>

namespace netc {

/// SplitMix64's finaliser (Steele et al. 2014): a bijection that scatters
/// nearby inputs, so seeds (s, e) and (s, e + 1) give unrelated generators.
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

class Pcg32 {
public:
  explicit Pcg32(uint64_t seed = 0x853c49e6748fea9bULL, uint64_t stream = 0xda3e39cb94b95bdbULL) {
    inc_ = (stream << 1u) | 1u;
    state_ = 0;
    next_u32();
    state_ += seed;
    next_u32();
  }

  uint32_t next_u32() {
    uint64_t old = state_;
    state_ = old * 6364136223846793005ULL + inc_;
    uint32_t xorshifted = static_cast<uint32_t>(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = static_cast<uint32_t>(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
  }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() {
    uint64_t hi = next_u32() >> 5, lo = next_u32() >> 6;
    return (static_cast<double>(hi) * 67108864.0 + static_cast<double>(lo)) / 9007199254740992.0;
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  /// Standard normal by Box-Muller.
  double normal() {
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300)
      u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  /// Uniform integer in [0, bound) without modulo bias.
  uint32_t below(uint32_t bound) {
    uint32_t threshold = (-bound) % bound;
    for (;;) {
      uint32_t r = next_u32();
      if (r >= threshold)
        return r % bound;
    }
  }

  uint64_t state() const { return state_; }
  uint64_t inc() const { return inc_; }
  void restore(uint64_t state, uint64_t inc) { state_ = state, inc_ = inc; }

private:
  uint64_t state_, inc_;
};

} // namespace netc
