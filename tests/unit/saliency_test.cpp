//===- saliency_test.cpp - Input gradients and the @inspect function ------===//
//
// The autodiff pass's @saliency (d sum(score * seed) / d input) and
// @saliency_loss (d loss / d input) on a small conv model and through a
// scan (an RNN, the input's adjoint carried back through time): against
// central finite differences through the reference interpreter, and compiled
// (the JIT runs exactly what `netc build` compiles) against the interpreter
// for the conv model (`netc build` refuses scans, errors/build_scan_unsupported).
// Also which models get them, and the frontend's @inspect.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include "codegen/Jit.h"
#include "ir/Parser.h"
#include "ir/Verifier.h"
#include "passes/Autodiff.h"

#include <catch2/catch.hpp>

using namespace netc;
using namespace netc::test;

namespace {

const char *kConv = R"(
model small(image: f32[10, 9], label: class<3>) {
    h      = image |> conv2d(2, 3) |> relu |> max_pool(2)
    logits = h |> flatten |> dense(3)
    output prob = softmax(logits)
    loss cross_entropy(logits, label)
}
train small {
    data      = idx("x.gz", "y.gz")
    optimizer = sgd(lr: 0.1)
    batch     = 4
    epochs    = 1
}
)";

std::vector<std::string> arg_names(const Function &f) {
  std::vector<std::string> names;
  for (ValueId a : f.args())
    names.push_back(f.node(a).attrs.get_str("name"));
  return names;
}

std::vector<std::string> output_names(const Function &f) {
  std::vector<std::string> names;
  for (const NamedValue &o : f.outputs)
    names.push_back(o.name);
  return names;
}

/// sum(score * seed) of @saliency's `score` output: the selected score.
double selected_score(const Module &m, const Function &f, const std::vector<Tensor> &args,
                      const ParamStore &params) {
  Tensor score = interpret(m, f, args, params).outputs.at("score");
  double s = 0;
  for (int64_t i = 0; i < score.size(); ++i)
    s += score[i] * args[1][i];
  return s;
}

/// Central finite differences of `objective(args)` w.r.t. args[0].
template <typename F> Tensor numeric_input_grad(std::vector<Tensor> args, F objective, double eps = 1e-6) {
  Tensor g(DType::F32, args[0].shape);
  for (int64_t i = 0; i < g.size(); ++i) {
    double x = args[0][i];
    args[0][i] = x + eps;
    double up = objective(args);
    args[0][i] = x - eps;
    double down = objective(args);
    args[0][i] = x;
    g[i] = (up - down) / (2 * eps);
  }
  return g;
}

std::vector<Tensor> saliency_args(Pcg32 &rng, int64_t n) {
  Tensor x = random_tensor({n, 10, 9}, [&] { return rng.uniform(-1, 1); });
  Tensor seed = random_tensor({n, 3}, [&] { return rng.uniform(-1, 1); });
  return {x, seed};
}

/// An RNN over seq [N, 5, 3] whose @predict outputs the stacked states.
const char *kRnn = R"(module @rnn attributes {optimizer = "sgd", optimizer.lr = 0.1} {
  param @W : f32[3, 4] {init = "glorot_uniform"}
  param @U : f32[4, 4] {init = "glorot_uniform"}
  func @h.step(%x_t: f32[N, 3], %state: f32[N, 4]) {
    %0 = param @W : f32[3, 4]
    %1 = matmul %x_t, %0 : f32[N, 4]
    %2 = param @U : f32[4, 4]
    %3 = matmul %state, %2 : f32[N, 4]
    %4 = add %1, %3 : f32[N, 4]
    %5 = tanh %4 : f32[N, 4]
    output state = %5
  }
  func @predict(%seq: f32[N, 5, 3]) {
    %0 = constant 0.0 : f32[N, 4]
    %1 = scan %seq, %0 {axis = 1, body = "h.step"} : f32[N, 5, 4]
    output hs = %1
  }
  func @eval(%seq: f32[N, 5, 3]) {
    %0 = constant 0.0 : f32[N, 4]
    %1 = scan %seq, %0 {axis = 1, body = "h.step"} : f32[N, 5, 4]
    %2 = reduce_mean %1 {axes = [0, 1, 2], keepdims = 0} : f32[]
    output loss = %2
  }
}
)";

Module differentiated_rnn() {
  SourceManager sm;
  Diagnostics diag(sm);
  std::optional<Module> m = parse_module(sm.add("rnn.nir", kRnn), diag);
  REQUIRE(m);
  REQUIRE(verify_module(*m, diag));
  REQUIRE(differentiate(*m, diag));
  REQUIRE(verify_module(*m, diag));
  return std::move(*m);
}

} // namespace

TEST_CASE("saliency through a scan agrees with finite differences", "[saliency][scan]") {
  Module m = differentiated_rnn();
  ParamStore params = init_params(m, 5);
  Pcg32 rng(13);
  const Function &s = *m.find_function("saliency");
  CHECK(output_names(s) == std::vector<std::string>{"score", "grad.seq"});
  Tensor seq = random_tensor({2, 5, 3}, [&] { return rng.uniform(-1, 1); });
  Tensor seed = random_tensor({2, 5, 4}, [&] { return rng.uniform(-1, 1); });
  std::vector<Tensor> args = {seq, seed};
  Tensor analytic = interpret(m, s, args, params).outputs.at("grad.seq");
  Tensor numeric =
      numeric_input_grad(args, [&](const std::vector<Tensor> &a) { return selected_score(m, s, a, params); });
  CHECK(max_rel_error(analytic, numeric) < 1e-6);
  double first = 0; // the first step reaches every later state's score
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t f = 0; f < 3; ++f)
      first += std::abs(analytic[b * 15 + f]);
  CHECK(first > 1e-3);

  const Function &l = *m.find_function("saliency_loss");
  const Function &eval = *m.find_function("eval");
  Tensor dloss = interpret(m, l, {seq}, params).outputs.at("grad.seq");
  Tensor fd = numeric_input_grad(std::vector<Tensor>{seq}, [&](const std::vector<Tensor> &a) {
    return interpret(m, eval, a, params).outputs.at("loss")[0];
  });
  CHECK(max_rel_error(dloss, fd) < 1e-6);

  // @train_step's body VJP builds no input adjoint; @saliency's builds no
  // parameter gradient.
  CHECK(output_names(*m.find_function("h.step.vjp")) ==
        std::vector<std::string>{"d.state", "grad.W", "grad.U"});
  CHECK(output_names(*m.find_function("h.step.vjp2")) ==
        std::vector<std::string>{"d.state", "d.x_t"});
}

TEST_CASE("autodiff builds @saliency and @saliency_loss for f32 inputs", "[saliency]") {
  Module m = compile_net(kConv);
  const Function *s = m.find_function("saliency");
  const Function *l = m.find_function("saliency_loss");
  REQUIRE(s);
  REQUIRE(l);
  CHECK(arg_names(*s) == std::vector<std::string>{"image", kSaliencySeedArg});
  CHECK(output_names(*s) == std::vector<std::string>{"score", "grad.image"});
  // The score is the logits (softmax's operand): the seed has their type.
  CHECK(s->type(s->args()[1]) == TensorType{DType::F32, {kBatch, 3}});
  CHECK(s->type(s->output("grad.image")) == s->type(s->args()[0]));
  CHECK(arg_names(*l) == std::vector<std::string>{"image", "label"});
  CHECK(output_names(*l) == std::vector<std::string>{"loss", "grad.image"});
  // @inspect: the named values, in source order.
  const Function *i = m.find_function("inspect");
  REQUIRE(i);
  CHECK(arg_names(*i) == std::vector<std::string>{"image"});
  CHECK(output_names(*i) == std::vector<std::string>{"h", "logits", "prob"});
}

TEST_CASE("models with integer inputs get no input gradient", "[saliency]") {
  Module m = compile_net(R"(
model lm(tokens: i32[6], label: class<4>) {
    e      = tokens |> embedding(50, 8)
    logits = e |> flatten |> dense(4)
    loss cross_entropy(logits, label)
}
)");
  CHECK(m.find_function("train_step") != nullptr);
  CHECK(m.find_function("saliency") == nullptr);
  CHECK(m.find_function("saliency_loss") == nullptr);
}

TEST_CASE("saliency gradients agree with finite differences", "[saliency]") {
  Module m = compile_net(kConv);
  ParamStore params = init_params(m, 3);
  Pcg32 rng(11);
  const Function &s = *m.find_function("saliency");
  std::vector<Tensor> args = saliency_args(rng, 2);
  Tensor analytic = interpret(m, s, args, params).outputs.at("grad.image");
  Tensor numeric =
      numeric_input_grad(args, [&](const std::vector<Tensor> &a) { return selected_score(m, s, a, params); });
  CHECK(max_rel_error(analytic, numeric) < 1e-6);
  double norm = 0;
  for (double v : analytic.data)
    norm += std::abs(v);
  CHECK(norm > 1e-3); // not trivially zero

  // The loss's input gradient, against finite differences of @eval's loss.
  const Function &l = *m.find_function("saliency_loss");
  const Function &eval = *m.find_function("eval");
  Tensor labels = random_tensor({2}, [&] { return double(rng.below(3)); }, DType::I32);
  std::vector<Tensor> largs = {args[0], labels};
  Tensor dloss = interpret(m, l, largs, params).outputs.at("grad.image");
  Tensor fd = numeric_input_grad(largs, [&](const std::vector<Tensor> &a) {
    return interpret(m, eval, a, params).outputs.at("loss")[0];
  });
  CHECK(max_rel_error(dloss, fd) < 1e-6);
}

TEST_CASE("compiled saliency matches the interpreter", "[saliency][slow]") {
  Module m = compile_net(kConv);
  codegen::JitModel jit(m);
  ParamStore params = init_params(m, 7);
  Pcg32 rng(2);
  for (int64_t n : {5, 1}) {
    INFO("batch " << n);
    std::vector<Tensor> args = saliency_args(rng, n);
    CallResult want = interpret(m, *m.find_function("saliency"), args, params);
    std::map<std::string, Tensor> got = jit.call("saliency", args, params);
    CHECK(max_rel_error(got.at("grad.image"), want.outputs.at("grad.image")) < 1e-5);
    CHECK(max_rel_error(got.at("score"), want.outputs.at("score")) < 1e-5);
    Tensor labels = random_tensor({n}, [&] { return double(rng.below(3)); }, DType::I32);
    CallResult lwant = interpret(m, *m.find_function("saliency_loss"), {args[0], labels}, params);
    std::map<std::string, Tensor> lgot = jit.call("saliency_loss", {args[0], labels}, params);
    CHECK(max_rel_error(lgot.at("grad.image"), lwant.outputs.at("grad.image")) < 1e-5);
    std::map<std::string, Tensor> inspect = jit.call("inspect", {args[0]}, params);
    CallResult iwant = interpret(m, *m.find_function("inspect"), {args[0]}, params);
    CHECK(max_rel_error(inspect.at("h"), iwant.outputs.at("h")) < 1e-5);
  }
}
