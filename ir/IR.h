//===- IR.h - netc's tensor graph IR ---------------------------*- C++ -*-===//
//
// A Module holds parameter declarations (module state) and functions. A
// Function is an SSA graph: a vector of Nodes in topological order, each
// referring to its operands by index. Nodes are plain data (op kind, result
// type, operands, attributes, location); there is no class per op. Passes
// build new functions with a Builder rather than editing nodes in place.
//
// A function's results are named outputs, plus updates: values written back
// to parameters or optimizer state when the call returns.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Attrs.h"
#include "ir/Diagnostics.h"
#include "ir/Types.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netc {

enum class OpKind : uint8_t {
#define NETC_OP(Name, Spelling, Arity, Family, Fusion, AttrDoc) Name,
#include "ir/Ops.def"
};

/// TVM's TOpPattern: how an op may fuse with its neighbours.
enum class FusionClass : uint8_t { Elementwise, Broadcast, Injective, Reduce, Opaque };

/// Static facts about an op kind from Ops.def.
const char *op_name(OpKind k);
int op_arity(OpKind k);
/// Whether `count` operands fit op `k` (any count for a variadic op: its
/// shape rule decides).
inline bool arity_fits(OpKind k, size_t count) {
  return op_arity(k) < 0 || static_cast<int>(count) == op_arity(k);
}
const char *op_family(OpKind k);
FusionClass op_fusion_class(OpKind k);
const char *op_attr_doc(OpKind k);
std::optional<OpKind> parse_op_name(std::string_view s);
/// Every op kind, in Ops.def order.
const std::vector<OpKind> &all_ops();

/// An SSA value: the index of the node that defines it in its function.
using ValueId = int32_t;
inline constexpr ValueId kNoValue = -1;

struct Node {
  OpKind op;
  TensorType type;
  std::vector<ValueId> operands;
  Attrs attrs;
  Loc loc;
};

struct NamedValue {
  std::string name;
  ValueId value;
};

/// A write of `value` to parameter or state `param` when the function returns.
struct Update {
  std::string param;
  ValueId value;
};

struct Function {
  std::string name;
  /// Topological order: every operand index is smaller than its user's.
  /// Arg nodes come first, in argument order.
  std::vector<Node> nodes;
  std::vector<NamedValue> outputs;
  std::vector<Update> updates;
  Loc loc;

  const Node &node(ValueId v) const { return nodes[v]; }
  const TensorType &type(ValueId v) const { return nodes[v].type; }
  /// The Arg nodes' ids, in argument order.
  std::vector<ValueId> args() const;
  /// The output named `name`, or kNoValue.
  ValueId output(const std::string &name) const;
};

/// Which nodes of `f` its outputs and updates depend on (and, with
/// `keep_args`, every Arg node and what it needs): the mark phase of dead-code
/// elimination, shared by the passes and the frontend.
std::vector<bool> live_nodes(const Function &f, bool keep_args);

/// Whether a module-level tensor is a model parameter or optimizer state.
enum class ParamKind : uint8_t { Param, State };

struct ParamDecl {
  std::string name;
  ParamKind kind = ParamKind::Param;
  TensorType type;
  /// init = "zeros" | "ones" | "glorot_uniform" | "he_uniform" | ...,
  /// frozen = 1 for parameters excluded from training.
  Attrs attrs;
  Loc loc;

  bool trainable() const { return kind == ParamKind::Param && attrs.get_int("frozen", 0) == 0; }
};

struct Module {
  std::string name;
  /// Training configuration from the train block (optimizer, lr, batch, ...).
  Attrs config;
  std::vector<ParamDecl> params;
  std::vector<Function> functions;

  const ParamDecl *find_param(const std::string &name) const;
  Function *find_function(const std::string &name);
  const Function *find_function(const std::string &name) const;
};

/// Appends nodes to a function, inferring each result type with the op's
/// shape rule. Used by the frontend's lowering and by every pass that emits IR.
class Builder {
public:
  explicit Builder(Function &f) : f_(f) {}

  Function &function() { return f_; }
  /// By value: building nodes reallocates the node vector, so a reference
  /// held across a build would dangle.
  TensorType type(ValueId v) const { return f_.nodes[v].type; }
  /// Valid only until the next node is built.
  const Node &node(ValueId v) const { return f_.nodes[v]; }

  /// Location stamped on every node built from now on.
  void set_loc(Loc loc) { loc_ = loc; }
  Loc loc() const { return loc_; }

  /// Builds `op(operands) {attrs}`. On a shape-rule failure returns kNoValue
  /// and stores the message in *error; with error == nullptr, a failure is an
  /// internal error (passes must only build well-typed IR).
  ValueId op(OpKind k, std::vector<ValueId> operands, Attrs attrs = {},
             std::string *error = nullptr);
  /// Leaves, whose type is declared rather than inferred.
  ValueId arg(const std::string &name, const TensorType &t);
  ValueId param(const ParamDecl &p);
  ValueId constant(double value, const TensorType &t = {DType::F32, {}});

  // Sugar for the common ops.
  ValueId add(ValueId a, ValueId b) { return op(OpKind::Add, {a, b}); }
  ValueId sub(ValueId a, ValueId b) { return op(OpKind::Sub, {a, b}); }
  ValueId mul(ValueId a, ValueId b) { return op(OpKind::Mul, {a, b}); }
  ValueId div(ValueId a, ValueId b) { return op(OpKind::Div, {a, b}); }
  ValueId neg(ValueId a) { return op(OpKind::Neg, {a}); }
  ValueId matmul(ValueId a, ValueId b) { return op(OpKind::MatMul, {a, b}); }
  ValueId transpose(ValueId a, std::vector<int64_t> perm);
  ValueId reshape(ValueId a, Shape shape);
  ValueId broadcast(ValueId a, Shape shape);
  ValueId reduce_sum(ValueId a, std::vector<int64_t> axes, bool keepdims);
  /// a[..., begin:begin+size, ...] along `axis` (a itself when that is all of it).
  ValueId slice(ValueId a, int64_t axis, int64_t begin, int64_t size);
  /// Sums `g` down to `target` (the inverse of numpy broadcasting): the
  /// adjoint of an operand that a broadcasting op stretched.
  ValueId unbroadcast(ValueId g, Shape target);

private:
  Function &f_;
  Loc loc_;
};

} // namespace netc
