//===- IR.cpp - Op tables, functions, modules, the builder ----------------===//
#include "ir/IR.h"

#include "ir/OpInfo.h"

#include <algorithm>
#include <numeric>

namespace netc {

namespace {
struct OpRow {
  OpKind kind;
  const char *name;
  int arity;
  const char *family;
  FusionClass fusion;
  const char *attrs;
};
const OpRow kOpRows[] = {
#define NETC_OP(Name, Spelling, Arity, Family, Fusion, AttrDoc)                                    \
  {OpKind::Name, Spelling, Arity, #Family, FusionClass::Fusion, AttrDoc},
#include "ir/Ops.def"
};
const OpRow &row(OpKind k) { return kOpRows[static_cast<size_t>(k)]; }
} // namespace

const char *op_name(OpKind k) { return row(k).name; }
int op_arity(OpKind k) { return row(k).arity; }
const char *op_family(OpKind k) { return row(k).family; }
FusionClass op_fusion_class(OpKind k) { return row(k).fusion; }
const char *op_attr_doc(OpKind k) { return row(k).attrs; }

std::optional<OpKind> parse_op_name(std::string_view s) {
  for (const OpRow &r : kOpRows)
    if (s == r.name)
      return r.kind;
  return std::nullopt;
}

const std::vector<OpKind> &all_ops() {
  static const std::vector<OpKind> ops = [] {
    std::vector<OpKind> v;
    for (const OpRow &r : kOpRows)
      v.push_back(r.kind);
    return v;
  }();
  return ops;
}

std::vector<ValueId> Function::args() const {
  std::vector<ValueId> out;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].op == OpKind::Arg)
      out.push_back(static_cast<ValueId>(i));
  std::stable_sort(out.begin(), out.end(), [&](ValueId a, ValueId b) {
    return nodes[a].attrs.get_int("index") < nodes[b].attrs.get_int("index");
  });
  return out;
}

ValueId Function::output(const std::string &name) const {
  for (const NamedValue &o : outputs)
    if (o.name == name)
      return o.value;
  return kNoValue;
}

std::vector<bool> live_nodes(const Function &f, bool keep_args) {
  std::vector<bool> live(f.nodes.size(), false);
  for (const NamedValue &o : f.outputs)
    live[o.value] = true;
  for (const Update &u : f.updates)
    live[u.value] = true;
  for (size_t i = f.nodes.size(); i-- > 0;) {
    if (keep_args && f.nodes[i].op == OpKind::Arg)
      live[i] = true;
    if (live[i])
      for (ValueId v : f.nodes[i].operands)
        live[v] = true;
  }
  return live;
}

const ParamDecl *Module::find_param(const std::string &name) const {
  for (const ParamDecl &p : params)
    if (p.name == name)
      return &p;
  return nullptr;
}

Function *Module::find_function(const std::string &name) {
  for (Function &f : functions)
    if (f.name == name)
      return &f;
  return nullptr;
}

const Function *Module::find_function(const std::string &name) const {
  for (const Function &f : functions)
    if (f.name == name)
      return &f;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Builder
//===----------------------------------------------------------------------===//

ValueId Builder::op(OpKind k, std::vector<ValueId> operands, Attrs attrs, std::string *error) {
  Node n{k, {}, std::move(operands), std::move(attrs), loc_};
  std::vector<TensorType> in;
  for (ValueId v : n.operands) {
    NETC_ASSERT(v >= 0 && static_cast<size_t>(v) < f_.nodes.size(), "operand out of range");
    in.push_back(f_.nodes[v].type);
  }
  TypeResult r = infer_type(n, in);
  if (!r.type) {
    if (error) {
      *error = r.error;
      return kNoValue;
    }
    NETC_UNREACHABLE(std::string("pass built ill-typed IR: ") + op_name(k) + ": " + r.error);
  }
  n.type = *r.type;
  f_.nodes.push_back(std::move(n));
  return static_cast<ValueId>(f_.nodes.size() - 1);
}

ValueId Builder::arg(const std::string &name, const TensorType &t) {
  int64_t index = static_cast<int64_t>(f_.args().size());
  f_.nodes.push_back({OpKind::Arg, t, {}, Attrs{{"index", index}, {"name", name}}, loc_});
  return static_cast<ValueId>(f_.nodes.size() - 1);
}

ValueId Builder::param(const ParamDecl &p) {
  f_.nodes.push_back({OpKind::Param, p.type, {}, Attrs{{"name", p.name}}, loc_});
  return static_cast<ValueId>(f_.nodes.size() - 1);
}

ValueId Builder::constant(double value, const TensorType &t) {
  f_.nodes.push_back({OpKind::Constant, t, {}, Attrs{{"value", value}}, loc_});
  return static_cast<ValueId>(f_.nodes.size() - 1);
}

ValueId Builder::transpose(ValueId a, std::vector<int64_t> perm) {
  return op(OpKind::Transpose, {a}, Attrs{{"perm", std::move(perm)}});
}

ValueId Builder::reshape(ValueId a, Shape shape) {
  if (type(a).shape == shape)
    return a;
  return op(OpKind::Reshape, {a}, Attrs{{"shape", std::move(shape)}});
}

ValueId Builder::broadcast(ValueId a, Shape shape) {
  if (type(a).shape == shape)
    return a;
  return op(OpKind::Broadcast, {a}, Attrs{{"shape", std::move(shape)}});
}

ValueId Builder::reduce_sum(ValueId a, std::vector<int64_t> axes, bool keepdims) {
  if (axes.empty())
    return a;
  return op(OpKind::ReduceSum, {a}, Attrs{{"axes", std::move(axes)}, {"keepdims", int64_t(keepdims)}});
}

ValueId Builder::slice(ValueId a, int64_t axis, int64_t begin, int64_t size) {
  if (begin == 0 && type(a).shape[axis] == size)
    return a;
  return op(OpKind::Slice, {a}, Attrs{{"axis", axis}, {"begin", begin}, {"size", size}});
}

ValueId Builder::unbroadcast(ValueId g, Shape target) {
  Shape gs = type(g).shape;
  if (gs == target)
    return g;
  // Leading axes the target lacks are summed away; axes where the target has
  // 1 and g does not are summed with keepdims.
  int lead = static_cast<int>(gs.size()) - static_cast<int>(target.size());
  NETC_ASSERT(lead >= 0, "unbroadcast to a higher rank");
  std::vector<int64_t> axes;
  for (int i = 0; i < lead; ++i)
    axes.push_back(i);
  for (size_t i = 0; i < target.size(); ++i)
    if (target[i] == 1 && gs[lead + i] != 1)
      axes.push_back(lead + static_cast<int64_t>(i));
  ValueId s = reduce_sum(g, axes, /*keepdims=*/false);
  return reshape(s, target);
}

} // namespace netc
