//===- ops_test.cpp - The op contract: every op, every rule ---------------===//
//
// Loops over every op in Ops.def. Each op must either have a gradient case
// here (its VJP, run through the autodiff pass, matches central finite
// differences computed with the interpreter in float64) or be declared a
// leaf or non-differentiable. Adding an op without a case fails this test.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include "ir/OpInfo.h"
#include "passes/Autodiff.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <map>

using namespace netc;
using namespace netc::test;

namespace {

/// One gradient-check case: operand shapes, attributes, and a sampler for
/// operand values that keeps away from kinks and poles.
struct GradCase {
  std::vector<Shape> shapes;
  Attrs attrs;
  std::function<double(Pcg32 &, int operand)> sample;
  /// Operand `label_operand` holds integer labels in [0, labels) instead of
  /// floats (cross_entropy's labels, gather's and scatter_add's ids).
  int64_t labels = 0;
  size_t label_operand = 1;
};

double away_from_zero(Pcg32 &r, int) {
  double v = r.uniform(0.2, 1.5);
  return r.uniform() < 0.5 ? -v : v;
}
double positive(Pcg32 &r, int) { return r.uniform(0.3, 2.0); }
double any(Pcg32 &r, int) { return r.uniform(-2, 2); }

/// stride [2, 1], pads [top 1, left 0, bottom 1, right 1], plus one more
/// attribute (the gradients' `size` or `filter_size`).
Attrs conv_attrs(std::pair<const char *, std::vector<int64_t>> extra) {
  Attrs a{{"stride", std::vector<int64_t>{2, 1}}, {"pads", std::vector<int64_t>{1, 0, 1, 1}}};
  if (extra.first)
    a.set(extra.first, extra.second);
  return a;
}
Attrs pool_attrs(std::vector<int64_t> window, std::vector<int64_t> stride,
                 std::vector<int64_t> size) {
  Attrs a{{"window", std::move(window)}, {"stride", std::move(stride)}};
  if (!size.empty())
    a.set("size", std::move(size));
  return a;
}

const std::map<OpKind, GradCase> &grad_cases() {
  static const std::map<OpKind, GradCase> cases = {
      {OpKind::Neg, {{{3, 4}}, {}, any}},
      {OpKind::Exp, {{{3, 4}}, {}, any}},
      {OpKind::Log, {{{3, 4}}, {}, positive}},
      {OpKind::Sqrt, {{{3, 4}}, {}, positive}},
      {OpKind::Relu, {{{3, 4}}, {}, away_from_zero}},
      {OpKind::Sigmoid, {{{3, 4}}, {}, any}},
      {OpKind::Tanh, {{{3, 4}}, {}, any}},
      {OpKind::Cos, {{{3, 4}}, {}, any}},
      {OpKind::Add, {{{3, 4}, {4}}, {}, any}},
      {OpKind::Sub, {{{3, 1}, {3, 4}}, {}, any}},
      {OpKind::Mul, {{{2, 3, 4}, {3, 1}}, {}, any}},
      {OpKind::Div, {{{3, 4}, {4}}, {}, away_from_zero}},
      {OpKind::Minimum, {{{3, 4}, {4}}, {}, any}},
      {OpKind::Maximum, {{{3, 1}, {3, 4}}, {}, any}},
      {OpKind::Pow, {{{3, 4}, {4}}, {}, positive}},
      {OpKind::MatMul, {{{3, 5}, {5, 4}}, {}, any}},
      {OpKind::Reshape, {{{3, 4}}, Attrs{{"shape", std::vector<int64_t>{2, 6}}}, any}},
      {OpKind::Transpose, {{{2, 3, 4}}, Attrs{{"perm", std::vector<int64_t>{2, 0, 1}}}, any}},
      {OpKind::Broadcast, {{{3, 1}}, Attrs{{"shape", std::vector<int64_t>{2, 3, 4}}}, any}},
      {OpKind::ReduceSum,
       {{{2, 3, 4}}, Attrs{{"axes", std::vector<int64_t>{0, 2}}, {"keepdims", int64_t(0)}}, any}},
      {OpKind::ReduceMean,
       {{{2, 3, 4}}, Attrs{{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t(1)}}, any}},
      // Distinct values keep the max away from ties, where it has no derivative.
      {OpKind::ReduceMax,
       {{{3, 4}},
        Attrs{{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t(0)}},
        [](Pcg32 &r, int) { return r.uniform(-2, 2) + 0.37 * r.below(1000); }}},
      {OpKind::Softmax, {{{3, 5}}, Attrs{{"axis", int64_t(1)}}, any}},
      {OpKind::LogSoftmax, {{{2, 3, 4}}, Attrs{{"axis", int64_t(1)}}, any}},
      {OpKind::CrossEntropy, {{{4, 6}, {4}}, {}, any, 6}},
      // Ids in [0, 7) over 5 rows: repeats, and ids 5 and 6 (zero rows,
      // dropped updates).
      {OpKind::Gather, {{{5, 3}, {4, 3}}, {}, any, 7}},
      {OpKind::ScatterAdd, {{{4, 3}, {4, 3, 2}}, Attrs{{"rows", int64_t(5)}}, any, 7, 0}},
      // Slice pads its adjoint on both sides; concat along a middle axis.
      {OpKind::Slice,
       {{{3, 5, 4}},
        Attrs{{"axis", int64_t(1)}, {"begin", int64_t(1)}, {"size", int64_t(3)}},
        any}},
      {OpKind::Concat, {{{3, 2, 4}, {3, 3, 4}}, Attrs{{"axis", int64_t(1)}}, any}},
      // Convolution and pooling: stride 2 and uneven padding, non-square
      // windows; the pools' windows overlap along W.
      {OpKind::Conv2D, {{{2, 5, 6, 3}, {3, 2, 3, 4}}, conv_attrs({}), any}},
      {OpKind::Conv2DGradInput, {{{2, 3, 6, 4}, {3, 2, 3, 4}}, conv_attrs({"size", {5, 6}}), any}},
      {OpKind::Conv2DGradFilter,
       {{{2, 5, 6, 3}, {2, 3, 6, 4}}, conv_attrs({"filter_size", {3, 2}}), any}},
      {OpKind::MaxPool2D,
       {{{2, 5, 7, 3}}, pool_attrs({2, 3}, {2, 2}, {}),
        [](Pcg32 &r, int) { return r.uniform(-2, 2) + 0.37 * r.below(1000); }}},
      {OpKind::AvgPool2D, {{{2, 5, 7, 3}}, pool_attrs({3, 2}, {1, 2}, {}), any}},
      {OpKind::AvgPool2DGrad, {{{2, 3, 3, 3}}, pool_attrs({3, 2}, {1, 2}, {5, 7}), any}},
  };
  return cases;
}

/// Ops with no operands to differentiate, and ops whose derivative is zero
/// almost everywhere (they must have no VJP rule). Scan's VJP needs the
/// module, so the autodiff pass applies it (no rule either); scan_test.cpp
/// checks backprop through time against finite differences.
bool is_leaf(OpKind k) {
  return k == OpKind::Arg || k == OpKind::Param || k == OpKind::Constant || k == OpKind::BatchSize;
}
bool is_non_differentiable(OpKind k) {
  return k == OpKind::Step || k == OpKind::Floor || k == OpKind::Equal || k == OpKind::OneHot ||
         k == OpKind::MaxPool2DGrad;
}
bool is_differentiated_by_the_pass(OpKind k) { return k == OpKind::Scan; }

/// A module whose loss is Σ op(p0, p1, ...) ⊙ w for a fixed random w, so the
/// adjoint reaching the op is not all ones.
Module gradient_module(OpKind k, const GradCase &c) {
  Module m;
  m.name = op_name(k);
  Function f;
  f.name = "eval";
  Builder b(f);
  std::vector<ValueId> operands;
  for (size_t i = 0; i < c.shapes.size(); ++i) {
    bool is_label = c.labels && i == c.label_operand;
    ParamDecl p{"p" + std::to_string(i), ParamKind::Param,
                {is_label ? DType::I32 : DType::F32, c.shapes[i]}, {}, {}};
    if (is_label)
      p.attrs.set("frozen", int64_t(1));
    m.params.push_back(p);
    operands.push_back(b.param(p));
  }
  ValueId y = b.op(k, operands, c.attrs);
  ParamDecl w{"w", ParamKind::Param, b.type(y), Attrs{{"frozen", int64_t(1)}}, {}};
  m.params.push_back(w);
  ValueId prod = b.mul(y, b.param(w));
  std::vector<int64_t> all;
  for (int i = 0; i < b.type(prod).rank(); ++i)
    all.push_back(i);
  f.outputs.push_back({"loss", b.reduce_sum(prod, all, false)});
  m.functions.push_back(std::move(f));
  return m;
}

} // namespace

TEST_CASE("every op has a gradient case or is declared without one", "[ops]") {
  for (OpKind k : all_ops()) {
    INFO("op " << op_name(k));
    bool covered = grad_cases().count(k) || is_leaf(k) || is_non_differentiable(k) ||
                   is_differentiated_by_the_pass(k);
    CHECK(covered);
    if (is_leaf(k) || is_non_differentiable(k) || is_differentiated_by_the_pass(k))
      CHECK(op_info(k).vjp == nullptr);
    else
      CHECK(op_info(k).vjp != nullptr);
  }
}

/// Checks op `k`'s VJP on case `c` against central finite differences.
void check_vjp(OpKind k, const GradCase &c) {
  Module m = gradient_module(k, c);
  SourceManager sm;
  Diagnostics diag(sm);
  REQUIRE(differentiate(m, diag));
  const Function &eval = *m.find_function("eval");
  const Function &step = *m.find_function("train_step");

  Pcg32 rng(1234 + static_cast<uint64_t>(k));
  ParamStore params;
  for (const ParamDecl &p : m.params) {
    int operand = p.name == "w" ? -1 : std::stoi(p.name.substr(1));
    if (p.type.dtype == DType::I32)
      params[p.name] = random_tensor(p.type.shape, [&] { return double(rng.below(c.labels)); },
                                     DType::I32);
    else if (operand < 0)
      params[p.name] = random_tensor(p.type.shape, [&] { return rng.uniform(-1, 1); });
    else
      params[p.name] = random_tensor(p.type.shape, [&] { return c.sample(rng, operand); });
  }
  CallResult r = interpret(step, {}, params);
  for (const ParamDecl &p : m.params) {
    if (!p.trainable())
      continue;
    INFO("gradient w.r.t. operand " << p.name);
    const Tensor &analytic = r.outputs.at(grad_output_name(p.name));
    Tensor numeric = numeric_grad(eval, {}, params, p.name);
    // Central differences in float64 with eps = 1e-6 are good to ~1e-9.
    CHECK(max_rel_error(analytic, numeric) < 1e-6);
  }
}

TEST_CASE("every VJP matches central finite differences in float64", "[ops][grad]") {
  for (const auto &[k, c] : grad_cases()) {
    INFO("op " << op_name(k));
    check_vjp(k, c);
  }
}

TEST_CASE("VJPs on the shapes of sequence models match finite differences", "[ops][grad]") {
  // cross_entropy with a label per position: logits [N, T, V], labels [N, T].
  SECTION("cross_entropy [2, 5, 6] by [2, 5]") {
    check_vjp(OpKind::CrossEntropy, {{{2, 5, 6}, {2, 5}}, {}, any, 6});
  }
  // conv1d lowers to conv2d on one-row images; causal: pads K - 1 on the left.
  Attrs causal{{"stride", std::vector<int64_t>{1, 1}}, {"pads", std::vector<int64_t>{0, 3, 0, 0}}};
  SECTION("conv2d as a causal conv1d") {
    check_vjp(OpKind::Conv2D, {{{2, 1, 7, 3}, {1, 4, 3, 5}}, causal, any});
  }
  SECTION("conv2d as a strided conv1d, same padding") {
    Attrs a{{"stride", std::vector<int64_t>{1, 2}}, {"pads", std::vector<int64_t>{0, 1, 0, 1}}};
    check_vjp(OpKind::Conv2D, {{{2, 1, 8, 3}, {1, 3, 3, 4}}, a, any});
  }
  SECTION("max_pool2d as max_pool1d") {
    check_vjp(OpKind::MaxPool2D, {{{2, 1, 9, 3}},
                                  pool_attrs({1, 2}, {1, 2}, {}),
                                  [](Pcg32 &r, int) { return r.uniform(-2, 2) + 0.37 * r.below(1000); }});
  }
}

TEST_CASE("every shape rule rejects what it must, with the shapes in the message", "[ops]") {
  auto fails = [](OpKind k, std::vector<TensorType> in, Attrs attrs = {}) {
    Node n{k, {}, {}, std::move(attrs), {}};
    return infer_type(n, in).error;
  };
  TensorType a{DType::F32, {kBatch, 10}}, b{DType::F32, {kBatch, 12}};
  CHECK(fails(OpKind::Add, {a, b}) == "cannot broadcast f32[N, 10] and f32[N, 12]");
  CHECK(fails(OpKind::MatMul, {a, {DType::F32, {12, 3}}}) ==
        "inner dimensions differ: f32[N, 10] @ f32[12, 3] (10 vs 12)");
  CHECK(fails(OpKind::MatMul, {{DType::F32, {kBatch, 2, 2}}, a}) ==
        "expects rank-2 operands, found f32[N, 2, 2] @ f32[N, 10]");
  CHECK(fails(OpKind::Reshape, {a}, Attrs{{"shape", std::vector<int64_t>{kBatch, 11}}}) ==
        "cannot reshape f32[N, 10] to [N, 11]: 10 vs 11 elements per example");
  CHECK(fails(OpKind::Reshape, {a}, Attrs{{"shape", std::vector<int64_t>{10}}}).find(
            "batch dimension") != std::string::npos);
  CHECK(fails(OpKind::Transpose, {a}, Attrs{{"perm", std::vector<int64_t>{0, 0}}}) ==
        "`perm` [0, 0] is not a permutation of the 2 axes of f32[N, 10]");
  CHECK(fails(OpKind::ReduceSum, {a},
              Attrs{{"axes", std::vector<int64_t>{2}}, {"keepdims", int64_t(0)}}) ==
        "axis 2 is out of range for rank 2 (operand f32[N, 10])");
  CHECK(fails(OpKind::CrossEntropy, {a, {DType::I32, {kBatch, 1}}}) ==
        "logits f32[N, 10] do not match labels i32[N, 1]: expected labels of shape [N]");
  CHECK(fails(OpKind::CrossEntropy, {a, {DType::F32, {kBatch}}}) ==
        "labels must be i32 class indices, found f32[N]");
  CHECK(fails(OpKind::Gather, {{DType::F32, {10}}, {DType::I32, {kBatch}}}) ==
        "table must be f32[V, D] with static V and D, found f32[10]");
  CHECK(fails(OpKind::Gather, {{DType::F32, {10, 4}}, {DType::F32, {kBatch}}}) ==
        "ids must be i32 row indices, found f32[N]");
  CHECK(fails(OpKind::ScatterAdd, {{DType::I32, {kBatch}}, {DType::F32, {kBatch, 4}}}) ==
        "needs a positive attribute `rows` (int)");
  CHECK(fails(OpKind::ScatterAdd, {{DType::I32, {kBatch, 3}}, {DType::F32, {kBatch, 4}}},
              Attrs{{"rows", int64_t(10)}}) ==
        "updates f32[N, 4] do not match ids i32[N, 3]: expected updates of shape [N, 3] plus a "
        "static row length D");
  CHECK(fails(OpKind::Exp, {{DType::I32, {3}}}) == "operand must be f32, found i32[3]");
  CHECK(fails(OpKind::Add, {a}) == "expects 2 operand(s), found 1");
  CHECK(fails(OpKind::Softmax, {a}, Attrs{{"axis", int64_t(2)}}) ==
        "attribute `axis` must be an axis of f32[N, 10]");
}

TEST_CASE("reference implementations give hand-computed values", "[ops]") {
  Function f;
  Builder b(f);
  ValueId x = b.arg("x", {DType::F32, {2, 3}});
  ValueId labels = b.arg("y", {DType::I32, {2}});
  f.outputs = {
      {"softmax", b.op(OpKind::Softmax, {x}, Attrs{{"axis", int64_t(1)}})},
      {"ce", b.op(OpKind::CrossEntropy, {x, labels})},
      {"sum0", b.reduce_sum(x, {0}, false)},
      {"max1", b.op(OpKind::ReduceMax, {x},
                    Attrs{{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t(1)}})},
      {"t", b.transpose(x, {1, 0})},
      {"mm", b.matmul(x, b.transpose(x, {1, 0}))},
      {"bcast", b.add(x, b.constant(10.0, {DType::F32, {3}}))},
  };
  Tensor xt(DType::F32, {2, 3});
  xt.data = {1, 2, 3, -1, 0, 1000};
  Tensor yt(DType::I32, {2});
  yt.data = {2, 0};
  CallResult r = interpret(f, {xt, yt}, {});
  double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  CHECK(r.outputs["softmax"][0] == Approx(std::exp(1.0) / z).epsilon(1e-12));
  CHECK(r.outputs["softmax"][5] == Approx(1.0)); // stable for large logits
  CHECK(r.outputs["ce"][0] == Approx(std::log(z) - 3).epsilon(1e-12));
  CHECK(r.outputs["ce"][1] == Approx(1001.0).epsilon(1e-12)); // lse ≈ 1000, minus (-1)
  CHECK(r.outputs["sum0"].data == std::vector<double>{0, 2, 1003});
  CHECK(r.outputs["max1"].shape == Shape{2, 1});
  CHECK(r.outputs["max1"].data == std::vector<double>{3, 1000});
  CHECK(r.outputs["t"].data == std::vector<double>{1, -1, 2, 0, 3, 1000});
  CHECK(r.outputs["mm"].data == std::vector<double>{14, 2999, 2999, 1000001});
  CHECK(r.outputs["bcast"].data == std::vector<double>{11, 12, 13, 9, 10, 1010});
}

TEST_CASE("every op has a cost; matmul counts 2·M·K·N", "[ops]") {
  Node n{OpKind::MatMul, {DType::F32, {kBatch, 512}}, {}, {}, {}};
  std::vector<TensorType> in = {{DType::F32, {kBatch, 784}}, {DType::F32, {784, 512}}};
  OpCost c = op_info(OpKind::MatMul).cost(n, in, 64);
  CHECK(c.flops == 2.0 * 64 * 784 * 512);
  CHECK(c.bytes == 4.0 * (64 * 512 + 64 * 784 + 784 * 512));
  for (OpKind k : all_ops())
    CHECK(op_info(k).cost != nullptr);
}
