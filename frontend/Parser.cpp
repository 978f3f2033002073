//===- Parser.cpp - Recursive-descent parser for .net files ---------------===//
//
// This file implements the parser. Each parse function has its grammar rule
// in a comment above it; together they are the grammar in docs/language.md.
// Functions return nullptr (or false) after reporting an error; the statement
// and declaration loops resynchronise and continue.
//
//===----------------------------------------------------------------------===//
#include "frontend/Parser.h"

#include <algorithm>
#include <fmt/format.h>
#include <optional>

namespace netc {

using namespace ast;

namespace {

/// Per-example elements an input may have (2^31).
constexpr int64_t kMaxElements = int64_t(1) << 31;

class Parser {
public:
  Parser(int32_t file, const std::vector<Token> &toks, Diagnostics &diag)
      : file_(file), toks_(toks), diag_(diag) {}

  std::unique_ptr<File> parse_file();

private:
  // Token access. The token vector always ends in Eof, and pos_ never passes it.
  const Token &tok() const { return toks_[pos_]; }
  const Token &peek(size_t n = 1) const { return toks_[std::min(pos_ + n, toks_.size() - 1)]; }
  bool is(Tok k) const { return tok().kind == k; }
  bool is_word(const char *w) const { return is(Tok::Ident) && tok().text == w; }
  void next() {
    if (!is(Tok::Eof))
      ++pos_;
  }
  bool consume(Tok k) {
    if (!is(k))
      return false;
    next();
    return true;
  }
  /// Consumes a `k` or reports "expected 'k' <context>, found ...".
  bool expect(Tok k, const std::string &context);
  void error(Loc loc, std::string msg, std::string hint = {}) {
    diag_.error(loc, std::move(msg), std::move(hint));
  }
  void error_found(const std::string &expected, std::string hint = {}) {
    error(tok().loc, fmt::format("expected {}, found {}", expected, describe(tok())),
          std::move(hint));
  }
  bool stopped() const { return fatal_ || diag_.error_count() >= kMaxErrors; }
  bool at_stmt_end() const;
  void sync_stmt(size_t start);
  void sync_decl(size_t start);

  std::unique_ptr<Decl> parse_decl();
  template <typename D> std::unique_ptr<D> parse_block_decl(const char *what, bool typed);
  std::unique_ptr<TrainDecl> parse_train();
  bool parse_inputs(std::vector<Input> &out, bool typed, const std::string &owner);
  bool parse_input(Input &in, bool typed);
  bool parse_type(Type &t);
  bool parse_dims(Type &t);
  bool parse_block(std::vector<Stmt> &out, const std::string &owner, Loc open);
  bool parse_stmt(std::vector<Stmt> &out);
  bool parse_stmt_end();
  bool parse_setting(std::vector<Setting> &out);
  bool parse_augment(Setting s, std::vector<Setting> &out);

  ExprPtr parse_expr();
  ExprPtr parse_pipe();
  ExprPtr parse_additive();
  ExprPtr parse_multiplicative();
  /// One left-associative binary level: operands from `operand`, operators
  /// mapped to BinOps by `op_of` (nullopt ends the level).
  ExprPtr parse_binary_level(ExprPtr (Parser::*operand)(), std::optional<BinOp> (*op_of)(Tok));
  ExprPtr parse_unary();
  ExprPtr parse_primary();
  ExprPtr parse_number();
  ExprPtr parse_list();
  ExprPtr parse_scan();
  ExprPtr parse_name_or_call();
  bool parse_args(CallExpr &call);
  /// Sets e's height from its children; reports nesting beyond kMaxNesting.
  ExprPtr check_height(ExprPtr e, std::initializer_list<const Expr *> kids);

  int32_t file_;
  const std::vector<Token> &toks_;
  Diagnostics &diag_;
  size_t pos_ = 0;
  int depth_ = 0;
  bool fatal_ = false;
};

/// Counts recursion depth; reports once when it passes kMaxNesting.
class DepthGuard {
public:
  DepthGuard(int &depth) : depth_(depth) { ++depth_; }
  ~DepthGuard() { --depth_; }
  bool too_deep() const { return depth_ > kMaxNesting; }

private:
  int &depth_;
};

bool Parser::expect(Tok k, const std::string &context) {
  if (consume(k))
    return true;
  error_found(fmt::format("'{}' {}", tok_spelling(k), context));
  return false;
}

// Statements need no separator: one ends where the next begins, i.e. before
// `;`, `}`, end of file, `name =`, or a statement keyword.
bool Parser::at_stmt_end() const {
  if (is(Tok::Semi) || is(Tok::RBrace) || is(Tok::Eof))
    return true;
  if (!is(Tok::Ident))
    return false;
  return peek().kind == Tok::Assign || is_word("output") || is_word("loss") ||
         (is_word("init") && (peek().kind == Tok::Ident || peek().kind == Tok::String)) ||
         (is_word("augment") && peek().kind == Tok::Ident);
}

// Skips to the start of the next statement: past a `;`, or to a token that
// begins a line (after the failed statement's first token), `}` or the end.
void Parser::sync_stmt(size_t start) {
  while (!is(Tok::Eof) && !is(Tok::RBrace)) {
    if (consume(Tok::Semi))
      return;
    if (tok().line_start && pos_ > start)
      return;
    next();
  }
}

// Skips to the next line that starts with `model`, `def` or `train`.
void Parser::sync_decl(size_t start) {
  while (!is(Tok::Eof)) {
    if (tok().line_start && pos_ > start &&
        (is_word("model") || is_word("def") || is_word("train")))
      return;
    next();
  }
}

// file = decl*
std::unique_ptr<File> Parser::parse_file() {
  auto f = std::make_unique<File>();
  f->file = file_;
  while (!is(Tok::Eof) && !stopped()) {
    size_t start = pos_;
    if (auto d = parse_decl())
      f->decls.push_back(std::move(d));
    else
      sync_decl(start);
  }
  if (diag_.error_count() >= kMaxErrors)
    diag_.note(Loc{}, fmt::format("too many errors ({}); stopping", diag_.error_count()));
  if (diag_.has_errors())
    return nullptr;
  return f;
}

// decl = model | def | train
std::unique_ptr<Decl> Parser::parse_decl() {
  if (is_word("model"))
    return parse_block_decl<ModelDecl>("model", /*typed=*/true);
  if (is_word("def"))
    return parse_block_decl<DefDecl>("def", /*typed=*/false);
  if (is_word("train"))
    return parse_train();
  error_found("`model`, `def` or `train` at top level",
              "a .net file holds `model NAME(inputs) { ... }` and `train NAME { ... }` blocks");
  return nullptr;
}

// model = "model" IDENT "(" inputs ")" block
// def   = "def" IDENT "(" inputs ")" block
template <typename D> std::unique_ptr<D> Parser::parse_block_decl(const char *what, bool typed) {
  next(); // model | def
  if (!is(Tok::Ident)) {
    error_found(fmt::format("a name after `{}`", what));
    return nullptr;
  }
  auto d = std::make_unique<D>(tok().loc, tok().text);
  std::string owner = fmt::format("{} `{}`", what, d->name);
  next();
  std::vector<Input> &inputs = d->inputs;
  if (!parse_inputs(inputs, typed, owner))
    return nullptr;
  Loc open = tok().loc;
  if (!expect(Tok::LBrace, "to open the body of " + owner))
    return nullptr;
  if (!parse_block(d->stmts, owner, open))
    return nullptr;
  return d;
}

// inputs = "(" (input ("," input)* ","?)? ")"
bool Parser::parse_inputs(std::vector<Input> &out, bool typed, const std::string &owner) {
  if (!expect(Tok::LParen, "after the name of " + owner))
    return false;
  while (!is(Tok::RParen)) {
    Input in;
    if (!parse_input(in, typed))
      return false;
    out.push_back(std::move(in));
    if (!consume(Tok::Comma))
      break;
  }
  return expect(Tok::RParen, "after the inputs of " + owner);
}

// input = IDENT ":" type        (model)
//       | IDENT (":" type)?     (def)
bool Parser::parse_input(Input &in, bool typed) {
  if (!is(Tok::Ident)) {
    error_found("an input name");
    return false;
  }
  in.name = tok().text;
  in.loc = tok().loc;
  next();
  if (!consume(Tok::Colon)) {
    if (!typed)
      return true;
    error_found(fmt::format("':' and a type after input `{}`", in.name),
                "inputs are declared per example, e.g. `image: f32[28, 28]` or `label: class<10>`");
    return false;
  }
  in.has_type = true;
  return parse_type(in.type);
}

// type = "class" "<" INT ">" dims? | ("f32" | "i32") dims?
bool Parser::parse_type(Type &t) {
  t.loc = tok().loc;
  if (!is(Tok::Ident)) {
    error_found("a type (f32[...], i32[...] or class<C>)");
    return false;
  }
  std::string name = tok().text;
  if (name == "class") {
    next();
    t.kind = Type::Kind::Class;
    t.dtype = DType::I32;
    if (!expect(Tok::Less, "after `class`"))
      return false;
    if (!is(Tok::Int)) {
      error_found("the number of classes in class<...>");
      return false;
    }
    t.classes = tok().int_value;
    if (t.classes < 2) {
      error(tok().loc, fmt::format("class count must be at least 2, found class<{}>", t.classes));
      return false;
    }
    next();
    if (!expect(Tok::Greater, "after the number of classes"))
      return false;
    return !is(Tok::LBracket) || parse_dims(t); // class<V>[T]: one label per position
  }
  std::optional<DType> dt = parse_dtype(name);
  if (!dt) {
    std::string hint = did_you_mean(name, {"f32", "i32", "class"});
    error(t.loc, fmt::format("unknown type `{}`", name),
          hint.empty() ? "types are f32[...], i32[...] and class<C>" : hint);
    return false;
  }
  t.dtype = *dt;
  next();
  return !is(Tok::LBracket) || parse_dims(t);
}

// dims = "[" (INT ("," INT)*)? "]"
bool Parser::parse_dims(Type &t) {
  next(); // [
  int64_t elements = 1;
  while (!is(Tok::RBracket)) {
    if (!is(Tok::Int)) {
      error_found("a dimension size (a positive integer)");
      return false;
    }
    int64_t d = tok().int_value;
    if (d <= 0) {
      error(tok().loc, fmt::format("dimension size must be positive, found {}", d));
      return false;
    }
    if (d > kMaxElements / elements) {
      error(tok().loc, "input is too large: more than 2^31 elements per example");
      return false;
    }
    elements *= d;
    t.dims.push_back(d);
    next();
    if (!consume(Tok::Comma))
      break;
  }
  return expect(Tok::RBracket, "after the dimensions");
}

// block = "{" stmt* "}"
bool Parser::parse_block(std::vector<Stmt> &out, const std::string &owner, Loc open) {
  while (!is(Tok::RBrace) && !stopped()) {
    if (is(Tok::Eof) || (tok().line_start && (is_word("model") || is_word("train")) &&
                         peek().kind == Tok::Ident)) {
      error_found(fmt::format("'}}' to close {}", owner));
      diag_.note(open, "the body of " + owner + " starts here");
      return false;
    }
    size_t start = pos_;
    if (!parse_stmt(out))
      sync_stmt(start);
  }
  return consume(Tok::RBrace);
}

// stmt = ("output" IDENT "=" expr | "loss" expr | IDENT "=" expr) ";"?
bool Parser::parse_stmt(std::vector<Stmt> &out) {
  Stmt s;
  if (is_word("loss")) {
    s.kind = Stmt::Kind::Loss;
    s.name = "loss";
    s.loc = tok().loc;
    next();
  } else {
    s.kind = Stmt::Kind::Assign;
    if (is_word("output") && peek().kind == Tok::Ident) {
      s.kind = Stmt::Kind::Output;
      next();
    }
    if (!is(Tok::Ident)) {
      error_found("a statement (`name = expr`, `output name = expr` or `loss expr`)");
      return false;
    }
    s.name = tok().text;
    s.loc = tok().loc;
    next();
    if (!expect(Tok::Assign, "after `" + s.name + "`"))
      return false;
  }
  s.value = parse_expr();
  if (!s.value || !parse_stmt_end())
    return false;
  out.push_back(std::move(s));
  return true;
}

// Checks that a statement or setting ends here, and eats an optional `;`.
bool Parser::parse_stmt_end() {
  if (!at_stmt_end()) {
    std::string hint = is(Tok::Ident) ? "did you forget `|>` or an operator?"
                                      : "put each statement on its own line, or separate them with `;`";
    error_found("the end of the statement", hint);
    return false;
  }
  consume(Tok::Semi);
  return true;
}

// train   = "train" IDENT "{" setting* "}"
std::unique_ptr<TrainDecl> Parser::parse_train() {
  next(); // train
  if (!is(Tok::Ident)) {
    error_found("the name of the model to train after `train`");
    return nullptr;
  }
  auto t = std::make_unique<TrainDecl>(tok().loc, tok().text);
  next();
  Loc open = tok().loc;
  if (!expect(Tok::LBrace, "to open the train block"))
    return nullptr;
  while (!is(Tok::RBrace) && !stopped()) {
    if (is(Tok::Eof) || (tok().line_start && (is_word("model") || is_word("train")) &&
                         peek().kind == Tok::Ident)) {
      error_found("'}' to close the train block");
      diag_.note(open, "the train block starts here");
      return nullptr;
    }
    size_t start = pos_;
    if (!parse_setting(t->settings))
      sync_stmt(start);
  }
  if (!consume(Tok::RBrace))
    return nullptr;
  return t;
}

// setting = IDENT "=" expr ";"?
//         | "init" ( IDENT | STRING ) "from" expr ";"?
bool Parser::parse_setting(std::vector<Setting> &out) {
  if (!is(Tok::Ident)) {
    error_found("a setting (`key = value`)");
    return false;
  }
  Setting s;
  s.key = tok().text, s.loc = tok().loc;
  next();
  if (s.key == "augment" && is(Tok::Ident))
    return parse_augment(std::move(s), out);
  if (s.key == "init" && (is(Tok::Ident) || is(Tok::String))) {
    s.pattern = tok().text, s.pattern_loc = tok().loc;
    next();
    if (!is_word("from")) {
      error_found("`from` after the parameters to initialise",
                  "write `init body from \"pretrained.safetensors\"`");
      return false;
    }
    next();
  } else if (!expect(Tok::Assign, "after `" + s.key + "`")) {
    return false;
  }
  s.value = parse_expr();
  if (!s.value || !parse_stmt_end())
    return false;
  out.push_back(std::move(s));
  return true;
}

// augment = "augment" IDENT ":" expr { "," expr } ";"?   (after `augment`)
// The transforms become a ListExpr value; the input's name is s.target.
bool Parser::parse_augment(Setting s, std::vector<Setting> &out) {
  s.target = tok().text, s.target_loc = tok().loc;
  next();
  if (!expect(Tok::Colon, "after `augment " + s.target + "`"))
    return false;
  auto list = std::make_unique<ListExpr>(tok().loc);
  do {
    ExprPtr e = parse_expr();
    if (!e)
      return false;
    list->elems.push_back(std::move(e));
  } while (consume(Tok::Comma));
  s.value = std::move(list);
  if (!parse_stmt_end())
    return false;
  out.push_back(std::move(s));
  return true;
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

ExprPtr Parser::check_height(ExprPtr e, std::initializer_list<const Expr *> kids) {
  for (const Expr *k : kids)
    e->height = std::max(e->height, k->height + 1);
  if (e->height > kMaxNesting) {
    error(e->loc, fmt::format("expression is nested too deeply (more than {} levels)", kMaxNesting),
          "split it into several statements");
    fatal_ = true;
    return nullptr;
  }
  return e;
}

// expr = pipe
ExprPtr Parser::parse_expr() {
  DepthGuard guard(depth_);
  if (guard.too_deep()) {
    error(tok().loc, fmt::format("expression is nested too deeply (more than {} levels)", kMaxNesting),
          "split it into several statements");
    fatal_ = true;
    return nullptr;
  }
  return parse_pipe();
}

// pipe = additive ("|>" additive)*      where each stage is IDENT or a call
ExprPtr Parser::parse_pipe() {
  ExprPtr e = parse_additive();
  while (e && is(Tok::Pipe)) {
    Loc op = tok().loc;
    next();
    ExprPtr stage = parse_additive();
    if (!stage)
      return nullptr;
    if (!stage->as<NameExpr>() && !stage->as<CallExpr>()) {
      error(stage->loc, "expected a layer or function after '|>'",
            "`x |> f(a)` means `f(x, a)`; parenthesise other expressions: `(x |> f) + 1`");
      return nullptr;
    }
    auto p = std::make_unique<PipeExpr>(op, std::move(e), std::move(stage));
    const Expr *a = p->input.get(), *b = p->stage.get();
    e = check_height(std::move(p), {a, b});
  }
  return e;
}

ExprPtr Parser::parse_binary_level(ExprPtr (Parser::*operand)(),
                                   std::optional<BinOp> (*op_of)(Tok)) {
  ExprPtr e = (this->*operand)();
  std::optional<BinOp> op;
  while (e && (op = op_of(tok().kind))) {
    Loc loc = tok().loc;
    next();
    ExprPtr rhs = (this->*operand)();
    if (!rhs)
      return nullptr;
    const Expr *a = e.get(), *b = rhs.get();
    e = check_height(std::make_unique<BinaryExpr>(loc, *op, std::move(e), std::move(rhs)), {a, b});
  }
  return e;
}

// additive = multiplicative (("+" | "-") multiplicative)*
ExprPtr Parser::parse_additive() {
  return parse_binary_level(&Parser::parse_multiplicative, [](Tok t) -> std::optional<BinOp> {
    if (t == Tok::Plus)
      return BinOp::Add;
    if (t == Tok::Minus)
      return BinOp::Sub;
    return std::nullopt;
  });
}

// multiplicative = unary (("*" | "/" | "@") unary)*
ExprPtr Parser::parse_multiplicative() {
  return parse_binary_level(&Parser::parse_unary, [](Tok t) -> std::optional<BinOp> {
    if (t == Tok::Star)
      return BinOp::Mul;
    if (t == Tok::Slash)
      return BinOp::Div;
    if (t == Tok::At)
      return BinOp::MatMul;
    return std::nullopt;
  });
}

// unary = "-" unary | primary
ExprPtr Parser::parse_unary() {
  if (!is(Tok::Minus))
    return parse_primary();
  DepthGuard guard(depth_);
  Loc loc = tok().loc;
  next();
  if (guard.too_deep()) {
    error(loc, fmt::format("expression is nested too deeply (more than {} levels)", kMaxNesting));
    fatal_ = true;
    return nullptr;
  }
  ExprPtr operand = parse_unary();
  if (!operand)
    return nullptr;
  const Expr *a = operand.get();
  return check_height(std::make_unique<UnaryExpr>(loc, std::move(operand)), {a});
}

// primary = NUMBER | STRING | "(" expr ")" | list | scan | IDENT ("(" args ")")?
ExprPtr Parser::parse_primary() {
  switch (tok().kind) {
  case Tok::Int:
  case Tok::Float:
    return parse_number();
  case Tok::String: {
    auto s = std::make_unique<StringExpr>(tok().loc, tok().text);
    next();
    return s;
  }
  case Tok::LParen: {
    Loc open = tok().loc;
    next();
    ExprPtr e = parse_expr();
    if (e && !expect(Tok::RParen, "to close the parenthesis")) {
      diag_.note(open, "the parenthesis opens here");
      return nullptr;
    }
    return e;
  }
  case Tok::LBracket:
    return parse_list();
  case Tok::Ident:
    if (is_word("scan") && peek().kind == Tok::Ident)
      return parse_scan();
    return parse_name_or_call();
  default:
    error_found("an expression");
    return nullptr;
  }
}

// number = INT | FLOAT
ExprPtr Parser::parse_number() {
  const Token &t = tok();
  auto n = std::make_unique<NumberExpr>(t.loc, t.text, t.float_value, t.kind == Tok::Int,
                                        t.int_value);
  next();
  return n;
}

// list = "[" (expr ("," expr)* ","?)? "]"
ExprPtr Parser::parse_list() {
  auto list = std::make_unique<ListExpr>(tok().loc);
  next(); // [
  while (!is(Tok::RBracket)) {
    ExprPtr e = parse_expr();
    if (!e)
      return nullptr;
    list->height = std::max(list->height, e->height + 1);
    list->elems.push_back(std::move(e));
    if (!consume(Tok::Comma))
      break;
  }
  if (!expect(Tok::RBracket, "to close the list"))
    return nullptr;
  return list;
}

// scan = "scan" IDENT "in" expr "," IDENT "=" expr "{" expr "}"
ExprPtr Parser::parse_scan() {
  auto s = std::make_unique<ScanExpr>(tok().loc);
  next(); // scan
  s->var = tok().text;
  next();
  if (!is_word("in")) {
    error_found("`in` after the scan variable `" + s->var + "`");
    return nullptr;
  }
  next();
  if (!(s->seq = parse_expr()) || !expect(Tok::Comma, "after the scanned sequence"))
    return nullptr;
  if (!is(Tok::Ident)) {
    error_found("the name of the scan state");
    return nullptr;
  }
  s->state = tok().text;
  next();
  if (!expect(Tok::Assign, "after the scan state `" + s->state + "`") ||
      !(s->init = parse_expr()) || !expect(Tok::LBrace, "to open the scan body") ||
      !(s->body = parse_expr()) || !expect(Tok::RBrace, "to close the scan body"))
    return nullptr;
  const Expr *a = s->seq.get(), *b = s->init.get(), *c = s->body.get();
  return check_height(std::move(s), {a, b, c});
}

// name_or_call = IDENT ("(" args ")")?
ExprPtr Parser::parse_name_or_call() {
  Loc loc = tok().loc;
  std::string name = tok().text;
  next();
  if (!is(Tok::LParen))
    return std::make_unique<NameExpr>(loc, name);
  auto call = std::make_unique<CallExpr>(loc, name);
  if (!parse_args(*call))
    return nullptr;
  return call;
}

// args = "(" (arg ("," arg)* ","?)? ")"
// arg  = (IDENT ":")? expr
bool Parser::parse_args(CallExpr &call) {
  next(); // (
  while (!is(Tok::RParen)) {
    Arg a;
    a.loc = tok().loc;
    if (is(Tok::Ident) && peek().kind == Tok::Colon) {
      a.name = tok().text;
      next();
      next();
    }
    if (!(a.value = parse_expr()))
      return false;
    call.height = std::max(call.height, a.value->height + 1);
    call.args.push_back(std::move(a));
    if (!consume(Tok::Comma))
      break;
  }
  return expect(Tok::RParen, "after arguments");
}

} // namespace

std::unique_ptr<File> parse_tokens(int32_t file, const std::vector<Token> &tokens,
                                   Diagnostics &diag) {
  return Parser(file, tokens, diag).parse_file();
}

} // namespace netc
