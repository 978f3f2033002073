//===- Plan.cpp - Kernels and buffer slots of a module --------------------===//
#include "codegen/Plan.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>

namespace netc::codegen {

std::string stable_hash(const std::string &text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return fmt::format("{:016x}", h);
}

namespace {

/// Bumped whenever the Halide lowering or schedules change what a kernel
/// compiles to, so cached objects from older netc builds are not reused.
constexpr const char *kCodegenVersion = "netc-codegen-1";

bool inlinable(OpKind k) { return k == OpKind::Constant || k == OpKind::BatchSize; }

/// The key text of a kernel: its nodes with operands renamed to kernel-local
/// names (in0, in1, ... for inputs; n0, n1, ... for its own nodes).
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
      key += fmt::format(" {}={}", name, attr_value_str(value));
    key += ":" + n.type.str();
    local[k.nodes[i]] = "n" + std::to_string(i);
  }
  return key;
}

class Planner {
public:
  Planner(const Module &m, const std::string &target) : m_(m), target_(target) {}

  ModelPlan run() {
    for (const ParamDecl &p : m_.params) {
      param_slot_[p.name] = static_cast<int>(plan_.slots.size());
      plan_.slots.push_back({p.type, p.kind == ParamKind::Param ? "param" : "state", p.name});
    }
    for (const Function &f : m_.functions)
      plan_.functions.push_back(plan_function(f));
    return std::move(plan_);
  }

private:
  int new_slot(const TensorType &t, const char *role, const std::string &name) {
    plan_.slots.push_back({t, role, name});
    return static_cast<int>(plan_.slots.size() - 1);
  }

  int intern_kernel(Kernel k) {
    k.key = kernel_key(*k.function, k);
    k.symbol = "netc_k_" + stable_hash(k.key + "|" + target_);
    auto it = kernel_index_.find(k.symbol);
    if (it != kernel_index_.end())
      return it->second;
    plan_.kernels.push_back(std::move(k));
    int index = static_cast<int>(plan_.kernels.size() - 1);
    kernel_index_[plan_.kernels.back().symbol] = index;
    return index;
  }

  FunctionPlan plan_function(const Function &f) {
    FunctionPlan fp;
    fp.name = f.name;
    // Values used as results need a slot even when they are inlinable leaves.
    std::vector<bool> is_result(f.nodes.size(), false);
    for (const NamedValue &o : f.outputs)
      is_result[o.value] = true;
    for (const Update &u : f.updates)
      is_result[u.value] = true;

    std::vector<int> slot(f.nodes.size(), -1);
    for (size_t i = 0; i < f.nodes.size(); ++i) {
      const Node &n = f.nodes[i];
      if (n.op == OpKind::Arg) {
        slot[i] = new_slot(n.type, "arg", n.attrs.get_str("name"));
        fp.args.push_back({n.attrs.get_str("name"), slot[i]});
        continue;
      }
      if (n.op == OpKind::Param) {
        slot[i] = param_slot_.at(n.attrs.get_str("name"));
        continue;
      }
      if (inlinable(n.op) && !is_result[i])
        continue;
      Kernel k;
      k.function = &f;
      for (ValueId v : n.operands) {
        if (slot[v] >= 0) {
          if (std::find(k.inputs.begin(), k.inputs.end(), v) == k.inputs.end())
            k.inputs.push_back(v);
        } else {
          k.nodes.push_back(v); // an inlined constant or batch_size
        }
      }
      k.nodes.push_back(static_cast<ValueId>(i));
      slot[i] = new_slot(n.type, "temp", "%" + std::to_string(i));
      KernelCall call{intern_kernel(std::move(k)), {}, slot[i]};
      for (ValueId v : inputs_of(n, slot))
        call.inputs.push_back(slot[v]);
      fp.calls.push_back(std::move(call));
    }
    for (const NamedValue &o : f.outputs)
      fp.outputs.push_back({o.name, slot[o.value]});
    for (const Update &u : f.updates) {
      int to = param_slot_.at(u.param);
      fp.updates.push_back({u.param, slot[u.value]});
      if (slot[u.value] != to)
        fp.copies.push_back({slot[u.value], to, 4 * static_elements(f.type(u.value).shape)});
    }
    return fp;
  }

  /// The operands of `n` that live in slots, deduplicated, in first-use order
  /// (the same order kernel inputs were collected in).
  static std::vector<ValueId> inputs_of(const Node &n, const std::vector<int> &slot) {
    std::vector<ValueId> out;
    for (ValueId v : n.operands)
      if (slot[v] >= 0 && std::find(out.begin(), out.end(), v) == out.end())
        out.push_back(v);
    return out;
  }

  const Module &m_;
  std::string target_;
  ModelPlan plan_;
  std::map<std::string, int> param_slot_;
  std::map<std::string, int> kernel_index_;
};

} // namespace

ModelPlan plan_model(const Module &m, const std::string &target) {
  return Planner(m, target).run();
}

} // namespace netc::codegen
