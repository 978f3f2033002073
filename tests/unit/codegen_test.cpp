//===- codegen_test.cpp - Plan, driver, and compiled vs interpreted -------===//
//
// The whole train step compiled (the same plan and Halide pipelines `netc
// build` uses, JIT-compiled here) against the reference interpreter over
// several SGD steps, at batch sizes that are not multiples of any tile.
// The fuse pass's kernels, the IR text round trip with `kernel` attributes,
// fused against unfused train steps, in-place updates and slot reuse.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include "codegen/Driver.h"
#include "codegen/Jit.h"
#include "codegen/Plan.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "passes/Fusion.h"
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

/// n random [h, w] images in [0, 1) and labels of 3 classes.
std::vector<Tensor> image_batch(Pcg32 &rng, int64_t n, int64_t h, int64_t w) {
  return {random_tensor({n, h, w}, [&] { return rng.uniform(0, 1); }),
          random_tensor({n}, [&] { return double(rng.below(3)); }, DType::I32)};
}

std::vector<Tensor> batch(Pcg32 &rng, int64_t n) { return image_batch(rng, n, 4, 5); }

/// kModel with a hidden layer of `width` units: compiled train steps match
/// the interpreter at `batches` (parameters from `seed`, data from `data`).
void hidden_width_matches(int width, uint64_t seed, uint64_t data,
                          std::initializer_list<int64_t> batches) {
  std::string text = kModel;
  text.replace(text.find("dense(16)"), 9, "dense(" + std::to_string(width) + ")");
  Module m = compile_net(text);
  JitModel jit(m);
  ParamStore interp = init_params(m, seed), compiled = interp;
  Pcg32 rng(data);
  train_steps_match(m, jit, interp, compiled, rng, batch, batches);
}

/// The module without fusion: one kernel per node (Plan.cpp's fallback).
Module unfused(Module m) {
  for (Function &f : m.functions)
    for (Node &n : f.nodes) {
      Attrs kept;
      for (const auto &[k, v] : n.attrs.map())
        if (k != kKernelAttr)
          kept.set(k, v);
      n.attrs = kept;
    }
  return m;
}

/// The kernel number of the node computing `op` whose operand list
/// includes a param named `param` (or, with param empty, the first `op`).
int64_t kernel_of(const Function &f, OpKind op, const std::string &param = "") {
  for (const Node &n : f.nodes) {
    if (n.op != op)
      continue;
    for (ValueId v : n.operands)
      if (param.empty() || (f.node(v).op == OpKind::Param && f.node(v).attrs.get_str("name") == param))
        return n.attrs.get_int(kKernelAttr, -1);
  }
  return -2;
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
  // eval, predict, inspect, train_step, saliency, saliency_loss.
  REQUIRE(plan.functions.size() == 6);
  const FunctionPlan &step = function_plan(plan, "train_step");
  CHECK(step.updates.size() == 8); // 4 parameters and 4 velocities
  CHECK(step.copies.empty()); // every update is written in place (Plan.h)
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
  for (const char *fn : {"netc_fn_train_step", "netc_fn_eval", "netc_fn_predict", "netc_fn_inspect",
                         "netc_fn_saliency", "netc_fn_saliency_loss"})
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
  train_steps_match(m, jit, interp, compiled, rng, batch, {13, 1, 7, 16, 5, 64});
  std::vector<Tensor> args = batch(rng, 9);
  std::map<std::string, Tensor> ce = jit.call("eval", args, compiled);
  CallResult ie = interpret(*m.find_function("eval"), args, interp);
  CHECK(max_rel_error(ce.at("prob"), ie.outputs.at("prob")) < 1e-4);
  std::map<std::string, Tensor> cp = jit.call("predict", {args[0]}, compiled);
  CHECK(max_rel_error(cp.at("prob"), ce.at("prob")) < 1e-6);
}

// ----- Fusion and the memory plan -----

TEST_CASE("fusion groups the MLP train step into kernels", "[fusion]") {
  Module m = compile_net(kModel);
  const Function &step = *m.find_function("train_step");
  // The forward matmul, its bias add and the relu are one kernel (relu's
  // adjoint masks by its output, so the pre-activation has no other reader).
  int64_t fwd = kernel_of(step, OpKind::MatMul, "h.dense.w");
  CHECK(fwd >= 0);
  CHECK(kernel_of(step, OpKind::Add, "h.dense.b") == fwd);
  for (const Node &n : step.nodes)
    if (n.op == OpKind::Relu)
      CHECK(n.attrs.get_int(kKernelAttr, -1) == fwd);
  // The momentum update of the first layer's weights holds its gradient's matmul.
  int64_t velocity = kernel_of(step, OpKind::Mul, "h.dense.w.velocity");
  int matmuls_there = 0;
  for (const Node &n : step.nodes)
    if (n.op == OpKind::MatMul && n.attrs.get_int(kKernelAttr, -1) == velocity)
      ++matmuls_there;
  CHECK(matmuls_there == 1);
  // So does the update of the weights themselves: the new velocity is a
  // co-output of the kernel whose root is the new weight, both in place.
  CHECK(kernel_of(step, OpKind::Sub, "h.dense.w") == velocity);
  CHECK(kernel_of(step, OpKind::Sub, "logits.dense.w") ==
        kernel_of(step, OpKind::Mul, "logits.dense.w.velocity"));
  // Inline nodes carry no kernel; every other non-leaf node does.
  for (const Node &n : step.nodes) {
    bool leaf = n.op == OpKind::Arg || n.op == OpKind::Param;
    bool inline_node = n.op == OpKind::Constant || n.op == OpKind::BatchSize ||
                       n.op == OpKind::Transpose || n.op == OpKind::OneHot;
    CHECK(n.attrs.has(kKernelAttr) == (!leaf && !inline_node));
  }
  ModelPlan plan = plan_model(m, "host"), plain = plan_model(unfused(m), "host");
  const FunctionPlan &fp = function_plan(plan, "train_step");
  CHECK(fp.calls.size() == 10);
  CHECK(function_plan(plain, "train_step").calls.size() > 30);
  // Each weight and bias update: one kernel writing the parameter (its
  // root) and its velocity (the co-output), both into their own slots.
  int co_output_calls = 0;
  for (const KernelCall &c : fp.calls) {
    const Kernel &k = plan.kernels[c.kernel];
    REQUIRE(c.also.size() == k.also.size());
    if (k.also.empty())
      continue;
    ++co_output_calls;
    REQUIRE(k.also.size() == 1);
    CHECK(k.exact_tails);
    CHECK(plan.slots[c.output].role == "param");
    CHECK(plan.slots[c.also[0]].name == plan.slots[c.output].name + ".velocity");
    CHECK(k.function->type(k.also[0]) == k.function->type(k.nodes.back()));
  }
  CHECK(co_output_calls == 4);
}

TEST_CASE("IR with kernel attributes round-trips through text", "[fusion]") {
  Module m = compile_net(kModel);
  std::string text = print_module(m);
  CHECK(text.find("kernel = 0") != std::string::npos);
  SourceManager sm;
  Diagnostics diag(sm);
  std::optional<Module> again = parse_module(sm.add("m.nir", text), diag);
  REQUIRE(again);
  CHECK(print_module(*again) == text);
}

/// A small CNN: conv2d with its bias and relu fused (the conv epilogue),
/// max pooling, whose gradient fuses with the relu mask, and Adam.
const char *kCnn = R"(
model cnn(image: f32[9, 8], label: class<3>) {
    h      = image |> conv2d(20, 3, padding: "same") |> relu |> max_pool(2)
    logits = h |> flatten |> dense(3)
    output prob = softmax(logits)
    loss cross_entropy(logits, label)
}
train cnn {
    data      = idx("x.gz", "y.gz")
    optimizer = adam(lr: 0.01)
    batch     = 8
    epochs    = 1
}
)";


TEST_CASE("a CNN's fused train steps match the unfused ones and the interpreter",
          "[fusion][slow]") {
  Module m = compile_net(kCnn);
  const Function &step = *m.find_function("train_step");
  // conv2d+add+relu is one kernel; so are max_pool2d_grad and the relu mask.
  int64_t conv = kernel_of(step, OpKind::Conv2D);
  CHECK(kernel_of(step, OpKind::Relu) == conv);
  CHECK(kernel_of(step, OpKind::MaxPool2DGrad) == kernel_of(step, OpKind::Step));
  // Adam's two moments are co-outputs of each parameter's update kernel.
  for (const ParamDecl &p : m.params) {
    if (p.kind != ParamKind::Param)
      continue;
    INFO("parameter " << p.name);
    int64_t update = kernel_of(step, OpKind::Sub, p.name);
    CHECK(update >= 0);
    CHECK(kernel_of(step, OpKind::Mul, p.name + ".exp_avg") == update);
    CHECK(kernel_of(step, OpKind::Mul, p.name + ".exp_avg_sq") == update);
  }
  Module plain_module = unfused(m); // JitModel keeps a reference
  JitModel fused_jit(m), plain_jit(plain_module);
  ParamStore interp = init_params(m, 4), fused = interp, plain = interp;
  Pcg32 rng(8);
  for (int64_t n : {13, 1, 7, 64}) {
    INFO("batch " << n);
    std::vector<Tensor> args = image_batch(rng, n, 9, 8);
    CallResult r = interpret(m, step, args, interp);
    apply_updates(interp, r);
    double want = r.outputs.at("loss")[0];
    CHECK(fused_jit.call("train_step", args, fused).at("loss")[0] == Approx(want).epsilon(1e-4));
    CHECK(plain_jit.call("train_step", args, plain).at("loss")[0] == Approx(want).epsilon(1e-4));
  }
  for (const ParamDecl &p : m.params) {
    INFO("parameter " << p.name);
    CHECK(max_rel_error(fused.at(p.name), interp.at(p.name)) < 1e-4);
    CHECK(max_rel_error(fused.at(p.name), plain.at(p.name)) < 1e-4);
  }
}

TEST_CASE("fused and unfused train steps compute the same thing", "[fusion][slow]") {
  Module m = compile_net(kModel);
  Module plain = unfused(m);
  JitModel fused_jit(m), plain_jit(plain);
  ParamStore a = init_params(m, 7), b = a;
  Pcg32 rng(3);
  for (int64_t n : {13, 1, 7, 64, 5}) {
    INFO("batch " << n);
    std::vector<Tensor> args = batch(rng, n);
    auto la = fused_jit.call("train_step", args, a);
    auto lb = plain_jit.call("train_step", args, b);
    CHECK(la.at("loss")[0] == Approx(lb.at("loss")[0]).epsilon(1e-5));
  }
  for (const ParamDecl &p : m.params) {
    INFO("parameter " << p.name);
    CHECK(max_rel_error(a.at(p.name), b.at(p.name)) < 1e-5);
  }
}

TEST_CASE("updates are written in place and temporaries share slots", "[fusion]") {
  Module m = compile_net(kModel);
  ModelPlan plan = plan_model(m, "host");
  const FunctionPlan &step = function_plan(plan, "train_step");
  CHECK(step.copies.empty());
  for (const NamedSlot &u : step.updates)
    CHECK(plan.slots[u.slot].name == u.name);
  CHECK(arena_bytes(plan, 64) < unshared_temp_bytes(plan, 64));
  // A kernel never writes a slot it reads, except an in-place update.
  for (const FunctionPlan &f : plan.functions)
    for (const KernelCall &c : f.calls)
      if (!plan.kernels[c.kernel].exact_tails)
        CHECK(std::find(c.inputs.begin(), c.inputs.end(), c.output) == c.inputs.end());
}

TEST_CASE("a co-output that reads the root's parameter keeps the root out of place",
          "[fusion][slow]") {
  // With weight decay the new velocity reads the old weights (v' = mu v +
  // g + wd w). The kernel stores its root (the new weights) before its
  // co-output, so writing the weights in place would let the velocity read
  // the new ones: the weights take a slot of their own and a copy; the
  // velocity, which no later output reads, is still written in place.
  std::string text = kModel;
  text.replace(text.find("momentum: 0.9)"), 14, "momentum: 0.9, weight_decay: 0.3)");
  Module m = compile_net(text);
  ModelPlan plan = plan_model(m, "host");
  const FunctionPlan &fp = function_plan(plan, "train_step");
  int co_output_calls = 0;
  for (const KernelCall &c : fp.calls) {
    const Kernel &k = plan.kernels[c.kernel];
    if (k.also.empty())
      continue;
    ++co_output_calls;
    CHECK(plan.slots[c.output].role == "temp");
    CHECK(plan.slots[c.also[0]].role == "state");
  }
  CHECK(co_output_calls == 4);
  CHECK(fp.copies.size() == 4);
  JitModel jit(m);
  ParamStore interp = init_params(m, 42), compiled = interp;
  Pcg32 rng(6);
  train_steps_match(m, jit, interp, compiled, rng, batch, {13, 7, 64, 5});
}

TEST_CASE("a value two kernels read is a co-output of the first, and matches the interpreter",
          "[fusion]") {
  // relu(x·w) is read by sigmoid's kernel (sigmoid is a matmul's operand,
  // so a root) and by a reduction's: it is a co-output of sigmoid's
  // kernel, which the matmul joins (a matmul kernel with a Tuple
  // epilogue). exp(x) is read by a matmul's kernel and a reduction's: the
  // matmul's operand is no pointwise path, so it stays the root of its own
  // kernel. (tests/lit/fusion/rules.nir has the IR.)
  const char *text = R"(module @m {
  param @w : f32[4, 4] {init = "glorot_uniform"}
  func @eval(%x: f32[N, 4]) {
    %0 = param @w : f32[4, 4]
    %1 = exp %x
    %2 = matmul %1, %0
    %3 = relu %2
    %4 = sigmoid %3
    %5 = transpose %0 {perm = [1, 0]}
    %6 = matmul %4, %5
    %7 = reduce_sum %3 {axes = [1], keepdims = 1}
    %8 = reduce_sum %1 {axes = [1], keepdims = 1}
    %9 = sub %6, %7
    %10 = sub %9, %8
    output y = %10
  }
})";
  Module m = compile_nir(text);
  const Function &f = *m.find_function("eval");
  CHECK(kernel_of(f, OpKind::Relu) == kernel_of(f, OpKind::MatMul));
  CHECK(kernel_of(f, OpKind::Sigmoid) == kernel_of(f, OpKind::MatMul));
  CHECK(kernel_of(f, OpKind::Exp) != kernel_of(f, OpKind::MatMul));
  CHECK(kernel_of(f, OpKind::Exp) != kernel_of(f, OpKind::ReduceSum));
  JitModel jit(m);
  int shared = 0;
  for (const Kernel &k : jit.plan().kernels)
    if (!k.also.empty()) {
      ++shared;
      CHECK(k.function->node(k.nodes.back()).op == OpKind::Sigmoid);
      CHECK(k.also.size() == 1);
      CHECK(k.function->node(k.also[0]).op == OpKind::Relu);
    }
  CHECK(shared == 1);
  ParamStore interp = init_params(m, 4), compiled = interp;
  Pcg32 rng(5);
  for (int64_t n : {13, 1, 64}) {
    std::vector<Tensor> args = {random_tensor({n, 4}, [&] { return rng.uniform(-1, 1); })};
    CallResult r = interpret(f, args, interp);
    std::map<std::string, Tensor> c = jit.call("eval", args, compiled);
    CHECK(max_rel_error(c.at("y"), r.outputs.at("y")) < 1e-5);
  }
}

TEST_CASE("a conv2d kernel with a co-output matches the interpreter", "[fusion]") {
  // relu(conv2d(x, k) + b) is read by sigmoid's kernel (sigmoid feeds a max
  // pooling, so it is a root) and by a reduction's: a co-output of the
  // conv's kernel, whose epilogue is now a Tuple (Conv.cpp's schedule).
  const char *text = R"(module @m {
  func @eval(%x: f32[N, 6, 6, 1], %k: f32[3, 3, 1, 4], %b: f32[4]) {
    %0 = conv2d %x, %k {pads = [1, 1, 1, 1], stride = [1, 1]}
    %1 = add %0, %b
    %2 = relu %1
    %3 = sigmoid %2
    %4 = max_pool2d %3 {stride = [2, 2], window = [2, 2]}
    %5 = reduce_sum %2 {axes = [1, 2, 3], keepdims = 0}
    output y = %4
    output z = %5
  }
})";
  Module m = compile_nir(text);
  const Function &f = *m.find_function("eval");
  CHECK(kernel_of(f, OpKind::Sigmoid) == kernel_of(f, OpKind::Conv2D));
  CHECK(kernel_of(f, OpKind::Relu) == kernel_of(f, OpKind::Conv2D));
  JitModel jit(m);
  CHECK(std::count_if(jit.plan().kernels.begin(), jit.plan().kernels.end(),
                      [](const Kernel &k) { return k.also.size() == 1; }) == 1);
  ParamStore none = init_params(m, 1);
  Pcg32 rng(2);
  for (int64_t n : {3, 1, 8}) {
    std::vector<Tensor> args = {random_tensor({n, 6, 6, 1}, [&] { return rng.uniform(-1, 1); }),
                                random_tensor({3, 3, 1, 4}, [&] { return rng.uniform(-1, 1); }),
                                random_tensor({4}, [&] { return rng.uniform(-0.5, 0.5); })};
    CallResult r = interpret(f, args, none);
    std::map<std::string, Tensor> c = jit.call("eval", args, none);
    CHECK(max_rel_error(c.at("y"), r.outputs.at("y")) < 1e-5);
    CHECK(max_rel_error(c.at("z"), r.outputs.at("z")) < 1e-5);
  }
}

TEST_CASE("a weight gradient with fewer static rows than a matmul tile compiles and matches the interpreter",
          "[codegen]") {
  // dense(8): the second layer's weight gradient is [8, N] x [N, 3], 8 rows
  // in a 32-row tile, whose accumulator's row loop is a variable extent in
  // the guarded version (it once failed Halide's unroll).
  hidden_width_matches(8, 3, 11, {13, 1, 8});
}

TEST_CASE("a weight gradient with the optimizer's step in place matches the interpreter in both loop orders",
          "[codegen]") {
  // dense(130): the first layer's weight gradient [20, N] x [N, 130] with
  // the momentum step written in place runs its blocks of rows outermost
  // while dY (N x 130) takes at most 1 MB (Schedule.cpp,
  // kRowsOuterRhsBytes), on one thread at batch 13 and 1 and in parallel at
  // 1000; at 2100 (1.09 MB) its panels are outermost again. 130 columns are
  // two panels and a guarded tail of two (AVX-512), 20 rows three blocks
  // and a tail of two.
  hidden_width_matches(130, 5, 12, {13, 1, 1000, 2100});
}

TEST_CASE("a flattening reshape compiled as a row copy matches the interpreter", "[fusion]") {
  // Rows of 16 floats: Kernels.cpp's flatten-copy schedule (rows >= 8).
  std::string text = kModel;
  text.replace(text.find("f32[4, 5]"), 9, "f32[3, 16]");
  Module m = compile_net(text);
  JitModel jit(m);
  ParamStore interp = init_params(m, 1), compiled = interp;
  Pcg32 rng(9);
  for (int64_t n : {13, 1}) {
    std::vector<Tensor> args = {random_tensor({n, 3, 16}, [&] { return rng.uniform(0, 1); }),
                                random_tensor({n}, [&] { return double(rng.below(3)); }, DType::I32)};
    CallResult r = interpret(*m.find_function("eval"), args, interp);
    std::map<std::string, Tensor> c = jit.call("eval", args, compiled);
    CHECK(max_rel_error(c.at("prob"), r.outputs.at("prob")) < 1e-4);
  }
}
