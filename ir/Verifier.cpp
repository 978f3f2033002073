//===- Verifier.cpp - IR well-formedness ----------------------------------===//
//
// This file implements verify_module. It checks, in order: unique parameter
// and function names; per function, the argument indices, each node's
// operands (in range and defined before use), arity, parameter references,
// and type (equal to the op's shape rule; for a scan also its body's
// signature); then outputs and updates; last, that scan bodies do not recurse.
//
// Every message starts with "verifier: " and names the node the way the
// printer does (%5 for the sixth non-argument node, %image for an argument),
// so it can be matched against `netc ir --emit=ir` output.
//
//===----------------------------------------------------------------------===//
#include "ir/Verifier.h"

#include "ir/IRLexer.h"
#include "ir/OpInfo.h"

#include <algorithm>
#include <fmt/format.h>
#include <functional>
#include <map>
#include <set>

namespace netc {

namespace {

class FunctionVerifier {
public:
  FunctionVerifier(const Module &m, const Function &f, Diagnostics &diag)
      : m_(m), f_(f), diag_(diag) {
    int k = 0;
    for (const Node &n : f.nodes)
      names_.push_back(n.op == OpKind::Arg ? "%" + quote_name_if_needed(n.attrs.get_str("name"))
                                           : "%" + std::to_string(k++));
  }

  bool run() {
    check_args();
    for (size_t i = 0; i < f_.nodes.size(); ++i)
      check_node(static_cast<ValueId>(i));
    check_results();
    return ok_;
  }

private:
  bool in_range(ValueId v) const { return v >= 0 && static_cast<size_t>(v) < f_.nodes.size(); }
  std::string name(ValueId v) const {
    return in_range(v) ? names_[v] : fmt::format("<value {}>", v);
  }
  /// Reports a problem with node `v`: "verifier: %5 (add): <msg>".
  void node_error(ValueId v, const std::string &msg) {
    diag_.error(f_.nodes[v].loc,
                fmt::format("verifier: {} ({}): {}", name(v), op_name(f_.nodes[v].op), msg));
    ok_ = false;
  }
  /// Reports a problem with the function itself: "verifier: @f: <msg>".
  void func_error(const std::string &msg) {
    diag_.error(f_.loc, fmt::format("verifier: @{}: {}", quote_name_if_needed(f_.name), msg));
    ok_ = false;
  }

  /// Arg nodes carry indices 0..n-1, each exactly once.
  void check_args() {
    std::vector<ValueId> args;
    for (size_t i = 0; i < f_.nodes.size(); ++i)
      if (f_.nodes[i].op == OpKind::Arg)
        args.push_back(static_cast<ValueId>(i));
    std::map<int64_t, ValueId> seen;
    for (ValueId a : args) {
      const Attrs &attrs = f_.nodes[a].attrs;
      if (!attrs.is_int("index")) {
        node_error(a, "argument has no integer 'index' attribute");
        continue;
      }
      int64_t idx = attrs.get_int("index");
      if (idx < 0 || idx >= static_cast<int64_t>(args.size()))
        node_error(a, fmt::format("argument index {} is out of range; the function has {} "
                                  "argument(s), indexed 0..{}",
                                  idx, args.size(), static_cast<int64_t>(args.size()) - 1));
      else if (auto [it, fresh] = seen.emplace(idx, a); !fresh)
        node_error(a, fmt::format("argument index {} is also used by {}", idx, name(it->second)));
    }
  }

  void check_node(ValueId v) {
    const Node &n = f_.nodes[v];
    bool operands_ok = true;
    for (size_t i = 0; i < n.operands.size(); ++i) {
      ValueId o = n.operands[i];
      if (!in_range(o)) {
        node_error(v, fmt::format("operand #{} refers to value {}, which does not exist "
                                  "(the function has {} nodes)",
                                  i, o, f_.nodes.size()));
        operands_ok = false;
      } else if (o >= v) {
        node_error(v, fmt::format("operand {} is defined after its use", name(o)));
        operands_ok = false;
      }
    }
    if (!arity_fits(n.op, n.operands.size())) {
      node_error(v,
                 fmt::format("expects {} operand(s), found {}", op_arity(n.op), n.operands.size()));
      return;
    }
    if (n.op == OpKind::Param)
      check_param_ref(v);
    if (!operands_ok)
      return;
    std::vector<TensorType> in;
    for (ValueId o : n.operands)
      in.push_back(f_.nodes[o].type);
    TypeResult r = infer_type(n, in);
    if (!r.type)
      node_error(v, r.error);
    else if (*r.type != n.type)
      node_error(v, fmt::format("type {} differs from {} given by the shape rule", n.type.str(),
                                r.type->str()));
    else if (n.op == OpKind::Scan)
      check_scan_body(v, in);
  }

  /// The body takes each sequence's step and the state, returns the state
  /// first, and has the output the node selects with the stated shape.
  void check_scan_body(ValueId v, const std::vector<TensorType> &in) {
    const Node &n = f_.nodes[v];
    std::string bname = n.attrs.get_str("body");
    std::string at = "@" + quote_name_if_needed(bname);
    const Function *body = m_.find_function(bname);
    if (!body)
      return node_error(v, "body " + at + " is not a function of the module");
    int64_t axis = n.attrs.get_int("axis"), output = n.attrs.get_int("output");
    std::vector<ValueId> args = body->args();
    if (args.size() != in.size())
      return node_error(v, fmt::format("body {} takes {} argument(s), but the scan passes {} "
                                       "(a step of each sequence, then the state)",
                                       at, args.size(), in.size()));
    for (size_t i = 0; i < in.size(); ++i) {
      TensorType want = i + 1 < in.size() ? scan_step_type(in[i], axis) : in[i];
      const TensorType &have = body->type(args[i]);
      if (have != want)
        node_error(v, fmt::format("argument #{} of body {} is {}, but the scan passes {}", i, at,
                                  have.str(), want.str()));
    }
    if (!body->updates.empty())
      node_error(v, "body " + at + " updates parameters; a scan body may only read them");
    if (body->outputs.empty())
      return node_error(v, "body " + at + " has no outputs; output 0 must be the new state");
    const TensorType &state = body->type(body->outputs[0].value);
    if (state != in.back())
      node_error(v, fmt::format("body {} returns the state as {}, but it starts as {}", at,
                                state.str(), in.back().str()));
    if (output >= static_cast<int64_t>(body->outputs.size()))
      return node_error(v, fmt::format("selects output {}, but body {} has {}", output, at,
                                       body->outputs.size()));
    const TensorType &sel = body->type(body->outputs[output].value);
    if (output > 0 && sel != TensorType{DType::F32, n.attrs.get_ints("shape")})
      node_error(v, fmt::format("states per-step shape {} for output {} of body {}, which is {}",
                                shape_str(n.attrs.get_ints("shape")), output, at, sel.str()));
  }

  /// A param node names a declared parameter or state, with its type.
  void check_param_ref(ValueId v) {
    const Node &n = f_.nodes[v];
    std::string pname = n.attrs.get_str("name");
    const ParamDecl *p = m_.find_param(pname);
    if (!p)
      node_error(v, "names undeclared parameter @" + quote_name_if_needed(pname));
    else if (p->type != n.type)
      node_error(v, fmt::format("type {} differs from the declaration of @{}, {}", n.type.str(),
                                quote_name_if_needed(pname), p->type.str()));
  }

  /// Outputs have unique names; updates write declared tensors of their type,
  /// each at most once.
  void check_results() {
    std::set<std::string> outputs;
    for (const NamedValue &o : f_.outputs) {
      if (!outputs.insert(o.name).second)
        func_error("duplicate output name '" + o.name + "'");
      if (!in_range(o.value))
        func_error(
            fmt::format("output '{}' refers to value {}, which does not exist", o.name, o.value));
    }
    std::set<std::string> updated;
    for (const Update &u : f_.updates) {
      std::string pname = "@" + quote_name_if_needed(u.param);
      if (!updated.insert(u.param).second)
        func_error("parameter " + pname + " is updated twice");
      const ParamDecl *p = m_.find_param(u.param);
      if (!in_range(u.value))
        func_error(
            fmt::format("update {} refers to value {}, which does not exist", pname, u.value));
      else if (!p)
        func_error("update of undeclared parameter " + pname);
      else if (p->type != f_.nodes[u.value].type)
        func_error(fmt::format("update {} = {} has type {}, but {} is declared {}", pname,
                               name(u.value), f_.nodes[u.value].type.str(), pname, p->type.str()));
    }
  }

  const Module &m_;
  const Function &f_;
  Diagnostics &diag_;
  std::vector<std::string> names_;
  bool ok_ = true;
};

/// Scan bodies form no cycle: a body that (transitively) scans itself would
/// never finish lowering or differentiating.
bool check_no_recursion(const Module &m, Diagnostics &diag) {
  std::map<std::string, std::vector<std::string>> calls;
  for (const Function &f : m.functions)
    for (const Node &n : f.nodes)
      if (n.op == OpKind::Scan)
        calls[f.name].push_back(n.attrs.get_str("body"));
  std::map<std::string, int> state; // 1 = on the current path, 2 = done
  std::vector<std::string> path;
  bool ok = true;
  std::function<void(const std::string &)> visit = [&](const std::string &name) {
    int &s = state[name];
    if (s == 2 || !ok)
      return;
    path.push_back(name);
    if (s == 1) {
      std::string cycle;
      for (auto it = std::find(path.begin(), path.end(), name); it != path.end(); ++it)
        cycle += (cycle.empty() ? "@" : " -> @") + quote_name_if_needed(*it);
      const Function *f = m.find_function(name);
      diag.error(f ? f->loc : Loc{}, "verifier: scan bodies are recursive: " + cycle);
      ok = false;
      return;
    }
    s = 1;
    for (const std::string &callee : calls[name])
      visit(callee);
    state[name] = 2;
    path.pop_back();
  };
  for (const Function &f : m.functions)
    visit(f.name);
  return ok;
}

} // namespace

bool verify_module(const Module &m, Diagnostics &diag) {
  bool ok = true;
  std::map<std::string, const ParamDecl *> params;
  for (const ParamDecl &p : m.params)
    if (auto [it, fresh] = params.emplace(p.name, &p); !fresh) {
      diag.error(p.loc, "verifier: duplicate parameter name @" + quote_name_if_needed(p.name));
      ok = false;
    }
  std::set<std::string> functions;
  for (const Function &f : m.functions) {
    if (!functions.insert(f.name).second) {
      diag.error(f.loc, "verifier: duplicate function name @" + quote_name_if_needed(f.name));
      ok = false;
    }
    ok &= FunctionVerifier(m, f, diag).run();
  }
  return check_no_recursion(m, diag) && ok;
}

} // namespace netc
