//===- Lower.cpp - AST to IR lowering -------------------------------------===//
//
// This file implements lower_to_ir: it picks the model, lowers it three times
// (@eval with the loss, @predict without, pruned to what the outputs need,
// and @inspect, whose outputs are the model's named values for the trainer's
// pictures),
// and attaches the train block's config. The Lowerer resolves names (any
// order, as long as they form a DAG), lowers operators with shape checks that
// name both operand types, and hands calls to Layers.cpp.
//
//===----------------------------------------------------------------------===//
#include "frontend/Lower.h"
#include "frontend/Frontend.h"
#include "frontend/Parser.h"

#include "ir/OpInfo.h"

#include <algorithm>
#include <fmt/format.h>
#include <set>

namespace netc {

using namespace ast;

//===----------------------------------------------------------------------===//
// Literal helpers
//===----------------------------------------------------------------------===//

std::optional<int64_t> literal_int(const Expr &e) {
  if (auto *n = e.as<NumberExpr>())
    return n->is_int ? std::optional<int64_t>(n->int_value) : std::nullopt;
  if (auto *u = e.as<UnaryExpr>())
    if (auto *n = u->operand->as<NumberExpr>(); n && n->is_int)
      return -n->int_value;
  return std::nullopt;
}

std::optional<double> literal_number(const Expr &e) {
  if (auto *n = e.as<NumberExpr>())
    return n->value;
  if (auto *u = e.as<UnaryExpr>())
    if (auto *n = u->operand->as<NumberExpr>())
      return -n->value;
  return std::nullopt;
}

std::string describe_expr(const Expr &e) {
  if (auto *n = e.as<NumberExpr>())
    return "number " + n->text;
  if (auto n = literal_number(e))
    return "number " + fmt::format("{}", *n);
  if (auto *s = e.as<StringExpr>())
    return "string \"" + s->value.substr(0, 40) + "\"";
  if (auto *n = e.as<NameExpr>())
    return "name `" + n->name + "`";
  if (auto *c = e.as<CallExpr>())
    return "a call to `" + c->callee + "`";
  if (e.as<ListExpr>())
    return "a list";
  return "an expression";
}

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

Lowerer::Lowerer(const ModelDecl &model, Diagnostics &diag, std::vector<ParamDecl> &params,
                 std::vector<Function> &bodies)
    : model_(model), diag_(diag), params_(params), bodies_(bodies) {}

bool Lowerer::define(const std::string &name, Loc loc, Binding b) {
  auto [it, fresh] = bindings_.emplace(name, b);
  if (fresh)
    return true;
  diag_.error(loc, fmt::format("redefinition of `{}`", name),
              "every name is defined once; pick a new name");
  diag_.note(it->second.loc, fmt::format("`{}` was first defined here", name));
  return false;
}

bool Lowerer::check_names() {
  int before = diag_.error_count();
  for (const Input &in : model_.inputs) {
    Binding b;
    b.input = &in;
    b.loc = in.loc;
    define(in.name, in.loc, b);
  }
  for (const Stmt &s : model_.stmts) {
    if (s.kind != Stmt::Kind::Loss) {
      if (s.kind == Stmt::Kind::Output && s.name == "loss") {
        diag_.error(s.loc, "`loss` names the model's loss and cannot name an output",
                    "pick another name, or write `loss expr`");
        continue;
      }
      if (is_builtin(s.name)) {
        diag_.error(s.loc, fmt::format("`{}` is a built-in function and cannot name a value",
                                       s.name),
                    "pick another name");
        continue;
      }
      Binding b;
      b.stmt = &s;
      b.loc = s.loc;
      define(s.name, s.loc, b);
    }
    number_layers(s);
  }
  return diag_.error_count() == before;
}

// Layer calls of one statement, in source order (a pre-order walk).
static void collect_layers(const Expr &e, std::vector<std::pair<const Expr *, std::string>> &out) {
  if (auto *c = e.as<CallExpr>(); c && creates_params(c->callee))
    out.push_back({&e, c->callee});
  if (auto *p = e.as<PipeExpr>()) {
    collect_layers(*p->input, out);
    if (auto *n = p->stage->as<NameExpr>(); n && creates_params(n->name))
      out.push_back({p->stage.get(), n->name});
    else
      collect_layers(*p->stage, out);
  } else if (auto *b = e.as<BinaryExpr>()) {
    collect_layers(*b->lhs, out);
    collect_layers(*b->rhs, out);
  } else if (auto *u = e.as<UnaryExpr>()) {
    collect_layers(*u->operand, out);
  } else if (auto *c = e.as<CallExpr>()) {
    for (const Arg &a : c->args)
      collect_layers(*a.value, out);
  } else if (auto *s = e.as<ScanExpr>()) {
    out.push_back({&e, "scan"});
    collect_layers(*s->seq, out);
    collect_layers(*s->init, out);
    collect_layers(*s->body, out);
  }
}

// The naming rule (docs/language.md): a layer's parameters are named
// `<target>.<layer>`; when a statement has several layers of one kind they
// are `<target>.<layer>1`, `<target>.<layer>2`, ... in source order.
void Lowerer::number_layers(const Stmt &s) {
  std::vector<std::pair<const Expr *, std::string>> layers;
  collect_layers(*s.value, layers);
  std::map<std::string, int> total, seen;
  for (auto &[site, kind] : layers)
    ++total[kind];
  for (auto &[site, kind] : layers) {
    int k = ++seen[kind];
    prefixes_[site] = s.name + "." + kind + (total[kind] > 1 ? std::to_string(k) : "");
  }
}

std::string Lowerer::param_prefix(const Expr &site, const std::string &layer) const {
  auto it = prefixes_.find(&site);
  return it != prefixes_.end() ? it->second : layer;
}

LValue Lowerer::resolve(const std::string &name, Loc use) {
  Binding &b = bindings_.at(name);
  if (b.state == Binding::State::Done)
    return b.value;
  if (b.state == Binding::State::Active) {
    diag_.error(use, fmt::format("`{}` is defined in terms of itself", name),
                "names must form a DAG; break the cycle");
    diag_.note(b.loc, fmt::format("`{}` is defined here", name));
    b.state = Binding::State::Done; // report the cycle once
    return b.value;
  }
  if (resolve_depth_ >= kMaxNesting) {
    diag_.error(use, fmt::format("definitions refer forward too deeply (more than {} levels)",
                                 kMaxNesting),
                "define names before using them");
    b.state = Binding::State::Done;
    return b.value;
  }
  b.state = Binding::State::Active;
  ++resolve_depth_;
  LValue v = lower_stmt(*b.stmt);
  --resolve_depth_;
  if (b.state == Binding::State::Active)
    b.value = v;
  b.state = Binding::State::Done;
  return b.value;
}

LValue Lowerer::lower_name(const NameExpr &e) {
  if (scope_) {
    if (auto it = scope_->find(e.name); it != scope_->end())
      return {it->second};
    if (bindings_.count(e.name)) {
      // A model value used in a scan body: parameters and constants are
      // read there again; anything computed per example is not visible.
      LValue v = resolve(e.name, e.loc);
      if (!v.ok())
        return {};
      const Node &n = top_->node(v.id);
      b_->set_loc(e.loc);
      if (n.op == OpKind::Param)
        for (const ParamDecl &p : params_)
          if (p.name == n.attrs.get_str("name"))
            return {b_->param(p)};
      if (n.op == OpKind::Constant)
        return {b_->constant(n.attrs.get_float("value"), n.type)};
      diag_.error(e.loc,
                  fmt::format("`{}` is computed outside the scan and cannot be used in its body",
                              e.name),
                  "a scan body sees its step input, its state, parameters and constants; "
                  "compute the value inside the body, or scan over it");
      return {};
    }
  }
  if (bindings_.count(e.name))
    return resolve(e.name, e.loc);
  if (is_builtin(e.name)) {
    diag_.error(e.loc, fmt::format("`{}` is a function, not a value", e.name),
                fmt::format("call it: `{0}(x)` or `x |> {0}`", e.name));
    return {};
  }
  std::vector<std::string> names;
  for (auto &[n, b] : bindings_)
    names.push_back(n);
  diag_.error(e.loc, fmt::format("undefined name `{}`", e.name), did_you_mean(e.name, names));
  return {};
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

LValue Lowerer::emit(Loc loc, OpKind k, std::vector<ValueId> operands, Attrs attrs) {
  b_->set_loc(loc);
  std::string err;
  ValueId v = b_->op(k, std::move(operands), std::move(attrs), &err);
  if (v == kNoValue)
    diag_.error(loc, fmt::format("{}: {}", op_name(k), err));
  return {v};
}

LValue Lowerer::make_param(Loc loc, const std::string &name, const TensorType &t,
                           const std::string &init) {
  auto [it, fresh] = made_params_.emplace(name, loc);
  if (!fresh) {
    diag_.error(loc, fmt::format("parameter `{}` is already defined", name),
                "give each layer a distinct `name:`");
    diag_.note(it->second, fmt::format("`{}` was first defined here", name));
    return {};
  }
  const ParamDecl *p = nullptr;
  for (const ParamDecl &q : params_)
    if (q.name == name)
      p = &q;
  if (!p) {
    params_.push_back(ParamDecl{name, ParamKind::Param, t, Attrs{{"init", init}}, loc});
    p = &params_.back();
  }
  b_->set_loc(loc);
  return {b_->param(*p)};
}

bool Lowerer::check_f32(Loc loc, const std::string &what, const LValue &v) {
  if (type(v).dtype == DType::F32)
    return true;
  diag_.error(loc, fmt::format("{} expects f32 values, found {}", what, type(v).str()),
              "class labels can only be passed to losses such as cross_entropy");
  return false;
}

LValue Lowerer::lower_expr(const Expr &e) {
  switch (e.kind()) {
  case Expr::Kind::Number:
    b_->set_loc(e.loc);
    return {b_->constant(e.as<NumberExpr>()->value)};
  case Expr::Kind::Name:
    return lower_name(*e.as<NameExpr>());
  case Expr::Kind::Unary:
    return lower_unary(*e.as<UnaryExpr>());
  case Expr::Kind::Binary:
    return lower_binary(*e.as<BinaryExpr>());
  case Expr::Kind::Call: {
    auto *c = e.as<CallExpr>();
    return lower_call(*this, CallSite{c->callee, c->loc, c->args, &e}, nullptr);
  }
  case Expr::Kind::Pipe: {
    auto *p = e.as<PipeExpr>();
    LValue in = lower_expr(*p->input);
    if (!in.ok())
      return {};
    if (auto *n = p->stage->as<NameExpr>())
      return lower_call(*this, CallSite{n->name, n->loc, {}, n}, &in);
    auto *c = p->stage->as<CallExpr>();
    return lower_call(*this, CallSite{c->callee, c->loc, c->args, c}, &in);
  }
  case Expr::Kind::Scan:
    return lower_scan(*e.as<ScanExpr>());
  case Expr::Kind::String:
  case Expr::Kind::List:
    diag_.error(e.loc, "expected a tensor value, found " + describe_expr(e));
    return {};
  }
  return {};
}

LValue Lowerer::lower_unary(const UnaryExpr &e) {
  if (auto v = literal_number(e)) {
    b_->set_loc(e.loc);
    return {b_->constant(*v)};
  }
  LValue x = lower_expr(*e.operand);
  if (!x.ok() || !check_f32(e.loc, "'-'", x))
    return {};
  return emit(e.loc, OpKind::Neg, {x.id});
}

LValue Lowerer::lower_binary(const BinaryExpr &e) {
  LValue a = lower_expr(*e.lhs);
  LValue b = lower_expr(*e.rhs);
  if (!a.ok() || !b.ok())
    return {};
  std::string op = fmt::format("'{}'", binop_spelling(e.op));
  if (!check_f32(e.loc, op, a) || !check_f32(e.loc, op, b))
    return {};
  const TensorType &ta = type(a), &tb = type(b);
  if (e.op == BinOp::MatMul) {
    if (ta.rank() != 2 || tb.rank() != 2) {
      diag_.error(e.loc, fmt::format("'@' (matmul) expects rank-2 operands, found {} @ {}",
                                     ta.str(), tb.str()),
                  "insert `flatten` to make an input rank 2");
      return {};
    }
    if (ta.shape[1] != tb.shape[0]) {
      diag_.error(e.loc, fmt::format("'@' (matmul) inner dimensions differ: {} @ {} ({} vs {})",
                                     ta.str(), tb.str(), dim_str(ta.shape[1]),
                                     dim_str(tb.shape[0])),
                  "the left operand's last dimension must equal the right operand's first");
      return {};
    }
    return emit(e.loc, OpKind::MatMul, {a.id, b.id});
  }
  if (!broadcast_shapes(ta.shape, tb.shape)) {
    diag_.error(e.loc, fmt::format("shapes of {} do not match: {} and {}", op, ta.str(), tb.str()),
                "elementwise operands need equal dimensions, or 1, aligned from the right");
    return {};
  }
  static const OpKind kinds[] = {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div};
  return emit(e.loc, kinds[static_cast<int>(e.op)], {a.id, b.id});
}

//===----------------------------------------------------------------------===//
// Scans
//===----------------------------------------------------------------------===//

// Model values a scan body names, resolved before the body is built (so
// their statements are lowered into the enclosing function, not the body).
static void free_names(const Expr &e, const std::set<std::string> &bound,
                       std::vector<const NameExpr *> &out) {
  if (auto *n = e.as<NameExpr>()) {
    if (!bound.count(n->name))
      out.push_back(n);
  } else if (auto *p = e.as<PipeExpr>()) {
    free_names(*p->input, bound, out);
    free_names(*p->stage, bound, out);
  } else if (auto *b = e.as<BinaryExpr>()) {
    free_names(*b->lhs, bound, out);
    free_names(*b->rhs, bound, out);
  } else if (auto *u = e.as<UnaryExpr>()) {
    free_names(*u->operand, bound, out);
  } else if (auto *c = e.as<CallExpr>()) {
    for (const Arg &a : c->args)
      free_names(*a.value, bound, out);
  } else if (auto *l = e.as<ListExpr>()) {
    for (const ExprPtr &x : l->elems)
      free_names(*x, bound, out);
  } else if (auto *s = e.as<ScanExpr>()) {
    free_names(*s->seq, bound, out);
    free_names(*s->init, bound, out);
    std::set<std::string> inner = bound;
    inner.insert(s->var);
    inner.insert(s->state);
    free_names(*s->body, inner, out);
  }
}

LValue Lowerer::build_scan(Loc loc, const std::string &name, LValue seq, LValue init,
                           const std::string &step_name, const std::string &state_name,
                           const std::function<LValue(ValueId x, ValueId state)> &step) {
  TensorType st = type(seq), it = type(init);
  if (st.rank() < 2 || st.shape[0] != kBatch || st.shape[1] == kBatch) {
    diag_.error(loc, "scan expects a sequence [N, T, ...] with time on axis 1, found " + st.str(),
                "declare the input with its length first, e.g. `seq: f32[20, 8]`");
    return {};
  }
  if (it.dtype != DType::F32 || it.rank() < 1 || it.shape[0] != kBatch) {
    diag_.error(loc, "the scan state must be f32 with one value per example [N, ...], found " +
                         it.str(),
                "start it from zeros(units)");
    return {};
  }
  Function body;
  body.name = name;
  body.loc = loc;
  Builder bb(body);
  bb.set_loc(loc);
  ValueId x = bb.arg(step_name, scan_step_type(st, 1));
  ValueId s = bb.arg(state_name, it);
  Builder *outer = b_;
  b_ = &bb;
  LValue out = step(x, s);
  b_ = outer;
  if (!out.ok())
    return {};
  if (body.type(out.id) != it) {
    diag_.error(loc, fmt::format("the scan body gives {}, but the state is {}",
                                 body.type(out.id).str(), it.str()),
                "the body's value is the new state, so it must keep the state's type");
    return {};
  }
  body.outputs.push_back({state_name, out.id});
  bool built = false;
  for (const Function &f : bodies_)
    built = built || f.name == name;
  if (!built)
    bodies_.push_back(std::move(body));
  return emit(loc, OpKind::Scan, {seq.id, init.id}, Attrs{{"body", name}, {"axis", int64_t(1)}});
}

LValue Lowerer::last_step(Loc loc, LValue seq) {
  TensorType t = type(seq);
  if (t.rank() < 2 || t.shape[0] != kBatch || t.shape[1] == kBatch) {
    diag_.error(loc, "last expects a sequence [N, T, ...], found " + t.str());
    return {};
  }
  LValue s = emit(loc, OpKind::Slice, {seq.id},
                  Attrs{{"axis", int64_t(1)}, {"begin", t.shape[1] - 1}, {"size", int64_t(1)}});
  return s.ok() ? emit(loc, OpKind::Reshape, {s.id}, Attrs{{"shape", scan_step_type(t, 1).shape}})
                : LValue{};
}

// scan x_t in seq, state = init { body }: the body becomes @<target>.scan.step.
LValue Lowerer::lower_scan(const ScanExpr &s) {
  if (scope_) {
    diag_.error(s.loc, "a scan inside a scan body is not supported",
                "write the inner recurrence as its own statement");
    return {};
  }
  LValue seq = lower_expr(*s.seq), init = lower_expr(*s.init);
  if (!seq.ok() || !init.ok())
    return {};
  if (s.var == s.state) {
    diag_.error(s.loc, fmt::format("the scan's step input and state are both named `{}`", s.var));
    return {};
  }
  std::vector<const NameExpr *> names;
  free_names(*s.body, {s.var, s.state}, names);
  for (const NameExpr *n : names)
    if (bindings_.count(n->name) && !resolve(n->name, n->loc).ok())
      return {};
  std::string name = param_prefix(s, "scan") + ".step";
  return build_scan(s.loc, name, seq, init, s.var, s.state, [&](ValueId x, ValueId st) {
    std::map<std::string, ValueId> scope{{s.var, x}, {s.state, st}};
    scope_ = &scope;
    LValue v = lower_expr(*s.body);
    scope_ = nullptr;
    return v;
  });
}

//===----------------------------------------------------------------------===//
// Statements and functions
//===----------------------------------------------------------------------===//

LValue Lowerer::lower_stmt(const Stmt &s) {
  if (s.kind == Stmt::Kind::Loss)
    return lower_loss(s);
  return lower_expr(*s.value);
}

// The loss is a scalar: a per-example loss f32[N] is averaged over the batch.
LValue Lowerer::lower_loss(const Stmt &s) {
  LValue v = lower_expr(*s.value);
  if (!v.ok())
    return {};
  const TensorType &t = type(v);
  if (t == TensorType{DType::F32, {}})
    return v;
  if (t == TensorType{DType::F32, {kBatch}})
    return emit(s.loc, OpKind::ReduceMean, {v.id},
                Attrs{{"axes", std::vector<int64_t>{0}}, {"keepdims", int64_t(0)}});
  diag_.error(s.value->loc,
              fmt::format("the loss must be a scalar or one value per example, found {}", t.str()),
              "reduce it, e.g. `loss mean(x)`");
  return {};
}

static TensorType input_type(const Input &in) {
  TensorType t{in.type.dtype, {kBatch}};
  t.shape.insert(t.shape.end(), in.type.dims.begin(), in.type.dims.end());
  return t;
}

bool Lowerer::lower_function(Function &f, const std::string &name, bool with_loss,
                             bool all_named) {
  int before = diag_.error_count();
  f = Function{};
  f.name = name;
  f.loc = model_.loc;
  Builder b(f);
  b_ = &b;
  top_ = &f;
  made_params_.clear();
  for (auto &[n, binding] : bindings_) {
    binding.state = Binding::State::Pending;
    binding.value = {};
  }
  for (const Input &in : model_.inputs) {
    b.set_loc(in.loc);
    Binding &binding = bindings_.at(in.name);
    binding.value = {b.arg(in.name, input_type(in)),
                     in.type.kind == Type::Kind::Class ? &in : nullptr};
    binding.state = Binding::State::Done;
  }
  LValue loss;
  for (const Stmt &s : model_.stmts) {
    if (diag_.error_count() >= kMaxErrors)
      break;
    if (s.kind == Stmt::Kind::Loss) {
      if (with_loss)
        loss = lower_loss(s);
      continue;
    }
    LValue v = resolve(s.name, s.loc);
    if ((s.kind == Stmt::Kind::Output || all_named) && v.ok())
      f.outputs.push_back({s.name, v.id});
  }
  if (loss.ok())
    f.outputs.push_back({"loss", loss.id});
  b_ = nullptr;
  return diag_.error_count() == before;
}

//===----------------------------------------------------------------------===//
// Module assembly
//===----------------------------------------------------------------------===//

namespace {

/// `f` without the nodes its outputs do not need, unused Args included;
/// the remaining Args are renumbered in order.
Function prune(const Function &f) {
  std::vector<bool> live = live_nodes(f, /*keep_args=*/false);
  Function out;
  out.name = f.name;
  out.loc = f.loc;
  std::vector<ValueId> remap(f.nodes.size(), kNoValue);
  int64_t arg_index = 0;
  for (size_t i = 0; i < f.nodes.size(); ++i) {
    if (!live[i])
      continue;
    Node n = f.nodes[i];
    for (ValueId &v : n.operands)
      v = remap[v];
    if (n.op == OpKind::Arg)
      n.attrs.set("index", arg_index++);
    remap[i] = static_cast<ValueId>(out.nodes.size());
    out.nodes.push_back(std::move(n));
  }
  for (const NamedValue &o : f.outputs)
    out.outputs.push_back({o.name, remap[o.value]});
  return out;
}

/// @inspect from a function with every named value as an output: only the
/// f32 values with the batch dimension outermost that do not depend on an
/// argument @predict lacks (the label), pruned.
Function inspect_function(Function all, const Function &predict) {
  std::vector<std::string> inputs;
  for (ValueId a : predict.args())
    inputs.push_back(predict.node(a).attrs.get_str("name"));
  std::vector<bool> label_dependent(all.nodes.size(), false);
  for (size_t i = 0; i < all.nodes.size(); ++i) {
    const Node &n = all.nodes[i];
    label_dependent[i] = n.op == OpKind::Arg && std::find(inputs.begin(), inputs.end(),
                                                          n.attrs.get_str("name")) == inputs.end();
    for (ValueId v : n.operands)
      label_dependent[i] = label_dependent[i] || label_dependent[v];
  }
  std::vector<NamedValue> kept;
  for (const NamedValue &o : all.outputs) {
    const TensorType &t = all.type(o.value);
    if (!label_dependent[o.value] && t.dtype == DType::F32 && !t.shape.empty() &&
        t.shape[0] == kBatch && all.node(o.value).op != OpKind::Arg)
      kept.push_back(o);
  }
  all.outputs = std::move(kept);
  return prune(all);
}

const ModelDecl *find_model(const File &f, const std::string &name) {
  for (const auto &d : f.decls)
    if (auto *m = d->as<ModelDecl>(); m && m->name == name)
      return m;
  return nullptr;
}

std::vector<std::string> model_names(const File &f) {
  std::vector<std::string> out;
  for (const auto &d : f.decls)
    if (d->as<ModelDecl>())
      out.push_back(d->name);
  return out;
}

/// Checks declarations file-wide: unique model names, train blocks naming
/// known models (once each), def blocks (not supported yet).
bool check_decls(const File &f, Diagnostics &diag) {
  int before = diag.error_count();
  std::map<std::string, const Decl *> models, trains;
  for (const auto &d : f.decls) {
    if (d->as<DefDecl>()) {
      diag.error(d->loc, "`def` blocks are not supported yet",
                 "see docs/language.md, Reusable blocks");
      continue;
    }
    auto &seen = d->as<ModelDecl>() ? models : trains;
    const char *what = d->as<ModelDecl>() ? "model" : "train block for";
    if (auto [it, fresh] = seen.emplace(d->name, d.get()); !fresh) {
      diag.error(d->loc, fmt::format("second {} `{}`", what, d->name));
      diag.note(it->second->loc, "the first is here");
    }
  }
  for (auto &[name, t] : trains)
    if (!models.count(name))
      diag.error(t->loc, fmt::format("train block names unknown model `{}`", name),
                 did_you_mean(name, model_names(f)));
  return diag.error_count() == before;
}

/// The model to lower: `name` if given, else the one the train block names,
/// else the only model.
const ModelDecl *pick_model(const File &f, const std::string &name, Diagnostics &diag) {
  std::vector<std::string> names = model_names(f);
  Loc file_loc{f.file, 1, 1};
  if (names.empty()) {
    diag.error(file_loc, "no model in file",
               "a .net file needs a `model NAME(inputs) { ... }` block");
    return nullptr;
  }
  if (!name.empty()) {
    if (const ModelDecl *m = find_model(f, name))
      return m;
    diag.error(Loc{f.file, 0, 0}, fmt::format("no model named `{}` in this file", name),
               did_you_mean(name, names));
    return nullptr;
  }
  for (const auto &d : f.decls)
    if (d->as<TrainDecl>())
      return find_model(f, d->name);
  if (names.size() > 1) {
    diag.error(file_loc, fmt::format("{} models and no train block: which one?", names.size()),
               "add a `train NAME { ... }` block, or choose one with --model");
    return nullptr;
  }
  return find_model(f, names[0]);
}

} // namespace

std::optional<Module> lower_to_ir(const File &f, const std::string &model_name,
                                  Diagnostics &diag) {
  if (!check_decls(f, diag))
    return std::nullopt;
  const ModelDecl *m = pick_model(f, model_name, diag);
  if (!m)
    return std::nullopt;
  Module mod;
  mod.name = m->name;
  std::vector<Function> bodies;
  Lowerer lowerer(*m, diag, mod.params, bodies);
  if (!lowerer.check_names())
    return std::nullopt;
  Function eval, predict, inspect;
  if (!lowerer.lower_function(eval, "eval", /*with_loss=*/true) ||
      !lowerer.lower_function(predict, "predict", /*with_loss=*/false) ||
      !lowerer.lower_function(inspect, "inspect", /*with_loss=*/false, /*all_named=*/true))
    return std::nullopt;
  for (Function &body : bodies)
    mod.functions.push_back(std::move(body));
  mod.functions.push_back(std::move(eval));
  mod.functions.push_back(prune(predict));
  inspect = inspect_function(std::move(inspect), mod.functions.back());
  if (!inspect.outputs.empty())
    mod.functions.push_back(std::move(inspect));
  for (const auto &d : f.decls)
    if (auto *t = d->as<TrainDecl>(); t && t->name == m->name)
      if (!(lower_train_config(*t, mod.config, diag) & apply_transfer(*t, mod, diag) &
            lower_augment(*t, *m, mod.config, diag)))
        return std::nullopt; // both run: every error of the block is reported
  mod.config.set("source.path", diag.sources().path(f.file));
  return mod;
}

} // namespace netc
