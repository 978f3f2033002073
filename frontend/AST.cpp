//===- AST.cpp - AST helpers and the AST printer --------------------------===//
//
// This file implements print_ast (`netc ir --emit=ast`): one node per line,
// children indented by two spaces, each line ending in the node's @line:col.
//
//   model mlp @1:7
//     input image: f32[28, 28] @1:11
//     assign h @2:5
//       pipe @2:20
//         name image @2:14
//         name flatten @2:23
//
//===----------------------------------------------------------------------===//
#include "frontend/AST.h"
#include "frontend/Frontend.h"
#include "frontend/Lexer.h"

#include <fmt/format.h>

namespace netc {

using namespace ast;

const char *ast::binop_spelling(BinOp op) {
  switch (op) {
  case BinOp::Add:
    return "+";
  case BinOp::Sub:
    return "-";
  case BinOp::Mul:
    return "*";
  case BinOp::Div:
    return "/";
  case BinOp::MatMul:
    return "@";
  }
  return "?";
}

std::string Type::str() const {
  std::string s = kind == Kind::Class ? fmt::format("class<{}>", classes) : dtype_name(dtype);
  if (dims.empty())
    return s;
  s += "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

namespace {

class AstPrinter {
public:
  std::string out;

  void file(const File &f) {
    for (const auto &d : f.decls)
      decl(*d);
  }

private:
  void line(int indent, const std::string &text, Loc loc) {
    out += std::string(indent * 2, ' ') + text + fmt::format(" @{}:{}\n", loc.line, loc.col);
  }

  static std::string quoted(const std::string &s) {
    std::string q = "\"";
    for (char c : s)
      q += c == '"' ? "\\\"" : c == '\\' ? "\\\\" : escape_byte(static_cast<unsigned char>(c));
    return q + "\"";
  }

  void decl(const Decl &d) {
    if (auto *m = d.as<ModelDecl>()) {
      line(0, "model " + m->name, m->loc);
      inputs(m->inputs);
      stmts(m->stmts);
    } else if (auto *f = d.as<DefDecl>()) {
      line(0, "def " + f->name, f->loc);
      inputs(f->inputs);
      stmts(f->stmts);
    } else if (auto *t = d.as<TrainDecl>()) {
      line(0, "train " + t->name, t->loc);
      for (const Setting &s : t->settings) {
        line(1, "setting " + s.key + (s.pattern.empty() ? "" : " " + s.pattern + " from"), s.loc);
        expr(2, *s.value, "");
      }
    }
  }

  void inputs(const std::vector<Input> &ins) {
    for (const Input &in : ins)
      line(1, "input " + in.name + (in.has_type ? ": " + in.type.str() : ""), in.loc);
  }

  void stmts(const std::vector<Stmt> &ss) {
    for (const Stmt &s : ss) {
      const char *kind = s.kind == Stmt::Kind::Assign   ? "assign "
                         : s.kind == Stmt::Kind::Output ? "output "
                                                        : "";
      line(1, s.kind == Stmt::Kind::Loss ? "loss" : kind + s.name, s.loc);
      expr(2, *s.value, "");
    }
  }

  // `label` prefixes the node's line (a named argument's "key: ").
  void expr(int ind, const Expr &e, const std::string &label) {
    switch (e.kind()) {
    case Expr::Kind::Number:
      return line(ind, label + "number " + e.as<NumberExpr>()->text, e.loc);
    case Expr::Kind::String:
      return line(ind, label + "string " + quoted(e.as<StringExpr>()->value), e.loc);
    case Expr::Kind::Name:
      return line(ind, label + "name " + e.as<NameExpr>()->name, e.loc);
    case Expr::Kind::List:
      line(ind, label + "list", e.loc);
      for (const ExprPtr &x : e.as<ListExpr>()->elems)
        expr(ind + 1, *x, "");
      return;
    case Expr::Kind::Call:
      line(ind, label + "call " + e.as<CallExpr>()->callee, e.loc);
      for (const Arg &a : e.as<CallExpr>()->args)
        expr(ind + 1, *a.value, a.name.empty() ? "" : a.name + ": ");
      return;
    case Expr::Kind::Unary:
      line(ind, label + "neg", e.loc);
      return expr(ind + 1, *e.as<UnaryExpr>()->operand, "");
    case Expr::Kind::Binary: {
      auto *b = e.as<BinaryExpr>();
      line(ind, label + "binary " + binop_spelling(b->op), e.loc);
      expr(ind + 1, *b->lhs, "");
      return expr(ind + 1, *b->rhs, "");
    }
    case Expr::Kind::Pipe:
      line(ind, label + "pipe", e.loc);
      expr(ind + 1, *e.as<PipeExpr>()->input, "");
      return expr(ind + 1, *e.as<PipeExpr>()->stage, "");
    case Expr::Kind::Scan: {
      auto *s = e.as<ScanExpr>();
      line(ind, label + "scan " + s->var + ", state " + s->state, e.loc);
      expr(ind + 1, *s->seq, "in: ");
      expr(ind + 1, *s->init, "init: ");
      return expr(ind + 1, *s->body, "body: ");
    }
    }
  }
};

} // namespace

std::string print_ast(const File &f) {
  AstPrinter p;
  p.file(f);
  return p.out;
}

} // namespace netc
