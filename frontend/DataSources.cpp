//===- DataSources.cpp - Generated and text data sources of a train block -===//
//
// This file implements the text(...) and waves(...) data sources:
//
//   data = text("fortunes/*", separator: "%", tokens: "chars", vocab: 256,
//               length: T, held_out: 0.1)
//        data.format = "text", data.files, data.separator, data.tokens,
//        data.vocab, data.held_out (and data.length when given; otherwise the
//        runtime uses the model's input length)
//   data = waves(count: 4000, length: T, seed: 1, noise: 0.3)
//        data.format = "waves", data.count, data.seed, data.noise (and
//        data.length when given)
//
//===----------------------------------------------------------------------===//
#include "frontend/DataSources.h"

#include <fmt/format.h>
#include <limits>

namespace netc {

using namespace ast;

namespace {

/// An integer argument in [min, max].
bool int_arg(const std::string &key, const char *fn, const char *name, const Expr *e, int64_t min, int64_t max,
             Attrs &config, Diagnostics &diag) {
  if (!e)
    return true;
  std::optional<int64_t> v = literal_int(*e);
  if (!v || *v < min || *v > max) {
    diag.error(e->loc, fmt::format("`{}` of {} must be an integer from {} to {}, found {}", name, fn, min, max,
                                   describe_expr(*e)));
    return false;
  }
  config.set(key + "." + name, *v);
  return true;
}

/// A number argument in [min, max) (or [min, max] when `closed`).
bool number_arg(const std::string &key, const char *fn, const char *name, const Expr *e, double fallback, double min,
                double max, bool closed, Attrs &config, Diagnostics &diag) {
  std::optional<double> v = e ? literal_number(*e) : fallback;
  if (!v || *v < min || *v > max || (!closed && *v == max)) {
    diag.error(e->loc, fmt::format("`{}` of {} must be a number in [{}, {}{}, found {}", name, fn, min, max,
                                   closed ? "]" : ")", describe_expr(*e)));
    return false;
  }
  config.set(key + "." + name, *v);
  return true;
}

/// A string argument, one of `allowed` when that is not empty.
bool string_arg(const std::string &key, const char *fn, const char *name, const Expr *e, const std::string &fallback,
                std::initializer_list<const char *> allowed, Attrs &config, Diagnostics &diag) {
  auto *s = e ? e->as<StringExpr>() : nullptr;
  std::string v = e ? (s ? s->value : "") : fallback;
  bool ok = !e || s;
  if (ok && allowed.size()) {
    ok = false;
    for (const char *a : allowed)
      ok |= v == a;
  }
  if (!ok) {
    std::string want = "a string";
    if (allowed.size()) {
      want = "one of";
      for (const char *a : allowed)
        want += fmt::format(" \"{}\"", a);
    }
    diag.error(e->loc, fmt::format("`{}` of {} must be {}, found {}", name, fn, want, describe_expr(*e)));
    return false;
  }
  config.set(key + "." + name, v);
  return true;
}

constexpr int64_t kMaxLength = int64_t(1) << 20;

bool lower_text(const std::string &key, const std::vector<const Expr *> &a, Attrs &config, Diagnostics &diag) {
  auto *files = a[0]->as<StringExpr>();
  if (!files || files->value.empty()) {
    diag.error(a[0]->loc, "`files` of text must be a non-empty path or glob pattern string, found " +
                              describe_expr(*a[0]),
               "e.g. text(\"fortunes/*\")");
    return false;
  }
  config.set(key + ".format", std::string("text"));
  config.set(key + ".files", files->value);
  bool ok = string_arg(key, "text", "separator", a[1], "%", {}, config, diag);
  ok &= string_arg(key, "text", "tokens", a[2], "chars", {"chars", "words"}, config, diag);
  if (!a[3])
    config.set(key + ".vocab", int64_t(256));
  ok &= int_arg(key, "text", "vocab", a[3], 4, int64_t(1) << 24, config, diag);
  ok &= int_arg(key, "text", "length", a[4], 1, kMaxLength, config, diag);
  ok &= number_arg(key, "text", "held_out", a[5], 0.1, 0, 1, false, config, diag);
  return ok;
}

bool lower_waves(const std::string &key, const std::vector<const Expr *> &a, Attrs &config, Diagnostics &diag) {
  config.set(key + ".format", std::string("waves"));
  if (!a[0])
    config.set(key + ".count", int64_t(4000));
  if (!a[2])
    config.set(key + ".seed", int64_t(key == "data" ? 1 : 2));
  bool ok = int_arg(key, "waves", "count", a[0], 1, int64_t(1) << 24, config, diag);
  ok &= int_arg(key, "waves", "length", a[1], 8, kMaxLength, config, diag);
  ok &= int_arg(key, "waves", "seed", a[2], 0, std::numeric_limits<int32_t>::max(), config, diag);
  ok &= number_arg(key, "waves", "noise", a[3], 0.3, 0, 10, true, config, diag);
  return ok;
}

} // namespace

bool is_data_source(const std::string &name) { return name == "text" || name == "waves"; }

bool lower_data_source(const std::string &key, const CallSite &c, Attrs &config, Diagnostics &diag) {
  static const ParamSpec text_specs[] = {{"files", true},  {"separator", false}, {"tokens", false},
                                         {"vocab", false}, {"length", false},    {"held_out", false}};
  static const ParamSpec wave_specs[] = {{"count", false}, {"length", false}, {"seed", false}, {"noise", false}};
  bool text = c.callee == "text";
  if (text && key != "data") {
    diag.error(c.loc, "text data splits off its own held-out documents; `validate` cannot be text",
               "remove `validate` and set `held_out:` in `data = text(...)`");
    return false;
  }
  std::span<const ParamSpec> specs = text ? std::span<const ParamSpec>(text_specs) : wave_specs;
  auto args = bind_args(c, specs, false, diag);
  if (!args)
    return false;
  return text ? lower_text(key, *args, config, diag) : lower_waves(key, *args, config, diag);
}

} // namespace netc
