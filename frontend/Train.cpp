//===- Train.cpp - The train block to module config -----------------------===//
//
// This file implements lower_train_config: each setting of a train block is
// checked (known key, right kind of value) and flattened into Module::config:
//
//   data      = idx("imgs.gz", "labels.gz")   data.format = "idx", data.images, data.labels
//   validate  = idx(...)                      validate.format, validate.images, validate.labels
//   optimizer = sgd(lr: 0.1, momentum: 0.9)   optimizer = "sgd", optimizer.lr, .momentum,
//                                             .nesterov, .weight_decay (all present)
//   batch     = 64                            batch (int), defaults 32
//   epochs    = 5                             epochs (int), defaults 1
//   seed      = 1                             seed (int), defaults 0
//
//===----------------------------------------------------------------------===//
#include "frontend/Lower.h"
#include "frontend/Parser.h"

#include <fmt/format.h>
#include <map>

namespace netc {

using namespace ast;

namespace {

const char *const kKnownKeys[] = {"data", "validate", "optimizer", "batch", "epochs", "seed"};
const char *const kPlannedKeys[] = {"freeze", "init", "augment", "step", "schedule", "loss"};
const char *const kPlannedOptimizers[] = {"adam", "rmsprop", "adagrad", "adadelta"};

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
  void optimizer(const Setting &s);
  void integer(const Setting &s, int64_t min);
  std::optional<double> number_arg(const CallSite &c, const ParamSpec &spec, const Expr *e,
                                   double fallback, double min);

  Attrs &config_;
  Diagnostics &diag_;
  bool ok_ = true;
};

void TrainLowering::setting(const Setting &s) {
  if (s.key == "data" || s.key == "validate")
    return data(s);
  if (s.key == "optimizer")
    return optimizer(s);
  if (s.key == "batch" || s.key == "epochs")
    return integer(s, 1);
  if (s.key == "seed")
    return integer(s, 0);
  for (const char *k : kPlannedKeys)
    if (s.key == k)
      return fail(s.loc, fmt::format("train setting `{}` is not supported yet", s.key),
                  "see docs/language.md for the plan");
  std::vector<std::string> known(std::begin(kKnownKeys), std::end(kKnownKeys));
  std::string hint = did_you_mean(s.key, known);
  fail(s.loc, fmt::format("unknown train setting `{}`", s.key),
       hint.empty() ? "known settings: data, validate, optimizer, batch, epochs, seed" : hint);
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
  if (c->callee != "idx")
    return fail(c->loc, fmt::format("unknown data format `{}`", c->callee),
                "known formats: idx(images, labels)");
  static const ParamSpec specs[] = {{"images", true}, {"labels", true}};
  auto args = bind_args(*c, specs, false, diag_);
  if (!args)
    return void(ok_ = false);
  config_.set(s.key + ".format", std::string("idx"));
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

std::optional<double> TrainLowering::number_arg(const CallSite &c, const ParamSpec &spec,
                                                const Expr *e, double fallback, double min) {
  if (!e)
    return fallback;
  std::optional<double> v = literal_number(*e);
  if (!v || *v < min) {
    fail(e->loc, fmt::format("`{}` of {} must be a number >= {}, found {}", spec.name, c.callee,
                             min, describe_expr(*e)));
    return std::nullopt;
  }
  return v;
}

// optimizer = sgd(lr: NUMBER, momentum: NUMBER, nesterov: BOOL, weight_decay: NUMBER)
void TrainLowering::optimizer(const Setting &s) {
  std::optional<CallSite> c = as_call(*s.value);
  if (!c)
    return fail(s.value->loc, "`optimizer` must be an optimizer such as sgd(lr: 0.1), found " +
                                  describe_expr(*s.value));
  for (const char *o : kPlannedOptimizers)
    if (c->callee == o)
      return fail(c->loc, fmt::format("optimizer `{}` is not supported yet", c->callee),
                  "use sgd(lr: ..., momentum: ...)");
  if (c->callee != "sgd") {
    std::string hint = did_you_mean(c->callee, {"sgd", "adam", "rmsprop", "adagrad", "adadelta"});
    return fail(c->loc, fmt::format("unknown optimizer `{}`", c->callee),
                hint.empty() ? "known optimizers: sgd" : hint);
  }
  static const ParamSpec specs[] = {
      {"lr", false}, {"momentum", false}, {"nesterov", false}, {"weight_decay", false}};
  auto args = bind_args(*c, specs, false, diag_);
  if (!args)
    return void(ok_ = false);
  std::optional<double> lr = number_arg(*c, specs[0], (*args)[0], 0.01, 0);
  std::optional<double> momentum = number_arg(*c, specs[1], (*args)[1], 0, 0);
  std::optional<double> decay = number_arg(*c, specs[3], (*args)[3], 0, 0);
  int64_t nesterov = 0;
  if (const Expr *e = (*args)[2]) {
    auto *n = e->as<NameExpr>();
    if (!n || (n->name != "true" && n->name != "false"))
      return fail(e->loc, "`nesterov` of sgd must be true or false, found " + describe_expr(*e));
    nesterov = n->name == "true";
  }
  if (!lr || !momentum || !decay)
    return;
  config_.set("optimizer", std::string("sgd"));
  config_.set("optimizer.lr", *lr);
  config_.set("optimizer.momentum", *momentum);
  config_.set("optimizer.nesterov", nesterov);
  config_.set("optimizer.weight_decay", *decay);
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
