//===- scan_codegen_test.cpp - scans compiled as loops --------------------===//
//
// The native lowering of scan (docs/recurrence.md): compiled train steps,
// held-out outputs and input gradients of recurrent models against the
// reference interpreter (the JIT runs exactly the plan `netc build` emits:
// one loop per group of sibling scans, the body's kernels on per-step
// views), and the plan's shape: a scan is a loop whatever its length, not
// an unrolled chain of kernels.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include "codegen/Driver.h"
#include "codegen/Jit.h"
#include "codegen/Kernels.h"
#include "codegen/Plan.h"
#include "codegen/halide/Families.h"
#include "codegen/halide/Lower.h"

#include <catch2/catch.hpp>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

using namespace netc;
using namespace netc::codegen;
using namespace netc::test;

namespace {

/// A recurrent classifier over `steps` steps of 3 features, 3 classes.
std::string model(const std::string &layers, int64_t steps = 5) {
  return "model r(seq: f32[" + std::to_string(steps) + ", 3], label: class<3>) {\n" + layers +
         "\n    output prob = softmax(logits)\n"
         "    loss cross_entropy(logits, label)\n}\n"
         "train r {\n    data = idx(\"x.gz\", \"y.gz\")\n"
         "    optimizer = adam(lr: 0.05)\n    batch = 8\n    epochs = 1\n}\n";
}

const char *kRnn = R"(
    h = scan x_t in seq, state = zeros(4) {
        tanh(dense(x_t, 4, name: "W") + dense(state, 4, name: "U"))
    }
    logits = last(h) |> dense(3))";

BatchFn batch_of(int64_t steps) {
  return [steps](Pcg32 &rng, int64_t n) {
    return std::vector<Tensor>{
        random_tensor({n, steps, 3}, [&] { return rng.uniform(-1, 1); }),
        random_tensor({n}, [&] { return double(rng.below(3)); }, DType::I32)};
  };
}

/// Compiled train steps of `m` match the interpreter's at `batches` of
/// 5-step sequences (parameters from `seed`, data from `data`).
void steps_match(const Module &m, uint64_t seed, uint64_t data, std::initializer_list<int64_t> batches) {
  JitModel jit(m);
  ParamStore interp = init_params(m, seed), compiled = interp;
  Pcg32 rng(data);
  train_steps_match(m, jit, interp, compiled, rng, batch_of(5), batches);
}

/// The loops `f` runs, in order.
std::vector<const ScanLoop *> loops_of(const ModelPlan &plan, const FunctionPlan &f) {
  std::vector<const ScanLoop *> loops;
  for (const KernelCall &c : f.calls)
    if (c.loop >= 0)
      loops.push_back(&plan.loops[static_cast<size_t>(c.loop)]);
  return loops;
}

/// The calls `loop` runs before its first step, but for the packs of
/// matmul operands (which depend on the target's panel width).
std::vector<KernelCall> before_but_packs(const ModelPlan &plan, const ScanLoop &loop) {
  std::vector<KernelCall> out;
  for (const KernelCall &c : loop.before)
    if (plan.kernels[static_cast<size_t>(c.kernel)].function->name != "scan.pack")
      out.push_back(c);
  return out;
}

int loops_in(const FunctionPlan &f) {
  int n = 0;
  for (const KernelCall &c : f.calls)
    n += c.loop >= 0;
  return n;
}

/// Eval's probabilities and the saliency input gradient (a reversed scan
/// that stacks the sequence's adjoint) agree, compiled vs interpreted.
void outputs_match(const Module &m, JitModel &jit, ParamStore &params, Pcg32 &rng, int64_t steps) {
  std::vector<Tensor> args = batch_of(steps)(rng, 6);
  std::map<std::string, Tensor> ce = jit.call("eval", args, params);
  CallResult ie = interpret(m, *m.find_function("eval"), args, params);
  CHECK(max_rel_error(ce.at("prob"), ie.outputs.at("prob")) < 1e-4);
  CHECK(ce.at("loss")[0] == Approx(ie.outputs.at("loss")[0]).epsilon(1e-4));
  std::map<std::string, Tensor> cs = jit.call("saliency_loss", args, params);
  CallResult is = interpret(m, *m.find_function("saliency_loss"), args, params);
  Tensor &g = cs.at("grad.seq");
  CHECK(max_rel_error(g, is.outputs.at("grad.seq")) < 1e-4);
  // A gradient that reached every step (the first through the whole loop).
  double first = 0, last = 0;
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t f = 0; f < 3; ++f) {
      first += std::abs(g[(i * steps) * 3 + f]);
      last += std::abs(g[(i * steps + steps - 1) * 3 + f]);
    }
  CHECK(first > 0);
  CHECK(last > 0);
}

} // namespace

TEST_CASE("a vanilla RNN written with scan: compiled train steps match the interpreter",
          "[codegen][scan]") {
  Module m = compile_net(model(kRnn));
  JitModel jit(m);
  ParamStore interp = init_params(m, 7), compiled = interp;
  Pcg32 rng(3);
  train_steps_match(m, jit, interp, compiled, rng, batch_of(5), {7, 1, 13, 8});
  outputs_match(m, jit, compiled, rng, 5);
}

TEST_CASE("stacked LSTM and GRU layers: compiled train steps match the interpreter",
          "[codegen][scan]") {
  // lstm(12): its gradient reads Uᵀ [48, 12], a transposed right operand of
  // 48 rows, materialised once before the loop (ScanLoop::before).
  Module m = compile_net(model(R"(
    h = seq |> lstm(12, return_sequences: true) |> gru(5)
    logits = h |> dense(3))"));
  JitModel jit(m);
  ParamStore interp = init_params(m, 2), compiled = interp;
  Pcg32 rng(8);
  train_steps_match(m, jit, interp, compiled, rng, batch_of(5), {5, 1, 9});
  outputs_match(m, jit, compiled, rng, 5);
}

TEST_CASE("a body that returns its step input as the state: the loop copies it at every step",
          "[codegen][scan]") {
  // No kernel of the body computes its output (the argument x_t itself), so
  // the loop copies it into the stacked states, and its gradient loop copies
  // the carried adjoint: without those copies the states were never written.
  Module m = compile_net(model(R"(
    h = scan x_t in seq, state = zeros(3) {
        x_t
    }
    logits = last(h) |> dense(3))"));
  JitModel jit(m);
  ParamStore interp = init_params(m, 4), compiled = interp;
  Pcg32 rng(6);
  train_steps_match(m, jit, interp, compiled, rng, batch_of(5), {7, 1, 8});
  std::vector<Tensor> args = batch_of(5)(rng, 6);
  std::map<std::string, Tensor> ce = jit.call("eval", args, compiled);
  CallResult ie = interpret(m, *m.find_function("eval"), args, compiled);
  CHECK(max_rel_error(ce.at("prob"), ie.outputs.at("prob")) < 1e-5);
}

TEST_CASE("a scan is one loop whatever its length", "[codegen][scan]") {
  ModelPlan short_plan = plan_model(compile_net(model(kRnn, 4)), "host");
  ModelPlan long_plan = plan_model(compile_net(model(kRnn, 40)), "host");
  CHECK(short_plan.kernels.size() == long_plan.kernels.size());
  const FunctionPlan &step = function_plan(long_plan, "train_step");
  CHECK(step.calls.size() == function_plan(short_plan, "train_step").calls.size());
  // The forward scan and the gradient's reversed scan (its siblings, one
  // per parameter gradient, share the loop).
  REQUIRE(loops_in(step) == 2);
  std::vector<const ScanLoop *> loops = loops_of(long_plan, step);
  CHECK(loops[0]->steps == 40);
  CHECK_FALSE(loops[0]->reverse);
  CHECK(loops[0]->zero.empty());
  CHECK(loops[1]->steps == 40);
  CHECK(loops[1]->reverse);
  // dW, dU and the biases' gradient (one value, two outputs) sum over the
  // batch's rows: one kernel each after the loop, on all 40 steps' rows at
  // once, and a copy for the second bias; nothing is accumulated per step.
  CHECK(loops[1]->zero.empty());
  REQUIRE(loops[1]->after.size() == 4);
  int over_all_steps = 0;
  for (const KernelCall &c : loops[1]->after)
    over_all_steps += c.batch_scale == 40;
  CHECK(over_all_steps == 3);
  for (const KernelCall &c : loops[1]->calls)
    CHECK(c.batch_scale == 1);
  // Bodies are planned inside their callers' loops, not as functions.
  for (const FunctionPlan &f : long_plan.functions)
    CHECK(f.name.find(".scan.") == std::string::npos);
}

TEST_CASE("loop-invariant kernels run before the loop, row sums after it", "[codegen][scan]") {
  ModelPlan plan = plan_model(compile_net(model(R"(
    h = seq |> lstm(12)
    logits = h |> dense(3))")), "host");
  const FunctionPlan &step = function_plan(plan, "train_step");
  std::vector<const ScanLoop *> loops = loops_of(plan, step);
  REQUIRE(loops.size() == 2);
  // The gradient loop: Uᵀ once before it (a kernel of a parameter only),
  // dW, dU and db after it over all 5 steps' rows, blocked along them.
  std::vector<KernelCall> before = before_but_packs(plan, *loops[1]);
  REQUIRE(before.size() == 1);
  CHECK(plan.kernels[before[0].kernel].nodes.size() == 1);
  CHECK(loops[1]->after.size() == 3);
  for (const KernelCall &c : loops[1]->after) {
    CHECK(c.batch_scale == 5);
    CHECK(plan.kernels[c.kernel].long_reduction);
  }
  for (const KernelCall &c : loops[1]->calls)
    CHECK_FALSE(plan.kernels[c.kernel].long_reduction);
  // The forward step's x_t·W + h·U is one product [x_t, h]·[W; U]
  // (passes/MatmulJoin.cpp): [W; U] is computed once before the loop, and
  // the step reads it untransposed (packed, on a target whose panels divide
  // its 48 columns).
  before = before_but_packs(plan, *loops[0]);
  REQUIRE(before.size() == 1);
  const Kernel &joined = plan.kernels[static_cast<size_t>(before[0].kernel)];
  CHECK(joined.nodes.size() == 1);
  CHECK(joined.function->node(joined.nodes[0]).op == OpKind::Concat);
  CHECK(plan.slots[static_cast<size_t>(before[0].output)].type.shape == Shape{3 + 12, 48});
}

TEST_CASE("sums that would stack more than 512 KB of step values run at every step",
          "[codegen][scan]") {
  // lstm(32) over 5 steps: dW, dU and db read the step's dG [N, 128]. At
  // the train block's batch 8 it stacks to 20 KB: the sums run after the
  // loop. At batch 512 it would be 1.3 MB (PlanRules.cpp, kStackBytes): they
  // run at every step, zeroed before the loop, each kernel adding its
  // product (or row sum) to its sum where it is (Kernel::accumulate), with
  // no `add` kernel of its own.
  std::string text = model(R"(
    h = seq |> lstm(32)
    logits = h |> dense(3))");
  ModelPlan small = plan_model(compile_net(text), "host");
  CHECK(loops_of(small, function_plan(small, "train_step"))[1]->after.size() == 3);
  text.replace(text.find("batch = 8"), 9, "batch = 512");
  Module m = compile_net(text);
  ModelPlan plan = plan_model(m, "host");
  std::vector<const ScanLoop *> loops = loops_of(plan, function_plan(plan, "train_step"));
  REQUIRE(loops.size() == 2);
  CHECK(loops[1]->after.empty());
  CHECK(loops[1]->zero.size() == 3);
  int adds = 0, accumulating = 0;
  for (const KernelCall &c : loops[1]->calls) {
    const Kernel &k = plan.kernels[static_cast<size_t>(c.kernel)];
    adds += k.function->name == "scan.accumulate";
    if (!k.accumulate)
      continue;
    ++accumulating;
    CHECK(k.exact_tails);
    CHECK(c.inputs.size() == k.inputs.size() + 1);
    CHECK(c.inputs.back() == c.output);
    CHECK(std::count(loops[1]->zero.begin(), loops[1]->zero.end(), c.output) == 1);
  }
  CHECK(adds == 0);
  CHECK(accumulating == 3);
  steps_match(m, 4, 8, {7, 1, 8});
}

TEST_CASE("the gradient loop reads the states before each step through a shifted view",
          "[codegen][scan]") {
  // The LSTM's gradient loop reads h_{t-1}: concat(zeros, the forward
  // states but the last) along time. With its sums at every step (batch
  // 512, as above) that is a view of the forward states one step back in
  // time, the zeros at t = 0 (the loop's last step), not a copy; with the
  // sums after the loop (batch 8), whose dU reads all steps' h_{t-1} at
  // once, the copy stays.
  std::string text = model(R"(
    h = seq |> lstm(32)
    logits = h |> dense(3))");
  auto shifted_views = [](const ModelPlan &plan, const ScanLoop &loop) {
    std::vector<const View *> out;
    for (const KernelCall &c : loop.calls)
      for (int b : c.buffers())
        if (is_view(b) && plan.views[static_cast<size_t>(view_index(b))].time_order)
          out.push_back(&plan.views[static_cast<size_t>(view_index(b))]);
    return out;
  };
  auto copies = [](const ModelPlan &plan, const FunctionPlan &f) {
    int n = 0;
    for (const KernelCall &c : f.calls)
      if (c.loop < 0) {
        const Kernel &k = plan.kernels[static_cast<size_t>(c.kernel)];
        n += k.function->node(k.nodes.back()).op == OpKind::Concat;
      }
    return n;
  };
  ModelPlan small = plan_model(compile_net(text), "host");
  const FunctionPlan &small_step = function_plan(small, "train_step");
  CHECK(shifted_views(small, *loops_of(small, small_step)[1]).empty());
  int small_concats = copies(small, small_step);
  CHECK(small_concats >= 1);

  text.replace(text.find("batch = 8"), 9, "batch = 512");
  ModelPlan plan = plan_model(compile_net(text), "host");
  const FunctionPlan &step = function_plan(plan, "train_step");
  std::vector<const ScanLoop *> loops = loops_of(plan, step);
  REQUIRE(loops.size() == 2);
  CHECK(copies(plan, step) == small_concats - 1);
  std::vector<const View *> views = shifted_views(plan, *loops[1]);
  REQUIRE_FALSE(views.empty());
  for (const View *v : views) {
    CHECK(v->shift == 1);
    CHECK(loops[1]->reverse);
    // The forward states [N, 5, 64] ([h, c]), and one step of zeros.
    CHECK(plan.slots[static_cast<size_t>(v->slot)].type.shape == Shape{kBatch, 5, 64});
    CHECK(plan.slots[static_cast<size_t>(v->first)].type.shape == Shape{kBatch, 1, 64});
    // At time 0 (the reversed loop's last step) the zeros; at time 3, step 2.
    CHECK(view_step(*v, *loops[1], 4, 7).slot == v->first);
    ViewStep t3 = view_step(*v, *loops[1], 1, 7);
    CHECK(t3.slot == v->slot);
    CHECK(t3.offset == 2 * v->step_stride * (v->time_major ? 7 : 1) + v->offset);
  }
  // The numbers: the JIT against the interpreter, above.
}

TEST_CASE("a sum over sequences alone runs once after the loop, on every step's rows",
          "[codegen][scan]") {
  // Σ_t x_tᵀ·g_t of two sequences: their steps are stacked already, so the
  // product runs after the loop over all 6 steps' rows at once, blocked
  // along them (Kernel::long_reduction), and matches the interpreter.
  Module m = compile_nir(R"(module @m {
  func @gram(%x: f32[N, 3], %g: f32[N, 4], %s: f32[N, 4]) {
    %0 = transpose %x {perm = [1, 0]} : f32[3, N]
    %1 = matmul %0, %g : f32[3, 4]
    %2 = tanh %s : f32[N, 4]
    output s = %2
    output xg = %1
  }
  func @eval(%seq: f32[N, 6, 3], %gs: f32[N, 6, 4]) {
    %0 = constant 0.5 : f32[N, 4]
    %1 = scan %seq, %gs, %0 {axis = 1, body = "gram", output = 1, shape = [3, 4], sum = 1} : f32[3, 4]
    output xg = %1
  }
})");
  ModelPlan plan = plan_model(m, "host");
  std::vector<const ScanLoop *> loops = loops_of(plan, function_plan(plan, "eval"));
  REQUIRE(loops.size() == 1);
  REQUIRE(loops[0]->after.size() == 1);
  CHECK(loops[0]->after[0].batch_scale == 6);
  CHECK(plan.kernels[static_cast<size_t>(loops[0]->after[0].kernel)].long_reduction);
  CHECK(loops[0]->zero.empty());
  JitModel jit(m);
  ParamStore none;
  Pcg32 rng(3);
  for (int64_t n : {5, 1, 16}) {
    std::vector<Tensor> args = {random_tensor({n, 6, 3}, [&] { return rng.uniform(-1, 1); }),
                                random_tensor({n, 6, 4}, [&] { return rng.uniform(-1, 1); })};
    CallResult r = interpret(m, *m.find_function("eval"), args, none);
    std::map<std::string, Tensor> c = jit.call("eval", args, none);
    CHECK(max_rel_error(c.at("xg"), r.outputs.at("xg")) < 1e-5);
  }
}

namespace {

/// The column offsets of the 12-column views of a slot of shape `stacked`
/// (one slot) that the calls of `calls` write (as outputs or co-outputs),
/// and which kernels they run. The slot is laid out time-major
/// (View::time_major) when `time_major`, and keeps only its last
/// `stacked[1]` steps when `ring`.
std::vector<int64_t> columns_written(const ModelPlan &plan, const std::vector<KernelCall> &calls,
                                     const Shape &stacked, std::vector<const Kernel *> *writers,
                                     bool time_major, bool ring = false) {
  std::vector<int64_t> columns;
  int stack = -1;
  for (const KernelCall &c : calls) {
    for (int out : c.outputs()) {
      if (!is_view(out))
        continue;
      const View &v = plan.views[static_cast<size_t>(view_index(out))];
      if (plan.slots[static_cast<size_t>(v.slot)].type.shape != stacked)
        continue;
      CHECK((stack < 0 || stack == v.slot));
      stack = v.slot;
      CHECK(v.type.shape == Shape{kBatch, 12});
      CHECK(v.time_major == time_major);
      CHECK(v.ring == (ring ? stacked[1] : 0));
      // A step's rows apart:
      int64_t rows = time_major ? stacked.back() : stacked[1] * stacked.back();
      CHECK(v.strides == std::vector<int64_t>{1, rows});
      CHECK(v.step_stride == stacked.back()); // times the batch when time-major
      columns.push_back(v.offset);
      writers->push_back(&plan.kernels[static_cast<size_t>(c.kernel)]);
    }
  }
  std::sort(columns.begin(), columns.end());
  return columns;
}

bool has_op(const Kernel &k, OpKind op) {
  return std::any_of(k.nodes.begin(), k.nodes.end(),
                     [&](ValueId v) { return k.function->node(v).op == op; });
}

} // namespace

TEST_CASE("an LSTM's joined values are written in place into their columns of the stack",
          "[codegen][scan]") {
  // The forward loop of the train step stacks i, f, g, o and tanh(c') side
  // by side ([N, 5, 60]) and the states [h, c'] ([N, 5, 24]); the gradient
  // loop the carried adjoints [dh, dc]. No kernel copies a part there: each
  // part's kernel writes its 12 columns of the step's slice (a view at that
  // column), and the kernels that read a part read it from there.
  Module m = compile_net(model(R"(
    h = seq |> lstm(12)
    logits = h |> dense(3))"));
  ModelPlan plan = plan_model(m, "host");
  std::vector<const ScanLoop *> loops = loops_of(plan, function_plan(plan, "train_step"));
  REQUIRE(loops.size() == 2);
  // (The gradient's dG joins four values its one kernel computes.) The
  // forward step's one concatenation is [x_t, h], the left operand of its
  // joined product (passes/MatmulJoin.cpp).
  int concats = 0;
  for (const KernelCall &c : loops[0]->calls) {
    const Kernel &k = plan.kernels[static_cast<size_t>(c.kernel)];
    INFO(k.key);
    if (has_op(k, OpKind::Concat)) {
      ++concats;
      CHECK(k.function->type(k.nodes.back()).shape == Shape{kBatch, 3 + 12});
    }
  }
  CHECK(concats == 1);
  // Only loops' steps touch the saved stack and the carried adjoints: they
  // are laid out time-major. The states are read whole after the loop. The
  // carried adjoints, which nothing reads after the loop, keep two steps.
  std::vector<const Kernel *> saved, states, adjoints;
  CHECK(columns_written(plan, loops[0]->calls, {kBatch, 5, 60}, &saved, true) ==
        std::vector<int64_t>{0, 12, 24, 36, 48});
  CHECK(columns_written(plan, loops[0]->calls, {kBatch, 5, 24}, &states, false) ==
        std::vector<int64_t>{0, 12});
  // All seven by one kernel (passes/Fusion.cpp, join_as_shared): its root
  // is h, its co-outputs the gates, c' and tanh(c'); the gates' matmul is
  // the step's only other kernel but the [x_t, h] concatenation.
  REQUIRE(saved.size() == 5);
  for (const Kernel *k : saved)
    CHECK(k == states[0]);
  CHECK(states.size() == 2);
  CHECK(states[1] == states[0]);
  CHECK(states[0]->also.size() == 6);
  CHECK(states[0]->function->node(states[0]->nodes.back()).op == OpKind::Mul);
  CHECK(loops[0]->calls.size() == 3);
  // dh = dG·Uᵀ, the step's matmul, straight into the adjoint's first half.
  CHECK(columns_written(plan, loops[1]->calls, {kBatch, 2, 24}, &adjoints, true, true) ==
        std::vector<int64_t>{0, 12});
  CHECK(std::count_if(adjoints.begin(), adjoints.end(),
                      [](const Kernel *k) { return has_op(*k, OpKind::MatMul); }) == 1);
  // The gradient loop reads the stacks as sequences; the train steps match
  // the interpreter's (the LSTM test above checks outputs and gradients).
  steps_match(m, 5, 9, {8, 1, 13});
}

TEST_CASE("a loop-invariant right operand is packed into panels once, before the loop",
          "[codegen][scan]") {
  // lstm(64): the forward step's [x_t, h]·[W; U] reads [W; U] [67, 256]
  // (x·W + h·U joined: passes/MatmulJoin.cpp), the gradient's dG·Uᵀ reads
  // Uᵀ [256, 64]; both are whole panels wide on AVX2 (16) and AVX-512 (64),
  // so each loop packs them once (Kernel::packed_rhs) and the step's
  // matmuls read the panels in place (their lowered statements allocate no
  // panel of the operand).
  Module m = compile_net(model(R"(
    h = seq |> lstm(64)
    logits = h |> dense(3))"));
  Halide::Target host = Halide::get_host_target();
  int64_t panel = hl::matmul_panel_cols(host);
  ModelPlan plan = plan_model(m, host.to_string());
  const FunctionPlan &step = function_plan(plan, "train_step");
  std::vector<const ScanLoop *> loops = loops_of(plan, step);
  REQUIRE(loops.size() == 2);
  // Forward: [W; U], then its pack; gradient: Uᵀ, then its pack.
  std::vector<std::vector<Shape>> operands = {{{67, 256}}, {{256, 64}}};
  for (int l = 0; l < 2; ++l) {
    INFO((l == 0 ? "forward" : "gradient") << " loop");
    const ScanLoop &loop = *loops[static_cast<size_t>(l)];
    std::vector<int> packs;
    for (const KernelCall &c : loop.before) {
      if (plan.kernels[c.kernel].function->name != "scan.pack")
        continue;
      packs.push_back(c.output);
      const Shape &from = plan.slots[static_cast<size_t>(c.inputs[0])].type.shape;
      CHECK(std::find(operands[l].begin(), operands[l].end(), from) != operands[l].end());
      CHECK(plan.slots[static_cast<size_t>(c.output)].type.shape ==
            Shape{from[1] / panel, from[0], panel});
    }
    CHECK(packs.size() == operands[l].size());
    CHECK(loop.before.size() == 2 * operands[l].size());
    size_t readers = 0;
    for (const KernelCall &c : loop.calls) {
      const Kernel &k = plan.kernels[c.kernel];
      if (k.packed_rhs < 0)
        continue;
      ++readers;
      CHECK(k.panel == panel);
      int in = c.inputs[static_cast<size_t>(k.packed_rhs)];
      CHECK(std::find(packs.begin(), packs.end(), in) != packs.end());
      CHECK_THAT(k.key, Catch::Contains("|packed in"));
      // Read in place: no panel of the operand is copied at each step.
      std::string stmt = lowered_stmt(k, host);
      CHECK_THAT(stmt, Catch::Contains(hl::kMatmulAcc));
      CHECK_THAT(stmt, !Catch::Contains(std::string("allocate ") + hl::kMatmulRhs));
    }
    CHECK(readers == packs.size());
  }
  // The autoschedulers' kernels read operands as they are.
  ModelPlan auto_plan = plan_model(m, host.to_string(), "mullapudi2016");
  for (const Kernel &k : auto_plan.kernels)
    CHECK(k.packed_rhs < 0);

  JitModel jit(m);
  ParamStore interp = init_params(m, 4), compiled = interp;
  Pcg32 rng(6);
  train_steps_match(m, jit, interp, compiled, rng, batch_of(5), {8, 1, 13});
  outputs_match(m, jit, compiled, rng, 5);
}

TEST_CASE("views step through the time axis, forwards and backwards", "[codegen][scan]") {
  // seq [N, 5, 3]: one step is [N, 3] with N's stride 15, steps 3 apart.
  View v;
  v.slot = 4;
  v.type = {DType::F32, {kBatch, 3}};
  v.strides = {1, 15};
  v.first_strides = {1, 3};
  v.step_stride = 3;
  ScanLoop fwd;
  fwd.steps = 5;
  CHECK(view_step(v, fwd, 0, 7).offset == 0);
  CHECK(view_step(v, fwd, 4, 7).offset == 12);
  ScanLoop back = fwd;
  back.reverse = true;
  CHECK(view_step(v, back, 0, 7).offset == 12);
  CHECK(view_step(v, back, 4, 7).offset == 0);
  // The state: the initial state's slot (dense) first, then the previous
  // step in loop order.
  v.shift = 1;
  v.first = 9;
  ViewStep s0 = view_step(v, back, 0, 7);
  CHECK(s0.slot == 9);
  CHECK(s0.offset == 0);
  CHECK(s0.strides == std::vector<int64_t>{1, 3});
  ViewStep s1 = view_step(v, back, 1, 7);
  CHECK(s1.slot == 4);
  CHECK(s1.offset == 12); // step 4, the one the reversed loop ran first
  CHECK(s1.strides == std::vector<int64_t>{1, 15});
  CHECK(view_step(v, fwd, 3, 7).offset == 6);
  // Laid out time-major, step t starts t * batch rows of 3 in, its rows
  // dense; the first step still reads the initial state.
  v.time_major = true;
  v.strides = {1, 3};
  CHECK(view_step(v, fwd, 3, 7).offset == 2 * 7 * 3);
  CHECK(view_step(v, back, 1, 7).offset == 4 * 7 * 3);
  CHECK(view_step(v, back, 0, 7).slot == 9);
  v.shift = 0;
  CHECK(view_step(v, back, 0, 7).offset == 4 * 7 * 3);
  CHECK(view_step(v, back, 0, 7).strides == std::vector<int64_t>{1, 3});
  // A ring of two steps: step t at t mod 2, the previous one at the other.
  v.ring = 2;
  CHECK(view_step(v, fwd, 3, 7).offset == 1 * 7 * 3);
  CHECK(view_step(v, fwd, 4, 7).offset == 0);
  v.shift = 1;
  CHECK(view_step(v, fwd, 4, 7).offset == 1 * 7 * 3); // step 3
  CHECK(view_step(v, back, 1, 7).offset == 0);        // step 4
  // A sequence shifted one step later in time: step t reads t - 1 and
  // the first slot at t = 0, the reversed loop's last step.
  v.ring = 0;
  v.time_major = false;
  v.strides = {1, 15};
  v.time_order = true;
  CHECK(view_step(v, back, 4, 7).slot == 9);
  CHECK(view_step(v, back, 0, 7).offset == 9); // t = 4 reads step 3
  CHECK(view_step(v, back, 3, 7).offset == 0); // t = 1 reads step 0
  CHECK(view_step(v, fwd, 0, 7).slot == 9);
  CHECK(view_step(v, fwd, 2, 7).offset == 3);
}

TEST_CASE("the driver of a recurrent model is valid LLVM IR with one loop per scan group",
          "[codegen][scan]") {
  Module m = compile_net(model(kRnn));
  ModelPlan plan = plan_model(m, "host");
  llvm::LLVMContext ctx;
  auto mod = emit_driver(ctx, m, plan, model_json(m, plan));
  std::string err;
  llvm::raw_string_ostream es(err);
  CHECK_FALSE(llvm::verifyModule(*mod, &es));
  INFO(es.str());
  llvm::Function *step = mod->getFunction("netc_fn_train_step");
  REQUIRE(step);
  int heads = 0;
  for (const llvm::BasicBlock &bb : *step)
    heads += bb.getName().startswith("scan.") && !bb.getName().startswith("scan.done");
  CHECK(heads == 2);
  CHECK(mod->getFunction("netc_fn_h.scan.step") == nullptr);
}

TEST_CASE("a scan inside a scan's body is refused with its location", "[codegen][scan]") {
  Module m = compile_net(model(kRnn));
  // Nest: the body scans a copy of itself.
  Function inner = *m.find_function("h.scan.step");
  inner.name = "inner";
  m.functions.push_back(inner);
  Function *body = nullptr;
  for (Function &f : m.functions)
    if (f.name == "h.scan.step")
      body = &f;
  REQUIRE(body);
  Node scan{OpKind::Scan, body->type(body->outputs[0].value), {}, {}, Loc{}};
  scan.loc.line = 12;
  scan.attrs.set("body", std::string("inner"));
  scan.attrs.set("axis", int64_t(0));
  body->nodes.push_back(scan);
  Loc where;
  std::string why = codegen_unsupported(m, &where);
  CHECK(why.find("a scan inside a scan's body (@h.scan.step)") != std::string::npos);
  CHECK(where.line == 12);
}
