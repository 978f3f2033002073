//===- Types.h - Tensor types with a symbolic batch dimension ---*- C++ -*-===//
//
// A TensorType is a dtype and a shape. Shapes are static except for one
// symbolic dimension, the batch, written `N` in IR text and stored as kBatch.
// Inputs are declared per example in the language; lowering prepends N.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace netc {

/// Element types. f32 for activations and parameters, i32 for class labels
/// and token ids.
enum class DType : uint8_t { F32, I32 };

/// The symbolic batch dimension inside a Shape.
inline constexpr int64_t kBatch = -1;

/// Dimension sizes, outermost first. A dimension equal to kBatch is the batch.
using Shape = std::vector<int64_t>;

struct TensorType {
  DType dtype = DType::F32;
  Shape shape;

  int rank() const { return static_cast<int>(shape.size()); }
  bool has_batch() const;
  bool operator==(const TensorType &) const = default;
  /// "f32[N, 784]"; "f32[]" for a scalar.
  std::string str() const;
};

const char *dtype_name(DType t);
std::optional<DType> parse_dtype(const std::string &s);

/// "[N, 28, 28]".
std::string shape_str(const Shape &s);
/// One dimension: "N" or the number.
std::string dim_str(int64_t d);
/// Number of elements with the batch dimension bound to `batch`.
int64_t num_elements(const Shape &s, int64_t batch);
/// Product of the static dimensions (the batch dimension counts as 1).
int64_t static_elements(const Shape &s);
/// Replace kBatch by `batch`.
Shape concrete_shape(const Shape &s, int64_t batch);

} // namespace netc
