//===- Transfer.cpp - Frozen and pretrained parameters --------------------===//
//
// This file implements apply_transfer: the train block's
//
//   freeze = ["body.*", "emb"]                     frozen = 1 on every match
//   init body from "base.safetensors"              init.from = "safetensors",
//   init body from safetensors("a.safetensors",    init.path, init.tensor (the
//                              prefix: "encoder")  tensor's name in the file)
//   init "head.w" from "w.npy"                     init.from = "npy", init.path
//   init emb.table from glove("glove.txt",         init.from = "glove", init.path,
//                             vocab: "vocab.txt")  init.vocab
//
// become attributes of the matching ParamDecls, so autodiff sees what is
// frozen and the trainer (runtime/trainer/Pretrained.h) what to load. A
// pattern is a shell glob over parameter names (`*` also crosses dots); a
// pattern also matches everything inside the scope it names, so `body`
// matches `body.dense1.w`. A pattern that matches nothing is an error, not a
// warning: a typo would otherwise silently train (or randomly initialise)
// the very layers the user meant to freeze (or load), and nothing in a
// single-model compile makes a dangling pattern legitimate.
//
//===----------------------------------------------------------------------===//
#include "frontend/Lower.h"
#include "frontend/Parser.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fnmatch.h>
#include <map>

namespace netc {

using namespace ast;

bool param_pattern_matches(const std::string &pattern, const std::string &name) {
  return fnmatch(pattern.c_str(), name.c_str(), 0) == 0 ||
         fnmatch((pattern + ".*").c_str(), name.c_str(), 0) == 0;
}

namespace {

/// Where a pattern's parameters come from.
struct Source {
  std::string from, path, prefix, vocab;
  bool has_prefix = false;
  Loc loc;
};

class TransferLowering {
public:
  TransferLowering(const std::string &model, std::vector<ParamDecl> &params, Diagnostics &diag)
      : model_(model), params_(params), diag_(diag) {}

  void freeze(const Setting &s);
  void init(const Setting &s);
  void check_not_all_frozen(Loc loc);
  bool ok() const { return ok_; }

private:
  void fail(Loc loc, std::string msg, std::string hint = {}) {
    diag_.error(loc, std::move(msg), std::move(hint));
    ok_ = false;
  }
  /// The model parameters `pattern` matches; an error at `loc` when none.
  std::vector<ParamDecl *> match(const std::string &pattern, Loc loc, const char *what);
  std::optional<Source> source(const Expr &e);
  std::optional<std::string> string_arg(const Expr *e, const char *name, const char *fn);

  const std::string &model_;
  std::vector<ParamDecl> &params_;
  Diagnostics &diag_;
  std::map<std::string, Loc> initialised_;
  bool ok_ = true;
};

std::vector<ParamDecl *> TransferLowering::match(const std::string &pattern, Loc loc,
                                                 const char *what) {
  std::vector<ParamDecl *> out;
  std::vector<std::string> names;
  for (ParamDecl &p : params_) {
    if (p.kind != ParamKind::Param)
      continue;
    names.push_back(p.name);
    if (param_pattern_matches(pattern, p.name))
      out.push_back(&p);
  }
  if (out.empty()) {
    // Suggest among the scopes (every dotted prefix) and the full names.
    std::vector<std::string> scopes;
    for (const std::string &n : names)
      for (size_t dot = n.find('.'); ; dot = n.find('.', dot + 1)) {
        scopes.push_back(n.substr(0, dot));
        if (dot == std::string::npos)
          break;
      }
    std::string hint = did_you_mean(pattern, scopes);
    if (hint.empty() && !names.empty())
      hint = fmt::format("the parameters of `{}` are {}{}", model_,
                         fmt::join(names.begin(), names.begin() + std::min<size_t>(names.size(), 6),
                                   ", "),
                         names.size() > 6 ? ", ..." : "");
    fail(loc, fmt::format("{} pattern \"{}\" matches no parameter of model `{}`", what, pattern,
                          model_),
         hint);
  }
  return out;
}

// freeze = PATTERN | [PATTERN, ...]     PATTERN = STRING | IDENT
void TransferLowering::freeze(const Setting &s) {
  std::vector<const Expr *> items{s.value.get()};
  if (auto *l = s.value->as<ListExpr>()) {
    items.clear();
    for (const ExprPtr &e : l->elems)
      items.push_back(e.get());
  }
  for (const Expr *e : items) {
    std::string pattern;
    if (auto *str = e->as<StringExpr>(); str && !str->value.empty())
      pattern = str->value;
    else if (auto *n = e->as<NameExpr>())
      pattern = n->name;
    else {
      fail(e->loc, fmt::format("`freeze` takes parameter-name patterns such as [\"body.*\"], "
                               "found {}",
                               describe_expr(*e)));
      continue;
    }
    for (ParamDecl *p : match(pattern, e->loc, "`freeze`"))
      p->attrs.set("frozen", int64_t(1));
  }
}

std::optional<std::string> TransferLowering::string_arg(const Expr *e, const char *name,
                                                        const char *fn) {
  auto *s = e ? e->as<StringExpr>() : nullptr;
  if (s && (!s->value.empty() || std::string(name) == "prefix"))
    return s->value;
  fail(e->loc, fmt::format("`{}` of {} must be a {}string, found {}", name, fn,
                           std::string(name) == "prefix" ? "" : "non-empty ", describe_expr(*e)));
  return std::nullopt;
}

// source = STRING                                   (.safetensors or .npy, by extension)
//        | safetensors(path, prefix: STRING) | npy(path) | glove(path, vocab: STRING)
std::optional<Source> TransferLowering::source(const Expr &e) {
  Source src;
  src.loc = e.loc;
  if (auto *s = e.as<StringExpr>()) {
    auto ends = [&](const char *ext) {
      std::string x = ext;
      return s->value.size() > x.size() && s->value.ends_with(x);
    };
    if (ends(".safetensors"))
      src.from = "safetensors";
    else if (ends(".npy") || ends(".npy.gz"))
      src.from = "npy";
    else {
      fail(e.loc, fmt::format("cannot tell the format of \"{}\" from its name", s->value),
           fmt::format("name the format: safetensors(\"{0}\"), npy(\"{0}\") or glove(\"{0}\", "
                       "vocab: \"vocab.txt\")",
                       s->value));
      return std::nullopt;
    }
    src.path = s->value;
    return src;
  }
  auto *c = e.as<CallExpr>();
  static const ParamSpec kSafetensors[] = {{"path", true}, {"prefix", false}};
  static const ParamSpec kNpy[] = {{"path", true}};
  static const ParamSpec kGlove[] = {{"path", true}, {"vocab", true}};
  std::span<const ParamSpec> specs;
  if (c && c->callee == "safetensors")
    specs = kSafetensors;
  else if (c && c->callee == "npy")
    specs = kNpy;
  else if (c && c->callee == "glove")
    specs = kGlove;
  else {
    fail(c ? c->loc : e.loc,
         c ? fmt::format("unknown parameter source `{}`", c->callee)
           : fmt::format("`init` takes a file to load from, found {}", describe_expr(e)),
         "known sources: \"file.safetensors\", \"file.npy\", safetensors(path, prefix: ...), "
         "npy(path), glove(path, vocab: ...)");
    return std::nullopt;
  }
  auto args = bind_args(CallSite{c->callee, c->loc, c->args, &e}, specs, false, diag_);
  if (!args) {
    ok_ = false;
    return std::nullopt;
  }
  src.from = c->callee;
  std::optional<std::string> path = string_arg((*args)[0], "path", c->callee.c_str());
  if (!path)
    return std::nullopt;
  src.path = *path;
  if (specs.size() > 1 && (*args)[1]) {
    std::optional<std::string> v = string_arg((*args)[1], specs[1].name, c->callee.c_str());
    if (!v)
      return std::nullopt;
    (src.from == "glove" ? src.vocab : src.prefix) = *v;
    src.has_prefix = src.from == "safetensors";
  }
  return src;
}

/// The scope a pattern names when it has no wildcard but a trailing `.*`:
/// "body" and "body.*" give "body"; "*.w" gives nullopt.
std::optional<std::string> literal_scope(std::string p) {
  if (p.ends_with(".*"))
    p.resize(p.size() - 2);
  if (p.find_first_of("*?[\\") != std::string::npos)
    return std::nullopt;
  return p;
}

// init PATTERN from SOURCE
void TransferLowering::init(const Setting &s) {
  std::optional<Source> src = source(*s.value);
  if (!src)
    return;
  std::optional<std::string> scope = literal_scope(s.pattern);
  if (src->has_prefix && !scope)
    return fail(s.pattern_loc,
                fmt::format("`prefix` renames a scope, but \"{}\" names none", s.pattern),
                "write the scope to load, such as `init body from safetensors(\"a.safetensors\", "
                "prefix: \"encoder\")`");
  std::vector<ParamDecl *> ps = match(s.pattern, s.pattern_loc, "`init`");
  if (ps.empty())
    return;
  if (src->from != "safetensors" && ps.size() > 1) {
    std::vector<std::string> names;
    for (ParamDecl *p : ps)
      names.push_back(p->name);
    return fail(s.pattern_loc,
                fmt::format("{} file holds one tensor, but \"{}\" matches {} parameters ({})",
                            src->from == "npy" ? "an .npy" : "a GloVe", s.pattern, ps.size(),
                            fmt::join(names, ", ")),
                "name one parameter, e.g. `init \"" + names[0] + "\" from ...`");
  }
  if (src->from == "glove" && ps[0]->type.rank() != 2)
    return fail(s.pattern_loc,
                fmt::format("GloVe vectors initialise an embedding table [vocab, dim], but `{}` "
                            "is {}",
                            ps[0]->name, ps[0]->type.str()));
  for (ParamDecl *p : ps) {
    if (auto [it, fresh] = initialised_.emplace(p->name, s.pattern_loc); !fresh) {
      fail(s.pattern_loc, fmt::format("parameter `{}` is initialised twice", p->name));
      diag_.note(it->second, "it is also initialised here");
      continue;
    }
    p->attrs.set("init.from", src->from);
    p->attrs.set("init.path", src->path);
    if (src->from == "glove")
      p->attrs.set("init.vocab", src->vocab);
    if (src->from != "safetensors")
      continue;
    std::string tensor = p->name;
    if (src->has_prefix) {
      // body.dense1.w with scope "body" and prefix "encoder": encoder.dense1.w.
      std::string rest = p->name.substr(scope->size());
      if (src->prefix.empty() && rest.starts_with("."))
        rest.erase(0, 1);
      tensor = src->prefix + rest;
    }
    p->attrs.set("init.tensor", tensor);
  }
}

void TransferLowering::check_not_all_frozen(Loc loc) {
  bool any = false;
  for (const ParamDecl &p : params_)
    if (p.kind == ParamKind::Param) {
      any = true;
      if (p.trainable())
        return;
    }
  if (any)
    fail(loc, fmt::format("every parameter of model `{}` is frozen, so training would change "
                          "nothing",
                          model_),
         "freeze fewer parameters (a trained head usually stays trainable)");
}

} // namespace

bool apply_transfer(const TrainDecl &t, Module &m, Diagnostics &diag) {
  TransferLowering lowering(m.name, m.params, diag);
  Loc freeze_loc = t.loc;
  for (const Setting &s : t.settings) {
    if (s.key == "freeze") {
      lowering.freeze(s);
      freeze_loc = s.loc;
    } else if (s.key == "init" && !s.pattern.empty()) {
      lowering.init(s);
    }
  }
  const Function *eval = m.find_function("eval");
  if (lowering.ok() && eval && eval->output("loss") != kNoValue)
    lowering.check_not_all_frozen(freeze_loc);
  return lowering.ok();
}

} // namespace netc
