//===- Interpreter.cpp - The reference interpreter ------------------------===//
//
// Evaluates nodes in order with each op's reference implementation. Values
// are kept until the call ends: simple beats frugal in the oracle.
//
//===----------------------------------------------------------------------===//
#include "ir/Interpreter.h"

#include "ir/OpInfo.h"
#include "ir/Init.h"

#include <cmath>

namespace netc {

namespace {

/// Every node's value; `m` (may be null) resolves scan bodies.
std::vector<Tensor> run(const Module *m, const Function &f, const std::vector<Tensor> &args,
                        const ParamStore &params) {
  std::vector<ValueId> arg_ids = f.args();
  NETC_ASSERT(args.size() == arg_ids.size(),
              "function @" + f.name + " takes " + std::to_string(arg_ids.size()) +
                  " arguments, given " + std::to_string(args.size()));
  EvalEnv env;
  env.batch = 1;
  for (size_t i = 0; i < arg_ids.size(); ++i) {
    const Shape &declared = f.type(arg_ids[i]).shape;
    for (size_t d = 0; d < declared.size(); ++d)
      if (declared[d] == kBatch && d < args[i].shape.size()) {
        env.batch = args[i].shape[d];
        goto found;
      }
  }
found:
  env.arg = [&](int64_t index) -> const Tensor & { return args[index]; };
  env.param = [&](const std::string &name) -> const Tensor & {
    auto it = params.find(name);
    NETC_ASSERT(it != params.end(), "no value for parameter @" + name);
    return it->second;
  };
  if (m)
    env.call = [m, &params](const std::string &name, const std::vector<Tensor> &body_args) {
      const Function *body = m->find_function(name);
      NETC_ASSERT(body, "scan body @" + name + " is not a function of the module");
      std::vector<Tensor> values = run(m, *body, body_args, params);
      std::vector<Tensor> outs;
      for (const NamedValue &o : body->outputs)
        outs.push_back(values[o.value]);
      return outs;
    };

  std::vector<Tensor> values(f.nodes.size());
  std::vector<const Tensor *> in;
  for (size_t i = 0; i < f.nodes.size(); ++i) {
    const Node &n = f.nodes[i];
    in.clear();
    for (ValueId v : n.operands)
      in.push_back(&values[v]);
    values[i] = op_info(n.op).eval(n, in, env);
  }
  return values;
}

CallResult call(const Module *m, const Function &f, const std::vector<Tensor> &args,
                const ParamStore &params, std::vector<Tensor> *keep_values) {
  std::vector<Tensor> values = run(m, f, args, params);
  CallResult r;
  for (const NamedValue &o : f.outputs)
    r.outputs[o.name] = values[o.value];
  for (const Update &u : f.updates)
    r.updates[u.param] = values[u.value];
  if (keep_values)
    *keep_values = std::move(values);
  return r;
}

} // namespace

CallResult interpret(const Function &f, const std::vector<Tensor> &args, const ParamStore &params,
                     std::vector<Tensor> *keep_values) {
  return call(nullptr, f, args, params, keep_values);
}

CallResult interpret(const Module &m, const Function &f, const std::vector<Tensor> &args,
                     const ParamStore &params, std::vector<Tensor> *keep_values) {
  return call(&m, f, args, params, keep_values);
}

void apply_updates(ParamStore &params, const CallResult &r) {
  for (const auto &[name, value] : r.updates)
    params[name] = value;
}

ParamStore init_params(const Module &m, uint64_t seed) {
  ParamStore store;
  Pcg32 rng(seed);
  std::vector<float> values;
  for (const ParamDecl &p : m.params) {
    init_values(p.attrs.get_str("init"), p.type.shape, p.attrs.get_float("value"),
                p.attrs.get_float("stddev", 0.01), rng, values);
    Tensor t(p.type.dtype, p.type.shape);
    std::copy(values.begin(), values.end(), t.data.begin());
    store[p.name] = std::move(t);
  }
  return store;
}

} // namespace netc
