//===- AST.h - The .net abstract syntax tree -------------------*- C++ -*-===//
//
// The AST mirrors the source: a File holds declarations (model, def, train);
// a model holds typed inputs and statements; statements hold expressions.
// Expressions and declarations are small class hierarchies with a kind enum
// and classof(), queried with as<T>() (Toy's AST.h); there is no RTTI.
// Every node keeps the location of the token that best names it: a call its
// callee, a binary expression its operator, a statement its target name.
//
// The parser accepts some constructs lowering does not implement yet (def
// blocks); lowering reports them as "not supported yet".
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Diagnostics.h"
#include "ir/Types.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace netc::ast {

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

class Expr {
public:
  enum class Kind { Number, String, Name, List, Call, Unary, Binary, Pipe, Scan };

  Expr(Kind kind, Loc loc) : kind_(kind), loc(loc) {}
  virtual ~Expr() = default;
  Kind kind() const { return kind_; }

  /// This node as a T, or nullptr when it is another kind.
  template <typename T> const T *as() const {
    return T::classof(this) ? static_cast<const T *>(this) : nullptr;
  }

private:
  Kind kind_;

public:
  Loc loc;
  /// Longest path to a leaf (a leaf is 1). The parser bounds it, so every
  /// recursive walk over the tree has a bounded depth.
  int height = 1;
};

using ExprPtr = std::unique_ptr<Expr>;

/// `64`, `0.1`. Integers keep their exact value as well.
class NumberExpr : public Expr {
public:
  NumberExpr(Loc loc, std::string text, double value, bool is_int, int64_t int_value)
      : Expr(Kind::Number, loc), text(std::move(text)), value(value), is_int(is_int),
        int_value(int_value) {}
  static bool classof(const Expr *e) { return e->kind() == Kind::Number; }
  std::string text;
  double value;
  bool is_int;
  int64_t int_value;
};

/// `"train-images.gz"`, with escapes decoded.
class StringExpr : public Expr {
public:
  StringExpr(Loc loc, std::string value) : Expr(Kind::String, loc), value(std::move(value)) {}
  static bool classof(const Expr *e) { return e->kind() == Kind::String; }
  std::string value;
};

/// A value name (`image`), or a function used without arguments (`relu`).
class NameExpr : public Expr {
public:
  NameExpr(Loc loc, std::string name) : Expr(Kind::Name, loc), name(std::move(name)) {}
  static bool classof(const Expr *e) { return e->kind() == Kind::Name; }
  std::string name;
};

/// `[1, 2]`, `["body.*"]`.
class ListExpr : public Expr {
public:
  explicit ListExpr(Loc loc) : Expr(Kind::List, loc) {}
  static bool classof(const Expr *e) { return e->kind() == Kind::List; }
  std::vector<ExprPtr> elems;
};

/// One call argument: positional (`512`) or named (`momentum: 0.9`).
struct Arg {
  std::string name; // empty for a positional argument
  Loc loc;          // the name if named, else the value
  ExprPtr value;
};

/// `dense(512)`, `sgd(lr: 0.1)`. loc is the callee's.
class CallExpr : public Expr {
public:
  CallExpr(Loc loc, std::string callee) : Expr(Kind::Call, loc), callee(std::move(callee)) {}
  static bool classof(const Expr *e) { return e->kind() == Kind::Call; }
  std::string callee;
  std::vector<Arg> args;
};

/// `-x`. loc is the operator's.
class UnaryExpr : public Expr {
public:
  UnaryExpr(Loc loc, ExprPtr operand) : Expr(Kind::Unary, loc), operand(std::move(operand)) {}
  static bool classof(const Expr *e) { return e->kind() == Kind::Unary; }
  ExprPtr operand; // the operator is always '-'
};

enum class BinOp { Add, Sub, Mul, Div, MatMul };
/// "+", "-", "*", "/", "@".
const char *binop_spelling(BinOp op);

/// `a + b`, `x @ W`. loc is the operator's.
class BinaryExpr : public Expr {
public:
  BinaryExpr(Loc loc, BinOp op, ExprPtr lhs, ExprPtr rhs)
      : Expr(Kind::Binary, loc), op(op), lhs(std::move(lhs)), rhs(std::move(rhs)) {}
  static bool classof(const Expr *e) { return e->kind() == Kind::Binary; }
  BinOp op;
  ExprPtr lhs, rhs;
};

/// `input |> stage`: stage is a NameExpr (`relu`) or a CallExpr
/// (`dense(512)`), and receives input as its first argument. loc is `|>`.
class PipeExpr : public Expr {
public:
  PipeExpr(Loc loc, ExprPtr input, ExprPtr stage)
      : Expr(Kind::Pipe, loc), input(std::move(input)), stage(std::move(stage)) {}
  static bool classof(const Expr *e) { return e->kind() == Kind::Pipe; }
  ExprPtr input, stage;
};

/// `scan x_t in seq, state = init { body }`.
class ScanExpr : public Expr {
public:
  explicit ScanExpr(Loc loc) : Expr(Kind::Scan, loc) {}
  static bool classof(const Expr *e) { return e->kind() == Kind::Scan; }
  std::string var, state;
  ExprPtr seq, init, body;
};

//===----------------------------------------------------------------------===//
// Types, inputs and statements
//===----------------------------------------------------------------------===//

/// A per-example input type: `f32[28, 28]`, `f32` (a scalar), `i32[5]`,
/// `class<10>` (an integer label in [0, 10)), or `class<10>[64]` (64 labels,
/// e.g. the next token at each position of a sequence).
struct Type {
  enum class Kind { Tensor, Class };
  Kind kind = Kind::Tensor;
  DType dtype = DType::F32;
  Shape dims;          // per-example dimensions, without N (Class: usually none)
  int64_t classes = 0; // Class: the number of classes
  Loc loc;
  /// As written: "f32[28, 28]", "class<10>", "class<10>[64]".
  std::string str() const;
};

/// `image: f32[28, 28]` in a model's or def's parameter list.
struct Input {
  std::string name;
  Loc loc;
  bool has_type = false; // def parameters may be untyped
  Type type;
};

/// `h = expr`, `output prob = expr`, `loss expr`.
struct Stmt {
  enum class Kind { Assign, Output, Loss };
  Kind kind;
  std::string name; // "loss" for Kind::Loss
  Loc loc;          // the target name (Assign, Output) or the `loss` keyword
  ExprPtr value;
};

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

class Decl {
public:
  enum class Kind { Model, Def, Train };
  Decl(Kind kind, Loc loc, std::string name) : kind_(kind), loc(loc), name(std::move(name)) {}
  virtual ~Decl() = default;
  Kind kind() const { return kind_; }
  template <typename T> const T *as() const {
    return T::classof(this) ? static_cast<const T *>(this) : nullptr;
  }

private:
  Kind kind_;

public:
  Loc loc; // the declaration's name
  std::string name;
};

/// `model NAME(inputs) { stmts }`.
class ModelDecl : public Decl {
public:
  ModelDecl(Loc loc, std::string name) : Decl(Kind::Model, loc, std::move(name)) {}
  static bool classof(const Decl *d) { return d->kind() == Kind::Model; }
  std::vector<Input> inputs;
  std::vector<Stmt> stmts;
};

/// `def NAME(params) { stmts }`: a reusable block (parsed; lowering: not yet).
class DefDecl : public Decl {
public:
  DefDecl(Loc loc, std::string name) : Decl(Kind::Def, loc, std::move(name)) {}
  static bool classof(const Decl *d) { return d->kind() == Kind::Def; }
  std::vector<Input> inputs; // the block's parameters
  std::vector<Stmt> stmts;
};

/// `key = value` inside a train block, or `init PATTERN from SOURCE`: then
/// key is "init", pattern the parameter-name pattern and value the source.
struct Setting {
  std::string key;
  Loc loc;
  ExprPtr value;
  std::string pattern; // init only
  Loc pattern_loc;
  std::string target; // augment only: the input to augment
  Loc target_loc;
};

/// `train MODEL { settings }`. name is the model's.
class TrainDecl : public Decl {
public:
  TrainDecl(Loc loc, std::string model) : Decl(Kind::Train, loc, std::move(model)) {}
  static bool classof(const Decl *d) { return d->kind() == Kind::Train; }
  std::vector<Setting> settings;
};

/// One parsed .net file.
struct File {
  int32_t file = -1; // id in the SourceManager
  std::vector<std::unique_ptr<Decl>> decls;
};

} // namespace netc::ast
