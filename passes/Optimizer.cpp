//===- Optimizer.cpp - The optimizer update as IR -------------------------===//
//
// This file implements apply_optimizer. It reads the train block's optimizer,
// schedule and clipping settings from the module config, then appends to
// @train_step, in this order:
//   1. this step's learning rate: the schedule applied to @lr and @step;
//   2. @step + 1, written back to @step (when a rule or schedule reads it);
//   3. the clipped gradients (clip_value, then clip_norm);
//   4. each parameter's update, by the optimizer's rule (OptimizerRules.cpp).
//
//===----------------------------------------------------------------------===//
#include "passes/Optimizer.h"

#include "passes/Autodiff.h"
#include "passes/OptimizerRules.h"

#include <numbers>

namespace netc {

namespace {

using optim::Hyper;
using optim::UpdateRule;

/// A number from config, written as a float or an int in IR text.
double config_number(const Attrs &config, const std::string &key, double fallback) {
  if (config.is_float(key))
    return config.get_float(key);
  if (config.is_int(key))
    return static_cast<double>(config.get_int(key));
  return fallback;
}

const UpdateRule *find_rule(const std::string &name) {
  for (const UpdateRule &r : optim::update_rules())
    if (name == r.name)
      return &r;
  return nullptr;
}

/// The optimizer's hyper-parameters: config `optimizer.<name>`, else the
/// default. Reports config keys the optimizer does not take.
std::optional<Hyper> resolve_hyper(const Module &m, const UpdateRule &rule, Loc loc,
                                   Diagnostics &diag) {
  Hyper h;
  for (const optim::HyperParam &p : rule.hyper)
    h[p.name] = config_number(m.config, std::string("optimizer.") + p.name, p.fallback);
  bool ok = true;
  for (const auto &[key, value] : m.config.map()) {
    if (key.rfind("optimizer.", 0) != 0 || h.count(key.substr(10)))
      continue;
    diag.error(loc, "optimizer `" + std::string(rule.name) + "` takes no setting `" + key + "`");
    ok = false;
  }
  return ok ? std::optional<Hyper>(h) : std::nullopt;
}

/// The schedule's learning rate for the update after `s` steps (@step, read
/// before its increment), from the base rate lr0 = @lr:
///   step(every: k, gamma: γ)        lr0 · γ^⌊s/k⌋
///   exponential(gamma: γ)           lr0 · γ^s
///   cosine(steps: T, min_lr: η)     η + (lr0 - η)·(1 + cos(π·min(s, T)/T))/2
/// PyTorch's StepLR, ExponentialLR and CosineAnnealingLR stepped once per
/// optimizer step; past T the cosine holds at η instead of rising again.
ValueId scheduled_lr(Builder &b, const Attrs &config, ValueId lr0, ValueId s) {
  std::string kind = config.get_str("schedule");
  auto num = [&](const char *k, double fallback) {
    return b.constant(config_number(config, std::string("schedule.") + k, fallback));
  };
  if (kind == "step") {
    ValueId epochs = b.op(OpKind::Floor, {b.div(s, num("every", 1))});
    ValueId gamma = num("gamma", 0.1);
    return b.mul(lr0, b.op(OpKind::Pow, {gamma, epochs}));
  }
  if (kind == "exponential")
    return b.mul(lr0, b.op(OpKind::Pow, {num("gamma", 1), s}));
  NETC_ASSERT(kind == "cosine", "unknown schedule " + kind);
  ValueId steps = num("steps", 1), min_lr = num("min_lr", 0);
  ValueId progress = b.div(b.op(OpKind::Minimum, {s, steps}), steps);
  ValueId cos = b.op(OpKind::Cos, {b.mul(b.constant(std::numbers::pi), progress)});
  ValueId one_plus_cos = b.add(b.constant(1.0), cos);
  ValueId half_wave = b.mul(b.constant(0.5), one_plus_cos);
  return b.add(min_lr, b.mul(b.sub(lr0, min_lr), half_wave));
}

struct Gradient {
  const ParamDecl *param;
  ValueId value;
};

/// clip_value c: every gradient element clamped to [-c, c].
/// clip_norm c: with n = √(Σ over all gradients of Σ g²) (one global norm),
///   every gradient scaled by min(c / (n + 1e-6), 1), as PyTorch's
///   clip_grad_norm_ does.
void clip(Builder &b, const Attrs &config, std::vector<Gradient> &grads) {
  if (config.has("clip_value")) {
    double c = config_number(config, "clip_value", 0);
    ValueId lo = b.constant(-c), hi = b.constant(c);
    for (Gradient &g : grads)
      g.value = b.op(OpKind::Minimum, {b.op(OpKind::Maximum, {g.value, lo}), hi});
  }
  if (!config.has("clip_norm") || grads.empty())
    return;
  ValueId sum_sq = kNoValue;
  for (const Gradient &g : grads) {
    std::vector<int64_t> all;
    for (int i = 0; i < b.type(g.value).rank(); ++i)
      all.push_back(i);
    ValueId s = b.reduce_sum(b.mul(g.value, g.value), all, false);
    sum_sq = sum_sq == kNoValue ? s : b.add(sum_sq, s);
  }
  ValueId norm = b.op(OpKind::Sqrt, {sum_sq});
  ValueId norm_eps = b.add(norm, b.constant(1e-6));
  ValueId ratio = b.div(b.constant(config_number(config, "clip_norm", 0)), norm_eps);
  ValueId scale = b.op(OpKind::Minimum, {ratio, b.constant(1.0)});
  for (Gradient &g : grads)
    g.value = b.mul(g.value, scale);
}

/// Declares module state `name` : f32[] unless it exists.
const ParamDecl &declare_scalar_state(Module &m, const std::string &name, Attrs attrs) {
  if (!m.find_param(name))
    m.params.push_back({name, ParamKind::State, {DType::F32, {}}, std::move(attrs), {}});
  return *m.find_param(name);
}

} // namespace

bool apply_optimizer(Module &m, Diagnostics &diag) {
  Function *f = m.find_function("train_step");
  if (!f)
    return true;
  std::string kind = m.config.is_str("optimizer") ? m.config.get_str("optimizer") : "sgd";
  const UpdateRule *rule = find_rule(kind);
  if (!rule) {
    std::string known;
    for (const UpdateRule &r : optim::update_rules())
      known += (known.empty() ? "" : ", ") + std::string(r.name);
    diag.error(f->loc, "unknown optimizer `" + kind + "`", "known optimizers: " + known);
    return false;
  }
  std::optional<Hyper> hyper = resolve_hyper(m, *rule, f->loc, diag);
  if (!hyper)
    return false;
  std::string schedule = m.config.get_str("schedule");
  if (!schedule.empty() && schedule != "step" && schedule != "exponential" &&
      schedule != "cosine") {
    diag.error(f->loc, "unknown learning-rate schedule `" + schedule + "`",
               "known schedules: step, exponential, cosine");
    return false;
  }

  Builder b(*f);
  b.set_loc(f->loc);
  const ParamDecl &lr_decl = declare_scalar_state(
      m, "lr", Attrs{{"init", std::string("constant")}, {"value", hyper->at("lr")}});
  ValueId lr = b.param(lr_decl);
  std::vector<Update> updates;
  ValueId t = kNoValue;
  if (rule->needs_step(*hyper) || !schedule.empty()) {
    ValueId s = b.param(declare_scalar_state(m, "step", Attrs{{"init", std::string("zeros")}}));
    if (!schedule.empty())
      lr = scheduled_lr(b, m.config, lr, s);
    t = b.add(s, b.constant(1.0));
    updates.push_back({"step", t});
  }

  std::vector<Gradient> grads;
  std::vector<NamedValue> outputs;
  for (const NamedValue &o : f->outputs) {
    if (o.name.rfind("grad.", 0) != 0) {
      outputs.push_back(o);
      continue;
    }
    const ParamDecl *p = nullptr;
    for (const ParamDecl &q : m.params)
      if (q.kind == ParamKind::Param && grad_output_name(q.name) == o.name)
        p = &q;
    NETC_ASSERT(p, "gradient output " + o.name + " names no parameter");
    grads.push_back({p, o.value});
  }
  clip(b, m.config, grads);

  // Copies: the rules declare state, which may reallocate m.params.
  std::vector<std::pair<ParamDecl, ValueId>> work;
  for (const Gradient &g : grads)
    work.emplace_back(*g.param, g.value);
  optim::RuleContext ctx(m, b, *hyper, lr, t);
  for (const auto &[p, g] : work) {
    b.set_loc(p.loc);
    rule->emit(ctx, p, b.param(p), g);
  }
  for (Update &u : ctx.take_updates())
    updates.push_back(std::move(u));
  f->outputs = std::move(outputs);
  f->updates = std::move(updates);
  return true;
}

} // namespace netc
