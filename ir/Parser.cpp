//===- Parser.cpp - Text to IR --------------------------------------------===//
//
// This file implements a recursive-descent parser for the IR text format
// (docs/ir.md has the grammar; ir/Printer.cpp writes it). The grammar has no
// recursion deeper than one attribute list, so no input can exhaust the stack.
//
// Errors come in two kinds. A syntax error (a token the grammar does not
// allow) is reported and ends the parse. A semantic error (an undefined or
// redefined value, an unknown op, a wrong operand count) is reported and the
// parse goes on, so one run lists them all. Either way parse_module returns
// nullopt if anything was reported.
//
//===----------------------------------------------------------------------===//
#include "ir/Parser.h"

#include "ir/IRLexer.h"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>
#include <map>

namespace netc {
using namespace irtext;

namespace {

/// "did you mean `matmul`?" for the op spelling closest to `s`, if close.
std::string suggest_op(std::string_view s) {
  std::vector<std::string> names;
  for (OpKind k : all_ops())
    if (k != OpKind::Arg)
      names.push_back(op_name(k));
  return did_you_mean(std::string(s), names);
}

class Parser {
public:
  Parser(int32_t file, Diagnostics &diag)
      : file_(file), diag_(diag), lex_(diag.sources().text(file)) {
    bump();
  }

  std::optional<Module> run();

private:
  // Token handling.
  void bump() { tok_ = lex_.next(); }
  Loc loc(const Token &t) const { return Loc{file_, t.line, t.col}; }
  bool at(Tok k) const { return tok_.kind == k; }
  bool at_ident(const char *word) const { return tok_.kind == Tok::Ident && tok_.text == word; }
  /// Reports "expected <what>, found <tok>" (or the lexer's message) and
  /// returns false, so callers can `return fail(...)`.
  bool fail(const std::string &what);
  /// Consumes a token of kind `k`, or fails with "expected <what>".
  bool expect(Tok k, const std::string &what);
  void semantic_error(const Token &t, std::string msg, std::string hint = {}) {
    diag_.error(loc(t), std::move(msg), std::move(hint));
  }

  // Grammar rules, one per nonterminal of docs/ir.md.
  bool parse_module(Module &m);
  bool parse_decl(Module &m);
  bool parse_function(Module &m);
  bool parse_arg(Function &f);
  bool parse_statement(Function &f);
  bool parse_node(Function &f);
  bool parse_type(TensorType &t, const std::string &context);
  bool parse_dim(int64_t &d, bool in_type);
  bool parse_attr_dict(Attrs &a);
  bool parse_attr_value(AttrValue &v);
  bool parse_int(int64_t &v);
  bool parse_float(double &v);
  bool parse_optional_loc();
  bool parse_use(ValueId &v, const std::string &context);
  bool parse_binding(const std::string &lhs, ValueId &v);

  /// Symbol-table key of a %name: %0 and %"0" are different values.
  static std::string value_key(const Token &t) {
    bool numeric = !t.quoted && !t.text.empty() && t.text[0] >= '0' && t.text[0] <= '9';
    return numeric ? "#" + t.text : t.text;
  }
  void define_value(const Token &t, ValueId v);

  int32_t file_;
  Diagnostics &diag_;
  IRLexer lex_;
  Token tok_;
  /// The current function's values: key -> (id, where defined).
  std::map<std::string, std::pair<ValueId, Loc>> values_;
};

bool Parser::fail(const std::string &what) {
  if (tok_.kind == Tok::Error)
    diag_.error(loc(tok_), tok_.text);
  else
    diag_.error(loc(tok_), "expected " + what + ", found " + describe(tok_));
  return false;
}

bool Parser::expect(Tok k, const std::string &what) {
  if (tok_.kind != k)
    return fail(what);
  bump();
  return true;
}

std::optional<Module> Parser::run() {
  int errors_before = diag_.error_count();
  Module m;
  bool ok = parse_module(m);
  if (!ok || diag_.error_count() != errors_before)
    return std::nullopt;
  return m;
}

// module = "module" global ("attributes" attr-dict)? "{" (decl | function)* "}" EOF
bool Parser::parse_module(Module &m) {
  if (!at_ident("module"))
    return fail("'module'");
  bump();
  if (!at(Tok::Global))
    return fail("'@name' after 'module'");
  m.name = tok_.text;
  bump();
  if (at_ident("attributes")) {
    bump();
    if (!at(Tok::LBrace))
      return fail("'{' after 'attributes'");
    if (!parse_attr_dict(m.config))
      return false;
  }
  if (!expect(Tok::LBrace, "'{' to open the module body"))
    return false;
  while (!at(Tok::RBrace)) {
    bool ok;
    if (at_ident("param") || at_ident("state"))
      ok = parse_decl(m);
    else if (at_ident("func"))
      ok = parse_function(m);
    else
      return fail("'param', 'state', 'func' or '}'");
    if (!ok)
      return false;
  }
  bump();
  if (!at(Tok::Eof))
    return fail("end of input after the module");
  return true;
}

// decl = ("param" | "state") global ":" type attr-dict?
bool Parser::parse_decl(Module &m) {
  ParamDecl p;
  p.kind = tok_.text == "state" ? ParamKind::State : ParamKind::Param;
  p.loc = loc(tok_);
  std::string kw = tok_.text;
  bump();
  if (!at(Tok::Global))
    return fail("'@name' after '" + kw + "'");
  Token name = tok_;
  p.name = tok_.text;
  bump();
  if (!expect(Tok::Colon, "':' after parameter name"))
    return false;
  if (!parse_type(p.type, "the type of @" + p.name))
    return false;
  if (at(Tok::LBrace) && !parse_attr_dict(p.attrs))
    return false;
  if (m.find_param(p.name))
    semantic_error(name, "redefinition of parameter @" + p.name);
  m.params.push_back(std::move(p));
  return true;
}

// function = "func" global "(" (arg ("," arg)*)? ")" "{" statement* "}"
bool Parser::parse_function(Module &m) {
  Function f;
  f.loc = loc(tok_);
  bump();
  if (!at(Tok::Global))
    return fail("'@name' after 'func'");
  Token name = tok_;
  f.name = tok_.text;
  bump();
  values_.clear();
  if (!expect(Tok::LParen, "'(' after the function name"))
    return false;
  if (!at(Tok::RParen)) {
    for (;;) {
      if (!parse_arg(f))
        return false;
      if (!at(Tok::Comma))
        break;
      bump();
    }
  }
  if (!expect(Tok::RParen, "',' or ')' in the argument list"))
    return false;
  if (!expect(Tok::LBrace, "'{' to open the function body"))
    return false;
  while (!at(Tok::RBrace))
    if (!parse_statement(f))
      return false;
  bump();
  if (m.find_function(f.name))
    semantic_error(name, "redefinition of function @" + f.name);
  m.functions.push_back(std::move(f));
  return true;
}

// arg = local ":" type loc?
bool Parser::parse_arg(Function &f) {
  if (!at(Tok::Local))
    return fail("an argument '%name'");
  Token name = tok_;
  bump();
  if (name.text[0] >= '0' && name.text[0] <= '9' && !name.quoted)
    semantic_error(name, "argument " + std::string(name.spelling) + " needs a name, not a number",
                   "numbers are for values defined in the body; write %x or %\"0\"");
  if (!expect(Tok::Colon, "':' after argument " + std::string(name.spelling)))
    return false;
  TensorType t;
  if (!parse_type(t, "argument type"))
    return false;
  if (!parse_optional_loc())
    return false;
  ValueId id = static_cast<ValueId>(f.nodes.size());
  f.nodes.push_back(
      Node{OpKind::Arg, t, {}, Attrs{{"index", int64_t(id)}, {"name", name.text}}, loc(name)});
  define_value(name, id);
  return true;
}

void Parser::define_value(const Token &t, ValueId v) {
  auto [it, inserted] = values_.try_emplace(value_key(t), v, loc(t));
  if (!inserted) {
    Loc prev = it->second.second;
    semantic_error(t, "redefinition of " + std::string(t.spelling),
                   fmt::format("{} was first defined at line {}, column {}",
                               std::string(t.spelling), prev.line, prev.col));
  }
}

// use = local, naming a value defined earlier in the function.
bool Parser::parse_use(ValueId &v, const std::string &context) {
  if (!at(Tok::Local))
    return fail(context);
  auto it = values_.find(value_key(tok_));
  if (it == values_.end()) {
    semantic_error(tok_, "use of undefined value " + std::string(tok_.spelling));
    v = kNoValue;
  } else {
    v = it->second.first;
  }
  bump();
  return true;
}

// binding = "=" local   -- the tail of an output or update line (`lhs` is its head).
bool Parser::parse_binding(const std::string &lhs, ValueId &v) {
  return expect(Tok::Equal, "'=' after " + lhs) &&
         parse_use(v, "a value '%k' after '" + lhs + " ='");
}

// statement = local "=" node-body
//           | "output" (name | string) "=" local
//           | "update" global "=" local
bool Parser::parse_statement(Function &f) {
  if (at(Tok::Local))
    return parse_node(f);
  if (at_ident("output")) {
    bump();
    if (!at(Tok::Ident) && !at(Tok::String))
      return fail("an output name after 'output'");
    std::string name = tok_.text;
    bump();
    ValueId v;
    if (!parse_binding("output " + quote_name_if_needed(name), v))
      return false;
    f.outputs.push_back({name, v});
    return true;
  }
  if (at_ident("update")) {
    bump();
    if (!at(Tok::Global))
      return fail("'@param' after 'update'");
    std::string name = tok_.text;
    bump();
    ValueId v;
    if (!parse_binding("update @" + quote_name_if_needed(name), v))
      return false;
    f.updates.push_back({name, v});
    return true;
  }
  return fail("'%value = ...', 'output', 'update' or '}'");
}

// node-body = "param" global attr-dict? ":" type loc?
//           | "constant" number attr-dict? ":" type loc?
//           | op-name (local ("," local)*)? attr-dict? (":" type)? loc?
bool Parser::parse_node(Function &f) {
  Token result = tok_;
  bump();
  if (!expect(Tok::Equal, "'=' after " + std::string(result.spelling)))
    return false;
  if (!at(Tok::Ident))
    return fail("an op name after '" + std::string(result.spelling) + " ='");
  Token op_tok = tok_;
  bump();
  Node n{OpKind::Neg, {}, {}, {}, loc(result)};
  std::optional<OpKind> kind = parse_op_name(op_tok.text);
  bool type_required = false;
  if (kind == OpKind::Param) {
    type_required = true;
    if (!at(Tok::Global))
      return fail("'@name' after 'param'");
    n.attrs.set("name", tok_.text);
    bump();
  } else if (kind == OpKind::Constant) {
    type_required = true;
    double value;
    if (!parse_float(value))
      return false;
    n.attrs.set("value", value);
  } else {
    if (!kind)
      semantic_error(op_tok, "unknown op '" + op_tok.text + "'", suggest_op(op_tok.text));
    else if (kind == OpKind::Arg)
      semantic_error(op_tok, "'arg' is not an op; declare arguments in the function signature");
    // Operands: a comma-separated list of uses, possibly empty.
    if (at(Tok::Local)) {
      for (;;) {
        ValueId v;
        if (!parse_use(v, "an operand '%k' after ','"))
          return false;
        n.operands.push_back(v);
        if (!at(Tok::Comma))
          break;
        bump();
      }
    }
    if (kind && kind != OpKind::Arg && !arity_fits(*kind, n.operands.size()))
      semantic_error(op_tok, fmt::format("'{}' expects {} operand(s), found {}", op_tok.text,
                                         op_arity(*kind), n.operands.size()));
  }
  if (kind)
    n.op = *kind;
  if (at(Tok::LBrace)) {
    Attrs extra;
    if (!parse_attr_dict(extra))
      return false;
    for (const auto &[k, v] : extra.map()) {
      if (n.attrs.has(k))
        semantic_error(op_tok,
                       "attribute '" + k + "' of '" + op_tok.text + "' is already given inline");
      n.attrs.set(k, v);
    }
  }
  if (at(Tok::Colon)) {
    bump();
    if (!parse_type(n.type, "the result type of " + std::string(result.spelling)))
      return false;
  } else if (type_required) {
    return fail("':' and a type after '" + op_tok.text + "' (" + op_tok.text +
                " nodes need a type)");
  }
  if (!parse_optional_loc())
    return false;
  ValueId id = static_cast<ValueId>(f.nodes.size());
  f.nodes.push_back(std::move(n));
  define_value(result, id);
  return true;
}

// type = ("f32" | "i32") "[" (dim ("," dim)*)? "]"
bool Parser::parse_type(TensorType &t, const std::string &context) {
  if (!at(Tok::Ident))
    return fail("a type such as 'f32[N, 10]' for " + context);
  std::optional<DType> dt = parse_dtype(tok_.text);
  if (!dt) {
    diag_.error(loc(tok_), "unknown element type '" + tok_.text + "'",
                "element types are f32 and i32");
    return false;
  }
  t.dtype = *dt;
  t.shape.clear();
  bump();
  if (!expect(Tok::LBracket, "'[' after the element type"))
    return false;
  if (!at(Tok::RBracket)) {
    for (;;) {
      int64_t d;
      if (!parse_dim(d, /*in_type=*/true))
        return false;
      t.shape.push_back(d);
      if (!at(Tok::Comma))
        break;
      bump();
    }
  }
  return expect(Tok::RBracket, "',' or ']' in the shape");
}

// dim = "N" | int   (in a type the int must be non-negative)
bool Parser::parse_dim(int64_t &d, bool in_type) {
  if (at_ident("N")) {
    d = kBatch;
    bump();
    return true;
  }
  if (!at(Tok::Int))
    return fail(in_type ? "a dimension (N or a size)" : "an integer or N in the list");
  Token t = tok_;
  if (!parse_int(d))
    return false;
  if (in_type && d < 0) {
    diag_.error(loc(t), "dimension " + t.text + " is negative", "the batch dimension is N");
    return false;
  }
  return true;
}

// int = "-"? digit+, within int64.
bool Parser::parse_int(int64_t &v) {
  if (!at(Tok::Int))
    return fail("an integer");
  const std::string &s = tok_.text;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
    diag_.error(loc(tok_), "integer " + s + " is out of range");
    return false;
  }
  bump();
  return true;
}

// float = int | number with '.' or exponent | "inf" | "-inf" | "nan"
bool Parser::parse_float(double &v) {
  if (at_ident("inf") || at_ident("nan") || at(Tok::Float) || at(Tok::Int)) {
    const std::string &s = tok_.text;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
      diag_.error(loc(tok_), "number " + s + " is out of range for a float");
      return false;
    }
    bump();
    return true;
  }
  return fail("a number");
}

// attr-dict = "{" (attr ("," attr)*)? "}"
// attr      = (name | string) "=" attr-value
bool Parser::parse_attr_dict(Attrs &a) {
  bump(); // '{'
  if (at(Tok::RBrace))
    return bump(), true;
  for (;;) {
    if (!at(Tok::Ident) && !at(Tok::String))
      return fail("an attribute name");
    Token key = tok_;
    bump();
    if (!expect(Tok::Equal, "'=' after attribute name " + quote_name_if_needed(key.text)))
      return false;
    AttrValue v;
    if (!parse_attr_value(v))
      return false;
    if (a.has(key.text))
      semantic_error(key, "duplicate attribute '" + key.text + "'");
    a.set(key.text, std::move(v));
    if (!at(Tok::Comma))
      break;
    bump();
  }
  return expect(Tok::RBrace, "',' or '}' in the attributes");
}

// attr-value = int | float | string | "[" (dim ("," dim)*)? "]"
bool Parser::parse_attr_value(AttrValue &v) {
  if (at(Tok::Int)) {
    int64_t i;
    if (!parse_int(i))
      return false;
    v = i;
    return true;
  }
  if (at(Tok::Float) || at_ident("inf") || at_ident("nan")) {
    double d;
    if (!parse_float(d))
      return false;
    v = d;
    return true;
  }
  if (at(Tok::String)) {
    v = tok_.text;
    bump();
    return true;
  }
  if (!at(Tok::LBracket))
    return fail("an attribute value (integer, float, string or [list])");
  bump();
  std::vector<int64_t> list;
  if (!at(Tok::RBracket)) {
    for (;;) {
      int64_t d;
      if (!parse_dim(d, /*in_type=*/false))
        return false;
      list.push_back(d);
      if (!at(Tok::Comma))
        break;
      bump();
    }
  }
  if (!expect(Tok::RBracket, "',' or ']' in the list"))
    return false;
  v = std::move(list);
  return true;
}

// loc = "loc" "(" int ":" int ")"   -- accepted and ignored: a parsed node's
// location is where it stands in the file being read.
bool Parser::parse_optional_loc() {
  if (!at_ident("loc"))
    return true;
  bump();
  int64_t line, col;
  return expect(Tok::LParen, "'(' after 'loc'") && parse_int(line) &&
         expect(Tok::Colon, "':' between line and column") && parse_int(col) &&
         expect(Tok::RParen, "')' after the column");
}

} // namespace

std::optional<Module> parse_module(int32_t file, Diagnostics &diag) {
  Parser p(file, diag);
  return p.run();
}

} // namespace netc
