//===- OptimizerRules.cpp - SGD, RMSprop, Adam, AdamW, AdaGrad, AdaDelta --===//
//
// This file implements the update rules of the optimizer pass, each as IR,
// exactly as PyTorch 1.13's torch.optim defines it (names and defaults
// included). In the formulas g is the (clipped) gradient, w the parameter,
// lr this step's learning rate, t = 1, 2, ... the step number, and every
// state tensor starts at zero unless it says otherwise. ⊙ is elementwise.
//
//===----------------------------------------------------------------------===//
#include "passes/OptimizerRules.h"

namespace netc::optim {

ValueId RuleContext::state(const ParamDecl &p, const std::string &suffix, double init) {
  std::string name = p.name + "." + suffix;
  if (!m_.find_param(name)) {
    Attrs attrs{{"init", std::string("zeros")}};
    if (init != 0)
      attrs = Attrs{{"init", std::string("constant")}, {"value", init}};
    m_.params.push_back({name, ParamKind::State, p.type, std::move(attrs), p.loc});
  }
  return b_.param(*m_.find_param(name));
}

namespace {

bool never(const Hyper &) { return false; }
bool always(const Hyper &) { return true; }

// The helpers and rules build one node per statement where two operands
// would each build nodes, so the IR's order does not depend on the order in
// which the compiler evaluates function arguments.

/// k·x, for a constant k.
ValueId scale(RuleContext &c, double k, ValueId x) {
  ValueId kv = c.constant(k);
  return c.b().mul(kv, x);
}

/// x + k, for a constant k.
ValueId plus(RuleContext &c, ValueId x, double k) {
  ValueId kv = c.constant(k);
  return c.b().add(x, kv);
}

/// β·avg + (1-β)·x: the exponential moving averages of RMSprop, Adam, AdaDelta.
ValueId moving_average(RuleContext &c, double beta, ValueId avg, ValueId x) {
  ValueId kept = scale(c, beta, avg);
  ValueId added = scale(c, 1 - beta, x);
  return c.b().add(kept, added);
}

/// g + weight_decay·w (PyTorch's L2 weight decay, folded into the gradient).
ValueId with_weight_decay(RuleContext &c, ValueId g, ValueId w) {
  double wd = c.get("weight_decay");
  return wd == 0 ? g : c.b().add(g, scale(c, wd, w));
}

//===-- sgd --------------------------------------------------------------===//
//     g  = g + weight_decay·w
//     v' = momentum·v + g                        (state .velocity, if momentum)
//     s  = g + momentum·v'  if nesterov, else v'  (s = g without momentum)
//     w' = w - lr·s
// PyTorch's first step sets v' = g, the same as v = 0 (dampening is 0).
const HyperParam kSgd[] = {
    {"lr", 0.01}, {"momentum", 0}, {"nesterov", 0, true}, {"weight_decay", 0}};

void sgd(RuleContext &c, const ParamDecl &p, ValueId w, ValueId g) {
  Builder &b = c.b();
  g = with_weight_decay(c, g, w);
  ValueId step = g;
  if (double mu = c.get("momentum"); mu != 0) {
    ValueId v = c.state(p, "velocity");
    ValueId v_new = b.add(scale(c, mu, v), g);
    c.update(p.name + ".velocity", v_new);
    step = c.get("nesterov") != 0 ? b.add(g, scale(c, mu, v_new)) : v_new;
  }
  c.update(p.name, b.sub(w, b.mul(c.lr(), step)));
}

//===-- rmsprop ----------------------------------------------------------===//
//     g  = g + weight_decay·w
//     s' = alpha·s + (1-alpha)·g⊙g                       (state .square_avg)
//     a' = alpha·a + (1-alpha)·g       if centered       (state .grad_avg)
//     d  = √(s' - a'⊙a') + eps  if centered, else √s' + eps
//     v' = momentum·v + g/d            if momentum       (state .velocity)
//     w' = w - lr·v'  if momentum, else w - lr·g/d
const HyperParam kRmsprop[] = {{"lr", 0.01},    {"alpha", 0.99},       {"eps", 1e-8},
                               {"momentum", 0}, {"centered", 0, true}, {"weight_decay", 0}};

void rmsprop(RuleContext &c, const ParamDecl &p, ValueId w, ValueId g) {
  Builder &b = c.b();
  double alpha = c.get("alpha");
  g = with_weight_decay(c, g, w);
  ValueId s = c.state(p, "square_avg");
  ValueId s_new = moving_average(c, alpha, s, b.mul(g, g));
  c.update(p.name + ".square_avg", s_new);
  ValueId var = s_new;
  if (c.get("centered") != 0) {
    ValueId a = c.state(p, "grad_avg");
    ValueId a_new = moving_average(c, alpha, a, g);
    c.update(p.name + ".grad_avg", a_new);
    var = b.sub(s_new, b.mul(a_new, a_new));
  }
  ValueId d = plus(c, b.op(OpKind::Sqrt, {var}), c.get("eps"));
  ValueId step = b.div(g, d);
  if (double mu = c.get("momentum"); mu != 0) {
    ValueId v = c.state(p, "velocity");
    step = b.add(scale(c, mu, v), step);
    c.update(p.name + ".velocity", step);
  }
  c.update(p.name, b.sub(w, b.mul(c.lr(), step)));
}

//===-- adam, adamw ------------------------------------------------------===//
//     g  = g + weight_decay·w                  (adam: L2 in the gradient)
//     w  = w·(1 - lr·weight_decay)             (adamw: decoupled decay)
//     m' = beta1·m + (1-beta1)·g               (state .exp_avg)
//     v' = beta2·v + (1-beta2)·g⊙g             (state .exp_avg_sq)
//     u  = max(u, v')  if amsgrad, else v'     (state .max_exp_avg_sq)
//     w' = w - lr/(1 - beta1^t) · m' / (√u / √(1 - beta2^t) + eps)
const HyperParam kAdam[] = {{"lr", 0.001}, {"beta1", 0.9},      {"beta2", 0.999},
                            {"eps", 1e-8}, {"weight_decay", 0}, {"amsgrad", 0, true}};
const HyperParam kAdamW[] = {{"lr", 0.001}, {"beta1", 0.9},         {"beta2", 0.999},
                             {"eps", 1e-8}, {"weight_decay", 0.01}, {"amsgrad", 0, true}};

void adam_common(RuleContext &c, const ParamDecl &p, ValueId w, ValueId g) {
  Builder &b = c.b();
  double beta1 = c.get("beta1"), beta2 = c.get("beta2");
  // Bias corrections 1 - β^t, once per step.
  auto correction = [&](const char *key, double beta) {
    return c.scalar(key, [&] {
      ValueId pow = b.op(OpKind::Pow, {c.constant(beta), c.t()});
      ValueId one = c.constant(1.0);
      return b.sub(one, pow);
    });
  };
  ValueId step_size =
      c.scalar("adam.step_size", [&] { return b.div(c.lr(), correction("bc1", beta1)); });
  ValueId sqrt_bc2 =
      c.scalar("adam.sqrt_bc2", [&] { return b.op(OpKind::Sqrt, {correction("bc2", beta2)}); });

  ValueId m = c.state(p, "exp_avg");
  ValueId m_new = moving_average(c, beta1, m, g);
  c.update(p.name + ".exp_avg", m_new);
  ValueId v = c.state(p, "exp_avg_sq");
  ValueId v_new = moving_average(c, beta2, v, b.mul(g, g));
  c.update(p.name + ".exp_avg_sq", v_new);
  ValueId u = v_new;
  if (c.get("amsgrad") != 0) {
    u = b.op(OpKind::Maximum, {c.state(p, "max_exp_avg_sq"), v_new});
    c.update(p.name + ".max_exp_avg_sq", u);
  }
  ValueId denom = plus(c, b.div(b.op(OpKind::Sqrt, {u}), sqrt_bc2), c.get("eps"));
  c.update(p.name, b.sub(w, b.mul(step_size, b.div(m_new, denom))));
}

void adam(RuleContext &c, const ParamDecl &p, ValueId w, ValueId g) {
  adam_common(c, p, w, with_weight_decay(c, g, w));
}

void adamw(RuleContext &c, const ParamDecl &p, ValueId w, ValueId g) {
  Builder &b = c.b();
  if (double wd = c.get("weight_decay"); wd != 0) {
    ValueId keep = c.scalar("adamw.keep", [&] {
      ValueId one = c.constant(1.0);
      return b.sub(one, scale(c, wd, c.lr()));
    });
    w = b.mul(w, keep);
  }
  adam_common(c, p, w, g);
}

//===-- adagrad ----------------------------------------------------------===//
//     g   = g + weight_decay·w
//     lr' = lr / (1 + (t-1)·lr_decay)
//     s'  = s + g⊙g                (state .sum, init initial_accumulator_value)
//     w'  = w - lr'·g / (√s' + eps)
const HyperParam kAdagrad[] = {{"lr", 0.01},
                               {"lr_decay", 0},
                               {"weight_decay", 0},
                               {"initial_accumulator_value", 0},
                               {"eps", 1e-10}};

void adagrad(RuleContext &c, const ParamDecl &p, ValueId w, ValueId g) {
  Builder &b = c.b();
  g = with_weight_decay(c, g, w);
  ValueId lr = c.lr();
  if (double decay = c.get("lr_decay"); decay != 0)
    lr = c.scalar("adagrad.lr", [&] {
      ValueId t_minus_1 = plus(c, c.t(), -1.0);
      ValueId denom = plus(c, scale(c, decay, t_minus_1), 1.0);
      return b.div(lr, denom);
    });
  ValueId s = c.state(p, "sum", c.get("initial_accumulator_value"));
  ValueId s_new = b.add(s, b.mul(g, g));
  c.update(p.name + ".sum", s_new);
  ValueId denom = plus(c, b.op(OpKind::Sqrt, {s_new}), c.get("eps"));
  c.update(p.name, b.sub(w, b.mul(lr, b.div(g, denom))));
}

//===-- adadelta ---------------------------------------------------------===//
//     g  = g + weight_decay·w
//     s' = rho·s + (1-rho)·g⊙g                      (state .square_avg)
//     δ  = √(a + eps) / √(s' + eps) · g
//     a' = rho·a + (1-rho)·δ⊙δ                      (state .acc_delta)
//     w' = w - lr·δ
const HyperParam kAdadelta[] = {{"lr", 1.0}, {"rho", 0.9}, {"eps", 1e-6}, {"weight_decay", 0}};

void adadelta(RuleContext &c, const ParamDecl &p, ValueId w, ValueId g) {
  Builder &b = c.b();
  double rho = c.get("rho");
  ValueId eps = c.constant(c.get("eps"));
  g = with_weight_decay(c, g, w);
  ValueId s = c.state(p, "square_avg");
  ValueId s_new = moving_average(c, rho, s, b.mul(g, g));
  c.update(p.name + ".square_avg", s_new);
  ValueId a = c.state(p, "acc_delta");
  ValueId std_dev = b.op(OpKind::Sqrt, {b.add(s_new, eps)});
  ValueId delta = b.mul(b.div(b.op(OpKind::Sqrt, {b.add(a, eps)}), std_dev), g);
  c.update(p.name + ".acc_delta", moving_average(c, rho, a, b.mul(delta, delta)));
  c.update(p.name, b.sub(w, b.mul(c.lr(), delta)));
}

bool adagrad_needs_step(const Hyper &h) { return h.at("lr_decay") != 0; }

const UpdateRule kRules[] = {
    {"sgd", kSgd, never, sgd},
    {"rmsprop", kRmsprop, never, rmsprop},
    {"adam", kAdam, always, adam},
    {"adamw", kAdamW, always, adamw},
    {"adagrad", kAdagrad, adagrad_needs_step, adagrad},
    {"adadelta", kAdadelta, never, adadelta},
};

} // namespace

std::span<const UpdateRule> update_rules() { return kRules; }

} // namespace netc::optim
