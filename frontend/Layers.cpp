//===- Layers.cpp - Built-in layers, functions and losses -----------------===//
//
// This file implements calls: one table of built-ins (name, formal
// parameters, how to lower), argument binding shared with the train block,
// and one short lowering function per built-in. Layers expand to primitive
// IR ops plus parameters; they have no IR op of their own.
//
//   dense(x, units)      x @ <p>.w + <p>.b    (w: glorot_uniform, b: zeros)
//   flatten(x)           reshape [N, ...] -> [N, prod]
//   relu/sigmoid/tanh/exp/log/sqrt(x)          elementwise
//   softmax/log_softmax(x, axis: -1)           along one non-batch axis
//   sum/mean/max(x, axis: all non-batch)       reduce, dropping the axes
//   cross_entropy(logits, label)               mean over the batch, a scalar
//   mse(pred, target)                          mean over every element
//   conv2d(x, filters, kernel, stride: 1, padding: "valid")
//                        conv2d(x, <p>.w) + <p>.b (w: [KH, KW, C, F]
//                        he_uniform, b: zeros); x [N, H, W, C], or [N, H, W] as
//                        C = 1
//   max_pool/avg_pool(x, size: 2, stride: size)   pooling, no padding
//   conv1d(x, filters, kernel, stride: 1, padding: "valid"|"same"|"causal")
//                        x [N, T, C] (or [N, T]) as the image [N, 1, T, C]:
//                        conv2d with w: [K, C, F] viewed as [1, K, C, F], + b
//   max_pool1d/avg_pool1d(x, size: 2, stride: size)   over time, likewise
//   embedding(ids, vocab, dim)
//                        gather(<p>.table, ids): one row of <p>.table
//                        f32[vocab, dim] (glorot_uniform) per i32 id; an id
//                        outside [0, vocab) gives a zero row
//   rnn/lstm/gru(x, units, return_sequences: false)
//                        a scan over x [N, T, F] whose body is the cell
//                        (@<p>.step; <p>.W, <p>.U, <p>.b); the last state
//                        or every step's
//   last(x)              the last step of [N, T, ...]
//   zeros(d, ...)        f32[N, d, ...] of zeros (a scan's initial state)
//
//===----------------------------------------------------------------------===//
#include "frontend/Lower.h"
#include "frontend/Parser.h"

#include <algorithm>
#include <array>
#include <fmt/format.h>

namespace netc {

using namespace ast;

namespace {

/// Parameters one layer may create (2^31 elements).
constexpr int64_t kMaxParamElements = int64_t(1) << 31;

struct Builtin;

/// One call being lowered: the bound arguments and the lowered tensor inputs.
struct CallCtx {
  Lowerer &L;
  const CallSite &call;
  const Builtin &fn;
  std::vector<const Expr *> args; // by formal parameter; nullptr: absent or piped
  std::vector<LValue> in;         // the tensor inputs, lowered

  Diagnostics &diag() { return L.diag(); }
  TensorType type(size_t i) const { return L.type(in[i]); }
  /// Where to point at input i: its argument, or the call when it is piped.
  Loc loc_of(size_t i) const { return args[i] ? args[i]->loc : call.loc; }
  LValue emit(OpKind k, std::vector<ValueId> ops, Attrs attrs = {}) {
    return L.emit(call.loc, k, std::move(ops), std::move(attrs));
  }
  std::optional<int64_t> int_arg(size_t i, int64_t fallback);
  std::optional<std::vector<int64_t>> axes_arg(size_t i);
  std::optional<int64_t> normalize_axis(Loc loc, int64_t axis, const TensorType &t);
  std::optional<std::array<int64_t, 2>> pair_arg(size_t i, int64_t fallback);
  LValue image_input(const char *what);
  std::optional<std::string> layer_prefix(size_t name_arg);
  std::optional<bool> bool_arg(size_t i, bool fallback);
};

using LowerFn = LValue (*)(CallCtx &);

enum class Category { Layer, Function, Loss, Planned };

struct Builtin {
  const char *name;
  Category cat;
  int tensors; // how many leading formal parameters are tensor inputs
  std::vector<ParamSpec> specs;
  LowerFn lower;
  OpKind op = OpKind::Relu; // for the elementwise family
};

std::string signature(const char *name, std::span<const ParamSpec> specs) {
  std::string s = std::string(name) + "(";
  for (size_t i = 0; i < specs.size(); ++i)
    s += (i ? ", " : "") + std::string(specs[i].name) + (specs[i].required ? "" : ": ...");
  return s + ")";
}

std::optional<int64_t> CallCtx::int_arg(size_t i, int64_t fallback) {
  if (!args[i])
    return fallback;
  if (auto v = literal_int(*args[i]))
    return v;
  diag().error(args[i]->loc, fmt::format("`{}` of {} must be an integer, found {}",
                                         fn.specs[i].name, fn.name, describe_expr(*args[i])));
  return std::nullopt;
}

std::optional<int64_t> CallCtx::normalize_axis(Loc loc, int64_t axis, const TensorType &t) {
  int64_t a = axis < 0 ? axis + t.rank() : axis;
  if (a < 0 || a >= t.rank()) {
    diag().error(loc, fmt::format("axis {} is out of range for {}", axis, t.str()));
    return std::nullopt;
  }
  if (t.shape[a] == kBatch) {
    diag().error(loc, fmt::format("{} cannot work along the batch axis {} of {}", fn.name, a,
                                  t.str()),
                 "axes count the batch as axis 0; the first per-example axis is 1");
    return std::nullopt;
  }
  return a;
}

// axis: absent (every non-batch axis), an integer, or a list of integers.
std::optional<std::vector<int64_t>> CallCtx::axes_arg(size_t i) {
  const TensorType &t = type(0);
  std::vector<int64_t> axes;
  if (!args[i]) {
    for (int64_t a = 0; a < t.rank(); ++a)
      if (t.shape[a] != kBatch)
        axes.push_back(a);
    return axes;
  }
  std::vector<const Expr *> items{args[i]};
  if (auto *l = args[i]->as<ListExpr>()) {
    items.clear();
    for (const ExprPtr &e : l->elems)
      items.push_back(e.get());
  }
  for (const Expr *e : items) {
    std::optional<int64_t> v = literal_int(*e);
    if (!v) {
      diag().error(e->loc, fmt::format("`axis` of {} must be an integer or a list of integers, "
                                       "found {}",
                                       fn.name, describe_expr(*e)));
      return std::nullopt;
    }
    std::optional<int64_t> a = normalize_axis(e->loc, *v, t);
    if (!a)
      return std::nullopt;
    axes.push_back(*a);
  }
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  return axes;
}

// A flag: `true` or `false` (or 1 or 0).
std::optional<bool> CallCtx::bool_arg(size_t i, bool fallback) {
  if (!args[i])
    return fallback;
  if (auto *n = args[i]->as<NameExpr>(); n && (n->name == "true" || n->name == "false"))
    return n->name == "true";
  if (auto v = literal_int(*args[i]); v && (*v == 0 || *v == 1))
    return *v == 1;
  diag().error(args[i]->loc, fmt::format("`{}` of {} must be true or false, found {}",
                                         fn.specs[i].name, fn.name, describe_expr(*args[i])));
  return std::nullopt;
}

/// The parameter-name prefix of this layer: `name: "..."` (argument
/// `name_arg`) or "<target>.<layer>[k]".
std::optional<std::string> CallCtx::layer_prefix(size_t name_arg) {
  const Expr *e = args[name_arg];
  if (!e)
    return L.param_prefix(*call.site, fn.name);
  auto *s = e->as<StringExpr>();
  if (!s || s->value.empty()) {
    diag().error(
        e->loc, fmt::format("`name` of {} must be a non-empty string, found {}",
                            fn.name, describe_expr(*e)));
    return std::nullopt;
  }
  return s->value;
}

// kernel: 3 or [3, 3] (likewise stride, size): a positive integer or a list
// of two. Absent: `fallback` for both (0: required and absent cannot happen).
std::optional<std::array<int64_t, 2>> CallCtx::pair_arg(size_t i,
                                                        int64_t fallback) {
  if (!args[i])
    return std::array<int64_t, 2>{fallback, fallback};
  std::vector<const Expr *> items{args[i]};
  if (auto *l = args[i]->as<ListExpr>()) {
    items.clear();
    for (const ExprPtr &e : l->elems)
      items.push_back(e.get());
  }
  std::array<int64_t, 2> out{};
  for (size_t k = 0; k < items.size() && items.size() <= 2; ++k) {
    std::optional<int64_t> v = literal_int(*items[k]);
    if (!v || *v <= 0 || *v > 65536)
      break;
    out[k] = out[1] = *v; // one value stands for both
    if (k + 1 == items.size())
      return out;
  }
  diag().error(
      args[i]->loc,
      fmt::format(
          "`{}` of {} must be a positive integer or a list of two, found {}",
          fn.specs[i].name, fn.name, describe_expr(*args[i])));
  return std::nullopt;
}

/// Input 0 as an image [N, H, W, C]; [N, H, W] gets a channel axis (C = 1).
LValue CallCtx::image_input(const char *what) {
  const TensorType &t = type(0);
  bool batched = t.rank() >= 1 && t.shape[0] == kBatch;
  if (!batched || (t.rank() != 3 && t.rank() != 4)) {
    diag().error(
        call.loc,
        fmt::format("{} expects an image [N, H, W, C] or [N, H, W], found {}",
                    what, t.str()),
        t.rank() == 2
            ? "declare the input with its height and width, e.g. f32[28, 28]"
            : "");
    return {};
  }
  if (t.rank() == 4)
    return in[0];
  return emit(OpKind::Reshape, {in[0].id},
              Attrs{{"shape", Shape{kBatch, t.shape[1], t.shape[2], 1}}});
}

//===----------------------------------------------------------------------===//
// The built-ins
//===----------------------------------------------------------------------===//

// dense(x, units): x @ w + b, w: f32[in, units] glorot_uniform, b: f32[units] zeros.
LValue lower_dense(CallCtx &c) {
  std::optional<int64_t> units = c.int_arg(1, 0);
  if (!units)
    return {};
  const TensorType &t = c.type(0);
  if (t.rank() != 2) {
    c.diag().error(c.call.loc,
                   "dense expects a rank-2 input [N, features], found " + t.str(),
                   t.rank() > 2 ? "insert `flatten` before dense" : "");
    return {};
  }
  if (*units <= 0 || *units > kMaxParamElements / std::max<int64_t>(t.shape[1], 1)) {
    c.diag().error(c.loc_of(1), fmt::format("dense units must be a positive integer no larger "
                                            "than 2^31 / {} inputs, found {}",
                                            t.shape[1], *units));
    return {};
  }
  std::optional<std::string> prefix = c.layer_prefix(2);
  if (!prefix)
    return {};
  LValue w = c.L.make_param(c.call.loc, *prefix + ".w", {DType::F32, {t.shape[1], *units}},
                            "glorot_uniform");
  LValue b = c.L.make_param(c.call.loc, *prefix + ".b", {DType::F32, {*units}}, "zeros");
  if (!w.ok() || !b.ok())
    return {};
  LValue xw = c.emit(OpKind::MatMul, {c.in[0].id, w.id});
  return xw.ok() ? c.emit(OpKind::Add, {xw.id, b.id}) : LValue{};
}

//===-- Recurrent layers: a scan over axis 1 of x [N, T, F] ---------------===//
// The body is @<prefix>.step; its parameters are <prefix>.W (input weights,
// gates side by side), <prefix>.U (recurrent weights), <prefix>.b (bias).
// The result is the last state [N, units], or every step's [N, T, units]
// with return_sequences: true (docs/language.md §6).

enum class Cell { Rnn, Lstm, Gru };

LValue lower_recurrent(CallCtx &c, Cell cell) {
  std::optional<int64_t> units = c.int_arg(1, 0);
  std::optional<bool> sequences = c.bool_arg(2, false);
  if (!units || !sequences)
    return {};
  const TensorType &t = c.type(0);
  if (t.rank() != 3 || t.shape[1] == kBatch) {
    c.diag().error(c.loc_of(0),
                   fmt::format("{} expects a sequence [N, T, features], found {}", c.fn.name,
                               t.str()),
                   "declare the input as f32[T, features]");
    return {};
  }
  int64_t gates = cell == Cell::Lstm ? 4 : cell == Cell::Gru ? 3 : 1;
  int64_t f = t.shape[2];
  if (*units <= 0 || *units * gates > kMaxParamElements / std::max(f, *units)) {
    c.diag().error(c.loc_of(1), fmt::format("{} units must be a positive integer, found {}",
                                            c.fn.name, *units));
    return {};
  }
  std::optional<std::string> prefix = c.layer_prefix(3);
  if (!prefix)
    return {};
  int64_t u = *units, width = cell == Cell::Lstm ? 2 * u : u;
  Lowerer &L = c.L;
  L.builder().set_loc(c.call.loc);
  LValue zeros{L.builder().constant(0.0, {DType::F32, {kBatch, width}})};
  auto emit = [&](OpKind k, std::vector<ValueId> ops, Attrs a = {}) {
    LValue v = c.emit(k, std::move(ops), std::move(a));
    NETC_ASSERT(v.ok(), "recurrent cell built ill-typed IR");
    return v.id;
  };
  auto slice = [&](ValueId v, int64_t k) {
    return emit(OpKind::Slice, {v},
                Attrs{{"axis", int64_t(1)}, {"begin", k * u}, {"size", u}});
  };
  auto sigmoid = [&](ValueId v) { return emit(OpKind::Sigmoid, {v}); };
  auto tanh = [&](ValueId v) { return emit(OpKind::Tanh, {v}); };
  auto step = [&](ValueId x, ValueId s) -> LValue {
    LValue W = L.make_param(c.call.loc, *prefix + ".W", {DType::F32, {f, gates * u}},
                            "glorot_uniform");
    LValue U = L.make_param(c.call.loc, *prefix + ".U", {DType::F32, {u, gates * u}},
                            "glorot_uniform");
    LValue b = L.make_param(c.call.loc, *prefix + ".b", {DType::F32, {gates * u}}, "zeros");
    if (!W.ok() || !U.ok() || !b.ok())
      return {};
    ValueId zx = emit(OpKind::Add, {emit(OpKind::MatMul, {x, W.id}), b.id});
    if (cell == Cell::Rnn)
      return {tanh(emit(OpKind::Add, {zx, emit(OpKind::MatMul, {s, U.id})}))};
    if (cell == Cell::Lstm) {
      // Gates i, f, g, o; the forget gate's pre-activation is offset by 1
      // (the usual forget-bias init, as a constant, so b starts at zero).
      ValueId h = slice(s, 0), cs = slice(s, 1);
      ValueId z = emit(OpKind::Add, {zx, emit(OpKind::MatMul, {h, U.id})});
      L.builder().set_loc(c.call.loc);
      ValueId one = L.builder().constant(1.0);
      ValueId i = sigmoid(slice(z, 0)), fg = sigmoid(emit(OpKind::Add, {slice(z, 1), one}));
      ValueId g = tanh(slice(z, 2)), o = sigmoid(slice(z, 3));
      ValueId c2 = emit(OpKind::Add, {emit(OpKind::Mul, {fg, cs}), emit(OpKind::Mul, {i, g})});
      ValueId h2 = emit(OpKind::Mul, {o, tanh(c2)});
      return {emit(OpKind::Concat, {h2, c2}, Attrs{{"axis", int64_t(1)}})};
    }
    // GRU (PyTorch's form): gates r, z, n; the recurrent part of n is
    // scaled by r after its own bias.
    LValue bu = L.make_param(c.call.loc, *prefix + ".bu", {DType::F32, {3 * u}}, "zeros");
    if (!bu.ok())
      return {};
    ValueId zh = emit(OpKind::Add, {emit(OpKind::MatMul, {s, U.id}), bu.id});
    ValueId r = sigmoid(emit(OpKind::Add, {slice(zx, 0), slice(zh, 0)}));
    ValueId z = sigmoid(emit(OpKind::Add, {slice(zx, 1), slice(zh, 1)}));
    ValueId n = tanh(emit(OpKind::Add, {slice(zx, 2), emit(OpKind::Mul, {r, slice(zh, 2)})}));
    // h' = (1 - z) n + z h = n + z (h - n)
    return {emit(OpKind::Add, {n, emit(OpKind::Mul, {z, emit(OpKind::Sub, {s, n})})})};
  };
  LValue states = L.build_scan(c.call.loc, *prefix + ".step", c.in[0], zeros, "x_t", "state",
                               step);
  if (!states.ok())
    return {};
  if (cell == Cell::Lstm) // the h half of each [h, c] state
    states = c.emit(OpKind::Slice, {states.id},
                    Attrs{{"axis", int64_t(2)}, {"begin", int64_t(0)}, {"size", u}});
  return *sequences ? states : L.last_step(c.call.loc, states);
}

LValue lower_rnn(CallCtx &c) { return lower_recurrent(c, Cell::Rnn); }
LValue lower_lstm(CallCtx &c) { return lower_recurrent(c, Cell::Lstm); }
LValue lower_gru(CallCtx &c) { return lower_recurrent(c, Cell::Gru); }

// last(x): the last step of a sequence [N, T, ...].
LValue lower_last(CallCtx &c) { return c.L.last_step(c.call.loc, c.in[0]); }

// zeros(d1, d2, ...): f32[N, d1, ...] of zeros, one per example (a scan's
// initial state).
LValue lower_zeros(CallCtx &c) {
  Shape s{kBatch};
  for (const Arg &a : c.call.args) {
    std::optional<int64_t> d = a.name.empty() ? literal_int(*a.value) : std::nullopt;
    if (!d || *d <= 0) {
      c.diag().error(a.value->loc, "zeros takes positive integer dimensions, found " +
                                       describe_expr(*a.value));
      return {};
    }
    s.push_back(*d);
  }
  c.L.builder().set_loc(c.call.loc);
  return {c.L.builder().constant(0.0, {DType::F32, s})};
}

// embedding(ids, vocab, dim): gather(<p>.table, ids), table f32[vocab, dim]
// glorot_uniform; ids i32[N, ...] (e.g. an input `tokens: i32[T]`).
LValue lower_embedding(CallCtx &c) {
  const TensorType &t = c.type(0);
  if (t.dtype != DType::I32) {
    c.diag().error(c.loc_of(0), "embedding expects i32 token ids, found " + t.str(),
                   "declare the input as i32[...], e.g. `tokens: i32[16]`");
    return {};
  }
  std::optional<int64_t> vocab = c.int_arg(1, 0), dim = c.int_arg(2, 0);
  if (!vocab || !dim)
    return {};
  if (*vocab <= 0 || *dim <= 0 || *dim > kMaxParamElements / *vocab) {
    c.diag().error(c.call.loc, fmt::format("embedding needs a positive vocab and dim with "
                                           "vocab·dim at most 2^31, found {} and {}",
                                           *vocab, *dim));
    return {};
  }
  std::optional<std::string> prefix = c.layer_prefix(3);
  if (!prefix)
    return {};
  LValue table = c.L.make_param(c.call.loc, *prefix + ".table", {DType::F32, {*vocab, *dim}},
                                "glorot_uniform");
  return table.ok() ? c.emit(OpKind::Gather, {table.id, c.in[0].id}) : LValue{};
}

/// Padding of one axis: "valid" none; "same" as TensorFlow: the output has
/// ceil(in / stride) positions and the extra row goes at the end.
std::array<int64_t, 2> pads_for(bool same, int64_t in, int64_t k, int64_t s) {
  if (!same)
    return {0, 0};
  int64_t out = (in + s - 1) / s,
          total = std::max<int64_t>((out - 1) * s + k - in, 0);
  return {total / 2, total - total / 2};
}

// conv2d(x, filters, kernel, stride: 1, padding: "valid"):
// conv2d(x, w) {stride, pads} + b, w: f32[KH, KW, C, filters] he_uniform, b:
// zeros.
LValue lower_conv2d(CallCtx &c) {
  std::optional<int64_t> filters = c.int_arg(1, 0);
  auto kernel = c.pair_arg(2, 0);
  auto stride = c.pair_arg(3, 1);
  if (!filters || !kernel || !stride)
    return {};
  bool same = false;
  if (c.args[4]) {
    auto *p = c.args[4]->as<StringExpr>();
    if (!p || (p->value != "valid" && p->value != "same")) {
      c.diag().error(
          c.args[4]->loc,
          "`padding` of conv2d must be \"valid\" or \"same\", found " +
              describe_expr(*c.args[4]));
      return {};
    }
    same = p->value == "same";
  }
  LValue x = c.image_input("conv2d");
  if (!x.ok())
    return {};
  const Shape s = c.L.type(x).shape;
  auto [kh, kw] = *kernel;
  if (!same && (kh > s[1] || kw > s[2])) {
    c.diag().error(
        c.loc_of(2),
        fmt::format(
            "conv2d kernel {}x{} is larger than the input {}x{} ({}) with "
            "padding \"valid\"",
            kh, kw, s[1], s[2], c.L.type(x).str()),
        "use a smaller kernel or padding: \"same\"");
    return {};
  }
  if (*filters <= 0 || *filters > kMaxParamElements / (kh * kw * s[3])) {
    c.diag().error(
        c.loc_of(1),
        fmt::format("conv2d filters must be a positive integer no "
                    "larger than 2^31 / {} weights per filter, found {}",
                    kh * kw * s[3], *filters));
    return {};
  }
  std::optional<std::string> prefix = c.layer_prefix(5);
  if (!prefix)
    return {};
  LValue w =
      c.L.make_param(c.call.loc, *prefix + ".w",
                     {DType::F32, {kh, kw, s[3], *filters}}, "he_uniform");
  LValue b = c.L.make_param(c.call.loc, *prefix + ".b",
                            {DType::F32, {*filters}}, "zeros");
  if (!w.ok() || !b.ok())
    return {};
  auto [pt, pb] = pads_for(same, s[1], kh, (*stride)[0]);
  auto [pl, pr] = pads_for(same, s[2], kw, (*stride)[1]);
  Attrs a{{"stride", std::vector<int64_t>{(*stride)[0], (*stride)[1]}},
          {"pads", std::vector<int64_t>{pt, pl, pb, pr}}};
  LValue y = c.emit(OpKind::Conv2D, {x.id, w.id}, std::move(a));
  return y.ok() ? c.emit(OpKind::Add, {y.id, b.id}) : LValue{};
}

// max_pool(x, size: 2, stride: size), avg_pool(...): windows inside the input.
LValue lower_pool(CallCtx &c) {
  auto size = c.pair_arg(1, 2);
  auto stride = size ? c.pair_arg(2, 0) : std::nullopt;
  if (!size || !stride)
    return {};
  if (!c.args[2])
    stride = size;
  LValue x = c.image_input(c.fn.name);
  if (!x.ok())
    return {};
  const Shape s = c.L.type(x).shape;
  if ((*size)[0] > s[1] || (*size)[1] > s[2]) {
    c.diag().error(
        c.args[1] ? c.loc_of(1) : c.call.loc,
        fmt::format("{} window {}x{} is larger than the input {}x{} ({})",
                    c.fn.name, (*size)[0], (*size)[1], s[1], s[2],
                    c.L.type(x).str()));
    return {};
  }
  Attrs a{{"window", std::vector<int64_t>{(*size)[0], (*size)[1]}},
          {"stride", std::vector<int64_t>{(*stride)[0], (*stride)[1]}}};
  return c.emit(c.fn.op, {x.id}, std::move(a));
}

/// Input 0 as a sequence [N, T, C] ([N, T] gets C = 1), reshaped to the
/// one-row image [N, 1, T, C] that the conv2d and pooling ops take.
LValue sequence_as_image(CallCtx &c) {
  const TensorType &t = c.type(0);
  if (t.rank() < 1 || t.shape[0] != kBatch || (t.rank() != 2 && t.rank() != 3)) {
    c.diag().error(c.call.loc,
                   fmt::format("{} expects a sequence [N, T, C] or [N, T], found {}", c.fn.name,
                               t.str()),
                   t.rank() == 4 ? "for images use the 2-D layers (conv2d, max_pool, avg_pool)"
                                 : "");
    return {};
  }
  int64_t channels = t.rank() == 3 ? t.shape[2] : 1;
  return c.emit(OpKind::Reshape, {c.in[0].id},
                Attrs{{"shape", Shape{kBatch, 1, t.shape[1], channels}}});
}

/// [N, 1, T', C'] back to the sequence [N, T', C'].
LValue image_as_sequence(CallCtx &c, LValue y) {
  if (!y.ok())
    return {};
  const Shape &s = c.L.type(y).shape;
  return c.emit(OpKind::Reshape, {y.id}, Attrs{{"shape", Shape{kBatch, s[2], s[3]}}});
}

/// A positive integer argument (kernel, stride, size) no larger than 65536.
std::optional<int64_t> positive_arg(CallCtx &c, size_t i, int64_t fallback) {
  std::optional<int64_t> v = c.int_arg(i, fallback);
  if (v && (*v <= 0 || *v > 65536)) {
    c.diag().error(c.loc_of(i), fmt::format("`{}` of {} must be a positive integer, found {}",
                                            c.fn.specs[i].name, c.fn.name, *v));
    return std::nullopt;
  }
  return v;
}

// conv1d(x, filters, kernel, stride: 1, padding: "valid"): a convolution over
// time, x [N, T, C] (or [N, T]). Lowered exactly to conv2d on the one-row
// image [N, 1, T, C] with w: f32[K, C, F] (he_uniform) viewed as [1, K, C, F],
// + b, and back to [N, T', F]. "causal" pads K - 1 zeros before the sequence
// only, so output t sees inputs t-K+1..t (T' = T at stride 1).
LValue lower_conv1d(CallCtx &c) {
  std::optional<int64_t> filters = c.int_arg(1, 0), kernel = positive_arg(c, 2, 0),
                         stride = positive_arg(c, 3, 1);
  if (!filters || !kernel || !stride)
    return {};
  std::string padding = "valid";
  if (c.args[4]) {
    auto *p = c.args[4]->as<StringExpr>();
    if (!p || (p->value != "valid" && p->value != "same" && p->value != "causal")) {
      c.diag().error(c.args[4]->loc,
                     "`padding` of conv1d must be \"valid\", \"same\" or \"causal\", found " +
                         describe_expr(*c.args[4]));
      return {};
    }
    padding = p->value;
  }
  LValue x = sequence_as_image(c);
  if (!x.ok())
    return {};
  const Shape s = c.L.type(x).shape; // [N, 1, T, C]
  if (padding == "valid" && *kernel > s[2]) {
    c.diag().error(c.loc_of(2),
                   fmt::format("conv1d kernel {} is longer than the sequence ({} steps of {}) "
                               "with padding \"valid\"",
                               *kernel, s[2], c.type(0).str()),
                   "use a smaller kernel or padding: \"same\" or \"causal\"");
    return {};
  }
  if (*filters <= 0 || *filters > kMaxParamElements / (*kernel * s[3])) {
    c.diag().error(c.loc_of(1), fmt::format("conv1d filters must be a positive integer no "
                                            "larger than 2^31 / {} weights per filter, found {}",
                                            *kernel * s[3], *filters));
    return {};
  }
  std::optional<std::string> prefix = c.layer_prefix(5);
  if (!prefix)
    return {};
  LValue w = c.L.make_param(c.call.loc, *prefix + ".w", {DType::F32, {*kernel, s[3], *filters}},
                            "he_uniform");
  LValue b = c.L.make_param(c.call.loc, *prefix + ".b", {DType::F32, {*filters}}, "zeros");
  if (!w.ok() || !b.ok())
    return {};
  LValue w4 = c.emit(OpKind::Reshape, {w.id}, Attrs{{"shape", Shape{1, *kernel, s[3], *filters}}});
  auto [pl, pr] = padding == "causal" ? std::array<int64_t, 2>{*kernel - 1, 0}
                                      : pads_for(padding == "same", s[2], *kernel, *stride);
  Attrs a{{"stride", std::vector<int64_t>{1, *stride}},
          {"pads", std::vector<int64_t>{0, pl, 0, pr}}};
  LValue y = w4.ok() ? c.emit(OpKind::Conv2D, {x.id, w4.id}, std::move(a)) : LValue{};
  return image_as_sequence(c, y.ok() ? c.emit(OpKind::Add, {y.id, b.id}) : LValue{});
}

// max_pool1d/avg_pool1d(x, size: 2, stride: size): pooling over time of
// [N, T, C], as max_pool2d/avg_pool2d with window [1, size] on [N, 1, T, C].
LValue lower_pool1d(CallCtx &c) {
  std::optional<int64_t> size = positive_arg(c, 1, 2);
  std::optional<int64_t> stride = size ? positive_arg(c, 2, *size) : std::nullopt;
  if (!size || !stride)
    return {};
  LValue x = sequence_as_image(c);
  if (!x.ok())
    return {};
  int64_t steps = c.L.type(x).shape[2];
  if (*size > steps) {
    c.diag().error(c.args[1] ? c.loc_of(1) : c.call.loc,
                   fmt::format("{} window {} is longer than the sequence ({} steps of {})",
                               c.fn.name, *size, steps, c.type(0).str()));
    return {};
  }
  Attrs a{{"window", std::vector<int64_t>{1, *size}},
          {"stride", std::vector<int64_t>{1, *stride}}};
  return image_as_sequence(c, c.emit(c.fn.op, {x.id}, std::move(a)));
}

// flatten(x): [N, d1, d2, ...] -> [N, d1 * d2 * ...].
LValue lower_flatten(CallCtx &c) {
  const TensorType &t = c.type(0);
  if (t.rank() == 0 || t.shape[0] != kBatch) {
    c.diag().error(c.call.loc, "flatten expects a batched input [N, ...], found " + t.str());
    return {};
  }
  Shape s{kBatch, static_elements(Shape(t.shape.begin() + 1, t.shape.end()))};
  if (s == t.shape)
    return c.in[0];
  return c.emit(OpKind::Reshape, {c.in[0].id}, Attrs{{"shape", s}});
}

// relu(x), sigmoid(x), tanh(x), exp(x), log(x), sqrt(x).
LValue lower_elementwise(CallCtx &c) { return c.emit(c.fn.op, {c.in[0].id}); }

// softmax(x, axis: -1), log_softmax(x, axis: -1).
LValue lower_softmax(CallCtx &c) {
  std::optional<int64_t> axis = c.int_arg(1, -1);
  if (!axis || !(axis = c.normalize_axis(c.loc_of(1), *axis, c.type(0))))
    return {};
  return c.emit(c.fn.op, {c.in[0].id}, Attrs{{"axis", *axis}});
}

// sum(x, axis: ...), mean(x, axis: ...), max(x, axis: ...).
LValue lower_reduce(CallCtx &c) {
  std::optional<std::vector<int64_t>> axes = c.axes_arg(1);
  if (!axes)
    return {};
  if (axes->empty())
    return c.in[0];
  return c.emit(c.fn.op, {c.in[0].id}, Attrs{{"axes", *axes}, {"keepdims", int64_t(0)}});
}

LValue mean_over(CallCtx &c, LValue v, std::vector<int64_t> axes) {
  if (!v.ok())
    return {};
  return c.emit(OpKind::ReduceMean, {v.id}, Attrs{{"axes", axes}, {"keepdims", int64_t(0)}});
}

// cross_entropy(logits, label) = mean over the batch (and, for a label
// class<C>[T...], over every position) of -log softmax(logits)[label].
// logits: f32[N, C] for class<C>, f32[N, T..., C] for class<C>[T...].
LValue lower_cross_entropy(CallCtx &c) {
  const TensorType &lt = c.type(0), &yt = c.type(1);
  const Input *label = c.in[1].class_input;
  if (!label) {
    c.diag().error(c.loc_of(1),
                   "cross_entropy expects a class<C> input as its label, found " + yt.str(),
                   "for real-valued targets use mse(pred, target)");
    return {};
  }
  Shape want = yt.shape;
  want.push_back(label->type.classes);
  if (lt.rank() != yt.rank() + 1 || lt.shape[0] != kBatch ||
      !std::equal(yt.shape.begin(), yt.shape.end(), lt.shape.begin())) {
    c.diag().error(c.loc_of(0),
                   fmt::format("cross_entropy expects logits {} for label `{}: {}`, found {}",
                               TensorType{DType::F32, want}.str(), label->name,
                               label->type.str(), lt.str()),
                   yt.rank() > 1 ? "a sequence label class<C>[T] needs logits per position"
                                 : "");
    return {};
  }
  if (lt.shape.back() != label->type.classes) {
    c.diag().error(c.call.loc,
                   fmt::format("logits have {} classes but label `{}` is {}", lt.shape.back(),
                               label->name, label->type.str()),
                   fmt::format("make the last layer {}({})", yt.rank() > 1 ? "conv1d" : "dense",
                               label->type.classes) +
                       (yt.rank() > 1 ? ", kernel 1" : ""));
    return {};
  }
  std::vector<int64_t> axes;
  for (int64_t a = 0; a < yt.rank(); ++a)
    axes.push_back(a);
  return mean_over(c, c.emit(OpKind::CrossEntropy, {c.in[0].id, c.in[1].id}), axes);
}

// mse(pred, target) = mean over every element of (pred - target)^2.
LValue lower_mse(CallCtx &c) {
  const TensorType &a = c.type(0), &b = c.type(1);
  if (a != b) {
    c.diag().error(c.call.loc, fmt::format("mse expects pred and target of the same shape, "
                                           "found {} and {}",
                                           a.str(), b.str()));
    return {};
  }
  LValue d = c.emit(OpKind::Sub, {c.in[0].id, c.in[1].id});
  LValue d2 = d.ok() ? c.emit(OpKind::Mul, {d.id, d.id}) : LValue{};
  std::vector<int64_t> all;
  for (int64_t i = 0; i < a.rank(); ++i)
    all.push_back(i);
  if (all.empty())
    return d2;
  return mean_over(c, d2, all);
}

const std::vector<Builtin> &builtins() {
  using C = Category;
  static const std::vector<ParamSpec> x{{"x", true}};
  static const std::vector<ParamSpec> x_axis{{"x", true}, {"axis", false}};
  static const std::vector<ParamSpec> conv2d_specs{
      {"x", true},       {"filters", true},  {"kernel", true},
      {"stride", false}, {"padding", false}, {"name", false}};
  static const std::vector<ParamSpec> recurrent_specs{
      {"x", true}, {"units", true}, {"return_sequences", false}, {"name", false}};
  // Up to four dimensions, positional.
  static const std::vector<ParamSpec> zeros_specs{
      {"d1", true}, {"d2", false}, {"d3", false}, {"d4", false}};
  static const std::vector<ParamSpec> pool_specs{
      {"x", true}, {"size", false}, {"stride", false}};
  static const std::vector<Builtin> table = {
      {"dense", C::Layer, 1, {{"x", true}, {"units", true}, {"name", false}}, lower_dense},
      {"flatten", C::Function, 1, x, lower_flatten},
      {"relu", C::Function, 1, x, lower_elementwise, OpKind::Relu},
      {"sigmoid", C::Function, 1, x, lower_elementwise, OpKind::Sigmoid},
      {"tanh", C::Function, 1, x, lower_elementwise, OpKind::Tanh},
      {"exp", C::Function, 1, x, lower_elementwise, OpKind::Exp},
      {"log", C::Function, 1, x, lower_elementwise, OpKind::Log},
      {"sqrt", C::Function, 1, x, lower_elementwise, OpKind::Sqrt},
      {"softmax", C::Function, 1, x_axis, lower_softmax, OpKind::Softmax},
      {"log_softmax", C::Function, 1, x_axis, lower_softmax, OpKind::LogSoftmax},
      {"sum", C::Function, 1, x_axis, lower_reduce, OpKind::ReduceSum},
      {"mean", C::Function, 1, x_axis, lower_reduce, OpKind::ReduceMean},
      {"max", C::Function, 1, x_axis, lower_reduce, OpKind::ReduceMax},
      {"cross_entropy", C::Loss, 2, {{"logits", true}, {"label", true}}, lower_cross_entropy},
      {"mse", C::Loss, 2, {{"pred", true}, {"target", true}}, lower_mse},
      {"conv2d", C::Layer, 1, conv2d_specs, lower_conv2d},
      {"max_pool", C::Function, 1, pool_specs, lower_pool, OpKind::MaxPool2D},
      {"avg_pool", C::Function, 1, pool_specs, lower_pool, OpKind::AvgPool2D},
      {"conv1d", C::Layer, 1, conv2d_specs, lower_conv1d},
      {"max_pool1d", C::Function, 1, pool_specs, lower_pool1d, OpKind::MaxPool2D},
      {"avg_pool1d", C::Function, 1, pool_specs, lower_pool1d, OpKind::AvgPool2D},
      // Planned (docs/language.md); layers among them create parameters.
      {"rnn", C::Layer, 1, recurrent_specs, lower_rnn},
      {"lstm", C::Layer, 1, recurrent_specs, lower_lstm},
      {"gru", C::Layer, 1, recurrent_specs, lower_gru},
      {"last", C::Function, 1, x, lower_last},
      {"zeros", C::Function, 0, zeros_specs, lower_zeros},
      {"embedding", C::Layer, 1, {{"ids", true}, {"vocab", true}, {"dim", true}, {"name", false}},
       lower_embedding},
      {"dropout", C::Planned, 0, {}, nullptr},
      {"batch_norm", C::Planned, 0, {}, nullptr},  {"layer_norm", C::Planned, 0, {}, nullptr},
      {"concat", C::Planned, 0, {}, nullptr},
  };
  return table;
}

const Builtin *find_builtin(const std::string &name) {
  for (const Builtin &b : builtins())
    if (name == b.name)
      return &b;
  return nullptr;
}

} // namespace

bool is_builtin(const std::string &name) { return find_builtin(name) != nullptr; }

bool creates_params(const std::string &name) {
  static const char *const kLayers[] = {"dense", "conv2d", "conv1d", "rnn",     "lstm",
                                        "gru",   "embedding", "batch_norm", "layer_norm"};
  return std::find(std::begin(kLayers), std::end(kLayers), name) != std::end(kLayers);
}

std::vector<std::string> builtin_names() {
  std::vector<std::string> out;
  for (const Builtin &b : builtins())
    out.push_back(b.name);
  return out;
}

std::optional<std::vector<const Expr *>> bind_args(const CallSite &call,
                                                   std::span<const ParamSpec> specs, bool piped,
                                                   Diagnostics &diag) {
  std::vector<const Expr *> out(specs.size(), nullptr);
  std::vector<bool> given(specs.size(), false);
  std::string sig = signature(call.callee.c_str(), specs);
  size_t next_pos = 0;
  if (piped && !specs.empty())
    given[next_pos++] = true;
  bool ok = true, named_seen = false;
  for (const Arg &a : call.args) {
    size_t slot = specs.size();
    if (a.name.empty()) {
      if (named_seen) {
        diag.error(a.loc, fmt::format("positional argument after named arguments in call to "
                                      "`{}`",
                                      call.callee));
        ok = false;
        continue;
      }
      if (next_pos >= specs.size()) {
        diag.error(a.loc,
                   fmt::format("too many arguments to `{}`: it takes {}, found {}", call.callee,
                               specs.size(), call.args.size() + (piped ? 1 : 0)),
                   "expected " + sig + (piped ? "; the value before `|>` is the first" : ""));
        return std::nullopt;
      }
      slot = next_pos++;
    } else {
      named_seen = true;
      for (size_t i = 0; i < specs.size(); ++i)
        if (a.name == specs[i].name)
          slot = i;
      if (slot == specs.size()) {
        std::vector<std::string> names;
        for (const ParamSpec &s : specs)
          names.push_back(s.name);
        std::string hint = did_you_mean(a.name, names);
        diag.error(a.loc, fmt::format("`{}` has no argument named `{}`", call.callee, a.name),
                   hint.empty() ? "expected " + sig : hint);
        ok = false;
        continue;
      }
      if (given[slot]) {
        diag.error(a.loc, fmt::format("argument `{}` of `{}` is given twice", a.name,
                                      call.callee));
        ok = false;
        continue;
      }
    }
    given[slot] = true;
    out[slot] = a.value.get();
  }
  for (size_t i = 0; ok && i < specs.size(); ++i)
    if (specs[i].required && !given[i]) {
      diag.error(call.loc, fmt::format("missing argument `{}` in call to `{}`", specs[i].name,
                                       call.callee),
                 "expected " + sig);
      ok = false;
    }
  return ok ? std::optional(out) : std::nullopt;
}

LValue lower_call(Lowerer &L, const CallSite &call, const LValue *piped) {
  Diagnostics &diag = L.diag();
  const Builtin *fn = find_builtin(call.callee);
  if (!fn) {
    if (L.is_value_name(call.callee)) {
      diag.error(call.loc, fmt::format("`{}` is a value, not a function", call.callee),
                 "only layers and functions can be called or piped into");
      return {};
    }
    diag.error(call.loc, fmt::format("unknown layer or function `{}`", call.callee),
               did_you_mean(call.callee, builtin_names()));
    return {};
  }
  if (fn->cat == Category::Planned) {
    diag.error(call.loc, fmt::format("`{}` is not supported yet", call.callee),
               "see docs/language.md for the plan");
    return {};
  }
  auto args = bind_args(call, fn->specs, piped != nullptr, diag);
  if (!args)
    return {};
  CallCtx c{L, call, *fn, std::move(*args), {}};
  for (int i = 0; i < fn->tensors; ++i) {
    LValue v = i == 0 && piped ? *piped : L.lower_expr(*c.args[i]);
    if (!v.ok())
      return {};
    bool label = (fn->lower == lower_cross_entropy && i == 1) || // checked there
                 fn->lower == lower_embedding;
    if (!label && L.type(v).dtype != DType::F32) {
      diag.error(c.loc_of(i), fmt::format("{} expects f32 values, found {}", fn->name,
                                          L.type(v).str()),
                 "class labels can only be passed to losses such as cross_entropy");
      return {};
    }
    c.in.push_back(v);
  }
  return fn->lower(c);
}

} // namespace netc
