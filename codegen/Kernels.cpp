//===- Kernels.cpp - Kernels to Halide pipelines and objects --------------===//
#include "codegen/Kernels.h"

#include "codegen/halide/Families.h"
#include "codegen/halide/Lower.h"

#include <cstdlib>
#include <algorithm>
#include <filesystem>
#include <functional>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace netc::codegen {

std::optional<Halide::Target> parse_target(const std::string &spec, std::string &error) {
  if (spec.empty() || spec == "host")
    return Halide::get_host_target();
  std::string s = spec == "baseline" ? "x86-64-linux-sse41-avx-f16c-fma-avx2" : spec;
  if (!Halide::Target::validate_target_string(s)) {
    error = "unknown target `" + spec + "`: expected host, baseline, or a Halide target string "
            "such as x86-64-linux-avx2-fma";
    return std::nullopt;
  }
  return Halide::Target(s);
}

namespace {

std::vector<Halide::Expr> as_exprs(const std::vector<Halide::Var> &v) {
  return {v.begin(), v.end()};
}

/// Tells Halide the buffer's static extents (in Halide dimension order), so
/// bounds checks fold away and the schedule sees real sizes.
template <typename Dims> void constrain(Dims dim_of, const TensorType &t) {
  int r = t.rank();
  for (int d = 0; d < r; ++d) {
    int64_t e = t.shape[r - 1 - d];
    if (e == kBatch)
      dim_of(d).set_min(0);
    else
      dim_of(d).set_bounds(0, static_cast<int32_t>(e));
  }
}

std::string read_text(const std::string &path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A temp path beside `final_path`, unique to this process.
std::string temp_beside(const std::string &final_path) {
  return final_path + fmt::format(".tmp{}", ::getpid());
}

/// The input's innermost extent when kernel `k` is a lone reshape that
/// flattens trailing dimensions evenly (out's innermost extent a multiple of
/// it, at least 8 so a vector fits), else 0.
int64_t flatten_row(const Function &f, const Kernel &k) {
  if (k.nodes.size() != 1 || k.exact_tails)
    return 0;
  const Node &n = f.node(k.nodes[0]);
  if (n.op != OpKind::Reshape)
    return 0;
  const TensorType &in = f.type(n.operands[0]);
  if (in.rank() < 2 || n.type.rank() < 1)
    return 0;
  int64_t row = in.shape.back(), out_row = n.type.shape.back();
  if (row == kBatch || out_row == kBatch || row < 8 || out_row % row != 0)
    return 0;
  return row;
}

/// The leaves of the concat tree at kernel `k`'s root along its axis: nested
/// concats on the same axis computed in this kernel are looked through.
std::vector<hl::Value> concat_pieces(const Function &f, const Kernel &k,
                                     const std::map<ValueId, hl::Value> &values) {
  int64_t axis = f.node(k.nodes.back()).attrs.get_int("axis");
  std::vector<hl::Value> out;
  std::function<void(ValueId)> walk = [&](ValueId v) {
    const Node &n = f.node(v);
    bool inside = std::find(k.nodes.begin(), k.nodes.end(), v) != k.nodes.end();
    if (inside && n.op == OpKind::Concat && n.attrs.get_int("axis") == axis) {
      walk(n.operands[0]);
      walk(n.operands[1]);
    } else {
      out.push_back(values.at(v));
    }
  };
  walk(k.nodes.back());
  return out;
}

} // namespace

KernelPipeline build_kernel_pipeline(const Kernel &k, const Halide::Target &target) {
  const Function &f = *k.function;
  Halide::Param<int32_t> batch("batch");
  std::map<ValueId, hl::Value> values;
  std::vector<Halide::Argument> args = {batch};
  std::vector<Halide::ImageParam> inputs;
  for (size_t i = 0; i < k.inputs.size(); ++i) {
    const TensorType &t = f.type(k.inputs[i]);
    // A packed right operand [K, P] is stored as panels [P / panel, K,
    // panel] (Kernel::packed_rhs): column j of row r is element j % panel
    // of row r of panel j / panel.
    bool packed = static_cast<int>(i) == k.packed_rhs;
    TensorType stored = packed ? TensorType{t.dtype, {t.shape[1] / k.panel, t.shape[0], k.panel}} : t;
    Halide::ImageParam in(hl::halide_type(t.dtype), stored.rank(), "in" + std::to_string(i));
    constrain([&](int d) { return in.dim(d); }, stored);
    Halide::Func wrap("in" + std::to_string(i) + "_f");
    std::vector<Halide::Var> v = hl::make_vars(t.rank());
    Halide::Expr panel(static_cast<int>(k.panel));
    if (packed)
      wrap(v) = in(v[0] % panel, v[1], v[0] / panel);
    else if (k.schedule == "manual")
      wrap(v) = in(as_exprs(v));
    else // autoschedulers may round loops up past an edge, reading (and
         // throwing away) values outside an input: clamp those reads
      wrap(v) = Halide::BoundaryConditions::repeat_edge(in)(as_exprs(v));
    values[k.inputs[i]] = {wrap, t};
    args.push_back(in);
    inputs.push_back(in);
  }
  for (ValueId id : k.nodes) {
    const Node &n = f.node(id);
    std::vector<hl::Value> operands;
    for (ValueId v : n.operands)
      operands.push_back(values.at(v));
    values[id] = {hl::lower_op(n, operands, batch), n.type};
  }
  const Node &root = f.node(k.nodes.back());
  Halide::Func out = values.at(k.nodes.back()).func;
  if (root.op == OpKind::Concat && k.schedule == "manual")
    out = hl::lower_concat_root(root.type, root.attrs.get_int("axis"), concat_pieces(f, k, values));
  if (k.accumulate) {
    // out = (what the output holds) + root, the output's buffer passed again
    // as an input after the others (Kernel::accumulate).
    NETC_ASSERT(k.also.empty(), "an accumulating kernel has no co-outputs");
    Halide::ImageParam held(hl::halide_type(root.type.dtype), root.type.rank(), "accumulated");
    constrain([&](int d) { return held.dim(d); }, root.type);
    args.push_back(held);
    inputs.push_back(held);
    std::vector<Halide::Var> v = hl::make_vars(root.type.rank());
    Halide::Func sum(hl::fresh_name("accumulate"));
    sum(v) = held(as_exprs(v)) + out(v);
    out = sum;
  }
  if (!k.also.empty()) {
    // The root and its co-outputs (same type) as one Tuple-valued Func: one
    // loop nest computes all of them at each point and stores them in
    // order, root first, each store with its own loads; so the plan keeps
    // an output out of place when an output stored after it reads what it
    // would overwrite (PlanRules.cpp, in_place_updates).
    std::vector<Halide::Var> v = hl::make_vars(root.type.rank());
    std::vector<Halide::Expr> elems = {out(v)};
    for (ValueId c : k.also)
      elems.push_back(values.at(c).func(v));
    Halide::Func outs(hl::fresh_name("outputs"));
    outs(v) = Halide::Tuple(elems);
    out = outs;
  }
  // (Halide constrains the other outputs' extents to the first's.)
  constrain([&](int d) { return out.output_buffers()[0].dim(d); }, root.type);
  Halide::Pipeline pipeline(out);
  int64_t row = flatten_row(f, k);
  if (k.schedule == "manual" && row > 0) {
    hl::schedule_flatten_copy(out, row, target);
  } else if (k.schedule == "manual") {
    int costly = 0;
    for (ValueId id : k.nodes)
      costly += hl::is_transcendental(f.node(id).op);
    std::vector<Halide::Func> co_outputs;
    for (ValueId c : k.also)
      co_outputs.push_back(values.at(c).func);
    hl::schedule_output(root, out, target, k.exact_tails, k.exact_tails && !k.accumulate,
                        k.long_reduction, costly, k.packed_rhs >= 0, co_outputs);
  } else {
    // Estimates at the model's batch size, then the plugin's schedule.
    batch.set_estimate(static_cast<int32_t>(k.batch_estimate));
    auto estimate = [&](auto dim_of, const TensorType &t) {
      for (int d = 0; d < t.rank(); ++d) {
        int64_t e = t.shape[t.rank() - 1 - d];
        dim_of(d).set_estimate(0, static_cast<int32_t>(e == kBatch ? k.batch_estimate : e));
      }
    };
    for (size_t i = 0; i < inputs.size(); ++i)
      estimate([&](int d) { return inputs[i].dim(d); }, f.type(k.inputs[i]));
    for (Halide::OutputImageParam b : out.output_buffers())
      estimate([&](int d) { return b.dim(d); }, root.type);
    // The lowering's own compute_root (softmax row statistics) is a
    // schedule too; the autoscheduler decides instead.
    for (auto &[name, fn] : Halide::Internal::find_transitive_calls(out.function())) {
      Halide::Internal::Function inner = fn;
      inner.schedule().compute_level() = Halide::LoopLevel::inlined();
      inner.schedule().store_level() = Halide::LoopLevel::inlined();
    }
    load_autoscheduler(k.schedule);
    pipeline.auto_schedule(autoscheduler_name(k.schedule), target,
                           Halide::MachineParams(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())),
                                                 32 * 1024 * 1024, 40));
  }
  return {pipeline, args, batch, inputs};
}

std::string autoscheduler_name(const std::string &schedule) {
  if (schedule == "adams2019")
    return "Adams2019";
  if (schedule == "li2018")
    return "Li2018";
  return "Mullapudi2016";
}

void load_autoscheduler(const std::string &schedule) {
  static std::set<std::string> loaded;
  if (!loaded.insert(schedule).second)
    return;
  std::string dir = "/usr/lib/x86_64-linux-gnu/halide14/";
  if (const char *env = std::getenv("NETC_HALIDE_PLUGIN_DIR"); env && *env)
    dir = std::string(env) + "/";
  Halide::load_plugin(dir + "libautoschedule_" + schedule + ".so");
}

void compile_or_fall_back(const Kernel &k, const std::function<void(const Kernel &)> &compile,
                          const std::function<void(const std::string &error)> &on_fallback) {
  try {
    compile(k);
  } catch (const Halide::Error &e) {
    if (k.schedule == "manual")
      throw;
    // An autoscheduler that cannot handle this kernel: netc's own schedule.
    on_fallback(e.what());
    Kernel manual = k;
    manual.schedule = "manual";
    compile(manual);
  }
}

namespace {

/// A fingerprint of the running compiler: a hash of its own executable. The
/// objects a kernel compiles to depend on netc's lowering and schedules as
/// well as on the kernel, so cached objects are keyed by both; a rebuilt
/// netc never reuses objects an older build produced.
const std::string &compiler_fingerprint() {
  static const std::string fp = [] {
    std::ifstream in("/proc/self/exe", std::ios::binary);
    uint64_t h = 1469598103934665603ULL;
    std::vector<char> buf(1 << 20);
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      for (std::streamsize i = 0; i < in.gcount(); ++i) {
        h ^= static_cast<unsigned char>(buf[i]);
        h *= 1099511628211ULL;
      }
    }
    return fmt::format("{:016x}", h);
  }();
  return fp;
}

/// Moves a finished object from `tmp` to `path` atomically, so concurrent
/// builds never see a half-written object.
bool publish(const std::string &tmp, const std::string &path, std::string &error) {
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    error = "cannot write " + path + ": " + ec.message();
  return !ec;
}

} // namespace

std::string cache_dir() {
  fs::path dir;
  if (const char *env = std::getenv("NETC_CACHE_DIR"); env && *env)
    dir = env;
  else if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    dir = fs::path(xdg) / "netc";
  else if (const char *home = std::getenv("HOME"); home && *home)
    dir = fs::path(home) / ".cache" / "netc";
  else
    dir = fs::temp_directory_path() / "netc-cache";
  std::error_code ec;
  fs::create_directories(dir, ec);
  return dir.string();
}

std::optional<std::string> kernel_object(const Kernel &k, const Halide::Target &target,
                                         CompileStats &stats, std::string &error) {
  std::string path =
      (fs::path(cache_dir()) / (k.symbol + "-" + compiler_fingerprint() + ".o")).string();
  if (fs::exists(path)) {
    ++stats.cached;
    return path;
  }
  std::string tmp = temp_beside(path);
  try {
    compile_or_fall_back(
        k,
        [&](const Kernel &scheduled) {
          KernelPipeline kp = build_kernel_pipeline(scheduled, target);
          kp.pipeline.compile_to_object(tmp, kp.args, k.symbol,
                                        target.with_feature(Halide::Target::NoRuntime));
        },
        [&](const std::string &) { ++stats.fallbacks; });
  } catch (const Halide::Error &e) {
    error = "Halide failed on kernel " + k.symbol + " (" + k.key + "): " + e.what();
    fs::remove(tmp);
    return std::nullopt;
  }
  if (!publish(tmp, path, error))
    return std::nullopt;
  ++stats.compiled;
  return path;
}

std::optional<std::string> runtime_object(const Halide::Target &target, std::string &error) {
  Halide::Target t = target.without_feature(Halide::Target::NoRuntime);
  std::string path =
      (fs::path(cache_dir()) /
       ("halide_runtime_" + stable_hash(t.to_string()) + "-" + compiler_fingerprint() + ".o"))
          .string();
  if (fs::exists(path))
    return path;
  std::string tmp = temp_beside(path);
  try {
    Halide::compile_standalone_runtime(tmp, t);
  } catch (const Halide::Error &e) {
    error = std::string("Halide failed to build its runtime: ") + e.what();
    return std::nullopt;
  }
  if (!publish(tmp, path, error))
    return std::nullopt;
  return path;
}

std::string lowered_stmt(const Kernel &k, const Halide::Target &target) {
  KernelPipeline kp = build_kernel_pipeline(k, target);
  std::string tmp = (fs::temp_directory_path() / fmt::format("netc-stmt-{}.txt", ::getpid())).string();
  kp.pipeline.compile_to_lowered_stmt(tmp, kp.args, Halide::Text,
                                      target.with_feature(Halide::Target::NoRuntime));
  std::string text = read_text(tmp);
  fs::remove(tmp);
  return text;
}

} // namespace netc::codegen
