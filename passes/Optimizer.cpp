//===- Optimizer.cpp - The optimizer update as IR -------------------------===//
#include "passes/Optimizer.h"

#include "passes/Autodiff.h"

namespace netc {

namespace {

struct SgdConfig {
  double lr = 0.01, momentum = 0, weight_decay = 0;
  bool nesterov = false;
};

ParamDecl &declare_state(Module &m, const std::string &name, const TensorType &t, Attrs attrs) {
  if (const ParamDecl *p = m.find_param(name))
    return const_cast<ParamDecl &>(*p);
  m.params.push_back({name, ParamKind::State, t, std::move(attrs), {}});
  return m.params.back();
}

/// Emits the SGD update of parameter `p` with gradient `g`.
void sgd_update(Module &m, Builder &b, const SgdConfig &c, const ParamDecl &p, ValueId g,
                ValueId lr, std::vector<Update> &updates) {
  ValueId w = b.param(p);
  if (c.weight_decay != 0)
    g = b.add(g, b.mul(b.constant(c.weight_decay), w));
  ValueId step = g;
  if (c.momentum != 0) {
    const ParamDecl &vel =
        declare_state(m, p.name + ".velocity", p.type, Attrs{{"init", std::string("zeros")}});
    ValueId v = b.param(vel);
    ValueId v_new = b.add(b.mul(b.constant(c.momentum), v), g);
    updates.push_back({vel.name, v_new});
    step = c.nesterov ? b.add(g, b.mul(b.constant(c.momentum), v_new)) : v_new;
  }
  updates.push_back({p.name, b.sub(w, b.mul(lr, step))});
}

} // namespace

bool apply_optimizer(Module &m, Diagnostics &diag) {
  Function *f = m.find_function("train_step");
  if (!f)
    return true;
  std::string kind = m.config.is_str("optimizer") ? m.config.get_str("optimizer") : "sgd";
  if (kind != "sgd") {
    diag.error(f->loc, "optimizer `" + kind + "` is not supported yet", "use sgd");
    return false;
  }
  SgdConfig c;
  c.lr = m.config.get_float("optimizer.lr", c.lr);
  c.momentum = m.config.get_float("optimizer.momentum", 0);
  c.weight_decay = m.config.get_float("optimizer.weight_decay", 0);
  c.nesterov = m.config.get_int("optimizer.nesterov", 0) != 0;

  declare_state(m, "lr", {DType::F32, {}},
                Attrs{{"init", std::string("constant")}, {"value", c.lr}});
  // Copy: declare_state may grow m.params while we iterate.
  std::vector<ParamDecl> params = m.params;
  Builder b(*f);
  b.set_loc(f->loc);
  ValueId lr = b.param(*m.find_param("lr"));
  std::vector<Update> updates;
  std::vector<NamedValue> outputs;
  for (const NamedValue &o : f->outputs) {
    if (o.name.rfind("grad.", 0) != 0) {
      outputs.push_back(o);
      continue;
    }
    const ParamDecl *p = nullptr;
    for (const ParamDecl &q : params)
      if (grad_output_name(q.name) == o.name)
        p = &q;
    NETC_ASSERT(p, "gradient output " + o.name + " names no parameter");
    b.set_loc(p->loc);
    sgd_update(m, b, c, *p, o.value, lr, updates);
  }
  f->outputs = std::move(outputs);
  f->updates = std::move(updates);
  return true;
}

} // namespace netc
