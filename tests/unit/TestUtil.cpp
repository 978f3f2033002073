//===- TestUtil.cpp - Helpers shared by the unit tests --------------------===//
#include "TestUtil.h"

#include "codegen/Jit.h"
#include "frontend/Frontend.h"
#include "ir/Parser.h"
#include "passes/Pipeline.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>

namespace netc::test {

double max_rel_error(const Tensor &a, const Tensor &b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (int64_t i = 0; i < a.size(); ++i) {
    double scale = std::max({1.0, std::abs(a[i]), std::abs(b[i])});
    worst = std::max(worst, std::abs(a[i] - b[i]) / scale);
  }
  return worst;
}

double numeric_grad_at(const Function &f, const std::vector<Tensor> &args, ParamStore &params,
                       const std::string &name, int64_t i, double eps, const Module *m) {
  auto loss = [&] {
    CallResult r = m ? interpret(*m, f, args, params) : interpret(f, args, params);
    return r.outputs.at("loss")[0];
  };
  double x = params[name][i];
  params[name][i] = x + eps;
  double up = loss();
  params[name][i] = x - eps;
  double down = loss();
  params[name][i] = x;
  return (up - down) / (2 * eps);
}

Tensor numeric_grad(const Function &f, const std::vector<Tensor> &args, ParamStore params,
                    const std::string &name, double eps, const Module *m) {
  Tensor g(DType::F32, params.at(name).shape);
  for (int64_t i = 0; i < g.size(); ++i)
    g[i] = numeric_grad_at(f, args, params, name, i, eps, m);
  return g;
}

namespace {

/// `m` (parsed or lowered, if it was) through the pass pipeline; the
/// diagnostics are the test's message when that fails.
Module through_pipeline(std::optional<Module> m, Diagnostics &diag) {
  std::ostringstream dump;
  bool ok = m && run_pipeline(*m, diag, PipelineOptions{}, dump);
  std::ostringstream errs;
  diag.flush(errs);
  INFO(errs.str());
  REQUIRE(ok);
  return std::move(*m);
}

} // namespace

Module compile_net(const std::string &text) {
  SourceManager sm;
  Diagnostics diag(sm);
  int32_t file = sm.add("test.net", text);
  std::unique_ptr<ast::File> ast = parse_net(file, diag);
  std::optional<Module> m;
  if (ast)
    m = lower_to_ir(*ast, "", diag);
  return through_pipeline(std::move(m), diag);
}

Module compile_nir(const std::string &text) {
  SourceManager sm;
  Diagnostics diag(sm);
  return through_pipeline(parse_module(sm.add("test.nir", text), diag), diag);
}

const codegen::FunctionPlan &function_plan(const codegen::ModelPlan &p, const std::string &name) {
  for (const codegen::FunctionPlan &f : p.functions)
    if (f.name == name)
      return f;
  FAIL("no function " << name);
  return p.functions[0];
}

void train_steps_match(const Module &m, codegen::JitModel &jit, ParamStore &interp,
                       ParamStore &compiled, Pcg32 &rng, const BatchFn &batch,
                       std::initializer_list<int64_t> batches) {
  for (int64_t n : batches) {
    INFO("batch " << n);
    std::vector<Tensor> args = batch(rng, n);
    CallResult r = interpret(m, *m.find_function("train_step"), args, interp);
    apply_updates(interp, r);
    std::map<std::string, Tensor> c = jit.call("train_step", args, compiled);
    CHECK(c.at("loss")[0] == Approx(r.outputs.at("loss")[0]).epsilon(1e-4));
  }
  for (const ParamDecl &p : m.params) {
    INFO("parameter " << p.name);
    CHECK(max_rel_error(compiled.at(p.name), interp.at(p.name)) < 1e-4);
  }
}

} // namespace netc::test
