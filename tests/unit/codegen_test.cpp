//===- codegen_test.cpp - Plan, driver, and compiled vs interpreted -------===//
//
// The whole train step compiled (the same plan and Halide pipelines `netc
// build` uses, JIT-compiled here) against the reference interpreter over
// several SGD steps, at batch sizes that are not multiples of any tile.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include "codegen/Driver.h"
#include "codegen/Jit.h"
#include "codegen/Plan.h"
#include "ir/Parser.h"
#include "passes/Pipeline.h"

#include <catch2/catch.hpp>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>
#include <nlohmann/json.hpp>
#include <sstream>

using namespace netc;
using namespace netc::codegen;
using namespace netc::test;

namespace {

const char *kModel = R"(
model mlp(image: f32[4, 5], label: class<3>) {
    h      = image |> flatten |> dense(16) |> relu
    logits = h |> dense(3)
    output prob = softmax(logits)
    loss cross_entropy(logits, label)
}
train mlp {
    data      = idx("x.gz", "y.gz")
    optimizer = sgd(lr: 0.2, momentum: 0.9)
    batch     = 8
    epochs    = 1
}
)";

std::vector<Tensor> batch(Pcg32 &rng, int64_t n) {
  return {random_tensor({n, 4, 5}, [&] { return rng.uniform(0, 1); }),
          random_tensor({n}, [&] { return double(rng.below(3)); }, DType::I32)};
}

} // namespace

TEST_CASE("the plan shares parameter slots and deduplicates kernels", "[codegen]") {
  Module m = compile_net(kModel);
  ModelPlan plan = plan_model(m, "host");
  // Parameters and state own the first slots, in module order.
  for (size_t i = 0; i < m.params.size(); ++i) {
    CHECK(plan.slots[i].name == m.params[i].name);
    CHECK(plan.slots[i].type == m.params[i].type);
  }
  REQUIRE(plan.functions.size() == 3);
  const FunctionPlan &step = plan.functions[2];
  CHECK(step.name == "train_step");
  CHECK(step.updates.size() == 8); // 4 parameters and 4 velocities
  CHECK(step.copies.size() == 8);
  // eval and predict compute the same forward layers: shared kernel symbols.
  std::set<std::string> symbols;
  int calls = 0;
  for (const FunctionPlan &f : plan.functions)
    calls += static_cast<int>(f.calls.size());
  for (const Kernel &k : plan.kernels)
    symbols.insert(k.symbol);
  CHECK(symbols.size() == plan.kernels.size());
  CHECK(static_cast<int>(plan.kernels.size()) < calls);
  // The target is part of the symbol: objects for two targets never mix.
  CHECK(plan_model(m, "x86-64-linux-avx2").kernels[0].symbol != plan.kernels[0].symbol);
}

TEST_CASE("the emitted driver is valid LLVM IR with the ABI's symbols", "[codegen]") {
  Module m = compile_net(kModel);
  ModelPlan plan = plan_model(m, "host");
  std::string json = model_json(m, plan);
  llvm::LLVMContext ctx;
  std::unique_ptr<llvm::Module> mod = emit_driver(ctx, m, plan, json);
  std::string errors;
  llvm::raw_string_ostream es(errors);
  CHECK_FALSE(llvm::verifyModule(*mod, &es));
  INFO(errors);
  for (const char *fn : {"netc_fn_train_step", "netc_fn_eval", "netc_fn_predict"})
    CHECK(mod->getFunction(fn) != nullptr);
  CHECK(mod->getNamedGlobal("netc_model_json") != nullptr);

  auto j = nlohmann::json::parse(json);
  CHECK(j["name"] == "mlp");
  CHECK(j["config"]["optimizer.lr"] == 0.2);
  CHECK(j["slots"].size() == plan.slots.size());
  CHECK(j["functions"]["predict"]["args"].size() == 1);
  CHECK(j["functions"]["train_step"]["outputs"][0]["name"] == "loss");
  CHECK(j["params"][0]["attrs"]["init"] == "glorot_uniform");
}

TEST_CASE("compiled train steps match the interpreter over several steps", "[codegen][slow]") {
  Module m = compile_net(kModel);
  JitModel jit(m);
  ParamStore interp = init_params(m, 42), compiled = interp;
  Pcg32 rng(5);
  // Losses agree to float32 rounding (the kernels' dtype) accumulated over
  // the steps; the interpreter runs in float64.
  for (int64_t n : {13, 1, 7, 16, 5, 64}) {
    INFO("batch " << n);
    std::vector<Tensor> args = batch(rng, n);
    CallResult r = interpret(*m.find_function("train_step"), args, interp);
    apply_updates(interp, r);
    std::map<std::string, Tensor> c = jit.call("train_step", args, compiled);
    CHECK(c.at("loss")[0] == Approx(r.outputs.at("loss")[0]).epsilon(1e-4));
  }
  for (const ParamDecl &p : m.params) {
    INFO("parameter " << p.name);
    CHECK(max_rel_error(compiled.at(p.name), interp.at(p.name)) < 1e-4);
  }
  std::vector<Tensor> args = batch(rng, 9);
  std::map<std::string, Tensor> ce = jit.call("eval", args, compiled);
  CallResult ie = interpret(*m.find_function("eval"), args, interp);
  CHECK(max_rel_error(ce.at("prob"), ie.outputs.at("prob")) < 1e-4);
  std::map<std::string, Tensor> cp = jit.call("predict", {args[0]}, compiled);
  CHECK(max_rel_error(cp.at("prob"), ce.at("prob")) < 1e-6);
}
