//===- Leaf.cpp - arg, param, constant, batch_size ------------------------===//
//
// Leaves have no operands. Their type is declared (arg, param, constant) or
// fixed (batch_size), and none has a gradient of its own: autodiff reads the
// adjoints of param nodes, it does not differentiate them.
//
//===----------------------------------------------------------------------===//
#include "ir/ops/Common.h"

namespace netc::ops {
using namespace opsupport;

namespace {
TypeResult declared(const Node &n, std::span<const TensorType>) { return TypeResult::ok(n.type); }
OpCost no_cost(const Node &, std::span<const TensorType>, int64_t) { return {}; }
} // namespace

//===-- arg: the function's index-th argument -----------------------------===//
const OpInfo ArgInfo = {
    /*infer=*/[](const Node &n, std::span<const TensorType>) {
      if (!n.attrs.is_int("index") || !n.attrs.is_str("name"))
        return TypeResult::fail("needs attributes `index` (int) and `name` (str)");
      return TypeResult::ok(n.type);
    },
    /*vjp=*/nullptr,
    /*eval=*/
    [](const Node &n, std::span<const Tensor *const>, const EvalEnv &env) {
      return env.arg(n.attrs.get_int("index"));
    },
    /*cost=*/no_cost,
};

//===-- param @name: a parameter or optimizer state, read at call start ---===//
const OpInfo ParamInfo = {
    /*infer=*/[](const Node &n, std::span<const TensorType>) {
      if (!n.attrs.is_str("name"))
        return TypeResult::fail("needs attribute `name` (str)");
      if (n.type.has_batch())
        return TypeResult::fail("parameters cannot have the batch dimension, found " +
                                n.type.str());
      return TypeResult::ok(n.type);
    },
    /*vjp=*/nullptr,
    /*eval=*/
    [](const Node &n, std::span<const Tensor *const>, const EvalEnv &env) {
      return env.param(n.attrs.get_str("name"));
    },
    /*cost=*/no_cost,
};

//===-- constant v : T — every element of T equal to v --------------------===//
const OpInfo ConstantInfo = {
    /*infer=*/[](const Node &n, std::span<const TensorType> in) {
      if (!n.attrs.is_float("value"))
        return TypeResult::fail("needs attribute `value` (float)");
      return declared(n, in);
    },
    /*vjp=*/nullptr,
    /*eval=*/
    [](const Node &n, std::span<const Tensor *const>, const EvalEnv &env) {
      return Tensor(n.type.dtype, concrete_shape(n.type.shape, env.batch),
                    n.attrs.get_float("value"));
    },
    /*cost=*/no_cost,
};

//===-- batch_size : f32[] — the number of examples in this call ----------===//
// The symbolic N as a value, for means over the batch and their adjoints.
const OpInfo BatchSizeInfo = {
    /*infer=*/[](const Node &, std::span<const TensorType>) {
      return TypeResult::ok(f32({}));
    },
    /*vjp=*/nullptr,
    /*eval=*/
    [](const Node &, std::span<const Tensor *const>, const EvalEnv &env) {
      return Tensor(DType::F32, {}, static_cast<double>(env.batch));
    },
    /*cost=*/no_cost,
};

} // namespace netc::ops
