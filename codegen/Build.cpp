//===- Build.cpp - `netc build`: module to native trainer -----------------===//
#include "codegen/Build.h"

#include "codegen/Driver.h"
#include "codegen/Kernels.h"

#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <llvm/Support/raw_os_ostream.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace netc::codegen {

namespace {

/// Runs `argv` and waits; returns its exit status (-1 if it could not start).
int run_command(const std::vector<std::string> &argv, bool verbose, std::ostream &out) {
  if (verbose) {
    std::string line;
    for (const std::string &a : argv)
      line += a + " ";
    out << "netc: " << line << "\n";
  }
  std::vector<char *> cargv;
  for (const std::string &a : argv)
    cargv.push_back(const_cast<char *>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    execvp(cargv[0], cargv.data());
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// The libraries every trainer links, found where this netc was built.
std::vector<std::string> runtime_libraries() {
  const char *dir = std::getenv("NETC_LIB_DIR");
  std::string trainer = NETC_TRAINER_LIB, runtime = NETC_RUNTIME_LIB;
  if (dir && *dir) {
    trainer = (fs::path(dir) / fs::path(trainer).filename()).string();
    runtime = (fs::path(dir) / fs::path(runtime).filename()).string();
  }
  return {trainer, runtime};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Why `output` cannot be written (its directory is missing or read-only,
/// or it names a directory), or "" when it can: said before any kernel is
/// compiled, not as a linker failure after.
std::string unwritable(const std::string &output) {
  std::error_code ec;
  fs::path out(output), dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  if (fs::is_directory(out, ec))
    return "cannot write " + output + ": it is a directory";
  if (!fs::is_directory(dir, ec))
    return "cannot write " + output + ": no directory " + dir.string();
  if (::access(dir.c_str(), W_OK) != 0)
    return "cannot write " + output + ": directory " + dir.string() + " is not writable";
  return "";
}

} // namespace

bool build_trainer(const Module &m, const BuildOptions &opts, Diagnostics &diag, std::ostream &out) {
  auto t0 = std::chrono::steady_clock::now();
  std::string error;
  std::optional<Halide::Target> target = parse_target(opts.target, error);
  if (!target) {
    diag.error(Loc{}, error);
    return false;
  }
  if (!m.find_function("predict") && !m.find_function("eval")) {
    diag.error(Loc{}, "model `" + m.name + "` has no functions to compile");
    return false;
  }
  Loc where;
  if (std::string why = codegen_unsupported(m, &where); !why.empty()) {
    diag.error(where, why);
    return false;
  }
  if (opts.emit != "halide" && opts.emit != "llvm") {
    if (std::string why = unwritable(opts.output); !why.empty()) {
      diag.error(Loc{}, why);
      return false;
    }
  }
  ModelPlan plan = plan_model(m, target->to_string(), opts.schedule);

  if (opts.emit == "halide") {
    for (const Kernel &k : plan.kernels)
      out << "// kernel " << k.symbol << ": " << k.key << "\n" << lowered_stmt(k, *target) << "\n";
    return true;
  }
  llvm::LLVMContext ctx;
  std::unique_ptr<llvm::Module> driver = emit_driver(ctx, m, plan, model_json(m, plan));
  if (opts.emit == "llvm") {
    llvm::raw_os_ostream os(out);
    driver->print(os, nullptr);
    return true;
  }

  // Kernels, through the cache.
  CompileStats stats;
  std::vector<std::string> objects;
  for (const Kernel &k : plan.kernels) {
    std::optional<std::string> obj = kernel_object(k, *target, stats, error);
    if (!obj) {
      diag.error(Loc{}, error);
      return false;
    }
    objects.push_back(*obj);
  }
  std::optional<std::string> rt = runtime_object(*target, error);
  if (!rt) {
    diag.error(Loc{}, error);
    return false;
  }

  fs::path work = fs::temp_directory_path() / fmt::format("netc-build-{}", ::getpid());
  fs::create_directories(work);
  std::string driver_obj = (work / "driver.o").string();
  if (!emit_object(*driver, driver_obj, error)) {
    diag.error(Loc{}, error);
    fs::remove_all(work);
    return false;
  }
  if (opts.emit == "obj") {
    std::vector<std::string> argv = {"ld", "-r", "-o", opts.output, driver_obj};
    argv.insert(argv.end(), objects.begin(), objects.end());
    int rc = run_command(argv, opts.verbose, out);
    fs::remove_all(work);
    if (rc != 0)
      diag.error(Loc{}, "combining objects into " + opts.output + " failed");
    return rc == 0;
  }

  // Link: everything static except libc, so the trainer runs anywhere.
  std::vector<std::string> argv = {"c++", "-o", opts.output, driver_obj};
  argv.insert(argv.end(), objects.begin(), objects.end());
  argv.push_back(*rt);
  for (const std::string &lib : runtime_libraries())
    argv.push_back(lib);
  for (const char *flag : {"-static-libstdc++", "-static-libgcc", "-Wl,-Bstatic", "-lz",
                           "-Wl,-Bdynamic", "-lpthread", "-ldl", "-lm"})
    argv.push_back(flag);
  int rc = run_command(argv, opts.verbose, out);
  fs::remove_all(work);
  if (rc != 0) {
    diag.error(Loc{}, fmt::format("linking {} failed (the linker exited with {})", opts.output, rc));
    return false;
  }
  int64_t batch = m.config.get_int("batch", 64);
  out << fmt::format("netc: built {}: {} kernels ({} compiled, {} cached), {} functions, {:.1f} s\n",
                     opts.output, plan.kernels.size(), stats.compiled, stats.cached,
                     plan.functions.size(), seconds_since(t0));
  if (stats.fallbacks > 0)
    out << fmt::format("netc: {} kernels fell back to the manual schedule ({} failed on them)\n",
                       stats.fallbacks, opts.schedule);
  out << fmt::format("netc: peak arena {} bytes at batch {} ({} without slot reuse)\n",
                     arena_bytes(plan, batch), batch, unshared_temp_bytes(plan, batch));
  return true;
}

} // namespace netc::codegen
