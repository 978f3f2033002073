//===- Dispatch.cpp - lower_op and the layout helpers ---------------------===//
//
// This file implements lower_op, one switch over every op kind (no default:
// a new op in Ops.def fails the build here until it has a lowering), and the
// helpers that translate IR-order indices to the Halide-order Vars of a Func.
//
//===----------------------------------------------------------------------===//
#include "codegen/halide/Families.h"

namespace netc::hl {

std::vector<Halide::Var> make_vars(int rank) {
  std::vector<Halide::Var> v;
  for (int h = 0; h < rank; ++h)
    v.emplace_back("d" + std::to_string(h));
  return v;
}

std::vector<Halide::Expr> ir_index(const std::vector<Halide::Var> &vars) {
  return std::vector<Halide::Expr>(vars.rbegin(), vars.rend());
}

Halide::Expr call_ir(const Halide::Func &f, const std::vector<Halide::Expr> &ir_idx) {
  std::vector<Halide::Expr> h(ir_idx.rbegin(), ir_idx.rend());
  return Halide::Func(f)(h);
}

std::vector<Halide::Expr> broadcast_ir_index(const Shape &in, const Shape &out,
                                             const std::vector<Halide::Expr> &out_idx) {
  size_t lead = out.size() - in.size();
  std::vector<Halide::Expr> idx;
  for (size_t d = 0; d < in.size(); ++d)
    idx.push_back(in[d] == 1 ? Halide::Expr(0) : out_idx[d + lead]);
  return idx;
}

std::vector<Halide::Expr> extents(const Shape &s, const Halide::Expr &batch) {
  std::vector<Halide::Expr> e;
  for (int64_t d : s)
    e.push_back(extent(d, batch));
  return e;
}

std::string fresh_name(const std::string &prefix) {
  return Halide::Internal::unique_name(prefix + "_");
}

Halide::Func lower_op(const Node &n, std::span<const Value> operands, const Halide::Expr &batch) {
  NETC_ASSERT(arity_fits(n.op, operands.size()),
              std::string("wrong operand count for ") + op_name(n.op));
  switch (n.op) {
  case OpKind::Arg:
  case OpKind::Param:
    NETC_UNREACHABLE("arg and param are kernel inputs, not lowered ops");
  case OpKind::Constant:
  case OpKind::BatchSize:
    return lower_leaf(n, batch);
  case OpKind::Neg:
  case OpKind::Exp:
  case OpKind::Log:
  case OpKind::Sqrt:
  case OpKind::Relu:
  case OpKind::Step:
  case OpKind::Sigmoid:
  case OpKind::Tanh:
  case OpKind::Floor:
  case OpKind::Cos:
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Equal:
  case OpKind::Minimum:
  case OpKind::Maximum:
  case OpKind::Pow:
    return lower_elementwise(n, operands);
  case OpKind::MatMul:
    return lower_matmul(n, operands, batch);
  case OpKind::Reshape:
    return lower_reshape(n, operands[0], batch);
  case OpKind::Transpose:
    return lower_transpose(n, operands[0]);
  case OpKind::Broadcast:
    return lower_broadcast(n, operands[0]);
  case OpKind::OneHot:
    return lower_one_hot(n, operands[0]);
  case OpKind::Gather:
    return lower_gather(n, operands[0], operands[1]);
  case OpKind::ScatterAdd:
    return lower_scatter_add(n, operands[0], operands[1], batch);
  case OpKind::Slice:
    return lower_slice(n, operands[0]);
  case OpKind::Concat:
    return lower_concat(n, operands[0], operands[1]);
  case OpKind::Scan:
    NETC_UNREACHABLE("scan is a loop of the driver around its body's kernels, not a kernel");
  case OpKind::ReduceSum:
  case OpKind::ReduceMax:
  case OpKind::ReduceMean:
    return lower_reduce(n, operands, batch);
  case OpKind::Conv2D:
  case OpKind::Conv2DGradInput:
  case OpKind::Conv2DGradFilter:
  case OpKind::MaxPool2D:
  case OpKind::MaxPool2DGrad:
  case OpKind::AvgPool2D:
  case OpKind::AvgPool2DGrad:
    return lower_conv(n, operands, batch);
  case OpKind::Softmax:
  case OpKind::LogSoftmax:
  case OpKind::CrossEntropy:
    return lower_loss(n, operands, batch);
  }
  NETC_UNREACHABLE("bad op kind");
}

} // namespace netc::hl
