//===- optimizer_test.cpp - Every optimizer vs its published rule ---------===//
//
// For each optimizer, schedule and clipping mode, the IR that the optimizer
// pass emits runs through the reference interpreter side by side with an
// independent implementation of the published update rule, written plainly
// from the formulas (PyTorch 1.13's torch.optim documentation), over 12
// steps of random gradients. Both sides compute in float64, from the same
// float32 learning rate (@lr is f32 state).
//
// The same cases are exported for the PyTorch cross-check
// (tests/unit/optimizer_torch.py, ctest "torch: optimizers").
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include "frontend/Frontend.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "passes/Optimizer.h"
#include "passes/Simplify.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <numbers>
#include <sstream>

using namespace netc;
using namespace netc::test;

namespace {

using Vec = std::vector<double>;
using Args = std::map<std::string, double>;

/// One case: the optimizer and its arguments, an optional schedule, clipping.
struct Case {
  std::string name;
  std::string optimizer;
  Args args;
  std::string schedule;
  Args schedule_args;
  double clip_norm = 0, clip_value = 0;
};

const std::vector<Case> &cases() {
  static const std::vector<Case> c = {
      {"sgd", "sgd", {{"lr", 0.1}}},
      {"sgd momentum weight_decay",
       "sgd",
       {{"lr", 0.05}, {"momentum", 0.9}, {"weight_decay", 0.01}}},
      {"sgd nesterov", "sgd", {{"lr", 0.05}, {"momentum", 0.8}, {"nesterov", 1}}},
      {"rmsprop", "rmsprop", {{"lr", 0.01}}},
      {"rmsprop centered momentum",
       "rmsprop",
       {{"lr", 0.01},
        {"alpha", 0.9},
        {"eps", 1e-6},
        {"momentum", 0.5},
        {"centered", 1},
        {"weight_decay", 0.1}}},
      {"adam", "adam", {{"lr", 0.01}}},
      {"adam amsgrad weight_decay",
       "adam",
       {{"lr", 0.02},
        {"beta1", 0.8},
        {"beta2", 0.99},
        {"eps", 1e-6},
        {"weight_decay", 0.05},
        {"amsgrad", 1}}},
      {"adamw", "adamw", {{"lr", 0.01}, {"weight_decay", 0.1}}},
      {"adagrad", "adagrad", {{"lr", 0.1}}},
      {"adagrad lr_decay",
       "adagrad",
       {{"lr", 0.1},
        {"lr_decay", 0.1},
        {"initial_accumulator_value", 0.5},
        {"weight_decay", 0.02}}},
      {"adadelta", "adadelta", {}},
      {"adadelta rho weight_decay",
       "adadelta",
       {{"lr", 0.5}, {"rho", 0.8}, {"eps", 1e-4}, {"weight_decay", 0.1}}},
      {"step schedule",
       "sgd",
       {{"lr", 0.1}, {"momentum", 0.9}},
       "step",
       {{"every", 3}, {"gamma", 0.5}}},
      {"exponential schedule", "adam", {{"lr", 0.01}}, "exponential", {{"gamma", 0.9}}},
      {"cosine schedule", "sgd", {{"lr", 0.1}}, "cosine", {{"steps", 8}, {"min_lr", 0.01}}},
      {"clip_norm", "sgd", {{"lr", 0.1}}, "", {}, 0.5},
      {"clip_value", "adam", {{"lr", 0.01}}, "", {}, 0, 0.3},
  };
  return c;
}

/// PyTorch's defaults, for the reference (independent of the pass's table).
double arg(const Case &c, const std::string &k) {
  static const std::map<std::string, Args> defaults = {
      {"sgd", {{"lr", 0.01}, {"momentum", 0}, {"nesterov", 0}, {"weight_decay", 0}}},
      {"rmsprop",
       {{"lr", 0.01},
        {"alpha", 0.99},
        {"eps", 1e-8},
        {"momentum", 0},
        {"centered", 0},
        {"weight_decay", 0}}},
      {"adam",
       {{"lr", 0.001},
        {"beta1", 0.9},
        {"beta2", 0.999},
        {"eps", 1e-8},
        {"weight_decay", 0},
        {"amsgrad", 0}}},
      {"adamw",
       {{"lr", 0.001},
        {"beta1", 0.9},
        {"beta2", 0.999},
        {"eps", 1e-8},
        {"weight_decay", 0.01},
        {"amsgrad", 0}}},
      {"adagrad",
       {{"lr", 0.01},
        {"lr_decay", 0},
        {"weight_decay", 0},
        {"initial_accumulator_value", 0},
        {"eps", 1e-10}}},
      {"adadelta", {{"lr", 1.0}, {"rho", 0.9}, {"eps", 1e-6}, {"weight_decay", 0}}},
  };
  auto it = c.args.find(k);
  return it != c.args.end() ? it->second : defaults.at(c.optimizer).at(k);
}

const char *kParams[] = {"w", "b"};
const Shape kShapes[] = {{3, 4}, {4}};

/// The train block of case `c`, flattened as the frontend does.
Attrs config_of(const Case &c) {
  Attrs config;
  config.set("optimizer", c.optimizer);
  for (const auto &[k, v] : c.args)
    config.set("optimizer." + k, v);
  if (!c.schedule.empty()) {
    config.set("schedule", c.schedule);
    for (const auto &[k, v] : c.schedule_args)
      config.set("schedule." + k, v);
  }
  if (c.clip_norm)
    config.set("clip_norm", c.clip_norm);
  if (c.clip_value)
    config.set("clip_value", c.clip_value);
  return config;
}

/// A module whose @train_step takes the gradients as arguments and returns
/// them as `grad.w`, `grad.b` (what autodiff would hand the optimizer pass),
/// after the optimizer and simplify passes.
Module optimized_module(Attrs config) {
  Module m;
  m.name = "opt";
  m.config = std::move(config);
  Function f;
  f.name = "train_step";
  Builder b(f);
  for (int i = 0; i < 2; ++i) {
    m.params.push_back({kParams[i], ParamKind::Param, {DType::F32, kShapes[i]}, {}, {}});
    ValueId g = b.arg(std::string("g") + kParams[i], {DType::F32, kShapes[i]});
    f.outputs.push_back({std::string("grad.") + kParams[i], g});
  }
  f.outputs.insert(f.outputs.begin(), {"loss", b.constant(0.0)});
  m.functions.push_back(std::move(f));
  SourceManager sm;
  Diagnostics diag(sm);
  bool ok = apply_optimizer(m, diag) && verify_module(m, diag) && simplify(m, diag) &&
            verify_module(m, diag);
  std::ostringstream errs;
  diag.flush(errs);
  INFO(errs.str());
  REQUIRE(ok);
  return m;
}

/// The reference: the published rule, one flat parameter at a time.
struct Reference {
  const Case &c;
  double lr0; // the base rate, rounded to float32 as @lr is
  int steps = 0;
  std::map<std::string, Vec> w, m, v, vmax, sq, grad_avg, vel, sum, acc;

  double lr_now() const {
    double s = steps;
    if (c.schedule == "step")
      return lr0 *
             std::pow(c.schedule_args.at("gamma"), std::floor(s / c.schedule_args.at("every")));
    if (c.schedule == "exponential")
      return lr0 * std::pow(c.schedule_args.at("gamma"), s);
    if (c.schedule == "cosine") {
      double T = c.schedule_args.at("steps"), eta = c.schedule_args.at("min_lr");
      return eta + (lr0 - eta) * (1 + std::cos(std::numbers::pi * std::min(s, T) / T)) / 2;
    }
    return lr0;
  }

  void clip(std::map<std::string, Vec> &grads) const {
    if (c.clip_value)
      for (auto &[_, g] : grads)
        for (double &x : g)
          x = std::max(-c.clip_value, std::min(c.clip_value, x));
    if (c.clip_norm) {
      double total = 0;
      for (auto &[_, g] : grads)
        for (double x : g)
          total += x * x;
      double coef = std::min(1.0, c.clip_norm / (std::sqrt(total) + 1e-6));
      for (auto &[_, g] : grads)
        for (double &x : g)
          x *= coef;
    }
  }

  void step(std::map<std::string, Vec> grads) {
    clip(grads);
    double lr = lr_now();
    ++steps;
    const int t = steps;
    const std::string &o = c.optimizer;
    double wd = arg(c, "weight_decay");
    for (auto &[name, g] : grads) {
      Vec &p = w[name];
      auto state = [&](std::map<std::string, Vec> &s, double init = 0) -> Vec & {
        if (!s.count(name))
          s[name] = Vec(p.size(), init);
        return s[name];
      };
      for (size_t i = 0; i < p.size(); ++i) {
        double gi = g[i];
        if (o != "adamw")
          gi += wd * p[i]; // L2 decay folded into the gradient
        if (o == "sgd") {
          double mu = arg(c, "momentum");
          if (mu == 0) {
            p[i] -= lr * gi;
            continue;
          }
          double &b = state(vel)[i];
          b = mu * b + gi;
          p[i] -= lr * (arg(c, "nesterov") ? gi + mu * b : b);
        } else if (o == "rmsprop") {
          double alpha = arg(c, "alpha"), mu = arg(c, "momentum");
          double &s = state(sq)[i];
          s = alpha * s + (1 - alpha) * gi * gi;
          double avg = s;
          if (arg(c, "centered")) {
            double &ga = state(grad_avg)[i];
            ga = alpha * ga + (1 - alpha) * gi;
            avg = s - ga * ga;
          }
          avg = std::sqrt(avg) + arg(c, "eps");
          if (mu > 0) {
            double &b = state(vel)[i];
            b = mu * b + gi / avg;
            p[i] -= lr * b;
          } else {
            p[i] -= lr * gi / avg;
          }
        } else if (o == "adam" || o == "adamw") {
          if (o == "adamw")
            p[i] *= 1 - lr * wd; // decoupled decay
          double b1 = arg(c, "beta1"), b2 = arg(c, "beta2");
          double &mi = state(m)[i], &vi = state(v)[i];
          mi = b1 * mi + (1 - b1) * gi;
          vi = b2 * vi + (1 - b2) * gi * gi;
          double vhat = vi;
          if (arg(c, "amsgrad")) {
            double &vm = state(vmax)[i];
            vm = std::max(vm, vi);
            vhat = vm;
          }
          double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
          double denom = std::sqrt(vhat) / std::sqrt(bc2) + arg(c, "eps");
          p[i] -= lr / bc1 * mi / denom;
        } else if (o == "adagrad") {
          double clr = lr / (1 + (t - 1) * arg(c, "lr_decay"));
          double &s = state(sum, arg(c, "initial_accumulator_value"))[i];
          s += gi * gi;
          p[i] -= clr * gi / (std::sqrt(s) + arg(c, "eps"));
        } else if (o == "adadelta") {
          double rho = arg(c, "rho"), eps = arg(c, "eps");
          double &s = state(sq)[i], &a = state(acc)[i];
          s = rho * s + (1 - rho) * gi * gi;
          double delta = std::sqrt(a + eps) / std::sqrt(s + eps) * gi;
          a = rho * a + (1 - rho) * delta * delta;
          p[i] -= lr * delta;
        } else {
          FAIL("no reference for " << o);
        }
      }
    }
  }
};

double config_number(const Attrs &a, const std::string &k) {
  return a.is_int(k) ? double(a.get_int(k)) : a.get_float(k);
}

Tensor to_tensor(const Vec &v, const Shape &s) {
  Tensor t(DType::F32, s);
  t.data = v;
  return t;
}

/// Runs case `c` for `steps` steps on both sides; returns the largest
/// relative difference seen over all steps and parameters. With `log`, also
/// writes the case (initial values, gradients, results) as JSON.
double run_case(const Case &c, int steps, std::ostream *log = nullptr) {
  Module mod = optimized_module(config_of(c));
  const Function &f = *mod.find_function("train_step");
  ParamStore store = init_params(mod, 1);
  Pcg32 rng(std::hash<std::string>{}(c.name) & 0xffff);
  Reference ref{c, store.at("lr")[0]};
  CHECK(ref.lr0 == static_cast<float>(arg(c, "lr")));
  for (int i = 0; i < 2; ++i) {
    Vec init;
    for (int64_t k = 0; k < Tensor(DType::F32, kShapes[i]).size(); ++k) {
      double x = rng.uniform(1, 2);
      init.push_back(static_cast<float>(rng.uniform() < 0.5 ? -x : x));
    }
    store[kParams[i]] = to_tensor(init, kShapes[i]);
    ref.w[kParams[i]] = init;
  }
  auto json_vec = [](const Vec &v) {
    std::ostringstream o;
    o.precision(17);
    o << "[";
    for (size_t i = 0; i < v.size(); ++i)
      o << (i ? ", " : "") << v[i];
    return o.str() + "]";
  };
  if (log)
    *log << "{\"name\": \"" << c.name << "\", \"optimizer\": \"" << c.optimizer << "\", "
         << "\"lr\": " << arg(c, "lr") << ", \"w0\": " << json_vec(ref.w["w"])
         << ", \"b0\": " << json_vec(ref.w["b"]) << ", \"steps\": [";
  double worst = 0;
  for (int s = 0; s < steps; ++s) {
    // Gradients of varied scale, so clipping and adaptive rates both act.
    double scale = s % 3 == 0 ? 3.0 : 0.5;
    std::map<std::string, Vec> grads;
    std::vector<Tensor> args;
    for (int i = 0; i < 2; ++i) {
      Tensor g = random_tensor(kShapes[i], [&] { return scale * rng.uniform(-1, 1); });
      for (double &x : g.data)
        x = static_cast<float>(x);
      grads[kParams[i]] = g.data;
      args.push_back(g);
    }
    apply_updates(store, interpret(f, args, store));
    ref.step(grads);
    for (const char *p : kParams) {
      const Vec &want = ref.w[p];
      const Tensor &got = store.at(p);
      for (size_t k = 0; k < want.size(); ++k)
        worst = std::max(worst, std::abs(got[k] - want[k]) / std::max(std::abs(want[k]), 1e-3));
    }
    if (log)
      *log << (s ? ", " : "") << "{\"gw\": " << json_vec(grads["w"])
           << ", \"gb\": " << json_vec(grads["b"]) << ", \"w\": " << json_vec(store.at("w").data)
           << ", \"b\": " << json_vec(store.at("b").data) << "}";
  }
  if (log)
    *log << "]}";
  if (mod.find_param("step"))
    CHECK(store.at("step")[0] == steps);
  return worst;
}

} // namespace

TEST_CASE("every optimizer, schedule and clipping matches its published rule", "[optimizer]") {
  for (const Case &c : cases()) {
    double err = run_case(c, 12);
    INFO(c.name << ": max relative difference " << err);
    CHECK(err < 1e-6);
  }
}

TEST_CASE("the frontend's optimizer defaults are PyTorch's and the pass's", "[optimizer]") {
  for (const char *o : {"sgd", "rmsprop", "adam", "adamw", "adagrad", "adadelta"}) {
    INFO("optimizer " << o);
    Module net = compile_net(std::string("model m(x: f32[3], t: f32[2]) {\n"
                                         "  loss mse(x |> dense(2), t)\n}\n"
                                         "train m {\n  optimizer = ") +
                             o + "\n}\n");
    // The frontend fills in every argument, with PyTorch's defaults ...
    Case bare{o, o, {}};
    Attrs full;
    for (const auto &[k, v] : net.config.map()) {
      if (k.rfind("optimizer", 0) != 0)
        continue;
      full.set(k, v);
      if (k != "optimizer")
        CHECK(config_number(net.config, k) == arg(bare, k.substr(10)));
    }
    // ... and the pass, reading none of them, emits the same update.
    Module from_net = optimized_module(full), from_defaults = optimized_module(config_of(bare));
    from_net.config = from_defaults.config = Attrs{};
    CHECK(print_module(from_net) == print_module(from_defaults));
  }
}

TEST_CASE("the optimizer pass refuses what it does not know", "[optimizer]") {
  auto error_of = [](Attrs config) {
    Module m;
    m.config = std::move(config);
    Function f;
    f.name = "train_step";
    m.functions.push_back(std::move(f));
    SourceManager sm;
    Diagnostics diag(sm);
    CHECK_FALSE(apply_optimizer(m, diag));
    std::ostringstream o;
    diag.flush(o);
    return o.str();
  };
  CHECK_THAT(error_of(Attrs{{"optimizer", std::string("adamax")}}),
             Catch::Contains("unknown optimizer `adamax`"));
  CHECK_THAT(error_of(Attrs{{"optimizer", std::string("adam")}, {"optimizer.momentum", 0.9}}),
             Catch::Contains("optimizer `adam` takes no setting `optimizer.momentum`"));
  CHECK_THAT(error_of(Attrs{{"schedule", std::string("linear")}}),
             Catch::Contains("unknown learning-rate schedule `linear`"));
}

// Hidden (not run by ctest directly): writes every case, 12 steps, as JSON
// lines to $NETC_OPTIM_EXPORT, for tests/unit/optimizer_torch.py.
TEST_CASE("export optimizer cases for the PyTorch cross-check", "[.torch-export]") {
  const char *path = std::getenv("NETC_OPTIM_EXPORT");
  REQUIRE(path);
  std::ofstream out(path);
  for (const Case &c : cases()) {
    out << "{\"case\": {\"optimizer\": \"" << c.optimizer << "\", \"args\": {";
    bool first = true;
    for (const auto &[k, v] : c.args)
      out << (std::exchange(first, false) ? "" : ", ") << "\"" << k << "\": " << v;
    out << "}, \"schedule\": \"" << c.schedule << "\", \"schedule_args\": {";
    first = true;
    for (const auto &[k, v] : c.schedule_args)
      out << (std::exchange(first, false) ? "" : ", ") << "\"" << k << "\": " << v;
    out << "}, \"clip_norm\": " << c.clip_norm << ", \"clip_value\": " << c.clip_value << "}, ";
    out << "\"run\": ";
    run_case(c, 12, &out);
    out << "}\n";
  }
  REQUIRE(out.good());
}
