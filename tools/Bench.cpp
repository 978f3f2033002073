//===- Bench.cpp - netc bench: time each kernel on the model's shapes -----===//
//
// This file implements `netc bench`. It plans the module exactly as `netc
// build` does, JIT-compiles every kernel of one function (the same Halide
// pipelines and schedules, or an autoscheduler's), and times each kernel on
// buffers of the model's real shapes at the training batch size:
//
//   1. the FP32 peak of one core (an FMA loop), and a reference GEMM,
//      [64,784]x[784,512] with netc's matmul schedule, timed first in the
//      same run: the measured ceiling every kernel's GFLOP/s is compared
//      with;
//   2. per kernel: warm-up, then `reps` samples of enough runs to last about
//      2 ms each; median, min and max time per run; GFLOP/s (ir/OpInfo.h
//      costs of its nodes), GB/s (its input and output buffers), the share
//      of the ceiling (%ceil) and of the FMA peak times the threads (%peak),
//      and the `.net` line of its root node;
//   3. the whole step: all kernels in order, timed the same way, against the
//      sum of the per-kernel medians, and the arena the step works in.
//
// Times include Halide's JIT call overhead (a few microseconds per kernel),
// which the AOT trainer does not pay.
//
//===----------------------------------------------------------------------===//
#include "codegen/Jit.h"
#include "codegen/Kernels.h"
#include "ir/OpInfo.h"
#include "runtime/Denormals.h"
#include "runtime/TaskPool.h"
#include "tools/Driver.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fmt/format.h>
#include <random>

namespace netc {

namespace {

using Clock = std::chrono::steady_clock;

struct Timing {
  double median = 0, min = 0, max = 0; // seconds per run
};

/// Times `run` (warm-up, then `reps` samples of `iters` runs each).
template <typename F> Timing time_it(F run, int reps) {
  for (int i = 0; i < 2; ++i)
    run();
  auto t0 = Clock::now();
  run();
  double once = std::chrono::duration<double>(Clock::now() - t0).count();
  int iters = std::clamp(static_cast<int>(2e-3 / std::max(once, 1e-7)), 1, 10000);
  std::vector<double> samples;
  for (int r = 0; r < reps; ++r) {
    auto s0 = Clock::now();
    for (int i = 0; i < iters; ++i)
      run();
    samples.push_back(std::chrono::duration<double>(Clock::now() - s0).count() / iters);
  }
  std::sort(samples.begin(), samples.end());
  return {samples[samples.size() / 2], samples.front(), samples.back()};
}

/// A Halide buffer for IR type `t` at `batch` (dims reversed), filled with
/// small random floats (i32 buffers, class labels, with zeros).
Halide::Buffer<> make_buffer(const TensorType &t, int64_t batch, std::mt19937 &rng) {
  std::vector<int> sizes;
  for (int d = t.rank() - 1; d >= 0; --d)
    sizes.push_back(static_cast<int>(t.shape[d] == kBatch ? batch : t.shape[d]));
  bool f32 = t.dtype == DType::F32;
  Halide::Buffer<> b(f32 ? Halide::Float(32) : Halide::Int(32), sizes);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (size_t i = 0; i < b.number_of_elements(); ++i) {
    if (f32)
      static_cast<float *>(b.data())[i] = u(rng);
    else
      static_cast<int32_t *>(b.data())[i] = 0;
  }
  return b;
}

/// FLOPs of kernel `k` at `batch`, from each node's OpInfo cost.
double kernel_flops(const codegen::Kernel &k, int64_t batch) {
  const Function &f = *k.function;
  double flops = 0;
  for (ValueId v : k.nodes) {
    const Node &n = f.node(v);
    std::vector<TensorType> in;
    for (ValueId o : n.operands)
      in.push_back(f.type(o));
    flops += op_info(n.op).cost(n, in, batch).flops;
  }
  return flops;
}

/// "matmul+add+relu": the ops of a kernel that are not leaves or inline.
std::string kernel_ops(const codegen::Kernel &k) {
  std::string s;
  for (ValueId v : k.nodes) {
    const Node &n = k.function->node(v);
    if (n.op == OpKind::Constant || n.op == OpKind::BatchSize)
      continue;
    s += (s.empty() ? "" : "+") + std::string(op_name(n.op));
  }
  // A kernel of inline values only (a scan's initial state, a filled
  // constant): named by its root.
  return s.empty() ? std::string(op_name(k.function->node(k.nodes.back()).op)) : s;
}

/// "mlp.net:3" for a node's location, or "-".
std::string where(const SourceManager &sm, Loc loc) {
  if (!loc.valid() || static_cast<size_t>(loc.file) >= sm.size())
    return "-";
  std::string path = sm.path(loc.file);
  return fmt::format("{}:{}", path.substr(path.find_last_of('/') + 1), loc.line);
}

/// Independent multiply-add chains over vectors of type V, enough to fill
/// both FMA pipes; compiled (inlined) for each ISA below. GFLOP/s.
template <typename V, int Chains> [[gnu::always_inline]] inline double fma_loop() {
  constexpr long kIters = 4000000;
  constexpr int kLanes = sizeof(V) / sizeof(float);
  V acc[Chains];
  V x, y;
  for (int l = 0; l < kLanes; ++l)
    x[l] = 0.999f, y[l] = 0.001f;
  for (int i = 0; i < Chains; ++i)
    for (int l = 0; l < kLanes; ++l)
      acc[i][l] = static_cast<float>(i);
  auto t0 = Clock::now();
  for (long k = 0; k < kIters; ++k)
    for (int i = 0; i < Chains; ++i)
      acc[i] = acc[i] * x + y; // contracted to one FMA
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  volatile float sink = 0;
  for (int i = 0; i < Chains; ++i)
    sink = sink + acc[i][0];
  return 2.0 * kLanes * Chains * kIters / s / 1e9;
}

using F32x16 = float __attribute__((vector_size(64)));
using F32x8 = float __attribute__((vector_size(32)));
__attribute__((target("avx512f,fma"))) double fma_peak_avx512() { return fma_loop<F32x16, 16>(); }
__attribute__((target("avx2,fma"))) double fma_peak_avx2() { return fma_loop<F32x8, 12>(); }

/// The best of three runs of the widest FMA loop this CPU has, or 0.
double fma_peak(const Halide::Target &target) {
  double best = 0;
  for (int r = 0; r < 3; ++r) {
    if (target.has_feature(Halide::Target::AVX512) && __builtin_cpu_supports("avx512f"))
      best = std::max(best, fma_peak_avx512());
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      best = std::max(best, fma_peak_avx2());
  }
  return best;
}

/// `kp` JIT-compiled for `target`, its parallel loops on netc's pool
/// (runtime/TaskPool.h), as the trainers run them.
void compile_jit(codegen::KernelPipeline &kp, const Halide::Target &target) {
  kp.pipeline.compile_jit(target);
  kp.pipeline.jit_handlers().custom_do_par_for = rt::pool_do_par_for<Halide::JITUserContext>;
}

/// The reference GEMM: [64,784]x[784,512] through netc's matmul lowering and
/// schedule. Returns GFLOP/s.
double reference_gemm(const Halide::Target &target, int reps, std::ostream &out) {
  Function f;
  f.name = "gemm";
  Builder b(f);
  ValueId a = b.arg("a", {DType::F32, {64, 784}});
  ValueId w = b.arg("b", {DType::F32, {784, 512}});
  ValueId c = b.matmul(a, w);
  codegen::Kernel k;
  k.function = &f;
  k.nodes = {c};
  k.inputs = {a, w};
  codegen::KernelPipeline kp = codegen::build_kernel_pipeline(k, target);
  compile_jit(kp, target);
  std::mt19937 rng(1);
  Halide::Buffer<> ba = make_buffer(f.type(a), 64, rng), bb = make_buffer(f.type(w), 64, rng);
  Halide::Buffer<> bc = make_buffer(f.type(c), 64, rng);
  kp.batch.set(64);
  kp.inputs[0].set(ba);
  kp.inputs[1].set(bb);
  Timing t = time_it([&] { kp.pipeline.realize(bc, target); }, reps);
  double gflops = 2.0 * 64 * 784 * 512 / t.median / 1e9;
  out << fmt::format("ceiling: reference GEMM [64,784]x[784,512], netc's matmul schedule: "
                     "{:.1f} GFLOP/s ({:.1f} us, min {:.1f}, max {:.1f})\n",
                     gflops, t.median * 1e6, t.min * 1e6, t.max * 1e6);
  return gflops;
}

/// The kernel's pipeline, JIT-compiled; throws Halide::Error.
codegen::KernelPipeline compile(const codegen::Kernel &k, const Halide::Target &target) {
  codegen::KernelPipeline kp = codegen::build_kernel_pipeline(k, target);
  compile_jit(kp, target);
  return kp;
}

/// What each kernel's GFLOP/s is compared with: the reference GEMM (the
/// %ceil column) and the FMA loop's peak times the threads (%peak; the
/// issue's 75 % bar for matmul and conv kernels). The peak is 0 on a
/// target without FMA, where %peak prints "-".
struct Ceilings {
  double gemm = 0, peak = 0;
  std::string percent_of_peak(double gflops) const {
    return peak > 0 ? fmt::format("{:>4.0f}%", 100 * gflops / peak) : std::string("    -");
  }
};

/// The kernels of a scan's body, each timed at the loop's middle step (the
/// times are per step: the loop runs each `steps` times), and those run
/// once before or after the loop.
void bench_loop_body(const codegen::ModelPlan &plan, const codegen::ScanLoop &loop,
                     std::vector<Halide::Buffer<>> &slots, int64_t batch,
                     const codegen::RunKernel &realize, const SourceManager &sm, int reps,
                     const Ceilings &cl, std::ostream &out) {
  for (const auto &[calls, when] : {std::pair{&loop.before, "before"}, std::pair{&loop.calls, "/step"},
                                    std::pair{&loop.after, "after"}})
    for (size_t c = 0; c < calls->size(); ++c) {
      const codegen::KernelCall &call = (*calls)[c];
      const codegen::Kernel &k = plan.kernels[call.kernel];
      Timing t = time_it(
          [&] {
            codegen::run_loop_call(plan, loop, *calls, c, loop.steps / 2, slots, batch, realize);
          },
          reps);
      double gflops = kernel_flops(k, batch * call.batch_scale) / t.median / 1e9;
      std::string ops = "  " + kernel_ops(k);
      if (ops.size() > 34)
        ops = ops.substr(0, 31) + "...";
      out << fmt::format("{:>3}  {:<34} {:<12} {:>9.1f} {:>9.1f} {:>9.1f} {:>8.1f} {:>7} {:>5.0f}% {}\n",
                         "", ops, where(sm, k.function->node(k.nodes.back()).loc), t.median * 1e6,
                         t.min * 1e6, t.max * 1e6, gflops, when, 100 * gflops / cl.gemm,
                         cl.percent_of_peak(gflops));
    }
}

/// One schedule: every kernel of the function, then the whole step.
/// Returns the measured whole-step time (seconds), or a negative value.
double bench_schedule(const Module &m, const SourceManager &sm, const BenchOptions &o,
                      const Halide::Target &target, const std::string &schedule, int64_t batch,
                      const Ceilings &cl, std::ostream &out) {
  codegen::ModelPlan plan = codegen::plan_model(m, target.to_string(), schedule);
  const codegen::FunctionPlan *fp = nullptr;
  for (const codegen::FunctionPlan &f : plan.functions)
    if (f.name == o.function)
      fp = &f;
  if (!fp) {
    out << "netc bench: no function @" << o.function << "\n";
    return -1;
  }
  std::mt19937 rng(1);
  std::vector<Halide::Buffer<>> slots;
  for (const codegen::Slot &s : plan.slots)
    slots.push_back(make_buffer(s.type, batch, rng));

  std::vector<codegen::KernelPipeline> kps;
  std::vector<int> pipeline_of(plan.kernels.size(), -1);
  auto t_compile = Clock::now();
  // Every kernel the function runs, scan bodies' included.
  std::vector<int> used;
  for (const codegen::KernelCall &call : fp->calls)
    if (call.loop < 0)
      used.push_back(call.kernel);
    else
      for (const auto *calls : {&plan.loops[call.loop].before, &plan.loops[call.loop].calls,
                                &plan.loops[call.loop].after})
        for (const codegen::KernelCall &c : *calls)
          used.push_back(c.kernel);
  for (int kernel : used) {
    if (pipeline_of[kernel] >= 0)
      continue;
    const codegen::Kernel &k = plan.kernels[kernel];
    try {
      // As netc build does: the autoscheduler's failure is reported, and the
      // kernel timed with netc's own schedule.
      codegen::compile_or_fall_back(
          k,
          [&](const codegen::Kernel &scheduled) {
            kps.push_back(compile(scheduled, target));
          },
          [&](const std::string &what) {
            out << fmt::format("note: {} failed on kernel {} ({}); it uses the manual schedule\n",
                               schedule, kernel_ops(k), what.substr(0, what.find('\n')));
          });
    } catch (const Halide::Error &e) {
      if (k.schedule != "manual")
        throw; // netc's schedule failed too: run_bench reports the schedule
      out << fmt::format("Halide failed on kernel {}: {}\n", k.symbol, e.what());
      return -1;
    }
    pipeline_of[kernel] = static_cast<int>(kps.size() - 1);
  }
  double compile_s = std::chrono::duration<double>(Clock::now() - t_compile).count();
  codegen::RunKernel realize = [&](const codegen::KernelCall &c,
                                   const std::vector<Halide::Buffer<>> &inputs,
                                   std::vector<Halide::Buffer<>> &outputs) {
    codegen::KernelPipeline &kp = kps[pipeline_of[c.kernel]];
    kp.batch.set(static_cast<int32_t>(batch * c.batch_scale));
    for (size_t i = 0; i < inputs.size(); ++i)
      kp.inputs[i].set(inputs[i]);
    kp.pipeline.realize(Halide::Realization(outputs), target);
  };
  auto run = [&](const codegen::KernelCall &call) {
    codegen::run_call(plan, call, slots, batch, realize);
  };

  out << fmt::format("\n@{} at batch {}, schedule {} ({} kernels, JIT-compiled in {:.1f} s)\n",
                     fp->name, batch, schedule, fp->calls.size(), compile_s);
  out << fmt::format("{:>3}  {:<34} {:<12} {:>9} {:>9} {:>9} {:>8} {:>7} {:>6} {:>5}\n", "#",
                     "kernel", "source", "median us", "min", "max", "GFLOP/s", "GB/s", "%ceil",
                     "%peak");
  double sum = 0, total_flops = 0;
  for (size_t c = 0; c < fp->calls.size(); ++c) {
    const codegen::KernelCall &call = fp->calls[c];
    Timing t = time_it([&] { run(call); }, o.reps);
    double flops = 0, bytes = 0;
    std::string ops, source;
    if (call.loop >= 0) {
      // A scan: its body's kernels at every step, timed as one row.
      const codegen::ScanLoop &loop = plan.loops[call.loop];
      for (const codegen::KernelCall &b : loop.calls)
        flops += kernel_flops(plan.kernels[b.kernel], batch) * static_cast<double>(loop.steps);
      for (const auto *calls : {&loop.before, &loop.after})
        for (const codegen::KernelCall &b : *calls)
          flops += kernel_flops(plan.kernels[b.kernel], batch * b.batch_scale);
      ops = fmt::format("scan @{} x{}", loop.body, loop.steps);
      const codegen::Kernel &first = plan.kernels[loop.calls.front().kernel];
      source = where(sm, first.function->node(first.nodes.back()).loc);
    } else {
      const codegen::Kernel &k = plan.kernels[call.kernel];
      flops = kernel_flops(k, batch);
      for (int s : call.buffers())
        bytes += codegen::buffer_bytes(plan.slots[s].type, batch);
      ops = kernel_ops(k);
      source = where(sm, k.function->node(k.nodes.back()).loc);
    }
    double gflops = flops / t.median / 1e9;
    sum += t.median;
    total_flops += flops;
    if (ops.size() > 34)
      ops = ops.substr(0, 31) + "...";
    out << fmt::format("{:>3}  {:<34} {:<12} {:>9.1f} {:>9.1f} {:>9.1f} {:>8.1f} {:>7.1f} {:>5.0f}% {}\n",
                       c, ops, source, t.median * 1e6, t.min * 1e6, t.max * 1e6, gflops,
                       bytes / t.median / 1e9, 100 * gflops / cl.gemm, cl.percent_of_peak(gflops));
    if (call.loop >= 0)
      bench_loop_body(plan, plan.loops[call.loop], slots, batch, realize, sm, o.reps, cl, out);
  }
  Timing step = time_it(
      [&] {
        for (const codegen::KernelCall &call : fp->calls)
          run(call);
      },
      o.reps);
  out << fmt::format("step: {:.1f} us measured (min {:.1f}, max {:.1f}), {:.1f} us summed over "
                     "kernels; {:.1f} GFLOP/s; {:.0f} samples/s\n",
                     step.median * 1e6, step.min * 1e6, step.max * 1e6, sum * 1e6,
                     total_flops / step.median / 1e9, batch / step.median);
  out << fmt::format("arena: {} bytes peak at batch {} ({} without slot reuse); {} of {} updates "
                     "in place\n",
                     codegen::arena_bytes(plan, batch), batch,
                     codegen::unshared_temp_bytes(plan, batch),
                     fp->updates.size() - fp->copies.size(), fp->updates.size());
  return step.median;
}

} // namespace

int run_bench(const Module &m, const SourceManager &sm, const BenchOptions &o, std::ostream &out) {
  std::string error;
  std::optional<Halide::Target> target = codegen::parse_target(o.target, error);
  if (!target) {
    out << "netc bench: " << error << "\n";
    return 1;
  }
  Loc where;
  if (std::string why = codegen::codegen_unsupported(m, &where); !why.empty()) {
    out << "netc bench: " << why << "\n";
    return 1;
  }
  int64_t batch = o.batch.value_or(m.config.get_int("batch", 64));
  // As the trainers do (runtime/Denormals.h). Here it matters more: each
  // kernel is timed by running it many times on the same synthetic
  // buffers, and an in-place optimizer update run that way decays its
  // state into denormals (Adam's moments: 7 us or 90 us by run).
  rt::flush_denormals();
  int threads = o.threads > 0 ? o.threads : rt::default_pool_threads();
  rt::set_pool_threads(threads); // after the flush: its workers inherit it
  out << fmt::format("netc bench {}: target {}, {} thread(s), {} samples per timing\n", m.name,
                     target->to_string(), threads, o.reps);
  double peak = fma_peak(*target);
  out << fmt::format("peak: FMA loop on one thread: {:.1f} GFLOP/s\n", peak);
  Ceilings cl{reference_gemm(*target, o.reps, out), peak * threads};
  if (peak > 0)
    out << fmt::format("ceiling is {:.0f}% of the one-thread FMA peak; %peak compares with the "
                       "peak times {} thread(s), {:.1f} GFLOP/s\n",
                       100 * cl.gemm / peak, threads, cl.peak);
  std::vector<std::string> schedules = {o.schedule};
  if (o.schedule == "all")
    schedules = codegen::schedule_names();
  std::vector<std::pair<std::string, double>> steps;
  for (const std::string &s : schedules) {
    double t = -1;
    try {
      t = bench_schedule(m, sm, o, *target, s, batch, cl, out);
    } catch (const Halide::Error &e) { // a schedule that fails at run time
      out << fmt::format("schedule {} failed: {}\n", s, e.what());
    }
    steps.emplace_back(s, t);
  }
  if (steps.size() > 1) {
    out << "\nside by side (whole step):\n";
    for (const auto &[s, t] : steps)
      out << (t > 0 ? fmt::format("  {:<14} {:>9.1f} us\n", s, t * 1e6)
                    : fmt::format("  {:<14} failed\n", s));
  }
  return std::all_of(steps.begin(), steps.end(), [](const auto &s) { return s.second > 0; }) ? 0
                                                                                               : 1;
}

} // namespace netc
