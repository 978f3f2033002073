//===- KernelGroups.cpp - Which IR nodes form one kernel ------------------===//
#include "codegen/KernelGroups.h"

#include "passes/Fusion.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <set>

namespace netc::codegen {

namespace {

/// Bumped whenever the Halide lowering or schedules change what a kernel
/// compiles to, so cached objects from older netc builds are not reused.
constexpr const char *kCodegenVersion = "netc-codegen-9";

bool inlinable(OpKind k) { return k == OpKind::Constant || k == OpKind::BatchSize; }

bool pointwise_op(const Node &n) {
  FusionClass c = op_fusion_class(n.op);
  return !is_leaf(n) && std::string(op_family(n.op)) == "Elementwise" &&
         (c == FusionClass::Elementwise || c == FusionClass::Broadcast);
}

} // namespace

std::string kernel_key(const Function &f, const Kernel &k) {
  std::map<ValueId, std::string> local;
  std::string key = kCodegenVersion;
  for (size_t i = 0; i < k.inputs.size(); ++i) {
    local[k.inputs[i]] = "in" + std::to_string(i);
    key += fmt::format("|in{}:{}", i, f.type(k.inputs[i]).str());
  }
  for (size_t i = 0; i < k.nodes.size(); ++i) {
    const Node &n = f.node(k.nodes[i]);
    key += fmt::format("|n{}={}", i, op_name(n.op));
    for (ValueId v : n.operands)
      key += " " + local.at(v);
    for (const auto &[name, value] : n.attrs.map())
      if (name != kKernelAttr)
        key += fmt::format(" {}={}", name, attr_value_str(value));
    key += ":" + n.type.str();
    local[k.nodes[i]] = "n" + std::to_string(i);
  }
  for (ValueId v : k.also)
    key += "|also " + local.at(v);
  if (k.exact_tails)
    key += "|exact";
  if (k.long_reduction)
    key += "|long";
  if (k.accumulate)
    key += "|accumulate";
  if (k.packed_rhs >= 0)
    key += fmt::format("|packed in{} by {}", k.packed_rhs, k.panel);
  if (k.schedule != "manual")
    key += fmt::format("|schedule={}@{}", k.schedule, k.batch_estimate);
  return key;
}


bool is_leaf(const Node &n) { return n.op == OpKind::Arg || n.op == OpKind::Param; }

std::vector<std::pair<ValueId, int64_t>> concat_parts(const Function &body, const Kernel &k,
                                                      std::set<ValueId> *joins) {
  auto joining = [&](ValueId v) {
    const Node &n = body.node(v);
    return n.op == OpKind::Concat && n.attrs.get_int("axis") == n.type.rank() - 1 &&
           std::find(k.nodes.begin(), k.nodes.end(), v) != k.nodes.end();
  };
  joins->clear();
  std::vector<std::pair<ValueId, int64_t>> parts;
  if (!joining(k.nodes.back()))
    return parts;
  std::vector<std::pair<ValueId, int64_t>> todo = {{k.nodes.back(), 0}};
  while (!todo.empty()) { // depth first, left operand first
    auto [v, col] = todo.back();
    todo.pop_back();
    if (joining(v)) {
      joins->insert(v);
      const Node &n = body.node(v);
      todo.emplace_back(n.operands[1], col + body.type(n.operands[0]).shape.back());
      todo.emplace_back(n.operands[0], col);
    } else {
      for (const auto &p : parts)
        if (p.first == v)
          return {};
      parts.emplace_back(v, col);
    }
  }
  return parts;
}

std::vector<std::vector<ValueId>> kernel_groups(const Function &f,
                                                const std::vector<bool> &is_result) {
  std::vector<std::vector<ValueId>> groups;
  bool fused = std::any_of(f.nodes.begin(), f.nodes.end(),
                           [](const Node &n) { return n.attrs.has(kKernelAttr); });
  for (size_t i = 0; i < f.nodes.size(); ++i) {
    const Node &n = f.nodes[i];
    ValueId v = static_cast<ValueId>(i);
    if (fused) {
      if (!n.attrs.has(kKernelAttr))
        continue;
      size_t k = static_cast<size_t>(n.attrs.get_int(kKernelAttr));
      if (groups.size() <= k)
        groups.resize(k + 1);
      groups[k].push_back(v);
    } else if (!is_leaf(n) && (!inlinable(n.op) || is_result[i])) {
      groups.push_back({v});
    }
  }
  // Kernels run in the order of their roots.
  std::sort(groups.begin(), groups.end(),
            [](const auto &a, const auto &b) { return a.back() < b.back(); });
  for (const auto &g : groups)
    NETC_ASSERT(!g.empty(), "@" + f.name + ": kernel numbers must be dense");
  return groups;
}

std::vector<bool> co_outputs(const Function &f, const std::vector<std::vector<ValueId>> &groups,
                             const std::vector<bool> &is_result) {
  size_t n = f.nodes.size();
  std::vector<int> group(n, -1);
  for (size_t g = 0; g < groups.size(); ++g)
    for (ValueId v : groups[g])
      group[v] = static_cast<int>(g);
  std::vector<std::vector<ValueId>> users(n);
  for (size_t i = 0; i < n; ++i)
    for (ValueId o : f.nodes[i].operands)
      users[o].push_back(static_cast<ValueId>(i));
  // Whether a kernel other than `g` reads `v`, looking through inline nodes.
  auto read_outside = [&](auto &self, ValueId v, int g) -> bool {
    for (ValueId u : users[v]) {
      if (group[u] < 0 ? self(self, u, g) : group[u] != g)
        return true;
    }
    return false;
  };
  std::vector<bool> out(n, false);
  for (size_t g = 0; g < groups.size(); ++g)
    for (ValueId v : groups[g])
      out[v] = v != groups[g].back() &&
               (is_result[v] || read_outside(read_outside, v, static_cast<int>(g)));
  return out;
}

Kernel make_kernel(const Function &f, const std::vector<ValueId> &members,
                   const std::vector<bool> &in_slot) {
  std::set<ValueId> nodes(members.begin(), members.end());
  std::vector<ValueId> work(members.begin(), members.end());
  while (!work.empty()) {
    ValueId v = work.back();
    work.pop_back();
    for (ValueId o : f.node(v).operands)
      if (!in_slot[o] && nodes.insert(o).second)
        work.push_back(o);
  }
  Kernel k;
  k.function = &f;
  k.nodes.assign(nodes.begin(), nodes.end());
  NETC_ASSERT(k.nodes.back() == members.back(), "@" + f.name + ": a kernel's root must be last");
  for (ValueId v : k.nodes)
    for (ValueId o : f.node(v).operands)
      if (!nodes.count(o) && std::find(k.inputs.begin(), k.inputs.end(), o) == k.inputs.end())
        k.inputs.push_back(o);
  return k;
}

bool reads_pointwise(const Function &f, const Kernel &k, ValueId p) {
  const TensorType &t = f.type(k.nodes.back());
  if (f.type(p) != t)
    return false;
  std::map<ValueId, bool> pw;
  for (size_t i = k.nodes.size(); i-- > 0;) {
    ValueId v = k.nodes[i];
    bool ok = pointwise_op(f.node(v)) && f.type(v) == t;
    for (size_t j = i + 1; j < k.nodes.size() && ok; ++j) {
      const auto &ops = f.node(k.nodes[j]).operands;
      if (std::find(ops.begin(), ops.end(), v) != ops.end())
        ok = pw[k.nodes[j]];
    }
    pw[v] = ok;
  }
  for (ValueId v : k.nodes) {
    const auto &ops = f.node(v).operands;
    if (std::find(ops.begin(), ops.end(), p) != ops.end() && !pw[v])
      return false;
  }
  return true;
}

} // namespace netc::codegen
