//===- Tensor.cpp - Host tensors ------------------------------------------===//
#include "ir/Tensor.h"

namespace netc {

Tensor::Tensor(DType dt, Shape s, double fill) : dtype(dt), shape(std::move(s)) {
  data.assign(static_cast<size_t>(num_elements(shape, 1)), fill);
}

std::vector<int64_t> strides_of(const Shape &s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i)
    st[i] = st[i + 1] * s[i + 1];
  return st;
}

} // namespace netc
