//===- Lower.h - AST to IR lowering (internal) -----------------*- C++ -*-===//
//
// Internal interface shared by Lower.cpp (statements, names, operators,
// module assembly), Layers.cpp (the built-in layers and functions) and
// Train.cpp (the train block). The public entry point is lower_to_ir in
// Frontend.h.
//
// requires: a File the parser accepted.
// guarantees: on success, every node of @eval and @predict is well typed by
//   its op's shape rule and carries the location of the call or operator that
//   created it; every user error was reported with a location.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/AST.h"
#include "ir/IR.h"

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace netc {

/// A lowered value: the IR value, and, for a class<C> model input, the input
/// (losses check their label against it). id == kNoValue after an error that
/// was already reported; users of such a value report nothing more.
struct LValue {
  ValueId id = kNoValue;
  const ast::Input *class_input = nullptr;
  bool ok() const { return id != kNoValue; }
};

/// Lowers the statements of one model into IR functions.
class Lowerer {
public:
  /// Scan bodies go to `bodies` (functions of the module, built once each).
  Lowerer(const ast::ModelDecl &model, Diagnostics &diag, std::vector<ParamDecl> &params,
          std::vector<Function> &bodies);

  /// Checks names (undefined, redefined) before anything is lowered.
  bool check_names();
  /// Builds `f` from the model: Args for every input, then every statement
  /// in source order (with_loss = false skips `loss`). Its outputs are the
  /// `output` statements, or with all_named every named statement's value.
  /// Returns false on error.
  bool lower_function(Function &f, const std::string &name, bool with_loss,
                      bool all_named = false);

  // For Layers.cpp.
  Diagnostics &diag() { return diag_; }
  Builder &builder() { return *b_; }
  TensorType type(const LValue &v) const { return b_->type(v.id); }
  LValue lower_expr(const ast::Expr &e);
  /// Builds one IR node at `loc`; a shape-rule failure is reported there.
  LValue emit(Loc loc, OpKind k, std::vector<ValueId> operands, Attrs attrs = {});
  /// Declares parameter `name` (once per module) and returns its value.
  LValue make_param(Loc loc, const std::string &name, const TensorType &t,
                    const std::string &init);
  /// "<target>.<layer>[k]" for the layer call `site` of the current statement.
  std::string param_prefix(const ast::Expr &site, const std::string &layer) const;
  /// A scan over axis 1 of `seq` ([N, T, ...]) from `init` ([N, ...], f32),
  /// whose body is the function `name` (built unless it exists): `step`
  /// gets its step input and state arguments, builds the new state with
  /// builder() pointing at the body (layers called there put their
  /// parameters in the body), and returns it. Errors are reported at `loc`.
  LValue build_scan(Loc loc, const std::string &name, LValue seq, LValue init,
                    const std::string &step_name, const std::string &state_name,
                    const std::function<LValue(ValueId x, ValueId state)> &step);
  /// The last step of a sequence [N, T, ...]: [N, ...].
  LValue last_step(Loc loc, LValue seq);
  /// Whether `name` is a value of this model (input or statement).
  bool is_value_name(const std::string &name) const { return bindings_.count(name) != 0; }

private:
  struct Binding {
    enum class State { Pending, Active, Done };
    const ast::Input *input = nullptr; // exactly one of input, stmt
    const ast::Stmt *stmt = nullptr;
    Loc loc;
    State state = State::Pending;
    LValue value;
  };

  bool define(const std::string &name, Loc loc, Binding b);
  void number_layers(const ast::Stmt &s);
  LValue resolve(const std::string &name, Loc use);
  LValue lower_stmt(const ast::Stmt &s);
  LValue lower_name(const ast::NameExpr &e);
  LValue lower_unary(const ast::UnaryExpr &e);
  LValue lower_binary(const ast::BinaryExpr &e);
  LValue lower_loss(const ast::Stmt &s);
  LValue lower_scan(const ast::ScanExpr &s);
  bool check_f32(Loc loc, const std::string &what, const LValue &v);

  const ast::ModelDecl &model_;
  Diagnostics &diag_;
  std::vector<ParamDecl> &params_;
  Builder *b_ = nullptr;
  std::map<std::string, Binding> bindings_;
  /// Parameter prefix of every layer call site, fixed before lowering.
  std::map<const ast::Expr *, std::string> prefixes_;
  /// Parameters created by the current function, for duplicate detection.
  std::map<std::string, Loc> made_params_;
  int resolve_depth_ = 0;
  std::vector<Function> &bodies_;
  /// The function being lowered (statements' values live there).
  Function *top_ = nullptr;
  /// Inside a scan body: its step input and state by name; other names are
  /// imported from top_ when they are parameters or constants.
  const std::map<std::string, ValueId> *scope_ = nullptr;
  /// Where each explicit `scan` of a statement puts its body.
  std::map<const ast::Expr *, std::string> scan_names_;
};

//===----------------------------------------------------------------------===//
// Calls (Layers.cpp)
//===----------------------------------------------------------------------===//

/// A call as written (`dense(512)`), or a bare pipe stage (`|> relu`, no args).
struct CallSite {
  std::string callee;
  Loc loc;
  std::span<const ast::Arg> args;
  /// The AST node that names the layer: its parameters' prefix is keyed on it.
  const ast::Expr *site = nullptr;
};

/// Lowers a call to a built-in layer or function. `piped` is the value on the
/// left of `|>`, passed as the first argument, or nullptr.
LValue lower_call(Lowerer &L, const CallSite &call, const LValue *piped);
/// Whether `name` is a built-in (implemented or planned) layer or function.
bool is_builtin(const std::string &name);
/// Whether calls to `name` create parameters (and so are numbered per statement).
bool creates_params(const std::string &name);
/// Every built-in name, for did-you-mean hints.
std::vector<std::string> builtin_names();

/// One formal parameter of a built-in, optimizer or data source.
struct ParamSpec {
  const char *name;
  bool required;
};
/// Binds `call`'s arguments to `specs` by position and name. The piped
/// value, if any, fills the first spec. Returns one entry per spec (nullptr
/// where absent or piped), or nullopt after reporting the mismatch.
std::optional<std::vector<const ast::Expr *>> bind_args(const CallSite &call,
                                                        std::span<const ParamSpec> specs,
                                                        bool piped, Diagnostics &diag);

//===----------------------------------------------------------------------===//
// Literal helpers (Lower.cpp)
//===----------------------------------------------------------------------===//

/// The integer value of `64` or `-1`; nullopt for anything else.
std::optional<int64_t> literal_int(const ast::Expr &e);
/// The value of a number literal, possibly negated; nullopt otherwise.
std::optional<double> literal_number(const ast::Expr &e);
/// How an expression reads in "found ..." messages: "number 64.5",
/// "string \"x\"", "name `foo`", "a call to `foo`", "a list", "an expression".
std::string describe_expr(const ast::Expr &e);

//===----------------------------------------------------------------------===//
// The train block (Train.cpp)
//===----------------------------------------------------------------------===//

/// Flattens a train block into module config (`optimizer`, `optimizer.lr`,
/// `batch`, `data.images`, ...). Returns false after reporting errors.
bool lower_train_config(const ast::TrainDecl &t, Attrs &config, Diagnostics &diag);

/// Checks a train block's `augment INPUT: ...` settings against the model's
/// inputs and stores each list as `augment.INPUT` (frontend/Augment.cpp).
/// Returns false after reporting errors.
bool lower_augment(const ast::TrainDecl &t, const ast::ModelDecl &m, Attrs &config, Diagnostics &diag);

/// Applies a train block's `freeze` and `init ... from` to the model's
/// parameters (frozen = 1; init.from, init.path, ...): frontend/Transfer.cpp.
/// Returns false after reporting errors.
bool apply_transfer(const ast::TrainDecl &t, Module &m, Diagnostics &diag);

/// Whether a `freeze`/`init` pattern matches a parameter name: a shell glob
/// over the whole name, or over the scope it names (`body` matches `body.x.w`).
bool param_pattern_matches(const std::string &pattern, const std::string &name);

} // namespace netc
