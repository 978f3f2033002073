//===- Plan.cpp - Kernels and buffer slots of a module --------------------===//
#include "codegen/Plan.h"

#include "passes/Fusion.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <set>

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
constexpr const char *kCodegenVersion = "netc-codegen-3";

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
      if (name != kKernelAttr)
        key += fmt::format(" {}={}", name, attr_value_str(value));
    key += ":" + n.type.str();
    local[k.nodes[i]] = "n" + std::to_string(i);
  }
  if (k.exact_tails)
    key += "|exact";
  if (k.schedule != "manual")
    key += fmt::format("|schedule={}@{}", k.schedule, k.batch_estimate);
  return key;
}


bool is_leaf(const Node &n) { return n.op == OpKind::Arg || n.op == OpKind::Param; }

/// The members of each kernel, in order, roots last; kernels in root order.
/// From the fusion pass's attributes, or one kernel per non-leaf node when
/// there are none.
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

/// A kernel from its members: the inline nodes they read are added (and
/// recomputed here); values in slots become its inputs, in first-use order.
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

bool pointwise_op(const Node &n) {
  FusionClass c = op_fusion_class(n.op);
  return !is_leaf(n) && std::string(op_family(n.op)) == "Elementwise" &&
         (c == FusionClass::Elementwise || c == FusionClass::Broadcast);
}

/// Whether kernel `k` reads `p` only at the element it writes: every path
/// from `p` to the root is pointwise arithmetic on the root's shape.
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

class Planner {
public:
  Planner(const Module &m, const std::string &target, const std::string &schedule)
      : m_(m), target_(target), schedule_(schedule) {}

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
    k.schedule = schedule_;
    k.batch_estimate = m_.config.get_int("batch", 64);
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
    size_t n = f.nodes.size();
    std::vector<bool> is_result(n, false);
    for (const NamedValue &o : f.outputs)
      is_result[o.value] = true;
    for (const Update &u : f.updates)
      is_result[u.value] = true;

    std::vector<std::vector<ValueId>> groups = kernel_groups(f, is_result);
    std::vector<int> kernel_of(n, -1); // for roots only: index into groups
    std::vector<bool> in_slot(n, false);
    for (size_t k = 0; k < groups.size(); ++k) {
      kernel_of[groups[k].back()] = static_cast<int>(k);
      in_slot[groups[k].back()] = true;
    }
    for (size_t i = 0; i < n; ++i)
      if (f.nodes[i].op == OpKind::Arg || f.nodes[i].op == OpKind::Param)
        in_slot[i] = true;

    // Kernels, their inputs, and the last call that reads each value.
    std::vector<Kernel> kernels;
    std::vector<int> last_use(n, -1);
    for (size_t k = 0; k < groups.size(); ++k) {
      kernels.push_back(make_kernel(f, groups[k], in_slot));
      for (ValueId v : kernels.back().inputs)
        last_use[v] = static_cast<int>(k);
    }
    std::vector<int> in_place = in_place_updates(f, kernels, is_result);

    std::vector<int> slot(n, -1);
    for (size_t i = 0; i < n; ++i) {
      const Node &node = f.nodes[i];
      if (node.op == OpKind::Arg) {
        slot[i] = new_slot(node.type, "arg", node.attrs.get_str("name"));
        fp.args.push_back({node.attrs.get_str("name"), slot[i]});
      } else if (node.op == OpKind::Param) {
        slot[i] = param_slot_.at(node.attrs.get_str("name"));
      }
    }
    // Slots of temporaries: taken at the producing call, given back after
    // the last call that reads them.
    std::map<std::string, std::vector<int>> free = pool_;
    for (size_t k = 0; k < kernels.size(); ++k) {
      ValueId root = kernels[k].nodes.back();
      const TensorType &t = f.type(root);
      // Autoschedulers may recompute overlapping tails: no aliasing for them.
      if (in_place[k] >= 0 && schedule_ == "manual") {
        slot[root] = in_place[k];
        kernels[k].exact_tails = true;
      } else {
        plan_.temp_values.push_back(t);
        std::vector<int> &avail = free[t.str()];
        if (is_result[root]) {
          slot[root] = new_slot(t, "temp", "%" + std::to_string(root));
        } else if (!avail.empty()) {
          slot[root] = avail.back();
          avail.pop_back();
        } else {
          slot[root] = new_slot(t, "temp", "%" + std::to_string(root));
          pool_[t.str()].push_back(slot[root]);
        }
      }
      std::vector<ValueId> inputs = kernels[k].inputs;
      KernelCall call{intern_kernel(std::move(kernels[k])), {}, slot[root]};
      for (ValueId v : inputs)
        call.inputs.push_back(slot[v]);
      fp.calls.push_back(std::move(call));
      // Give back what this call was the last to read (and a value nobody reads).
      for (ValueId v : inputs)
        if (last_use[v] == static_cast<int>(k))
          release(f, v, slot, is_result, free);
      if (last_use[root] < 0)
        release(f, root, slot, is_result, free);
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

  /// For each kernel, the parameter slot it may write in place, or -1.
  std::vector<int> in_place_updates(const Function &f, const std::vector<Kernel> &kernels,
                                    const std::vector<bool> &is_result) {
    std::vector<int> out(kernels.size(), -1);
    std::map<ValueId, int> kernel_of_root;
    for (size_t k = 0; k < kernels.size(); ++k)
      kernel_of_root[kernels[k].nodes.back()] = static_cast<int>(k);
    std::set<ValueId> written;
    for (const Update &u : f.updates) {
      auto it = kernel_of_root.find(u.value);
      if (it == kernel_of_root.end() || !written.insert(u.value).second)
        continue;
      int k = it->second;
      bool safe = true;
      for (size_t i = 0; i < f.nodes.size() && safe; ++i) {
        const Node &n = f.nodes[i];
        if (n.op != OpKind::Param || n.attrs.get_str("name") != u.param)
          continue;
        ValueId p = static_cast<ValueId>(i);
        for (size_t later = static_cast<size_t>(k) + 1; later < kernels.size() && safe; ++later)
          safe = std::find(kernels[later].inputs.begin(), kernels[later].inputs.end(), p) ==
                 kernels[later].inputs.end();
        const auto &in = kernels[k].inputs;
        if (safe && std::find(in.begin(), in.end(), p) != in.end())
          safe = reads_pointwise(f, kernels[k], p);
      }
      (void)is_result;
      if (safe)
        out[k] = param_slot_.at(u.param);
    }
    return out;
  }

  /// Returns the slot of temporary `v` to the free list (results and leaves
  /// keep theirs).
  void release(const Function &f, ValueId v, const std::vector<int> &slot,
               const std::vector<bool> &is_result, std::map<std::string, std::vector<int>> &free) {
    const Node &node = f.node(v);
    if (is_result[v] || node.op == OpKind::Arg || node.op == OpKind::Param)
      return;
    if (plan_.slots[slot[v]].role != std::string("temp"))
      return;
    free[node.type.str()].push_back(slot[v]);
  }

  const Module &m_;
  std::string target_, schedule_;
  ModelPlan plan_;
  /// Every pooled temporary slot, by type: all free when a function starts.
  std::map<std::string, std::vector<int>> pool_;
  std::map<std::string, int> param_slot_;
  std::map<std::string, int> kernel_index_;
};

} // namespace

std::string codegen_unsupported(const Module &m, Loc *loc) {
  for (const Function &f : m.functions)
    for (const Node &n : f.nodes)
      if (n.op == OpKind::Scan) {
        *loc = n.loc;
        return "the native code generator does not run `scan` yet (recurrent layers); "
               "`netc train` trains this model with the reference interpreter";
      }
  return {};
}

ModelPlan plan_model(const Module &m, const std::string &target, const std::string &schedule) {
  return Planner(m, target, schedule).run();
}

const std::vector<std::string> &schedule_names() {
  static const std::vector<std::string> names = {"manual", "adams2019", "li2018", "mullapudi2016"};
  return names;
}

int64_t buffer_bytes(const TensorType &t, int64_t batch) {
  return 4 * num_elements(t.shape, batch);
}

int64_t arena_bytes(const ModelPlan &plan, int64_t batch) {
  int64_t total = 0;
  for (const Slot &s : plan.slots)
    if (s.role == "temp")
      total += buffer_bytes(s.type, batch);
  return total;
}

int64_t unshared_temp_bytes(const ModelPlan &plan, int64_t batch) {
  int64_t total = 0;
  for (const TensorType &t : plan.temp_values)
    total += buffer_bytes(t, batch);
  return total;
}

} // namespace netc::codegen
