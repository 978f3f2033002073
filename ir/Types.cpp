//===- Types.cpp - Tensor types -------------------------------------------===//
#include "ir/Types.h"

#include <fmt/format.h>

namespace netc {

bool TensorType::has_batch() const {
  for (int64_t d : shape)
    if (d == kBatch)
      return true;
  return false;
}

std::string TensorType::str() const { return std::string(dtype_name(dtype)) + shape_str(shape); }

const char *dtype_name(DType t) {
  switch (t) {
  case DType::F32:
    return "f32";
  case DType::I32:
    return "i32";
  }
  return "?";
}

std::optional<DType> parse_dtype(const std::string &s) {
  if (s == "f32")
    return DType::F32;
  if (s == "i32")
    return DType::I32;
  return std::nullopt;
}

std::string dim_str(int64_t d) { return d == kBatch ? "N" : std::to_string(d); }

std::string shape_str(const Shape &s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i)
      out += ", ";
    out += dim_str(s[i]);
  }
  return out + "]";
}

int64_t num_elements(const Shape &s, int64_t batch) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d == kBatch ? batch : d;
  return n;
}

int64_t static_elements(const Shape &s) { return num_elements(s, 1); }

Shape concrete_shape(const Shape &s, int64_t batch) {
  Shape out = s;
  for (int64_t &d : out)
    if (d == kBatch)
      d = batch;
  return out;
}

} // namespace netc
