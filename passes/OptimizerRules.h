//===- OptimizerRules.h - The update rules of the optimizer pass -*- C++ -*-===//
//
// Internal to the optimizer pass (passes/Optimizer.cpp): one UpdateRule per
// optimizer the train block can name, each emitting the IR of its published
// update for one parameter. The rules themselves, with their math, are in
// OptimizerRules.cpp; the contract of the pass is in Optimizer.h.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <map>
#include <span>
#include <string>
#include <vector>

namespace netc::optim {

/// One hyper-parameter of an optimizer: its name in the train block (and in
/// config as `optimizer.<name>`) and its default. Flags (nesterov, amsgrad,
/// centered) are numbers 0/1.
struct HyperParam {
  const char *name;
  double fallback;
  bool flag = false;
};

/// Resolved hyper-parameters by name.
using Hyper = std::map<std::string, double>;

/// What a rule sees while it emits the update of one parameter.
class RuleContext {
public:
  RuleContext(Module &m, Builder &b, Hyper hyper, ValueId lr, ValueId step)
      : m_(m), b_(b), hyper_(std::move(hyper)), lr_(lr), step_(step) {}

  Builder &b() { return b_; }
  /// The resolved hyper-parameter `name` (from config, else its default).
  double get(const char *name) const { return hyper_.at(name); }
  /// This step's learning rate (the schedule applied to @lr), f32[].
  ValueId lr() const { return lr_; }
  /// This step's number t = 1, 2, ... (@step + 1), f32[]; only for rules
  /// with `needs_step`.
  ValueId t() const { return step_; }
  ValueId constant(double v) { return b_.constant(v); }

  /// Reads optimizer state `<p>.<suffix>` of p's type, declaring it (kind
  /// State, init zeros or the constant `init`) on first use, and records
  /// `value` as its update when `update` is called.
  ValueId state(const ParamDecl &p, const std::string &suffix, double init = 0);
  void update(const std::string &name, ValueId value) { updates_.push_back({name, value}); }
  /// A per-step scalar shared by every parameter's update (bias corrections):
  /// built once by `make`, then reused, so the IR dump shows it once.
  template <typename F> ValueId scalar(const std::string &key, F make) {
    auto it = scalars_.find(key);
    if (it != scalars_.end())
      return it->second;
    return scalars_[key] = make();
  }

  std::vector<Update> take_updates() { return std::move(updates_); }

private:
  Module &m_;
  Builder &b_;
  Hyper hyper_;
  ValueId lr_, step_;
  std::map<std::string, ValueId> scalars_;
  std::vector<Update> updates_;
};

/// An optimizer: its name, hyper-parameters, whether it reads the step
/// counter, and the rule that emits w' (and state updates) for parameter `p`
/// with value `w` and gradient `g` (already clipped).
struct UpdateRule {
  const char *name;
  std::span<const HyperParam> hyper;
  /// Whether the rule needs t() with these hyper-parameters.
  bool (*needs_step)(const Hyper &h);
  void (*emit)(RuleContext &c, const ParamDecl &p, ValueId w, ValueId g);
};

/// Every optimizer, in a fixed order: sgd, rmsprop, adam, adamw, adagrad,
/// adadelta.
std::span<const UpdateRule> update_rules();

} // namespace netc::optim
