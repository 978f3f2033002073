//===- Train.cpp - The train block to module config -----------------------===//
//
// This file implements lower_train_config: each setting of a train block is
// checked (known key, right kind of value) and flattened into Module::config:
//
//   data      = idx("imgs.gz", "labels.gz")   data.format = "idx", data.images, data.labels
//   validate  = idx(...)                      validate.format, validate.images, validate.labels
//   optimizer = sgd(lr: 0.1, momentum: 0.9)   optimizer = "sgd", optimizer.<arg> for every
//                                             argument of the optimizer (defaults filled in)
//   schedule  = cosine(steps: 5000)           schedule = "cosine", schedule.<arg> (all present)
//   clip_norm = 1.0, clip_value = 0.5         clip_norm, clip_value (numbers > 0)
//   batch     = 64                            batch (int), defaults 32
//   epochs    = 5                             epochs (int), defaults 1
//   seed      = 1                             seed (int), defaults 0
//   data      = text(...) / waves(...)        see frontend/DataSources.cpp
//   data      = idx(..., classes: [8, 9])     data.classes (ints): keep these classes,
//                                             relabelled 0, 1, ... in list order
//
// `freeze` and `init` act on the model's parameters, not the config: see
// apply_transfer (frontend/Transfer.cpp).
//
//===----------------------------------------------------------------------===//
#include "frontend/DataSources.h"
#include "frontend/Lower.h"
#include "frontend/Parser.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <limits>
#include <map>

namespace netc {

using namespace ast;

namespace {

const char *const kKnownKeys[] = {"data",  "validate", "optimizer", "schedule",  "clip_norm",
                                  "clip_value", "batch", "epochs", "seed", "freeze", "init"};
const char *const kPlannedKeys[] = {"step", "loss"};

/// An argument of an optimizer or schedule: name, default (NaN: required),
/// and its kind. The optimizers' defaults are PyTorch's, and must agree with
/// passes/OptimizerRules.cpp (optimizer_test checks that they do).
enum class ArgKind { Number, Unit, Flag, Count };
struct TrainArg {
  const char *name;
  double fallback;
  ArgKind kind = ArgKind::Number; // Unit: in [0, 1); Count: integer >= 1
};
struct TrainFn {
  const char *name;
  std::vector<TrainArg> args;
};
constexpr double kRequired = std::numeric_limits<double>::quiet_NaN();

const std::vector<TrainFn> &optimizers() {
  static const std::vector<TrainFn> o = {
      {"sgd", {{"lr", 0.01}, {"momentum", 0}, {"nesterov", 0, ArgKind::Flag},
               {"weight_decay", 0}}},
      {"rmsprop", {{"lr", 0.01}, {"alpha", 0.99}, {"eps", 1e-8}, {"momentum", 0},
                   {"centered", 0, ArgKind::Flag}, {"weight_decay", 0}}},
      {"adam", {{"lr", 0.001}, {"beta1", 0.9, ArgKind::Unit}, {"beta2", 0.999, ArgKind::Unit},
                {"eps", 1e-8}, {"weight_decay", 0}, {"amsgrad", 0, ArgKind::Flag}}},
      {"adamw", {{"lr", 0.001}, {"beta1", 0.9, ArgKind::Unit}, {"beta2", 0.999, ArgKind::Unit},
                 {"eps", 1e-8}, {"weight_decay", 0.01}, {"amsgrad", 0, ArgKind::Flag}}},
      {"adagrad", {{"lr", 0.01}, {"lr_decay", 0}, {"weight_decay", 0},
                   {"initial_accumulator_value", 0}, {"eps", 1e-10}}},
      {"adadelta", {{"lr", 1.0}, {"rho", 0.9}, {"eps", 1e-6}, {"weight_decay", 0}}},
  };
  return o;
}

const std::vector<TrainFn> &schedules() {
  static const std::vector<TrainFn> s = {
      {"step", {{"every", kRequired, ArgKind::Count}, {"gamma", 0.1}}},
      {"exponential", {{"gamma", kRequired}}},
      {"cosine", {{"steps", kRequired, ArgKind::Count}, {"min_lr", 0}}},
  };
  return s;
}

/// A call in setting position: `sgd(lr: 0.1)`, or a bare name `sgd`.
std::optional<CallSite> as_call(const Expr &e) {
  if (auto *c = e.as<CallExpr>())
    return CallSite{c->callee, c->loc, c->args, &e};
  if (auto *n = e.as<NameExpr>())
    return CallSite{n->name, n->loc, {}, &e};
  return std::nullopt;
}

class TrainLowering {
public:
  TrainLowering(Attrs &config, Diagnostics &diag) : config_(config), diag_(diag) {}

  void setting(const Setting &s);
  bool ok() const { return ok_; }

private:
  void fail(Loc loc, std::string msg, std::string hint = {}) {
    diag_.error(loc, std::move(msg), std::move(hint));
    ok_ = false;
  }
  void data(const Setting &s);
  void call_setting(const Setting &s, const std::vector<TrainFn> &fns, const char *what,
                    const char *example);
  std::optional<double> arg_value(const CallSite &c, const TrainArg &a, const Expr *e);
  void classes(const std::string &key, const Expr &e);
  void integer(const Setting &s, int64_t min);
  void positive_number(const Setting &s);

  Attrs &config_;
  Diagnostics &diag_;
  bool ok_ = true;
};

void TrainLowering::setting(const Setting &s) {
  if (s.key == "data" || s.key == "validate")
    return data(s);
  if (s.key == "optimizer")
    return call_setting(s, optimizers(), "optimizer", "sgd(lr: 0.1)");
  if (s.key == "schedule")
    return call_setting(s, schedules(), "schedule", "cosine(steps: 5000)");
  if (s.key == "clip_norm" || s.key == "clip_value")
    return positive_number(s);
  if (s.key == "batch" || s.key == "epochs")
    return integer(s, 1);
  if (s.key == "seed")
    return integer(s, 0);
  if (s.key == "freeze" || (s.key == "init" && !s.pattern.empty()))
    return; // apply_transfer's
  if (s.key == "augment" && !s.target.empty())
    return; // lower_augment's
  if (s.key == "augment")
    return fail(s.loc, "`augment` takes an input and its transforms, not `=`",
                "write `augment image: mirror, rotate(10), translate(2)`");
  if (s.key == "init")
    return fail(s.loc, "`init` takes parameters and a source, not `=`",
                "write `init body from \"pretrained.safetensors\"`");
  for (const char *k : kPlannedKeys)
    if (s.key == k)
      return fail(s.loc, fmt::format("train setting `{}` is not supported yet", s.key),
                  "see docs/language.md for the plan");
  std::vector<std::string> known(std::begin(kKnownKeys), std::end(kKnownKeys));
  std::string hint = did_you_mean(s.key, known);
  fail(s.loc, fmt::format("unknown train setting `{}`", s.key),
       hint.empty() ? "known settings: data, validate, optimizer, schedule, clip_norm, "
                                  "clip_value, batch, epochs, seed, freeze, init"
                    : hint);
}

// batch = INT, epochs = INT (>= 1); seed = INT (>= 0).
void TrainLowering::integer(const Setting &s, int64_t min) {
  std::optional<int64_t> v = literal_int(*s.value);
  if (!v || *v < min)
    return fail(s.value->loc, fmt::format("`{}` must be {} integer, found {}", s.key,
                                          min > 0 ? "a positive" : "a non-negative",
                                          describe_expr(*s.value)));
  config_.set(s.key, *v);
}

// data = idx(images: STRING, labels: STRING)
void TrainLowering::data(const Setting &s) {
  std::optional<CallSite> c = as_call(*s.value);
  if (!c)
    return fail(s.value->loc, fmt::format("`{}` must be a data source such as "
                                          "idx(\"images.gz\", \"labels.gz\"), found {}",
                                          s.key, describe_expr(*s.value)));
  if (is_data_source(c->callee)) {
    ok_ &= lower_data_source(s.key, *c, config_, diag_);
    return;
  }
  if (c->callee != "idx")
    return fail(c->loc, fmt::format("unknown data format `{}`", c->callee),
                "known formats: idx(images, labels), text(files, ...), waves(...)");
  static const ParamSpec specs[] = {{"images", true}, {"labels", true}, {"classes", false}};
  auto args = bind_args(*c, specs, false, diag_);
  if (!args)
    return void(ok_ = false);
  config_.set(s.key + ".format", std::string("idx"));
  if (const Expr *e = (*args)[2])
    classes(s.key + ".classes", *e);
  for (size_t i = 0; i < 2; ++i) {
    auto *str = (*args)[i]->as<StringExpr>();
    if (!str) {
      fail((*args)[i]->loc, fmt::format("`{}` of idx must be a file path string, found {}",
                                        specs[i].name, describe_expr(*(*args)[i])));
      continue;
    }
    config_.set(s.key + "." + specs[i].name, str->value);
  }
}

// classes: [INT, ...]: distinct class labels (>= 0) to keep, in their new order.
void TrainLowering::classes(const std::string &key, const Expr &e) {
  auto *l = e.as<ListExpr>();
  if (!l || l->elems.empty())
    return fail(e.loc, fmt::format("`classes` of idx must be a non-empty list of class labels such "
                                   "as [8, 9], found {}",
                                   describe_expr(e)));
  std::vector<int64_t> out;
  for (const ExprPtr &x : l->elems) {
    std::optional<int64_t> v = literal_int(*x);
    if (!v || *v < 0 || *v > std::numeric_limits<int32_t>::max())
      return fail(x->loc, fmt::format("a class label must be a non-negative integer, found {}",
                                      describe_expr(*x)));
    if (std::find(out.begin(), out.end(), *v) != out.end())
      return fail(x->loc, fmt::format("class {} is listed twice", *v));
    out.push_back(*v);
  }
  config_.set(key, out);
}

// clip_norm = NUMBER, clip_value = NUMBER (> 0)
void TrainLowering::positive_number(const Setting &s) {
  std::optional<double> v = literal_number(*s.value);
  if (!v || *v <= 0)
    return fail(s.value->loc, fmt::format("`{}` must be a number > 0, found {}", s.key,
                                          describe_expr(*s.value)));
  config_.set(s.key, *v);
}

/// The value of argument `a` (given as `e`, or its default when e is null),
/// checked against its kind; nullopt after a located error.
std::optional<double> TrainLowering::arg_value(const CallSite &c, const TrainArg &a,
                                               const Expr *e) {
  if (!e)
    return a.fallback;
  if (a.kind == ArgKind::Flag) {
    auto *n = e->as<NameExpr>();
    if (n && (n->name == "true" || n->name == "false"))
      return n->name == "true" ? 1.0 : 0.0;
    fail(e->loc, fmt::format("`{}` of {} must be true or false, found {}", a.name, c.callee,
                             describe_expr(*e)));
    return std::nullopt;
  }
  std::optional<double> v = literal_number(*e);
  if (a.kind == ArgKind::Count) {
    std::optional<int64_t> i = literal_int(*e);
    if (i && *i >= 1)
      return double(*i);
    fail(e->loc, fmt::format("`{}` of {} must be a positive integer, found {}", a.name, c.callee,
                             describe_expr(*e)));
    return std::nullopt;
  }
  if (a.kind == ArgKind::Unit && v && *v >= 0 && *v < 1)
    return v;
  if (a.kind == ArgKind::Number && v && *v >= 0)
    return v;
  fail(e->loc, fmt::format("`{}` of {} must be a number {}, found {}", a.name, c.callee,
                           a.kind == ArgKind::Unit ? "in [0, 1)" : ">= 0", describe_expr(*e)));
  return std::nullopt;
}

// optimizer = NAME(ARG: VALUE, ...)   NAME one of optimizers()
// schedule  = NAME(ARG: VALUE, ...)   NAME one of schedules()
void TrainLowering::call_setting(const Setting &s, const std::vector<TrainFn> &fns,
                                 const char *what, const char *example) {
  std::optional<CallSite> c = as_call(*s.value);
  if (!c)
    return fail(s.value->loc, fmt::format("`{}` must be a {} such as {}, found {}", s.key, what,
                                          example, describe_expr(*s.value)));
  const TrainFn *fn = nullptr;
  std::vector<std::string> names;
  for (const TrainFn &f : fns) {
    names.push_back(f.name);
    if (c->callee == f.name)
      fn = &f;
  }
  if (!fn) {
    std::string hint = did_you_mean(c->callee, names);
    return fail(c->loc, fmt::format("unknown {} `{}`", what, c->callee),
                hint.empty() ? fmt::format("known {}s: {}", what, fmt::join(names, ", ")) : hint);
  }
  std::vector<ParamSpec> specs;
  for (const TrainArg &a : fn->args)
    specs.push_back({a.name, std::isnan(a.fallback)});
  auto args = bind_args(*c, specs, false, diag_);
  if (!args)
    return void(ok_ = false);
  std::vector<double> values;
  for (size_t i = 0; i < specs.size(); ++i)
    if (std::optional<double> v = arg_value(*c, fn->args[i], (*args)[i]))
      values.push_back(*v);
  if (values.size() != specs.size())
    return;
  if (c->callee == "sgd" && values[2] != 0 && values[1] == 0)
    return fail((*args)[2]->loc, "`nesterov` of sgd needs a momentum > 0",
                "add momentum: 0.9, or drop nesterov");
  config_.set(s.key, std::string(fn->name));
  for (size_t i = 0; i < specs.size(); ++i) {
    std::string key = s.key + "." + fn->args[i].name;
    ArgKind k = fn->args[i].kind;
    if (k == ArgKind::Flag || k == ArgKind::Count)
      config_.set(key, int64_t(values[i]));
    else
      config_.set(key, values[i]);
  }
}

} // namespace

bool lower_train_config(const TrainDecl &t, Attrs &config, Diagnostics &diag) {
  config.set("batch", int64_t(32));
  config.set("epochs", int64_t(1));
  config.set("seed", int64_t(0));
  TrainLowering lowering(config, diag);
  std::map<std::string, Loc> seen;
  bool ok = true;
  for (const Setting &s : t.settings) {
    if ((s.key == "init" && !s.pattern.empty()) || (s.key == "augment" && !s.target.empty())) {
      lowering.setting(s);
      continue;
    }
    if (auto [it, fresh] = seen.emplace(s.key, s.loc); !fresh) {
      diag.error(s.loc, fmt::format("`{}` is set twice", s.key));
      diag.note(it->second, "first set here");
      ok = false;
      continue;
    }
    lowering.setting(s);
  }
  return ok && lowering.ok();
}

} // namespace netc
