//===- OpInfo.cpp - Dispatch from op kind to its rules ---------------------===//
#include "ir/OpInfo.h"

namespace netc {

const OpInfo &op_info(OpKind k) {
  // No default: a new Ops.def entry fails to compile until it has an OpInfo.
  switch (k) {
#define NETC_OP(Name, Spelling, Arity, Family, Fusion, AttrDoc)                                    \
  case OpKind::Name:                                                                               \
    return ops::Name##Info;
#include "ir/Ops.def"
  }
  NETC_UNREACHABLE("bad op kind");
}

TypeResult infer_type(const Node &n, std::span<const TensorType> in) {
  if (!arity_fits(n.op, in.size()))
    return TypeResult::fail("expects " + std::to_string(op_arity(n.op)) + " operand(s), found " +
                            std::to_string(in.size()));
  return op_info(n.op).infer(n, in);
}

std::optional<Shape> broadcast_shapes(const Shape &a, const Shape &b) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == db)
      out[i] = da;
    else if (da == 1)
      out[i] = db;
    else if (db == 1)
      out[i] = da;
    else
      return std::nullopt;
  }
  return out;
}

double io_bytes(const Node &n, std::span<const TensorType> in, int64_t batch) {
  double b = 4.0 * static_cast<double>(num_elements(n.type.shape, batch));
  for (const TensorType &t : in)
    b += 4.0 * static_cast<double>(num_elements(t.shape, batch));
  return b;
}

} // namespace netc
