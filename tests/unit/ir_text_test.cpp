//===- ir_text_test.cpp - IR printer, parser and verifier -----------------===//
//
// Round trips (print(parse(print(m))) == print(m)) of hand-built modules,
// every attribute kind and the awkward floats; parse errors with their exact
// text and location; a fuzz test over random and mutated inputs; and one
// test per verifier invariant, each on a module broken by hand.
//
//===----------------------------------------------------------------------===//
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Random.h"
#include "ir/Verifier.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

using namespace netc;

namespace {

/// A source manager and diagnostics that tests parse into.
struct Env {
  SourceManager sm;
  Diagnostics diag{sm};

  std::optional<Module> parse(const std::string &text) {
    return parse_module(sm.add("t.nir", text), diag);
  }
  /// The first line of every diagnostic, joined by newlines.
  std::string messages() const {
    std::string out;
    for (const Diagnostic &d : diag.all()) {
      std::string r = diag.render(d);
      out += r.substr(0, r.find('\n')) + "\n";
    }
    return out;
  }
};

/// Prints `m`, parses the text, prints again, and checks the two agree.
std::string round_trip(const Module &m) {
  std::string text = print_module(m);
  Env env;
  std::optional<Module> back = env.parse(text);
  INFO(text);
  INFO(env.messages());
  REQUIRE(back);
  CHECK(print_module(*back) == text);
  return text;
}

/// A module with a param, a state, two functions and every node form.
Module make_mlp() {
  Module m;
  m.name = "mlp";
  m.config.set("batch", int64_t(64));
  m.config.set("optimizer", std::string("sgd"));
  m.config.set("optimizer.lr", 0.1);
  m.params.push_back(
      {"h.w", ParamKind::Param, {DType::F32, {4, 3}}, {{"init", "glorot_uniform"}}, {}});
  m.params.push_back({"h.b", ParamKind::Param, {DType::F32, {3}}, {{"init", "zeros"}}, {}});
  m.params.push_back({"h.w.velocity", ParamKind::State, {DType::F32, {4, 3}}, {}, {}});
  for (const char *name : {"eval", "train"}) {
    Function f;
    f.name = name;
    Builder b(f);
    ValueId x = b.arg("x", {DType::F32, {kBatch, 2, 2}});
    ValueId label = b.arg("label", {DType::I32, {kBatch}});
    ValueId w = b.param(m.params[0]);
    ValueId bias = b.param(m.params[1]);
    ValueId flat = b.reshape(x, {kBatch, 4});
    ValueId h = b.add(b.matmul(flat, w), bias);
    ValueId r = b.op(OpKind::Relu, {h});
    ValueId two = b.constant(2.0);
    ValueId s = b.reduce_sum(b.mul(r, two), {1}, false);
    ValueId oh = b.op(OpKind::OneHot, {label}, {{"classes", int64_t(3)}});
    f.outputs.push_back({"prob", r});
    f.outputs.push_back({"loss", s});
    f.outputs.push_back({"onehot", oh});
    if (std::string(name) == "train")
      f.updates.push_back({"h.w", w});
    m.functions.push_back(std::move(f));
  }
  return m;
}

const char *kMlpText =
    R"(module @mlp attributes {batch = 64, optimizer = "sgd", optimizer.lr = 0.1} {
  param @h.w : f32[4, 3] {init = "glorot_uniform"}
  param @h.b : f32[3] {init = "zeros"}
  state @h.w.velocity : f32[4, 3]

  func @eval(%x: f32[N, 2, 2], %label: i32[N]) {
    %0 = param @h.w : f32[4, 3]
    %1 = param @h.b : f32[3]
    %2 = reshape %x {shape = [N, 4]} : f32[N, 4]
    %3 = matmul %2, %0 : f32[N, 3]
    %4 = add %3, %1 : f32[N, 3]
    %5 = relu %4 : f32[N, 3]
    %6 = constant 2.0 : f32[]
    %7 = mul %5, %6 : f32[N, 3]
    %8 = reduce_sum %7 {axes = [1], keepdims = 0} : f32[N]
    %9 = one_hot %label {classes = 3} : f32[N, 3]
    output prob = %5
    output loss = %8
    output onehot = %9
  }

  func @train(%x: f32[N, 2, 2], %label: i32[N]) {
)";

} // namespace

//===----------------------------------------------------------------------===//
// Printer and round trips
//===----------------------------------------------------------------------===//

TEST_CASE("printer writes the canonical text form", "[ir]") {
  Module m = make_mlp();
  std::string text = print_module(m);
  CHECK(text.substr(0, std::strlen(kMlpText)) == kMlpText);
  CHECK(text.find("    update @h.w = %0\n  }\n}\n") != std::string::npos);
  round_trip(m);
  Env env;
  CHECK(verify_module(m, env.diag));
  CHECK(env.messages() == "");
}

TEST_CASE("printer handles empty modules and functions", "[ir]") {
  Module m;
  m.name = "empty";
  CHECK(print_module(m) == "module @empty {\n}\n");
  m.functions.push_back(Function{"f", {}, {}, {}, {}});
  CHECK(print_module(m) == "module @empty {\n  func @f() {\n  }\n}\n");
  CHECK(print_function(m.functions[0]) == "func @f() {\n}\n");
  round_trip(m);
}

TEST_CASE("every attribute kind round-trips", "[ir]") {
  Module m;
  m.name = "attrs";
  m.config.set("int", int64_t(-42));
  m.config.set("big", int64_t(9223372036854775807LL));
  m.config.set("small", int64_t(-9223372036854775807LL - 1));
  m.config.set("float", 2.5);
  m.config.set("str", std::string("a \"quoted\" \\ string\nwith a newline"));
  m.config.set("empty_str", std::string());
  m.config.set("list", std::vector<int64_t>{kBatch, 784, 0, -3});
  m.config.set("empty_list", std::vector<int64_t>{});
  m.config.set("key with spaces", int64_t(1));
  m.config.set("9starts.with.digit", int64_t(2));
  std::string text = round_trip(m);
  CHECK(text.find("list = [N, 784, 0, -3]") != std::string::npos);
  CHECK(text.find("empty_list = []") != std::string::npos);
  CHECK(text.find("\"key with spaces\" = 1") != std::string::npos);
  CHECK(text.find("\"9starts.with.digit\" = 2") != std::string::npos);
  Env env;
  std::optional<Module> back = env.parse(text);
  REQUIRE(back);
  CHECK(back->config == m.config);
}

TEST_CASE("floats round-trip bit for bit and stay floats", "[ir]") {
  const double cases[] = {0.1,
                          1e-30,
                          -0.0,
                          INFINITY,
                          -INFINITY,
                          NAN,
                          1e300,
                          123456789.0,
                          0.0,
                          1.0,
                          -2.0,
                          5e-324,
                          1.7976931348623157e308,
                          3.0e20};
  for (double d : cases) {
    Module m;
    m.name = "f";
    m.config.set("x", d);
    Function f;
    f.name = "g";
    Builder(f).constant(d);
    m.functions.push_back(f);
    std::string text = round_trip(m);
    INFO(text);
    Env env;
    std::optional<Module> back = env.parse(text);
    REQUIRE(back);
    REQUIRE(back->config.is_float("x"));
    for (double got :
         {back->config.get_float("x"), back->functions[0].nodes[0].attrs.get_float("value")}) {
      if (std::isnan(d)) {
        CHECK(std::isnan(got));
      } else {
        CHECK(got == d);
        CHECK(std::signbit(got) == std::signbit(d));
      }
    }
  }
}

TEST_CASE("names that are not identifiers are quoted", "[ir]") {
  Module m;
  m.name = "my model";
  m.params.push_back({"w-1", ParamKind::Param, {DType::F32, {2}}, {}, {}});
  Function f;
  f.name = "9lives";
  Builder b(f);
  ValueId x = b.arg("in put", {DType::F32, {2}});
  ValueId z = b.arg("0", {DType::F32, {2}});
  ValueId q = b.arg("say \"hi\"", {DType::F32, {2}});
  ValueId w = b.param(m.params[0]);
  ValueId xw = b.add(x, w);
  ValueId zq = b.add(z, q);
  ValueId s = b.add(xw, zq);
  f.outputs.push_back({"a b", s});
  f.updates.push_back({"w-1", s});
  m.functions.push_back(f);
  std::string text = round_trip(m);
  CHECK(text == R"(module @"my model" {
  param @"w-1" : f32[2]

  func @"9lives"(%"in put": f32[2], %"0": f32[2], %"say \"hi\"": f32[2]) {
    %0 = param @"w-1" : f32[2]
    %1 = add %"in put", %0 : f32[2]
    %2 = add %"0", %"say \"hi\"" : f32[2]
    %3 = add %1, %2 : f32[2]
    output "a b" = %3
    update @"w-1" = %3
  }
}
)");
}

TEST_CASE("locations print as loc(LINE:COL) and parse back", "[ir]") {
  Module m = make_mlp();
  m.functions.resize(1);
  for (Node &n : m.functions[0].nodes)
    n.loc = Loc{0, 7, 12};
  PrintOptions opts;
  opts.locations = true;
  std::string text = print_module(m, opts);
  CHECK(text.find("(%x: f32[N, 2, 2] loc(7:12), %label") != std::string::npos);
  CHECK(text.find("    %5 = relu %4 : f32[N, 3] loc(7:12)\n") != std::string::npos);
  Env env;
  std::optional<Module> back = env.parse(text);
  REQUIRE(back);
  // The suffix is ignored: a parsed node's location is its place in this file.
  CHECK(print_module(*back) == print_module(m));
  const Node &relu = back->functions[0].nodes[7];
  CHECK(relu.op == OpKind::Relu);
  CHECK(relu.loc == Loc{0, 12, 5});
}

TEST_CASE("parser renumbers values, skips comments and allows omitted types", "[ir]") {
  Env env;
  std::optional<Module> m = env.parse(R"(// A hand-written module.
module @m {  // trailing comment
  param @w : f32[3]
  func @f(%x: f32[N, 3]) {
    %w = param @w : f32[3]   // named, not numbered
    %17 = add %x, %w
    %3 = relu %17 : f32[N, 3]
    output y = %3
    update @w = %w
  }
})");
  INFO(env.messages());
  REQUIRE(m);
  const Function &f = m->functions[0];
  REQUIRE(f.nodes.size() == 4);
  CHECK(f.nodes[2].operands == std::vector<ValueId>{0, 1});
  CHECK(f.nodes[2].type == TensorType{});
  CHECK(f.nodes[2].loc == Loc{0, 6, 5});
  CHECK(f.loc == Loc{0, 4, 3});
  CHECK(f.nodes[0].loc == Loc{0, 4, 11});
  CHECK(print_function(f) == R"(func @f(%x: f32[N, 3]) {
  %0 = param @w : f32[3]
  %1 = add %x, %0 : f32[]
  %2 = relu %1 : f32[N, 3]
  output y = %2
  update @w = %0
}
)");
}

TEST_CASE("print_dot draws nodes, edges and sinks", "[ir]") {
  Module m = make_mlp();
  const Function &f = m.functions[1];
  std::string dot = print_dot(f);
  CHECK(dot.rfind("digraph \"train\" {\n", 0) == 0);
  CHECK(dot.find("  v0 [shape=ellipse, label=\"%x\\nf32[N, 2, 2]\"];\n") != std::string::npos);
  CHECK(dot.find("  v2 [shape=ellipse, label=\"%0 param @h.w\\nf32[4, 3]\"];\n") !=
        std::string::npos);
  CHECK(dot.find("  v5 [shape=box, label=\"%3 matmul\\nf32[N, 3]\"];\n") != std::string::npos);
  CHECK(dot.find("  v4 -> v5;\n  v2 -> v5;\n") != std::string::npos);
  CHECK(dot.find("  out1 [shape=doubleoctagon, label=\"output loss\"];\n  v10 -> out1;\n") !=
        std::string::npos);
  CHECK(dot.find("  upd0 [shape=doubleoctagon, label=\"update @h.w\"];\n  v2 -> upd0;\n") !=
        std::string::npos);
  CHECK(dot == print_dot(f));
}

//===----------------------------------------------------------------------===//
// Parse errors
//===----------------------------------------------------------------------===//

namespace {
/// Parses `text` and returns the first line of every diagnostic.
std::string parse_errors(const std::string &text) {
  Env env;
  std::optional<Module> m = env.parse(text);
  CHECK(!m);
  return env.messages();
}
} // namespace

TEST_CASE("parse errors say where, what was expected and what was found", "[ir]") {
  CHECK(parse_errors("module @m {\n  param @w {init = \"zeros\"}\n}") ==
        "t.nir:2:12: error: expected ':' after parameter name, found '{'\n");
  CHECK(parse_errors("") == "t.nir:1:1: error: expected 'module', found end of input\n");
  CHECK(parse_errors("module @m {\n  func @f() {\n    %0 = relu %7 : f32[]\n  }\n}") ==
        "t.nir:3:15: error: use of undefined value %7\n");
  CHECK(parse_errors(
            "module @m {\n  func @f(%x: f32[2]) {\n    %0 = relu %x\n    %0 = relu %0\n  }\n}") ==
        "t.nir:4:5: error: redefinition of %0\n");
  CHECK(parse_errors("module @m {\n  func @f(%x: f32[2], %x: f32[2]) {\n  }\n}") ==
        "t.nir:2:23: error: redefinition of %x\n");
  CHECK(parse_errors("module @m {\n  func @f(%x: f32[2]) {\n    %0 = relu %x, %x\n  }\n}") ==
        "t.nir:3:10: error: 'relu' expects 1 operand(s), found 2\n");
  CHECK(parse_errors("module @m {\n  func @f(%x: f32[2]) {\n    %0 = constant 1.0\n  }\n}") ==
        "t.nir:4:3: error: expected ':' and a type after 'constant' (constant nodes need a type), "
        "found '}'\n");
  CHECK(parse_errors("module @m {\n  param @w : f64[2]\n}") ==
        "t.nir:2:14: error: unknown element type 'f64'\n");
  CHECK(parse_errors("module @m {\n  param @w : f32[2, -3]\n}") ==
        "t.nir:2:21: error: dimension -3 is negative\n");
  CHECK(parse_errors("module @m attributes {x = 99999999999999999999} {\n}") ==
        "t.nir:1:27: error: integer 99999999999999999999 is out of range\n");
  CHECK(parse_errors("module @m attributes {x = 1e999} {\n}") ==
        "t.nir:1:27: error: number 1e999 is out of range for a float\n");
  CHECK(parse_errors("module @m attributes {x = 1, x = 2} {\n}") ==
        "t.nir:1:30: error: duplicate attribute 'x'\n");
  CHECK(parse_errors("module @m attributes {x = [[1]]} {\n}") ==
        "t.nir:1:28: error: expected an integer or N in the list, found '['\n");
  CHECK(parse_errors("module @m attributes {s = \"abc} {\n}") ==
        "t.nir:1:27: error: unterminated string\n");
  CHECK(parse_errors("module @m {\n  param @w : f32[2]\n  param @w : f32[3]\n}") ==
        "t.nir:3:9: error: redefinition of parameter @w\n");
  CHECK(parse_errors("module @m {\n  func @f() {\n  }\n  func @f() {\n  }\n}") ==
        "t.nir:4:8: error: redefinition of function @f\n");
  CHECK(parse_errors("module @m {\n} extra") ==
        "t.nir:2:3: error: expected end of input after the module, found 'extra'\n");
  CHECK(parse_errors("module @m {\n  \x01\n}") ==
        "t.nir:2:3: error: unexpected character '\\x01'\n");
  CHECK(parse_errors("module @m {\n  func @f() {\n    output = %0\n  }\n}") ==
        "t.nir:3:12: error: expected an output name after 'output', found '='\n");
  CHECK(parse_errors("module @m {\n  func @f(%0: f32[]) {\n  }\n}") ==
        "t.nir:2:11: error: argument %0 needs a name, not a number\n");
  CHECK(parse_errors("module @m attributes {x = 12ab} {\n}") ==
        "t.nir:1:27: error: malformed number '12ab'\n");
  CHECK(parse_errors("module @m {\n  func @f() {\n    %0 = arg : f32[]\n  }\n}") ==
        "t.nir:3:10: error: 'arg' is not an op; declare arguments in the function signature\n");
}

TEST_CASE("unknown ops get a did-you-mean hint and parsing goes on", "[ir]") {
  Env env;
  std::optional<Module> m = env.parse(
      "module @m {\n  func @f(%a: f32[2, 2]) {\n    %0 = matmull %a, %a\n    %1 = relu %9\n  }\n}");
  CHECK(!m);
  CHECK(env.messages() == "t.nir:3:10: error: unknown op 'matmull'\n"
                          "t.nir:4:15: error: use of undefined value %9\n");
  CHECK(env.diag.all()[0].hint == "did you mean `matmul`?");
  std::string rendered = env.diag.render(env.diag.all()[0]);
  CHECK(rendered == "t.nir:3:10: error: unknown op 'matmull'\n"
                    "        %0 = matmull %a, %a\n"
                    "             ^\n"
                    "hint: did you mean `matmul`?\n");
}

TEST_CASE("the parser survives hostile input", "[ir]") {
  // Deep nesting, long tokens and truncation: an error, not a crash or hang.
  std::string deep = "module @m attributes {x = " + std::string(100000, '[') + "} {\n}";
  CHECK(!parse_errors(deep).empty());
  std::string longname = "module @" + std::string(100000, 'a') + " {\n}";
  Env env;
  CHECK(env.parse(longname));
  CHECK(!parse_errors("module @m attributes {x = " + std::string(5000, '9') + "} {}").empty());
  CHECK(!parse_errors(std::string("module @m {\0}", 13)).empty());
  std::string text = print_module(make_mlp());
  for (size_t n = 0; n < text.size(); n += 7) {
    Env e;
    std::optional<Module> m = e.parse(text.substr(0, n));
    CHECK((!m && e.diag.has_errors()));
  }
}

TEST_CASE("fuzz: random and mutated inputs parse or report an error", "[ir]") {
  Pcg32 rng(1234);
  const std::string valid = print_module(make_mlp());
  const char alphabet[] = "module@%func param state output update = : , ( ) { } [ ] N f32 i32 "
                          "0123456789.e-\"\\/\n\tx_relu add matmul loc attributes\x01\xff";
  int parsed = 0;
  auto check = [&parsed](const std::string &text) {
    Env env;
    std::optional<Module> m = env.parse(text);
    if (!m) {
      REQUIRE(env.diag.has_errors());
      return;
    }
    ++parsed;
    // What parses must print and parse back to the same text, and verify
    // without crashing (whatever it reports).
    std::string once = print_module(*m);
    Env env2;
    std::optional<Module> again = env2.parse(once);
    REQUIRE(again);
    REQUIRE(print_module(*again) == once);
    verify_module(*m, env2.diag);
  };
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    uint32_t len = rng.below(200);
    for (uint32_t j = 0; j < len; ++j)
      s += rng.below(4) == 0 ? static_cast<char>(rng.below(256))
                             : alphabet[rng.below(sizeof(alphabet) - 1)];
    check(s);
  }
  for (int i = 0; i < 3000; ++i) {
    std::string s = valid;
    int edits = 1 + static_cast<int>(rng.below(4));
    for (int e = 0; e < edits && !s.empty(); ++e) {
      size_t at = rng.below(static_cast<uint32_t>(s.size()));
      switch (rng.below(5)) {
      case 0: // delete a span
        s.erase(at, 1 + rng.below(20));
        break;
      case 1: // insert a random byte
        s.insert(s.begin() + at, static_cast<char>(rng.below(256)));
        break;
      case 2: // replace a byte with grammar soup
        s[at] = alphabet[rng.below(sizeof(alphabet) - 1)];
        break;
      case 3: // duplicate a span
        s.insert(at, s.substr(rng.below(static_cast<uint32_t>(s.size())), rng.below(40)));
        break;
      case 4: // truncate
        s.resize(at);
        break;
      }
    }
    check(s);
  }
  // Some mutations (a changed digit, a deleted attribute) still parse.
  INFO("parsed " << parsed << " of 6000");
  CHECK(parsed > 20);
}

//===----------------------------------------------------------------------===//
// Verifier
//===----------------------------------------------------------------------===//

namespace {
const char *kGood = R"(module @m {
  param @w : f32[4, 3]
  param @b : f32[3]

  func @f(%x: f32[N, 4], %y: i32[N]) {
    %0 = param @w : f32[4, 3]
    %1 = param @b : f32[3]
    %2 = matmul %x, %0 : f32[N, 3]
    %3 = add %2, %1 : f32[N, 3]
    %4 = relu %3 : f32[N, 3]
    output out = %4
    update @b = %1
  }
}
)";

/// Parses kGood, applies `breakit`, verifies, and returns the messages.
template <typename F> std::string verify_broken(F breakit) {
  Env env;
  std::optional<Module> m = env.parse(kGood);
  REQUIRE(m);
  breakit(*m, m->functions[0]);
  CHECK(!verify_module(*m, env.diag));
  return env.messages();
}
} // namespace

TEST_CASE("verifier accepts well-formed IR", "[ir]") {
  Env env;
  std::optional<Module> m = env.parse(kGood);
  REQUIRE(m);
  CHECK(verify_module(*m, env.diag));
  CHECK(env.messages() == "");
}

TEST_CASE("verifier: operands defined after use or out of range", "[ir]") {
  CHECK(verify_broken([](Module &, Function &f) { f.nodes[4].operands[0] = 6; }) ==
        "t.nir:8:5: error: verifier: %2 (matmul): operand %4 is defined after its use\n");
  CHECK(verify_broken([](Module &, Function &f) { f.nodes[4].operands[0] = 4; }) ==
        "t.nir:8:5: error: verifier: %2 (matmul): operand %2 is defined after its use\n");
  CHECK(verify_broken([](Module &, Function &f) { f.nodes[6].operands[0] = 57; }) ==
        "t.nir:10:5: error: verifier: %4 (relu): operand #0 refers to value 57, which does "
        "not exist (the function has 7 nodes)\n");
}

TEST_CASE("verifier: wrong arity", "[ir]") {
  CHECK(verify_broken([](Module &, Function &f) { f.nodes[5].operands.pop_back(); }) ==
        "t.nir:9:5: error: verifier: %3 (add): expects 2 operand(s), found 1\n");
}

TEST_CASE("verifier: argument indices", "[ir]") {
  CHECK(verify_broken([](Module &, Function &f) { f.nodes[1].attrs.set("index", int64_t(0)); }) ==
        "t.nir:5:26: error: verifier: %y (arg): argument index 0 is also used by %x\n");
  CHECK(verify_broken([](Module &, Function &f) { f.nodes[1].attrs.set("index", int64_t(2)); }) ==
        "t.nir:5:26: error: verifier: %y (arg): argument index 2 is out of range; the "
        "function has 2 argument(s), indexed 0..1\n");
}

TEST_CASE("verifier: param nodes and declarations", "[ir]") {
  CHECK(verify_broken([](Module &, Function &f) {
          f.nodes[2].attrs.set("name", std::string("v"));
        }) == "t.nir:6:5: error: verifier: %0 (param): names undeclared parameter @v\n");
  CHECK(verify_broken([](Module &m, Function &) {
          m.params[0].type.shape = {4, 5};
        }) == "t.nir:6:5: error: verifier: %0 (param): type f32[4, 3] differs from the declaration "
              "of @w, f32[4, 5]\n");
  CHECK(verify_broken([](Module &m, Function &) { m.params[1].name = "w"; }) ==
        "t.nir:3:3: error: verifier: duplicate parameter name @w\n"
        "t.nir:7:5: error: verifier: %1 (param): names undeclared parameter @b\n"
        "t.nir:5:3: error: verifier: @f: update of undeclared parameter @b\n");
}

TEST_CASE("verifier: updates", "[ir]") {
  CHECK(verify_broken([](Module &, Function &f) { f.updates[0].param = "nope"; }) ==
        "t.nir:5:3: error: verifier: @f: update of undeclared parameter @nope\n");
  CHECK(verify_broken([](Module &, Function &f) { f.updates[0].value = 6; }) ==
        "t.nir:5:3: error: verifier: @f: update @b = %4 has type f32[N, 3], but @b is "
        "declared f32[3]\n");
  CHECK(verify_broken([](Module &, Function &f) { f.updates.push_back(f.updates[0]); }) ==
        "t.nir:5:3: error: verifier: @f: parameter @b is updated twice\n");
  CHECK(verify_broken([](Module &, Function &f) { f.updates[0].value = 99; }) ==
        "t.nir:5:3: error: verifier: @f: update @b refers to value 99, which does not exist\n");
}

TEST_CASE("verifier: outputs and function names", "[ir]") {
  CHECK(verify_broken([](Module &, Function &f) { f.outputs.push_back(f.outputs[0]); }) ==
        "t.nir:5:3: error: verifier: @f: duplicate output name 'out'\n");
  CHECK(verify_broken([](Module &, Function &f) { f.outputs[0].value = -1; }) ==
        "t.nir:5:3: error: verifier: @f: output 'out' refers to value -1, which does not exist\n");
  CHECK(verify_broken([](Module &m, Function &) { m.functions.push_back(m.functions[0]); }) ==
        "t.nir:5:3: error: verifier: duplicate function name @f\n");
}

TEST_CASE("verifier: node types must match the shape rule", "[ir]") {
  CHECK(verify_broken([](Module &, Function &f) {
          f.nodes[6].type.shape = {kBatch, 4};
        }) == "t.nir:10:5: error: verifier: %4 (relu): type f32[N, 4] differs from f32[N, 3] given "
              "by the shape rule\n");
  std::string msg = verify_broken([](Module &, Function &f) { f.nodes[4].operands = {0, 0}; });
  CHECK(msg.rfind("t.nir:8:5: error: verifier: %2 (matmul): ", 0) == 0);
  CHECK(msg.find("f32[N, 4]") != std::string::npos);
}
