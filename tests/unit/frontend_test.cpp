//===- frontend_test.cpp - Lexer, parser and lowering unit tests ----------===//
//
// Unit tests of the frontend: tokens, the AST shape, the lowered module
// (parameters, @eval, @predict, config), exact diagnostics, and a fuzz-style
// test that random bytes and mutations of examples/mlp.net never crash the
// frontend: each input either compiles or reports at least one error.
//
//===----------------------------------------------------------------------===//
#include "frontend/Frontend.h"
#include "frontend/Lexer.h"
#include "frontend/Parser.h"
#include "ir/Random.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

using namespace netc;

namespace {

/// One compilation of source text, keeping the diagnostics for inspection.
struct Compiled {
  SourceManager sm;
  Diagnostics diag{sm};
  std::optional<Module> mod;
  std::string errors;

  explicit Compiled(const std::string &text, const std::string &model = "") {
    int32_t file = sm.add("test.net", text);
    if (std::unique_ptr<ast::File> f = parse_net(file, diag))
      mod = lower_to_ir(*f, model, diag);
    for (const Diagnostic &d : diag.all())
      errors += diag.render(d);
  }
  /// The first diagnostic's header line ("test.net:3:5: error: ...").
  std::string first() const { return errors.substr(0, errors.find('\n')); }
};

std::string read_example(const char *name) {
  std::ifstream in(std::string(NETC_SOURCE_DIR) + "/examples/" + name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const char *kTiny = "model m(x: f32[4], label: class<3>) {\n"
                    "  logits = x |> dense(3)\n"
                    "  output p = softmax(logits)\n"
                    "  loss cross_entropy(logits, label)\n"
                    "}\n";

} // namespace

TEST_CASE("lexer: tokens, locations and number values", "[frontend]") {
  SourceManager sm;
  Diagnostics diag(sm);
  int32_t f = sm.add("t.net", "h = x |> dense(512) // c\n  y = 0.5e1 \"s\\\"q\"");
  std::vector<Token> t = lex(f, diag);
  REQUIRE_FALSE(diag.has_errors());
  REQUIRE(t.size() == 13);
  CHECK(t[3].kind == Tok::Pipe);
  CHECK(t[6].int_value == 512);
  CHECK(t[8].text == "y");
  CHECK(t[8].line_start);
  CHECK(t[8].loc.line == 2);
  CHECK(t[8].loc.col == 3);
  CHECK(t[10].float_value == 5.0);
  CHECK(t[11].text == "s\"q");
  CHECK(describe(t[0]) == "'IDENT h'");
  CHECK(describe(t.back()) == "end of file");
}

TEST_CASE("lexer: errors name the character and stop after the limit", "[frontend]") {
  SourceManager sm;
  Diagnostics diag(sm);
  int32_t f = sm.add("t.net", "a\x01 $ 99999999999999999999 1e999 /* open");
  lex(f, diag);
  REQUIRE(diag.error_count() == 5);
  CHECK(diag.all()[0].message == "unexpected character '\\x01'");
  CHECK(diag.all()[1].message == "unexpected character '$'");
  CHECK(diag.all()[2].message == "integer 99999999999999999999 is too large");
  CHECK(diag.all()[3].message == "number 1e999 is out of range");
  CHECK(diag.all()[4].message == "unterminated comment");

  SourceManager sm2;
  Diagnostics many(sm2);
  lex(sm2.add("g.net", std::string(100, '$')), many);
  CHECK(many.error_count() == kMaxErrors);
}

TEST_CASE("did_you_mean suggests close names only", "[frontend]") {
  CHECK(did_you_mean("dens", {"dense", "relu"}) == "did you mean `dense`?");
  CHECK(did_you_mean("imgae", {"image"}) == "did you mean `image`?");
  CHECK(did_you_mean("x", {"y"}).empty());
  CHECK(did_you_mean("conv", {"dense", "relu"}).empty());
}

TEST_CASE("parser: the mlp example's AST", "[frontend]") {
  SourceManager sm;
  Diagnostics diag(sm);
  auto f = parse_net(sm.add("mlp.net", read_example("mlp.net")), diag);
  REQUIRE(f);
  REQUIRE(f->decls.size() == 2);
  auto *m = f->decls[0]->as<ast::ModelDecl>();
  REQUIRE(m);
  CHECK(m->inputs.size() == 2);
  CHECK(m->inputs[1].type.str() == "class<10>");
  REQUIRE(m->stmts.size() == 4);
  CHECK(m->stmts[2].kind == ast::Stmt::Kind::Output);
  auto *pipe = m->stmts[0].value->as<ast::PipeExpr>();
  REQUIRE(pipe);
  CHECK(pipe->stage->as<ast::NameExpr>()->name == "relu");
  auto *t = f->decls[1]->as<ast::TrainDecl>();
  REQUIRE(t);
  CHECK(t->settings.size() == 6);
  CHECK(print_ast(*f).find("call dense @3:34") != std::string::npos);
}

TEST_CASE("lowering: the mlp example's module", "[frontend]") {
  Compiled c(read_example("mlp.net"));
  INFO(c.errors);
  REQUIRE(c.mod);
  const Module &m = *c.mod;
  CHECK(m.name == "mlp");
  REQUIRE(m.params.size() == 4);
  CHECK(m.params[0].name == "h.dense.w");
  CHECK(m.params[0].type.str() == "f32[784, 512]");
  CHECK(m.params[0].attrs.get_str("init") == "glorot_uniform");
  CHECK(m.params[3].name == "logits.dense.b");
  CHECK(m.params[3].attrs.get_str("init") == "zeros");

  const Function *eval = m.find_function("eval");
  REQUIRE(eval);
  CHECK(eval->args().size() == 2);
  REQUIRE(eval->outputs.size() == 2);
  CHECK(eval->outputs[0].name == "prob");
  CHECK(eval->outputs[1].name == "loss");
  CHECK(eval->type(eval->outputs[1].value).str() == "f32[]");
  // Every node carries the location of the call or operator that made it.
  for (const Node &n : eval->nodes)
    CHECK(n.loc.valid());

  const Function *predict = m.find_function("predict");
  REQUIRE(predict);
  CHECK(predict->args().size() == 1);
  CHECK(predict->outputs.size() == 1);

  CHECK(m.config.get_str("optimizer") == "sgd");
  CHECK(m.config.get_float("optimizer.lr") == 0.1);
  CHECK(m.config.get_float("optimizer.momentum") == 0.9);
  CHECK(m.config.get_int("batch") == 64);
  CHECK(m.config.get_int("epochs") == 5);
  CHECK(m.config.get_int("seed") == 1);
  CHECK(m.config.get_str("data.format") == "idx");
  CHECK(m.config.get_str("validate.labels") == "fashion-mnist/t10k-labels-idx1-ubyte.gz");
  CHECK(m.config.get_str("source.path") == "test.net");
}

TEST_CASE("lowering: exact diagnostics", "[frontend]") {
  auto first = [](const std::string &src) { return Compiled(src).first(); };
  CHECK(first("model m(x: f32[2, 2]) {\n  output y = x |> dense(3)\n}") ==
        "test.net:2:19: error: dense expects a rank-2 input [N, features], found f32[N, 2, 2]");
  CHECK(first("model m(x: f32[4], l: class<5>) {\n  y = x |> dense(3)\n"
              "  loss cross_entropy(y, l)\n}") ==
        "test.net:3:8: error: logits have 3 classes but label `l` is class<5>");
  CHECK(first("model m(a: f32[3], b: f32[4]) {\n  output y = a * b\n}") ==
        "test.net:2:16: error: shapes of '*' do not match: f32[N, 3] and f32[N, 4]");
  CHECK(first("model m(x: f32[4]) {\n  output y = relu(x, 3)\n}") ==
        "test.net:2:22: error: too many arguments to `relu`: it takes 1, found 2");
  CHECK(first("model m(x: f32[4]) {\n  output y = dense(x, unit: 3)\n}") ==
        "test.net:2:23: error: `dense` has no argument named `unit`");
  CHECK(first("model m(x: f32[4]) {\n  output y = relu\n}") ==
        "test.net:2:14: error: `relu` is a function, not a value");
  CHECK(first("model m(x: f32[4]) {\n  output y = x |> gru(3)\n}") ==
        "test.net:2:19: error: gru expects a sequence [N, T, features], found f32[N, 4]");
  CHECK(first("model m(x: f32[5, 4]) {\n  y = relu(x)\n"
              "  output h = scan x_t in x, s = zeros(4) { x_t + s + y }\n}") ==
        "test.net:3:54: error: `y` is computed outside the scan and cannot be used in its body");
  CHECK(first("model m(x: f32[5, 4]) {\n"
              "  output h = scan x_t in x, s = zeros(3) { dense(x_t, 4) }\n}") ==
        "test.net:2:14: error: the scan body gives f32[N, 4], but the state is f32[N, 3]");
  CHECK(first("model m(x: f32) {\n  output h = scan x_t in x, s = zeros(3) { s }\n}") ==
        "test.net:2:14: error: scan expects a sequence [N, T, ...] with time on axis 1, found "
        "f32[N]");
  CHECK(first("model m(x: f32[4]) {\n  output y = x\n}\ntrain m {\n  optimizer = sgd(lr: \"a\")\n}") ==
        "test.net:5:23: error: `lr` of sgd must be a number >= 0, found string \"a\"");
  CHECK(first("") == "test.net:1:1: error: no model in file");
}

TEST_CASE("lowering: a per-example loss is averaged; other shapes are refused", "[frontend]") {
  Compiled ok("model m(x: f32[4]) {\n  loss sum(x)\n}");
  REQUIRE(ok.mod);
  const Function &eval = *ok.mod->find_function("eval");
  CHECK(eval.type(eval.output("loss")).str() == "f32[]");
  CHECK(Compiled("model m(x: f32[4]) {\n  loss x\n}").first() ==
        "test.net:2:8: error: the loss must be a scalar or one value per example, found f32[N, 4]");
}

TEST_CASE("lowering: @predict keeps only the inputs its outputs use", "[frontend]") {
  Compiled c(kTiny);
  REQUIRE(c.mod);
  const Function &p = *c.mod->find_function("predict");
  REQUIRE(p.args().size() == 1);
  CHECK(p.node(p.args()[0]).attrs.get_str("name") == "x");
  CHECK(p.node(p.args()[0]).attrs.get_int("index") == 0);
}

TEST_CASE("parser: nesting and error count are bounded", "[frontend]") {
  Compiled deep("model m(x: f32[1]) { output y = " + std::string(100000, '(') + "x }");
  CHECK(deep.diag.error_count() == 1);
  std::string chain = "model m(x: f32[1]) { output y = x";
  for (int i = 0; i < 100000; ++i)
    chain += " + x";
  Compiled wide(chain + " }");
  CHECK(wide.diag.error_count() == 1);
  CHECK(wide.first().find("nested too deeply") != std::string::npos);
  std::string junk;
  for (int i = 0; i < 200; ++i)
    junk += "model m(x: f33) {}\n";
  CHECK(Compiled(junk).diag.error_count() <= kMaxErrors);
}

// Every input either compiles cleanly or reports at least one located error;
// none crashes, hangs or trips an internal assertion.
static void check_robust(const std::string &text) {
  Compiled c(text);
  if (c.mod)
    CHECK_FALSE(c.diag.has_errors());
  else
    CHECK(c.diag.error_count() >= 1);
  CHECK(c.diag.error_count() <= kMaxErrors + 1);
}

TEST_CASE("fuzz: random bytes and mutations of examples/mlp.net", "[frontend]") {
  Pcg32 rng(1234);
  auto below = [&](size_t n) { return n ? static_cast<size_t>(rng.next_u32() % n) : 0; };
  for (int i = 0; i < 1500; ++i) {
    std::string s(below(200), '\0');
    for (char &ch : s)
      ch = static_cast<char>(rng.next_u32());
    check_robust(s);
  }
  const std::string src = read_example("mlp.net");
  REQUIRE(!src.empty());
  for (int i = 0; i < 3000; ++i) {
    std::string s = src;
    int edits = 1 + static_cast<int>(below(4));
    for (int e = 0; e < edits && !s.empty(); ++e) {
      size_t at = below(s.size()), len = 1 + below(12);
      switch (below(3)) {
      case 0: // delete a span
        s.erase(at, len);
        break;
      case 1: // duplicate a span
        s.insert(at, s.substr(at, len));
        break;
      default: // overwrite one byte
        s[at] = static_cast<char>(rng.next_u32());
      }
    }
    check_robust(s);
  }
}
