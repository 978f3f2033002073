//===- Printer.cpp - IR to text and Graphviz ------------------------------===//
//
// This file implements the IR text printer (grammar in docs/ir.md) and the
// Graphviz dump. Output depends only on the module's contents: attributes are
// a sorted map, values are numbered in node order, and nothing is keyed by
// pointer. The printer never asserts on malformed IR (the verifier's job is to
// complain); a dangling operand prints as `%<bad:17>`, which the parser
// rejects.
//
//===----------------------------------------------------------------------===//
#include "ir/Printer.h"

#include "ir/IRLexer.h"

#include <fmt/format.h>

namespace netc {

namespace {

/// The names values print as: `%image` for arguments, `%k` for the k-th
/// non-argument node.
std::vector<std::string> value_names(const Function &f) {
  std::vector<std::string> names(f.nodes.size());
  int k = 0;
  for (size_t i = 0; i < f.nodes.size(); ++i) {
    const Node &n = f.nodes[i];
    if (n.op == OpKind::Arg)
      names[i] = "%" + quote_name_if_needed(n.attrs.get_str("name"));
    else
      names[i] = "%" + std::to_string(k++);
  }
  return names;
}

std::string value_ref(const std::vector<std::string> &names, ValueId v) {
  if (v < 0 || static_cast<size_t>(v) >= names.size())
    return fmt::format("%<bad:{}>", v);
  return names[v];
}

/// `{k = v, ...}` with a leading space, or nothing for no attributes. Keys in
/// `skip` (already shown elsewhere on the line) are left out.
std::string attrs_str(const Attrs &a, std::initializer_list<const char *> skip = {}) {
  std::string out;
  for (const auto &[k, v] : a.map()) {
    bool skipped = false;
    for (const char *s : skip)
      skipped |= k == s;
    if (skipped)
      continue;
    out += out.empty() ? " {" : ", ";
    out += quote_name_if_needed(k) + " = " + attr_value_str(v);
  }
  return out.empty() ? out : out + "}";
}

std::string loc_str(const Loc &loc, const PrintOptions &opts) {
  if (!opts.locations || !loc.valid())
    return {};
  return fmt::format(" loc({}:{})", loc.line, loc.col);
}

/// node = value "=" op-body attrs? (":" type)? loc?
std::string node_str(const Node &n, const std::vector<std::string> &names,
                     const PrintOptions &opts) {
  std::string s = std::string(op_name(n.op));
  // Leaves show their defining attribute inline; every other op lists operands.
  if (n.op == OpKind::Param) {
    s += " @" + quote_name_if_needed(n.attrs.get_str("name"));
    s += attrs_str(n.attrs, {"name"});
  } else if (n.op == OpKind::Constant) {
    s += " " + attr_value_str(n.attrs.get_float("value"));
    s += attrs_str(n.attrs, {"value"});
  } else {
    for (size_t i = 0; i < n.operands.size(); ++i)
      s += (i ? ", " : " ") + value_ref(names, n.operands[i]);
    s += attrs_str(n.attrs);
  }
  return s + " : " + n.type.str() + loc_str(n.loc, opts);
}

void print_function_into(std::string &out, const Function &f, const PrintOptions &opts,
                         const std::string &indent) {
  std::vector<std::string> names = value_names(f);
  out += indent + "func @" + quote_name_if_needed(f.name) + "(";
  std::vector<ValueId> args = f.args();
  for (size_t i = 0; i < args.size(); ++i) {
    const Node &a = f.nodes[args[i]];
    out += (i ? ", " : "") + names[args[i]] + ": " + a.type.str() + loc_str(a.loc, opts);
  }
  out += ") {\n";
  const std::string body = indent + "  ";
  for (size_t i = 0; i < f.nodes.size(); ++i)
    if (f.nodes[i].op != OpKind::Arg)
      out += body + names[i] + " = " + node_str(f.nodes[i], names, opts) + "\n";
  for (const NamedValue &o : f.outputs)
    out +=
        body + "output " + quote_name_if_needed(o.name) + " = " + value_ref(names, o.value) + "\n";
  for (const Update &u : f.updates)
    out += body + "update @" + quote_name_if_needed(u.param) + " = " + value_ref(names, u.value) +
           "\n";
  out += indent + "}\n";
}

/// Escapes a string for a double-quoted Graphviz label.
std::string dot_escape(const std::string &s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

} // namespace

std::string print_function(const Function &f, const PrintOptions &opts) {
  std::string out;
  print_function_into(out, f, opts, "");
  return out;
}

std::string print_module(const Module &m, const PrintOptions &opts) {
  std::string out = "module @" + quote_name_if_needed(m.name);
  if (!m.config.empty())
    out += " attributes" + attrs_str(m.config);
  out += " {\n";
  for (const ParamDecl &p : m.params)
    out += fmt::format("  {} @{} : {}{}\n", p.kind == ParamKind::State ? "state" : "param",
                       quote_name_if_needed(p.name), p.type.str(), attrs_str(p.attrs));
  for (size_t i = 0; i < m.functions.size(); ++i) {
    if (i > 0 || !m.params.empty())
      out += "\n";
    print_function_into(out, m.functions[i], opts, "  ");
  }
  return out + "}\n";
}

std::string print_dot(const Function &f) {
  std::vector<std::string> names = value_names(f);
  std::string out = "digraph \"" + dot_escape(f.name) + "\" {\n";
  out += "  rankdir=TB;\n  node [fontname=\"monospace\"];\n";
  for (size_t i = 0; i < f.nodes.size(); ++i) {
    const Node &n = f.nodes[i];
    bool leaf = n.op == OpKind::Arg || n.op == OpKind::Param;
    std::string label = names[i];
    if (n.op == OpKind::Param)
      label += " param @" + n.attrs.get_str("name");
    else if (n.op != OpKind::Arg)
      label += std::string(" ") + op_name(n.op);
    label += "\n" + n.type.str();
    out += fmt::format("  v{} [shape={}, label=\"{}\"];\n", i, leaf ? "ellipse" : "box",
                       dot_escape(label));
  }
  for (size_t i = 0; i < f.nodes.size(); ++i)
    for (ValueId v : f.nodes[i].operands)
      if (v >= 0 && static_cast<size_t>(v) < f.nodes.size())
        out += fmt::format("  v{} -> v{};\n", v, i);
  auto sink = [&](const std::string &id, const std::string &label, ValueId v) {
    out += fmt::format("  {} [shape=doubleoctagon, label=\"{}\"];\n", id, dot_escape(label));
    if (v >= 0 && static_cast<size_t>(v) < f.nodes.size())
      out += fmt::format("  v{} -> {};\n", v, id);
  };
  for (size_t i = 0; i < f.outputs.size(); ++i)
    sink(fmt::format("out{}", i), "output " + f.outputs[i].name, f.outputs[i].value);
  for (size_t i = 0; i < f.updates.size(); ++i)
    sink(fmt::format("upd{}", i), "update @" + f.updates[i].param, f.updates[i].value);
  return out + "}\n";
}

} // namespace netc
