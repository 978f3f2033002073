//===- Kernels.h - Kernels to Halide pipelines and objects -----*- C++ -*-===//
//
// Builds each planned kernel as a Halide pipeline (codegen/halide lowers the
// ops) and compiles it ahead of time to an object for the target, through a
// content-addressed cache: an unchanged kernel is never compiled twice.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Plan.h"

#include <Halide.h>
#include <functional>
#include <optional>
#include <string>

namespace netc::codegen {

/// The target netc compiles for: "host" (this CPU, detected), "baseline"
/// (x86-64 with AVX2 and FMA: reproducible objects on any recent x86), or
/// any Halide target string. Returns nullopt with `error` set if invalid.
std::optional<Halide::Target> parse_target(const std::string &spec, std::string &error);

/// The kernel's Halide pipeline and its arguments (batch, then inputs).
struct KernelPipeline {
  Halide::Pipeline pipeline;
  std::vector<Halide::Argument> args;
  Halide::Param<int32_t> batch;
  std::vector<Halide::ImageParam> inputs;
};
/// Scheduled as `k.schedule` says: netc's own schedules, or a Halide
/// autoscheduler plugin (loaded once; Halide::Error if it is missing).
KernelPipeline build_kernel_pipeline(const Kernel &k, const Halide::Target &target);

/// Runs `compile(k)`. When it throws Halide::Error and `k` uses an
/// autoscheduler, calls `on_fallback` with the error and runs `compile` again
/// on `k` with netc's own schedule (netc build and bench both fall back so).
/// An error under netc's schedule propagates.
void compile_or_fall_back(const Kernel &k, const std::function<void(const Kernel &)> &compile,
                          const std::function<void(const std::string &error)> &on_fallback);

/// Loads the plugin of autoscheduler `schedule` (adams2019, li2018,
/// mullapudi2016) from Debian's Halide 14 directory, or $NETC_HALIDE_PLUGIN_DIR.
void load_autoscheduler(const std::string &schedule);
/// The name the plugin registers ("Adams2019", ...).
std::string autoscheduler_name(const std::string &schedule);

/// The directory of cached objects: $NETC_CACHE_DIR, else
/// $XDG_CACHE_HOME/netc, else ~/.cache/netc (created if missing).
std::string cache_dir();

struct CompileStats {
  int compiled = 0, cached = 0;
  /// Kernels an autoscheduler failed on, compiled with netc's schedule.
  int fallbacks = 0;
};

/// Path of the object file holding kernel `k` for `target`, compiling it on
/// a cache miss (with netc's schedule when `k.schedule`'s autoscheduler
/// fails on it). Returns nullopt with `error` set on failure.
std::optional<std::string> kernel_object(const Kernel &k, const Halide::Target &target,
                                         CompileStats &stats, std::string &error);

/// Path of the shared Halide runtime object for `target` (cached too).
std::optional<std::string> runtime_object(const Halide::Target &target, std::string &error);

/// The lowered Halide statement of kernel `k` (`netc ir --emit=halide`).
std::string lowered_stmt(const Kernel &k, const Halide::Target &target);

} // namespace netc::codegen
