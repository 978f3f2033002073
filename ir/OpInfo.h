//===- OpInfo.h - Everything about one op, in one place --------*- C++ -*-===//
//
// Each op in Ops.def has one OpInfo, defined in ir/ops/<Family>.cpp next to
// its siblings: the shape rule, the vector-Jacobian product (emitted as IR),
// the reference implementation the interpreter runs, and the cost `netc bench`
// reports. A missing OpInfo is a link error; op_info()'s switch has no default.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"
#include "ir/Tensor.h"

#include <functional>
#include <optional>
#include <span>
#include <string>

namespace netc {

/// The result type, or the reason the operands do not fit the op. The reason
/// reads as the tail of "<op>: ...", naming the shapes involved.
struct TypeResult {
  std::optional<TensorType> type;
  std::string error;
  static TypeResult ok(TensorType t) { return {std::move(t), {}}; }
  static TypeResult fail(std::string e) { return {std::nullopt, std::move(e)}; }
};

/// What the VJP rule sees: the forward node, its result value, the adjoint of
/// that result, and a builder on the function being differentiated. It sets
/// dx[i] to the adjoint contribution of operand i, or leaves it kNoValue when
/// operand i gets no gradient (integer labels, masks).
///
/// `wants` says which operands' adjoints the caller will use (empty: all).
/// A rule emits nothing for an operand it is not asked for, so the gradient
/// of an input, or of what only frozen parameters depend on, never exists in
/// the IR (not even as dead code for a later DCE to remove).
struct VjpContext {
  Builder &b;
  const Node &node;
  ValueId self;
  ValueId dy;
  std::vector<ValueId> dx;
  std::vector<bool> wants = {};

  bool want(size_t operand) const { return wants.empty() || wants[operand]; }
};

/// What the reference implementation sees beyond its operands.
struct EvalEnv {
  int64_t batch = 1;
  std::function<const Tensor &(int64_t index)> arg;
  std::function<const Tensor &(const std::string &name)> param;
  /// Runs function `name` of the module on `args` and returns its outputs in
  /// order (scan bodies). Unset outside a module; scan then fails loudly.
  std::function<std::vector<Tensor>(const std::string &name, const std::vector<Tensor> &args)>
      call;
};

struct OpCost {
  double flops = 0; // floating-point operations (an FMA counts 2)
  double bytes = 0; // bytes read and written, assuming no reuse across kernels
};

struct OpInfo {
  TypeResult (*infer)(const Node &n, std::span<const TensorType> in);
  /// nullptr for ops that are not differentiable at all (their operands get
  /// no adjoint): step, equal, one_hot, leaves.
  void (*vjp)(VjpContext &ctx);
  Tensor (*eval)(const Node &n, std::span<const Tensor *const> in, const EvalEnv &env);
  OpCost (*cost)(const Node &n, std::span<const TensorType> in, int64_t batch);
};

namespace ops {
#define NETC_OP(Name, Spelling, Arity, Family, Fusion, AttrDoc) extern const OpInfo Name##Info;
#include "ir/Ops.def"
} // namespace ops

const OpInfo &op_info(OpKind k);

/// Shape rule of `n.op` applied to `in`.
TypeResult infer_type(const Node &n, std::span<const TensorType> in);

/// Numpy broadcasting of two shapes (trailing alignment; N matches N or 1).
std::optional<Shape> broadcast_shapes(const Shape &a, const Shape &b);

/// Scan helpers (ir/ops/Control.cpp): the per-step type of a scan's
/// sequence operand (its time axis removed), and a per-step shape stacked
/// along `axis` over `steps` steps.
TensorType scan_step_type(const TensorType &seq, int64_t axis);
Shape scan_stacked_shape(const Shape &step, int64_t axis, int64_t steps);

/// Default byte count: every operand read once and the result written once.
double io_bytes(const Node &n, std::span<const TensorType> in, int64_t batch);

} // namespace netc
