//===- scan_test.cpp - scan: shape rule, verifier, interpreter, BPTT ------===//
//
// The scan op of docs/recurrence.md, checked the ways ops_test.cpp checks
// every other op: its shape rule's errors, its body rules in the verifier,
// the printer/parser round trip, hand-computed interpreter values, and the
// gradient that the autodiff pass builds for it (backprop through time, a
// reversed scan over the saved states) against central finite differences
// in float64, for bodies that read parameters.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include "ir/OpInfo.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "passes/Autodiff.h"
#include "passes/ShapeInference.h"
#include "passes/Simplify.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <sstream>

using namespace netc;
using namespace netc::test;

namespace {

TensorType f32(Shape s) { return {DType::F32, std::move(s)}; }

ParamDecl param(const std::string &name, Shape shape, bool frozen = false) {
  ParamDecl p{name, ParamKind::Param, f32(std::move(shape)), {}, {}};
  if (frozen)
    p.attrs.set("frozen", int64_t(1));
  return p;
}

Attrs scan_attrs(const std::string &body, int64_t axis) {
  return Attrs{{"body", body}, {"axis", axis}};
}

/// loss = Σ h ⊙ w for a frozen random w of h's type, so the adjoint reaching
/// the scan differs per step and element.
void weighted_loss(Module &m, Function &f, Builder &b, ValueId h) {
  ParamDecl w = param("w", b.type(h).shape, /*frozen=*/true);
  m.params.push_back(w);
  ValueId prod = b.mul(h, b.param(w));
  std::vector<int64_t> all;
  for (int i = 0; i < b.type(prod).rank(); ++i)
    all.push_back(i);
  f.outputs.push_back({"loss", b.reduce_sum(prod, all, false)});
}

/// The vanilla RNN of the lecture over seq [B, T, F] (a parameter, so its
/// gradient is checked too), h0 [B, H]: h_t = tanh(x_t @ W + h_{t-1} @ U + b).
/// With `last_only` the loss reads the last state alone (a classifier's).
Module rnn_module(int64_t batch, int64_t steps, int64_t features, int64_t hidden,
                  bool last_only = false) {
  Module m;
  m.name = "rnn";
  for (ParamDecl p : {param("seq", {batch, steps, features}), param("h0", {batch, hidden}),
                      param("W", {features, hidden}), param("U", {hidden, hidden}),
                      param("b", {hidden})})
    m.params.push_back(p);
  Function body;
  body.name = "h.step";
  Builder bb(body);
  ValueId x = bb.arg("x_t", f32({batch, features}));
  ValueId s = bb.arg("state", f32({batch, hidden}));
  ValueId pre = bb.add(bb.add(bb.matmul(x, bb.param(*m.find_param("W"))),
                              bb.matmul(s, bb.param(*m.find_param("U")))),
                       bb.param(*m.find_param("b")));
  body.outputs.push_back({"state", bb.op(OpKind::Tanh, {pre})});
  m.functions.push_back(std::move(body));

  Function f;
  f.name = "eval";
  Builder b(f);
  ValueId h = b.op(OpKind::Scan, {b.param(*m.find_param("seq")), b.param(*m.find_param("h0"))},
                   scan_attrs("h.step", 1));
  weighted_loss(m, f, b, last_only ? b.slice(h, 1, steps - 1, 1) : h);
  m.functions.push_back(std::move(f));
  return m;
}

/// An LSTM-shaped cell: the state [B, 2H] holds h and c side by side (slice
/// and concat), gates from one [F, 4H] and one [H, 4H] matmul. The loss reads
/// only the stacked h half, and the same body runs twice (shared weights),
/// the second time over the first one's h sequence.
Module lstm_module(int64_t batch, int64_t steps, int64_t features, int64_t hidden) {
  Module m;
  m.name = "lstm";
  for (ParamDecl p : {param("seq", {batch, steps, features}), param("Wx", {features, 4 * hidden}),
                      param("Wh", {hidden, 4 * hidden}), param("bias", {4 * hidden})})
    m.params.push_back(p);
  // A second layer's input projection: the body's sequence is [B, H] there.
  m.params.push_back(param("P", {hidden, features}));
  Function body;
  body.name = "cell";
  Builder bb(body);
  ValueId x = bb.arg("x", f32({batch, features}));
  ValueId s = bb.arg("hc", f32({batch, 2 * hidden}));
  ValueId h = bb.slice(s, 1, 0, hidden), c = bb.slice(s, 1, hidden, hidden);
  ValueId z = bb.add(bb.add(bb.matmul(x, bb.param(*m.find_param("Wx"))),
                            bb.matmul(h, bb.param(*m.find_param("Wh")))),
                     bb.param(*m.find_param("bias")));
  auto gate = [&](int k, OpKind act) { return bb.op(act, {bb.slice(z, 1, k * hidden, hidden)}); };
  ValueId i = gate(0, OpKind::Sigmoid), fg = gate(1, OpKind::Sigmoid);
  ValueId g = gate(2, OpKind::Tanh), o = gate(3, OpKind::Sigmoid);
  ValueId c2 = bb.add(bb.mul(fg, c), bb.mul(i, g));
  ValueId h2 = bb.mul(o, bb.op(OpKind::Tanh, {c2}));
  body.outputs.push_back({"hc", bb.op(OpKind::Concat, {h2, c2}, Attrs{{"axis", int64_t(1)}})});
  m.functions.push_back(std::move(body));

  Function f;
  f.name = "eval";
  Builder b(f);
  ValueId zero = b.constant(0.0, f32({batch, 2 * hidden}));
  ValueId hc1 = b.op(OpKind::Scan, {b.param(*m.find_param("seq")), zero}, scan_attrs("cell", 1));
  // Layer 2: h1 projected back to F features, the same cell again.
  ValueId h1 = b.slice(hc1, 2, 0, hidden);
  ValueId proj = b.reshape(b.matmul(b.reshape(h1, {batch * steps, hidden}),
                                    b.param(*m.find_param("P"))),
                           {batch, steps, features});
  ValueId hc2 = b.op(OpKind::Scan, {proj, zero}, scan_attrs("cell", 1));
  weighted_loss(m, f, b, b.slice(hc2, 2, 0, hidden));
  m.functions.push_back(std::move(f));
  return m;
}

/// Differentiates `m` (and, with `simplified`, simplifies it) and checks
/// every trainable parameter's gradient against central differences of
/// @eval, both run by the interpreter.
void check_gradients(Module m, uint64_t seed, bool simplified = false) {
  SourceManager sm;
  Diagnostics diag(sm);
  REQUIRE(verify_module(m, diag));
  REQUIRE(differentiate(m, diag));
  if (simplified)
    REQUIRE(simplify(m, diag));
  std::ostringstream errs;
  diag.flush(errs);
  INFO(errs.str() << print_module(m));
  REQUIRE(verify_module(m, diag));
  Pcg32 rng(seed);
  ParamStore params;
  for (const ParamDecl &p : m.params)
    params[p.name] = random_tensor(p.type.shape, [&] { return rng.uniform(-0.8, 0.8); });
  const Function &eval = *m.find_function("eval");
  CallResult r = interpret(m, *m.find_function("train_step"), {}, params);
  CHECK(r.outputs.at("loss")[0] == interpret(m, eval, {}, params).outputs.at("loss")[0]);
  int checked = 0;
  for (const ParamDecl &p : m.params) {
    if (!p.trainable())
      continue;
    INFO("gradient w.r.t. " << p.name);
    const Tensor &analytic = r.outputs.at(grad_output_name(p.name));
    Tensor numeric = numeric_grad(eval, {}, params, p.name, 1e-6, &m);
    CHECK(max_rel_error(analytic, numeric) < 1e-6);
    ++checked;
  }
  CHECK(checked >= 3);
}

} // namespace

TEST_CASE("scan's shape rule stacks the state and rejects bad operands", "[ops][scan]") {
  auto infer = [](std::vector<TensorType> in, Attrs attrs) {
    Node n{OpKind::Scan, {}, {}, std::move(attrs), {}};
    return infer_type(n, in);
  };
  TensorType seq = f32({kBatch, 20, 8}), h0 = f32({kBatch, 128});
  CHECK(*infer({seq, h0}, scan_attrs("f", 1)).type == f32({kBatch, 20, 128}));
  Attrs dx = scan_attrs("f", 1);
  dx.set("output", int64_t(1));
  dx.set("shape", Shape{kBatch, 8});
  CHECK(*infer({seq, h0}, dx).type == f32({kBatch, 20, 8}));
  dx.set("sum", int64_t(1));
  dx.set("shape", Shape{8, 128});
  CHECK(*infer({seq, h0}, dx).type == f32({8, 128}));

  CHECK(infer({h0}, scan_attrs("f", 1)).error ==
        "expects one or more sequences and the initial state, found 1 operand(s)");
  CHECK(infer({seq, h0}, Attrs{{"axis", int64_t(1)}}).error ==
        "needs attribute `body` (the step function's name)");
  CHECK(infer({seq, h0}, scan_attrs("f", 0)).error ==
        "the time axis 0 of f32[N, 20, 8] must be static and non-empty");
  CHECK(infer({seq, h0}, scan_attrs("f", 3)).error == "sequence f32[N, 20, 8] has no axis 3");
  CHECK(infer({seq, f32({kBatch, 21, 8}), h0}, scan_attrs("f", 1)).error ==
        "sequences differ in length along axis 1: 20 vs 21 steps");
  CHECK(infer({seq, {DType::I32, {kBatch}}}, scan_attrs("f", 1)).error ==
        "the initial state must be f32, found i32[N]");
  Attrs no_shape = scan_attrs("f", 1);
  no_shape.set("output", int64_t(2));
  CHECK(infer({seq, h0}, no_shape).error ==
        "output 2 needs the body output's per-step `shape` (ints)");
  Attrs bad_flag = scan_attrs("f", 1);
  bad_flag.set("reverse", int64_t(2));
  CHECK(infer({seq, h0}, bad_flag).error == "attribute `reverse` must be 0 or 1");
}

TEST_CASE("slice and concat shape rules name the shapes", "[ops][scan]") {
  auto fails = [](OpKind k, std::vector<TensorType> in, Attrs attrs) {
    Node n{k, {}, {}, std::move(attrs), {}};
    return infer_type(n, in).error;
  };
  Attrs s{{"axis", int64_t(1)}, {"begin", int64_t(2)}, {"size", int64_t(3)}};
  CHECK(fails(OpKind::Slice, {f32({kBatch, 4})}, s) ==
        "[2, 5) is not a non-empty range within axis 1 of f32[N, 4] (extent 4)");
  s.set("axis", int64_t(0));
  CHECK(fails(OpKind::Slice, {f32({kBatch, 4})}, s) ==
        "cannot slice the batch dimension of f32[N, 4]");
  Attrs c{{"axis", int64_t(1)}};
  CHECK(fails(OpKind::Concat, {f32({kBatch, 4}), f32({3, 4})}, c) ==
        "cannot join f32[N, 4] and f32[3, 4] along axis 1: the other dimensions differ");
  CHECK(fails(OpKind::Concat, {f32({kBatch, 4}), {DType::I32, {kBatch, 4}}}, c) ==
        "operands differ in dtype: f32[N, 4] and i32[N, 4]");
}

TEST_CASE("the interpreter runs scans forward, reversed, stacked and summed", "[scan]") {
  // Body: running sum s' = s + x_t, and a second output 10 * x_t.
  Module m;
  Function body;
  body.name = "acc";
  Builder bb(body);
  ValueId x = bb.arg("x", f32({2}));
  ValueId s = bb.arg("s", f32({2}));
  body.outputs = {{"s", bb.add(s, x)}, {"y", bb.mul(x, bb.constant(10.0))}};
  m.functions.push_back(std::move(body));
  Function f;
  f.name = "main";
  Builder b(f);
  ValueId seq = b.arg("seq", f32({2, 3})); // axis 1: 3 steps of [2]
  ValueId init = b.arg("init", f32({2}));
  Attrs fwd = scan_attrs("acc", 1);
  Attrs rev = fwd;
  rev.set("reverse", int64_t(1));
  Attrs sum = fwd;
  sum.set("output", int64_t(1));
  sum.set("shape", Shape{2});
  sum.set("sum", int64_t(1));
  Attrs stacked = fwd;
  stacked.set("output", int64_t(1));
  stacked.set("shape", Shape{2});
  f.outputs = {{"fwd", b.op(OpKind::Scan, {seq, init}, fwd)},
               {"rev", b.op(OpKind::Scan, {seq, init}, rev)},
               {"sum", b.op(OpKind::Scan, {seq, init}, sum)},
               {"y", b.op(OpKind::Scan, {seq, init}, stacked)}};
  m.functions.push_back(std::move(f));
  SourceManager sm;
  Diagnostics diag(sm);
  REQUIRE(verify_module(m, diag));
  Tensor seqv(DType::F32, {2, 3}), initv(DType::F32, {2});
  seqv.data = {1, 2, 3, 10, 20, 30};
  initv.data = {100, 200};
  CallResult r = interpret(m, m.functions[1], {seqv, initv}, {});
  CHECK(r.outputs["fwd"].shape == Shape{2, 3});
  CHECK(r.outputs["fwd"].data == std::vector<double>{101, 103, 106, 210, 230, 260});
  CHECK(r.outputs["rev"].data == std::vector<double>{106, 105, 103, 260, 250, 230});
  CHECK(r.outputs["sum"].data == std::vector<double>{60, 600});
  CHECK(r.outputs["y"].data == std::vector<double>{10, 20, 30, 100, 200, 300});
}

TEST_CASE("scan IR text round-trips and the verifier checks bodies", "[scan]") {
  const char *text = R"(module @rnn {
  param @W : f32[3, 4] {init = "glorot_uniform"}

  func @h.step(%x_t: f32[N, 3], %state: f32[N, 4]) {
    %0 = param @W : f32[3, 4]
    %1 = matmul %x_t, %0 : f32[N, 4]
    %2 = add %1, %state : f32[N, 4]
    %3 = tanh %2 : f32[N, 4]
    output state = %3
  }

  func @eval(%seq: f32[N, 5, 3]) {
    %0 = constant 0.0 : f32[N, 4]
    %1 = scan %seq, %0 {axis = 1, body = "h.step"} : f32[N, 5, 4]
    %2 = slice %1 {axis = 1, begin = 4, size = 1} : f32[N, 1, 4]
    %3 = concat %2, %2 {axis = 1} : f32[N, 2, 4]
    output h = %3
  }
}
)";
  auto parse_verify = [](const std::string &t, std::string *messages) {
    SourceManager sm;
    Diagnostics diag(sm);
    std::optional<Module> m = parse_module(sm.add("t.nir", t), diag);
    bool ok = m && verify_module(*m, diag);
    for (const Diagnostic &d : diag.all()) {
      std::string r = diag.render(d);
      *messages += r.substr(0, r.find('\n')) + "\n";
    }
    return ok ? print_module(*m) : std::string();
  };
  std::string messages;
  std::string printed = parse_verify(text, &messages);
  INFO(messages);
  CHECK(printed == text);

  auto error_of = [&](const std::string &from, const std::string &to) {
    std::string t = text;
    size_t at = t.find(from);
    REQUIRE(at != std::string::npos);
    t.replace(at, from.size(), to);
    std::string m;
    CHECK(parse_verify(t, &m).empty());
    return m;
  };
  CHECK(error_of("body = \"h.step\"", "body = \"nope\"").find(
            "verifier: %1 (scan): body @nope is not a function of the module") !=
        std::string::npos);
  CHECK(error_of("%x_t: f32[N, 3]", "%x_t: f32[N, 2]").find(
            "argument #0 of body @h.step is f32[N, 2], but the scan passes f32[N, 3]") !=
        std::string::npos);
  CHECK(error_of("output state = %3", "output state = %0").find(
            "body @h.step returns the state as f32[3, 4], but it starts as f32[N, 4]") !=
        std::string::npos);
  // A body that scans itself.
  std::string rec = error_of("    output state = %3\n",
                             "    %4 = scan %x_t, %3 {axis = 1, body = \"h.step\"} : f32[N, 3, "
                             "4]\n    output state = %3\n");
  CHECK(rec.find("scan bodies are recursive: @h.step -> @h.step") != std::string::npos);
}

TEST_CASE("backprop through time matches finite differences: vanilla RNN", "[scan][grad]") {
  check_gradients(rnn_module(2, 4, 3, 5), 11);
}

TEST_CASE("backprop through time matches finite differences: two stacked LSTM cells",
          "[scan][grad]") {
  check_gradients(lstm_module(2, 3, 3, 2), 12);
}

/// The number of arguments of `m`'s @name.
size_t arity(const Module &m, const std::string &name) {
  REQUIRE(m.find_function(name));
  return m.find_function(name)->args().size();
}

TEST_CASE("the last step's adjoint folded into the carried one keeps BPTT's gradients",
          "[scan][grad]") {
  // The loss reads h_{T-1} alone: the stacked output's adjoint is zero but
  // at the last step, the first the reversed scan runs, and simplify starts
  // the carried adjoint from it (passes/ScanFold.cpp) instead of passing it.
  Module m = rnn_module(2, 4, 3, 5, /*last_only=*/true);
  SourceManager sm;
  Diagnostics diag(sm);
  Module folded = m;
  REQUIRE(differentiate(folded, diag));
  size_t before = arity(folded, "h.step.vjp");
  REQUIRE(simplify(folded, diag));
  REQUIRE(verify_module(folded, diag));
  INFO(print_module(folded));
  CHECK(arity(folded, "h.step.vjp") == before - 1);
  for (const Node &n : folded.find_function("train_step")->nodes)
    if (n.op == OpKind::Scan && n.attrs.get_int("reverse", 0) != 0)
      CHECK(n.operands.size() == before - 1);
  check_gradients(m, 13, /*simplified=*/true);

  // The two LSTM layers share one body: the second's adjoint is zero but at
  // the last step, the first's is not, so neither scan folds.
  Module lstm = lstm_module(2, 3, 3, 2);
  REQUIRE(differentiate(lstm, diag));
  size_t lstm_before = arity(lstm, "cell.vjp");
  REQUIRE(simplify(lstm, diag));
  CHECK(arity(lstm, "cell.vjp") == lstm_before);
  check_gradients(lstm_module(2, 3, 3, 2), 12, /*simplified=*/true);
}

/// The module of tests/lit/simplify/`name` (shapes inferred), and the same
/// after simplify.
std::pair<Module, Module> lit_before_after(const std::string &name) {
  std::ifstream in(NETC_SOURCE_DIR "/tests/lit/simplify/" + name);
  std::stringstream text;
  text << in.rdbuf();
  SourceManager sm;
  Diagnostics diag(sm);
  std::optional<Module> parsed = parse_module(sm.add(name, text.str()), diag);
  REQUIRE(parsed);
  REQUIRE(infer_shapes(*parsed, diag));
  Module after = *parsed;
  REQUIRE(simplify(after, diag));
  REQUIRE(verify_module(after, diag));
  return {std::move(*parsed), std::move(after)};
}

/// `function`'s output `output` of `before` and `after` on `args`, within
/// 1e-12 (relative).
void same_output(const Module &before, const Module &after, const std::string &function,
                 const std::string &output, const std::vector<Tensor> &args,
                 const ParamStore &params = {}) {
  Tensor want = interpret(before, *before.find_function(function), args, params).outputs.at(output);
  Tensor got = interpret(after, *after.find_function(function), args, params).outputs.at(output);
  CHECK(max_rel_error(got, want) < 1e-12);
}

TEST_CASE("folding a sequence input into a scan's initial state keeps what it computes",
          "[scan]") {
  // tests/lit/simplify/scan_fold.nir (its golden is the folded IR): two
  // scans whose body input folds, a reversed one and a forward one, and one
  // that does not, run by the interpreter before and after simplify.
  auto [parsed, folded] = lit_before_after("scan_fold.nir");
  CHECK(arity(folded, "acc") == 2);
  CHECK(arity(folded, "keep") == 3);
  Pcg32 rng(14);
  auto uniform = [&] { return rng.uniform(-1, 1); };
  for (int64_t n : {1, 3})
    same_output(parsed, folded, "eval", "h",
                {random_tensor({n, 3, 4}, uniform), random_tensor({n, 2}, uniform),
                 random_tensor({n, 4}, uniform), random_tensor({n, 4}, uniform)});
}

TEST_CASE("joining two products by parameters keeps what they compute", "[scan]") {
  // tests/lit/simplify/matmul_join.nir (its golden is the joined IR): an
  // RNN cell's x·W + b1 + (s·U + b2) becomes [x, s]·[W; U] + b1 + b2.
  auto [before, after] = lit_before_after("matmul_join.nir");
  auto matmuls = [](const Module &m, const std::string &f) {
    const Function &fn = *m.find_function(f);
    return std::count_if(fn.nodes.begin(), fn.nodes.end(),
                         [](const Node &n) { return n.op == OpKind::MatMul; });
  };
  CHECK(matmuls(after, "cell") == 1);
  CHECK(matmuls(after, "kept") == 3);
  Pcg32 rng(15);
  auto uniform = [&] { return rng.uniform(-1, 1); };
  ParamStore params;
  for (const ParamDecl &p : before.params)
    params[p.name] = random_tensor(p.type.shape, uniform);
  for (const char *f : {"cell", "kept"})
    for (int64_t n : {1, 5})
      same_output(before, after, f, "y",
                  {random_tensor({n, 3}, uniform), random_tensor({n, 4}, uniform)}, params);
}
