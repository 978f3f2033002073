//===- Augment.cpp - A train block's augment settings to module config ----===//
//
// This file implements lower_augment: each `augment INPUT: t1, t2(...), ...`
// of a train block is checked against the model's inputs and flattened into
// one config string, `augment.INPUT = "t1,t2(a),t3(a, b)"`, which the
// trainer's runtime/Augment.h parses back. What is checked here:
//   - INPUT is an input of the model (did-you-mean otherwise), an f32 image
//     of shape [H, W] or [H, W, C], and not augmented twice;
//   - each transform is known (did-you-mean otherwise) and its arguments
//     are numbers in range: rotate(degrees) in [0, 180], translate(pixels)
//     an integer below min(H, W), scale(lo, hi) with 0 < lo <= hi,
//     crop(size) an integer in [1, min(H, W)], noise(std) >= 0.
//
//===----------------------------------------------------------------------===//
#include "frontend/Lower.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>

namespace netc {

using namespace ast;

namespace {

/// A transform's name and its arguments, in order.
struct AugmentFn {
  const char *name;
  std::vector<const char *> args;
};

const std::vector<AugmentFn> &transforms() {
  static const std::vector<AugmentFn> t = {{"mirror", {}},        {"rotate", {"degrees"}},
                                           {"translate", {"pixels"}}, {"scale", {"lo", "hi"}},
                                           {"crop", {"size"}},    {"noise", {"std"}}};
  return t;
}

constexpr const char *kKnown = "mirror, rotate(degrees), translate(pixels), scale(lo, hi), crop(size), noise(std)";

class AugmentLowering {
public:
  AugmentLowering(const ModelDecl &m, Attrs &config, Diagnostics &diag) : m_(m), config_(config), diag_(diag) {}

  bool setting(const Setting &s);

private:
  bool fail(Loc loc, std::string msg, std::string hint = {}) {
    diag_.error(loc, std::move(msg), std::move(hint));
    return false;
  }
  const Input *image_input(const Setting &s);
  std::optional<std::string> transform(const Expr &e, int64_t side);

  const ModelDecl &m_;
  Attrs &config_;
  Diagnostics &diag_;
  std::map<std::string, Loc> seen_;
};

/// The input `s` names, when it is an f32 image; nullptr after an error.
const Input *AugmentLowering::image_input(const Setting &s) {
  const Input *in = nullptr;
  std::vector<std::string> names;
  for (const Input &i : m_.inputs) {
    names.push_back(i.name);
    if (i.name == s.target)
      in = &i;
  }
  if (!in) {
    std::string hint = did_you_mean(s.target, names);
    fail(s.target_loc, fmt::format("`augment` names `{}`, which is not an input of model `{}`", s.target, m_.name),
         hint.empty() ? fmt::format("the inputs are: {}", fmt::join(names, ", ")) : hint);
    return nullptr;
  }
  const Type &t = in->type;
  if (t.kind == Type::Kind::Class) {
    fail(s.target_loc, fmt::format("cannot augment `{}: {}`: it is a label, not an image", in->name, t.str()),
         "augment the image input the label belongs to");
    return nullptr;
  }
  if (t.dtype != DType::F32 || (t.dims.size() != 2 && t.dims.size() != 3)) {
    fail(s.target_loc,
         fmt::format("cannot augment `{}: {}`: augmentation needs an image, f32[H, W] or f32[H, W, C]", in->name,
                     t.str()),
         t.dims.size() == 1 ? "declare the input with its image shape (f32[28, 28]) and flatten inside the model"
                            : "");
    return nullptr;
  }
  if (auto [it, fresh] = seen_.emplace(in->name, s.target_loc); !fresh) {
    diag_.error(s.target_loc, fmt::format("`{}` is augmented twice", in->name),
                "list all its transforms in one `augment` setting, in order");
    diag_.note(it->second, "first augmented here");
    return nullptr;
  }
  return in;
}

/// One transform as config text ("rotate(10)"), or nullopt after an error.
/// `side` is the image's smaller side.
std::optional<std::string> AugmentLowering::transform(const Expr &e, int64_t side) {
  std::optional<CallSite> c;
  if (auto *call = e.as<CallExpr>())
    c = CallSite{call->callee, call->loc, call->args, &e};
  else if (auto *n = e.as<NameExpr>())
    c = CallSite{n->name, n->loc, {}, &e};
  if (!c) {
    fail(e.loc, fmt::format("expected an augmentation such as rotate(10), found {}", describe_expr(e)),
         fmt::format("known augmentations: {}", kKnown));
    return std::nullopt;
  }
  const AugmentFn *fn = nullptr;
  std::vector<std::string> names;
  for (const AugmentFn &f : transforms()) {
    names.push_back(f.name);
    if (c->callee == f.name)
      fn = &f;
  }
  if (!fn) {
    std::string hint = did_you_mean(c->callee, names);
    fail(c->loc, fmt::format("unknown augmentation `{}`", c->callee),
         hint.empty() ? fmt::format("known augmentations: {}", kKnown) : hint);
    return std::nullopt;
  }
  std::vector<ParamSpec> specs;
  for (const char *a : fn->args)
    specs.push_back({a, true});
  auto args = bind_args(*c, specs, false, diag_);
  if (!args)
    return std::nullopt;
  std::vector<double> v;
  for (size_t i = 0; i < specs.size(); ++i) {
    const Expr &a = *(*args)[i];
    std::optional<double> x = literal_number(a);
    std::optional<int64_t> n = literal_int(a);
    std::string name = c->callee, arg = fn->args[i];
    bool ok = x.has_value();
    std::string want;
    if (name == "rotate")
      ok = ok && *x >= 0 && *x <= 180, want = "a number of degrees in [0, 180]";
    else if (name == "translate")
      ok = n && *n >= 0 && *n < side, want = fmt::format("an integer number of pixels in [0, {}]", side - 1);
    else if (name == "crop")
      ok = n && *n >= 1 && *n <= side, want = fmt::format("an integer size in [1, {}] (the image's smaller side)", side);
    else if (name == "scale")
      ok = ok && *x > 0 && (i == 0 || *x >= v[0]), want = i == 0 ? "a factor > 0" : "a factor >= lo";
    else
      ok = ok && *x >= 0, want = "a number >= 0";
    if (!ok) {
      fail(a.loc, fmt::format("`{}` of {} must be {}, found {}", arg, name, want, describe_expr(a)));
      return std::nullopt;
    }
    v.push_back(*x);
  }
  if (v.empty())
    return std::string(fn->name);
  if (v.size() == 1)
    return fmt::format("{}({})", fn->name, v[0]);
  return fmt::format("{}({}, {})", fn->name, v[0], v[1]);
}

// augment INPUT: TRANSFORM { "," TRANSFORM }
bool AugmentLowering::setting(const Setting &s) {
  const Input *in = image_input(s);
  if (!in)
    return false;
  int64_t side = std::min(in->type.dims[0], in->type.dims[1]);
  std::string text;
  bool ok = true;
  for (const ExprPtr &e : s.value->as<ListExpr>()->elems) {
    std::optional<std::string> t = transform(*e, side);
    ok = ok && t;
    if (t)
      text += (text.empty() ? "" : ",") + *t;
  }
  if (ok)
    config_.set("augment." + in->name, text);
  return ok;
}

} // namespace

bool lower_augment(const TrainDecl &t, const ModelDecl &m, Attrs &config, Diagnostics &diag) {
  AugmentLowering lowering(m, config, diag);
  bool ok = true;
  for (const Setting &s : t.settings)
    if (s.key == "augment" && !s.target.empty())
      ok = lowering.setting(s) && ok;
  return ok;
}

} // namespace netc
