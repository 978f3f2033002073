//===- passes_test.cpp - Passes preserve meaning; autodiff is right -------===//
//
// Every pass is checked by running the IR before and after it through the
// reference interpreter, and autodiff on whole models against finite
// differences with a real batch (so the batch-mean adjoint is exercised).
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include "ir/Parser.h"
#include "ir/Printer.h"
#include "passes/Autodiff.h"
#include "passes/Pipeline.h"
#include "passes/Simplify.h"

#include <catch2/catch.hpp>
#include <sstream>

using namespace netc;
using namespace netc::test;

namespace {

// A two-layer MLP with a softmax output and a mean cross-entropy loss, as
// the frontend lowers `dense |> relu |> dense`, written as IR text.
const char *kMlp = R"(
module @mlp attributes {optimizer = "sgd", optimizer.lr = 0.1, optimizer.momentum = 0.9} {
  param @h.w : f32[6, 5] {init = "glorot_uniform"}
  param @h.b : f32[5] {init = "glorot_uniform"}
  param @o.w : f32[5, 3] {init = "glorot_uniform"}
  param @o.b : f32[3] {init = "glorot_uniform"}

  func @eval(%x: f32[N, 2, 3], %y: i32[N]) {
    %0 = reshape %x {shape = [N, 6]}
    %1 = param @h.w : f32[6, 5]
    %2 = matmul %0, %1
    %3 = param @h.b : f32[5]
    %4 = add %2, %3
    %5 = tanh %4
    %6 = param @o.w : f32[5, 3]
    %7 = matmul %5, %6
    %8 = param @o.b : f32[3]
    %9 = add %7, %8
    %10 = softmax %9 {axis = 1}
    %11 = cross_entropy %9, %y
    %12 = reduce_mean %11 {axes = [0], keepdims = 0}
    output prob = %10
    output loss = %12
  }
}
)";

Module parse(const std::string &text) {
  SourceManager sm;
  Diagnostics diag(sm);
  std::optional<Module> m = parse_module(sm.add("test.nir", text), diag);
  std::ostringstream errs;
  diag.flush(errs);
  INFO(errs.str());
  REQUIRE(m);
  return std::move(*m);
}

Module run(Module m, PipelineOptions opts) {
  SourceManager sm;
  Diagnostics diag(sm);
  std::ostringstream dump, errs;
  bool ok = run_pipeline(m, diag, opts, dump);
  diag.flush(errs);
  INFO(errs.str());
  REQUIRE(ok);
  return m;
}

std::vector<Tensor> batch(Pcg32 &rng, int64_t n) {
  return {random_tensor({n, 2, 3}, [&] { return rng.uniform(-1, 1); }),
          random_tensor({n}, [&] { return double(rng.below(3)); }, DType::I32)};
}

} // namespace

TEST_CASE("autodiff of a whole MLP matches finite differences over a batch", "[passes][grad]") {
  PipelineOptions opts;
  opts.stop_after = "autodiff";
  Module m = run(parse(kMlp), opts);
  Pcg32 rng(7);
  ParamStore params = init_params(m, 3);
  std::vector<Tensor> args = batch(rng, 5);
  CallResult r = interpret(*m.find_function("train_step"), args, params);
  for (const ParamDecl &p : m.params) {
    INFO("parameter " << p.name);
    Tensor numeric = numeric_grad(*m.find_function("eval"), args, params, p.name);
    CHECK(max_rel_error(r.outputs.at(grad_output_name(p.name)), numeric) < 1e-7);
  }
}

TEST_CASE("simplify preserves what every function computes", "[passes]") {
  PipelineOptions plain;
  plain.disabled = {"simplify"};
  Module before = run(parse(kMlp), plain);
  Module after = run(parse(kMlp), PipelineOptions{});
  const Function &fb = *before.find_function("train_step");
  const Function &fa = *after.find_function("train_step");
  CHECK(fa.nodes.size() < fb.nodes.size());
  Pcg32 rng(11);
  ParamStore params = init_params(before, 5);
  for (int64_t n : {1, 4, 7}) {
    std::vector<Tensor> args = batch(rng, n);
    CallResult rb = interpret(fb, args, params), ra = interpret(fa, args, params);
    CHECK(ra.outputs.at("loss")[0] == Approx(rb.outputs.at("loss")[0]).epsilon(1e-12));
    REQUIRE(ra.updates.size() == rb.updates.size());
    for (const auto &[name, t] : rb.updates)
      CHECK(max_rel_error(ra.updates.at(name), t) < 1e-12);
  }
}

TEST_CASE("SGD with momentum matches an independent implementation over 10 steps",
          "[passes][optimizer]") {
  Module m = run(parse(kMlp), PipelineOptions{});
  PipelineOptions grads_only;
  grads_only.stop_after = "autodiff";
  Module g = run(parse(kMlp), grads_only);
  const Function &step = *m.find_function("train_step");
  const Function &grad = *g.find_function("train_step");

  ParamStore compiled = init_params(m, 9);
  // The reference: PyTorch's SGD, v = μ·v + g; w = w - lr·v.
  std::map<std::string, Tensor> w, v;
  for (const ParamDecl &p : g.params) {
    w[p.name] = compiled.at(p.name);
    v[p.name] = Tensor(DType::F32, p.type.shape);
  }
  // The learning rate lives in float32 state, like every trainer's.
  const double lr = compiled.at("lr")[0];
  CHECK(lr == static_cast<float>(0.1));
  Pcg32 rng(13);
  for (int s = 0; s < 10; ++s) {
    std::vector<Tensor> args = batch(rng, 4);
    CallResult r = interpret(step, args, compiled);
    apply_updates(compiled, r);
    CallResult gr = interpret(grad, args, ParamStore(w.begin(), w.end()));
    for (auto &[name, wt] : w) {
      const Tensor &gt = gr.outputs.at(grad_output_name(name));
      for (int64_t i = 0; i < wt.size(); ++i) {
        v[name][i] = 0.9 * v[name][i] + gt[i];
        wt[i] -= lr * v[name][i];
      }
    }
  }
  for (const auto &[name, wt] : w) {
    INFO("parameter " << name);
    CHECK(max_rel_error(compiled.at(name), wt) < 1e-12);
    CHECK(max_rel_error(compiled.at(name + ".velocity"), v[name]) < 1e-12);
  }
}

TEST_CASE("training through the interpreter lowers the loss on a learnable task", "[passes]") {
  Module m = run(parse(kMlp), PipelineOptions{});
  const Function &step = *m.find_function("train_step");
  ParamStore params = init_params(m, 1);
  // Label = which third of the first row's sum range the example falls in.
  Pcg32 rng(17);
  auto make = [&](int64_t n) {
    std::vector<Tensor> a = batch(rng, n);
    for (int64_t i = 0; i < n; ++i) {
      double s = a[0][i * 6] + a[0][i * 6 + 1] + a[0][i * 6 + 2];
      a[1][i] = s < -0.5 ? 0 : s < 0.5 ? 1 : 2;
    }
    return a;
  };
  std::vector<Tensor> held = make(200);
  double first = interpret(*m.find_function("eval"), held, params).outputs.at("loss")[0];
  for (int s = 0; s < 300; ++s)
    apply_updates(params, interpret(step, make(16), params));
  double last = interpret(*m.find_function("eval"), held, params).outputs.at("loss")[0];
  CHECK(first > 0.9);
  CHECK(last < 0.5 * first);
}

TEST_CASE("the pipeline names its passes and honours --stop-after", "[passes]") {
  CHECK(pipeline_pass_names() ==
        std::vector<std::string>{"shape-infer", "verify", "autodiff", "optimizer", "simplify", "fuse"});
  PipelineOptions opts;
  opts.stop_after = "shape-infer";
  Module m = run(parse(kMlp), opts);
  CHECK(m.find_function("train_step") == nullptr);
  opts.stop_after = "autodiff";
  m = run(parse(kMlp), opts);
  REQUIRE(m.find_function("train_step"));
  CHECK(m.find_function("train_step")->output("grad.h.w") != kNoValue);
  CHECK(m.find_function("train_step")->updates.empty());
}
