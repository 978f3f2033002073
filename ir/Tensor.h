//===- Tensor.h - Host tensors for the reference interpreter ---*- C++ -*-===//
//
// The interpreter is the oracle, so its tensors favour obviously-right over
// fast: a concrete shape and float64 storage for every dtype (i32 values are
// exact in a double). Compiled float32 kernels are compared to it with a
// stated tolerance.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Types.h"

#include <cstdint>
#include <vector>

namespace netc {

struct Tensor {
  DType dtype = DType::F32;
  Shape shape; // concrete: no kBatch
  std::vector<double> data;

  Tensor() = default;
  Tensor(DType dt, Shape s, double fill = 0.0);

  int64_t size() const { return static_cast<int64_t>(data.size()); }
  int rank() const { return static_cast<int>(shape.size()); }
  double &operator[](int64_t i) { return data[i]; }
  double operator[](int64_t i) const { return data[i]; }
};

/// Row-major strides of a concrete shape.
std::vector<int64_t> strides_of(const Shape &s);

} // namespace netc
