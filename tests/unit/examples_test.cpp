//===- examples_test.cpp - The example models' gradients -----------------===//
//
// Every example under examples/ compiles, and the gradient autodiff derives
// for each of its parameters matches central finite differences through the
// interpreter (float64), on a real batch. The layers are full size, so a
// fixed random sample of coordinates per parameter is checked.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include "passes/Autodiff.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace netc;
using namespace netc::test;

namespace {

std::string read(const std::string &path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

TEST_CASE("the example models' gradients match finite differences", "[examples][grad]") {
  for (const auto &entry : std::filesystem::directory_iterator(NETC_SOURCE_DIR "/examples")) {
    if (entry.path().extension() != ".net")
      continue;
    INFO("example " << entry.path().filename().string());
    Module m = compile_net(read(entry.path().string()));
    const Function &eval = *m.find_function("eval");
    const Function *step = m.find_function("train_step");
    REQUIRE(step);
    // Gradients only: evaluate @train_step before the optimizer pass's
    // updates by reading the loss's adjoints from a fresh autodiff.
    Module g = m;
    g.functions.erase(std::remove_if(g.functions.begin(), g.functions.end(),
                                     [](const Function &f) { return f.name == "train_step"; }),
                      g.functions.end());
    SourceManager sm;
    Diagnostics diag(sm);
    REQUIRE(differentiate(g, diag));
    const Function &grads = *g.find_function("train_step");

    Pcg32 rng(21);
    ParamStore params = init_params(m, 4);
    std::vector<Tensor> args;
    for (ValueId a : eval.args()) {
      const TensorType &t = eval.type(a);
      Shape s = concrete_shape(t.shape, 3);
      if (t.dtype == DType::I32)
        args.push_back(random_tensor(s, [&] { return double(rng.below(2)); }, DType::I32));
      else
        args.push_back(random_tensor(s, [&] { return rng.uniform(0, 1); }));
    }
    CallResult r = interpret(g, grads, args, params);
    for (const ParamDecl &p : m.params) {
      if (!p.trainable())
        continue;
      INFO("parameter " << p.name);
      const Tensor &analytic = r.outputs.at(grad_output_name(p.name));
      for (int k = 0; k < 12; ++k) {
        int64_t i = rng.below(static_cast<uint32_t>(analytic.size()));
        double numeric = numeric_grad_at(eval, args, params, p.name, i, 1e-6, &m);
        CHECK(std::abs(analytic[i] - numeric) <= 1e-6 * std::max(1.0, std::abs(numeric)));
      }
    }
  }
}
