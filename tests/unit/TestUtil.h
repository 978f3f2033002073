//===- TestUtil.h - Helpers shared by the unit tests -----------*- C++ -*-===//
#pragma once

#include "codegen/Plan.h"
#include "ir/Interpreter.h"
#include "ir/IR.h"
#include "ir/Random.h"

#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>
#include <unistd.h>

namespace netc::codegen {
class JitModel;
}

namespace netc::test {

/// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "netc-data-XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  std::string file(const std::string &name) const { return (path / name).string(); }
};

/// A tensor of `shape` with values from `gen`.
template <typename G> Tensor random_tensor(const Shape &shape, G gen, DType dt = DType::F32) {
  Tensor t(dt, shape);
  for (double &v : t.data)
    v = gen();
  return t;
}

/// Largest |a - b| / max(1, |a|, |b|) over two same-sized tensors.
double max_rel_error(const Tensor &a, const Tensor &b);

/// Central finite difference of the scalar output `loss` of `f` along
/// element `i` of parameter `name`, in float64. `m`, when given, is the
/// module whose functions `f`'s scans run.
double numeric_grad_at(const Function &f, const std::vector<Tensor> &args, ParamStore &params,
                       const std::string &name, int64_t i, double eps = 1e-6,
                       const Module *m = nullptr);

/// Central finite-difference gradient of the scalar output `loss` of `f`
/// w.r.t. parameter `name`, in float64.
Tensor numeric_grad(const Function &f, const std::vector<Tensor> &args, ParamStore params,
                    const std::string &name, double eps = 1e-6, const Module *m = nullptr);

/// Parses and lowers .net source text, then runs the whole pipeline; fails
/// the current test with the diagnostics on error.
Module compile_net(const std::string &text);
/// IR text (.nir) through the same pass pipeline.
Module compile_nir(const std::string &text);

/// The plan of function `name` (fails the test if there is none).
const codegen::FunctionPlan &function_plan(const codegen::ModelPlan &p, const std::string &name);

/// Random arguments of a train step (inputs, then the label) at batch n.
using BatchFn = std::function<std::vector<Tensor>(Pcg32 &rng, int64_t n)>;

/// Runs compiled (`jit`) and interpreted train steps of `m` side by side on
/// random batches of the sizes given: losses agree to float32 rounding (the
/// kernels' dtype) accumulated over the steps, and so do the parameters
/// after them; the interpreter runs in float64.
void train_steps_match(const Module &m, codegen::JitModel &jit, ParamStore &interp,
                       ParamStore &compiled, Pcg32 &rng, const BatchFn &batch,
                       std::initializer_list<int64_t> batches);

} // namespace netc::test
