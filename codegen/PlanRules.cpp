//===- PlanRules.cpp - What may alias, and which sums wait for the loop ---===//
//
// Two of the planner's decisions (codegen/Plan.cpp) that read only the IR
// and its kernels: which updates a kernel may write over their parameters,
// and which of a loop body's sums run once after the loop.
//
//===----------------------------------------------------------------------===//
#include "codegen/PlanRules.h"

#include "codegen/KernelGroups.h"

#include <algorithm>
#include <set>

namespace netc::codegen {

namespace {

const Function &body_of(const Module &m, const Node &scan) {
  const Function *body = m.find_function(scan.attrs.get_str("body"));
  NETC_ASSERT(body, "codegen: no function @" + scan.attrs.get_str("body"));
  return *body;
}

/// Bytes of body values a loop may stack over its steps for its sums to
/// run after it (at the train block's batch).
constexpr int64_t kStackBytes = int64_t(1) << 19;

/// Whether kernel `k`'s value `v`, computed from its members, reads `p`.
bool expression_reads(const Function &f, const Kernel &k, ValueId v, ValueId p) {
  std::vector<ValueId> work = {v};
  std::set<ValueId> seen;
  while (!work.empty()) {
    ValueId x = work.back();
    work.pop_back();
    if (x == p)
      return true;
    bool member = std::find(k.nodes.begin(), k.nodes.end(), x) != k.nodes.end();
    if (member && seen.insert(x).second)
      work.insert(work.end(), f.node(x).operands.begin(), f.node(x).operands.end());
  }
  return false;
}

} // namespace

std::vector<bool> sums_after_loop(const Function &body, const std::vector<Kernel> &kernels,
                                  const std::vector<ValueId> &sums, const Node &lead,
                                  const Function &f, size_t nseq, const std::vector<int> &last_use,
                                  int64_t train_batch) {
  std::vector<bool> out(kernels.size(), false);
  if (lead.attrs.get_int("axis") != 1)
    return out;
  for (size_t i = 0; i < nseq; ++i)
    if (f.type(lead.operands[i]).shape[0] != kBatch)
      return out;
  std::vector<ValueId> args = body.args();
  auto batched_rows = [&](ValueId v) {
    const TensorType &t = body.type(v);
    return t.rank() == 2 && t.shape[0] == kBatch;
  };
  for (size_t k = 0; k < kernels.size(); ++k) {
    const Kernel &kn = kernels[k];
    ValueId root = kn.nodes.back();
    const Node &r = body.node(root);
    if (last_use[root] >= 0 || std::find(sums.begin(), sums.end(), root) == sums.end())
      continue;
    bool rows = false;
    if (r.op == OpKind::MatMul) {
      const Node &lhs = body.node(r.operands[0]);
      rows = lhs.op == OpKind::Transpose && batched_rows(lhs.operands[0]) &&
             batched_rows(r.operands[1]);
    } else if (r.op == OpKind::ReduceSum) {
      rows = r.attrs.get_ints("axes") == std::vector<int64_t>{0} && batched_rows(r.operands[0]);
    }
    // Nothing else in the kernel but index arithmetic on the rows.
    for (ValueId v : kn.nodes) {
      const Node &n = body.node(v);
      rows = rows && (v == root || n.op == OpKind::Transpose ||
                      (n.op == OpKind::Slice && n.attrs.get_int("axis") != 0));
    }
    for (ValueId v : kn.inputs) {
      const Node &n = body.node(v);
      if (n.op == OpKind::Arg) // a sequence, not the carried state
        rows = rows && std::find(args.begin(), args.begin() + static_cast<long>(nseq), v) !=
                           args.begin() + static_cast<long>(nseq);
      else if (n.op != OpKind::Param)
        rows = rows && batched_rows(v);
    }
    out[k] = rows;
  }
  // The body values the sums after the loop would stack, once each.
  std::set<ValueId> stacked;
  for (size_t k = 0; k < kernels.size(); ++k)
    if (out[k])
      for (ValueId v : kernels[k].inputs)
        if (body.node(v).op != OpKind::Arg && body.node(v).op != OpKind::Param)
          stacked.insert(v);
  int64_t steps = f.type(lead.operands[0]).shape[1], bytes = 0;
  for (ValueId v : stacked)
    bytes += 4 * steps * train_batch * static_elements(body.type(v).shape);
  if (bytes > kStackBytes)
    for (size_t k = 0; k < kernels.size(); ++k)
      out[k] = out[k] && std::none_of(kernels[k].inputs.begin(), kernels[k].inputs.end(),
                                      [&](ValueId v) { return stacked.count(v) > 0; });
  return out;
}

std::map<ValueId, std::string> in_place_updates(const Module &m, const Function &f,
                                                const std::vector<Kernel> &kernels) {
  auto is_loop = [&](size_t k) { return f.node(kernels[k].nodes.back()).op == OpKind::Scan; };
  std::map<ValueId, std::string> out;
  std::map<ValueId, int> kernel_of_root; // of each output, co-outputs too
  for (size_t k = 0; k < kernels.size(); ++k)
    if (!is_loop(k)) {
      kernel_of_root[kernels[k].nodes.back()] = static_cast<int>(k);
      for (ValueId v : kernels[k].also)
        kernel_of_root[v] = static_cast<int>(k);
    }
  std::set<ValueId> written;
  for (const Update &u : f.updates) {
    auto it = kernel_of_root.find(u.value);
    if (it == kernel_of_root.end() || !written.insert(u.value).second)
      continue;
    int k = it->second;
    bool safe = true;
    // A later loop whose body reads the parameter needs its old value.
    for (size_t later = static_cast<size_t>(k) + 1; later < kernels.size() && safe; ++later)
      if (is_loop(later))
        for (const Node &n : body_of(m, f.node(kernels[later].nodes.back())).nodes)
          if (n.op == OpKind::Param && n.attrs.get_str("name") == u.param)
            safe = false;
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
      // A kernel stores its outputs in order, root first, element by
      // element: an output stored after this one must not read the
      // value this one overwrites (weight decay: v' = mu v + g + wd w
      // after w').
      const std::vector<ValueId> &also = kernels[k].also;
      auto later = u.value == kernels[k].nodes.back()
                       ? also.begin()
                       : std::find(also.begin(), also.end(), u.value) + 1;
      for (; later < also.end() && safe; ++later)
        safe = !expression_reads(f, kernels[k], *later, p);
    }
    if (safe)
      out[u.value] = u.param;
  }
  return out;
}

} // namespace netc::codegen
