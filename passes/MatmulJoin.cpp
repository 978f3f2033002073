//===- MatmulJoin.cpp - Two products summed become one longer product ------===//
//
//   a·W + b·U = [a, b]·[W; U]
//
// for a [M, Ka], b [M, Kb], W [Ka, P] and U [Kb, P]. A recurrent cell's
// pre-activation is x_t·W + h·U (+ biases): two kernels, the first writing
// an [N, P] temporary that the second reads back, at every step. Joined,
// one matmul with K = Ka + Kb writes it once; the step only copies x_t and h
// side by side ([N, Ka + Kb], narrower than P), and [W; U] is computed once
// (before the loop, in a scan body: it reads only parameters). Applied where
// W and U are parameters and both products, and the adds between them,
// have no other reader.
//
//===----------------------------------------------------------------------===//
#include "passes/Simplify.h"

#include <algorithm>
#include <optional>
#include <tuple>

namespace netc {

namespace {

struct Sum {
  std::vector<ValueId> terms; // in order
  std::vector<ValueId> adds;  // the add nodes joining them, the root last
  size_t x = 0, y = 0;        // the two terms to join (pair_of)
};

/// The terms of the tree of adds rooted at `v` (of the root's type; an inner
/// add that only `uses` == 1 reads), left to right.
void collect(const Function &f, ValueId v, const TensorType &type, const std::vector<int> &uses,
             bool root, Sum &s) {
  const Node &n = f.node(v);
  if (n.op == OpKind::Add && n.type == type && (root || uses[static_cast<size_t>(v)] == 1)) {
    collect(f, n.operands[0], type, uses, false, s);
    collect(f, n.operands[1], type, uses, false, s);
    s.adds.push_back(v);
    return;
  }
  s.terms.push_back(v);
}

/// Whether `v` is a product of a rank-2 value and a parameter, read only once.
bool joinable(const Function &f, ValueId v, const std::vector<int> &uses) {
  const Node &n = f.node(v);
  return n.op == OpKind::MatMul && uses[static_cast<size_t>(v)] == 1 &&
         f.node(n.operands[1]).op == OpKind::Param && f.type(n.operands[0]).rank() == 2 &&
         f.type(n.operands[1]).rank() == 2;
}

/// The two products of `s` to join (the first two that fit together).
std::optional<std::pair<size_t, size_t>> pair_of(const Function &f, const Sum &s,
                                                 const std::vector<int> &uses) {
  for (size_t i = 0; i < s.terms.size(); ++i)
    for (size_t j = i + 1; j < s.terms.size(); ++j) {
      ValueId x = s.terms[i], y = s.terms[j];
      if (!joinable(f, x, uses) || !joinable(f, y, uses) || f.type(x) != f.type(y))
        continue;
      const TensorType &a = f.type(f.node(x).operands[0]), &b = f.type(f.node(y).operands[0]);
      if (a.dtype == b.dtype && a.shape[0] == b.shape[0])
        return std::make_pair(i, j);
    }
  return std::nullopt;
}

} // namespace

bool join_matmuls(Function &f) {
  std::vector<int> uses = use_counts(f);
  // The roots: adds not themselves an inner add of a larger tree.
  std::vector<std::optional<Sum>> sum_at(f.nodes.size());
  std::vector<bool> inner(f.nodes.size(), false);
  for (size_t i = f.nodes.size(); i-- > 0;) {
    const Node &n = f.nodes[i];
    if (n.op != OpKind::Add || inner[i])
      continue;
    Sum s;
    collect(f, static_cast<ValueId>(i), n.type, uses, true, s);
    for (ValueId a : s.adds)
      inner[static_cast<size_t>(a)] = true;
    if (auto p = pair_of(f, s, uses)) {
      std::tie(s.x, s.y) = *p;
      sum_at[i] = std::move(s);
    }
  }
  if (std::none_of(sum_at.begin(), sum_at.end(), [](const auto &s) { return s.has_value(); }))
    return false;
  f = rebuild_function(f, [&](Builder &b, size_t i, Node &,
                              const std::vector<ValueId> &remap) -> std::optional<ValueId> {
    if (!sum_at[i])
      return std::nullopt;
    const Sum &s = *sum_at[i];
    size_t x = s.x, y = s.y;
    const Node &px = f.node(s.terms[x]), &py = f.node(s.terms[y]);
    auto r = [&](ValueId v) { return remap[static_cast<size_t>(v)]; };
    ValueId lhs = b.op(OpKind::Concat, {r(px.operands[0]), r(py.operands[0])},
                       Attrs{{"axis", int64_t(1)}});
    ValueId rhs = b.op(OpKind::Concat, {r(px.operands[1]), r(py.operands[1])},
                       Attrs{{"axis", int64_t(0)}});
    ValueId total = b.matmul(lhs, rhs);
    for (size_t t = 0; t < s.terms.size(); ++t)
      if (t != x && t != y)
        total = b.add(total, r(s.terms[t]));
    return total;
  });
  return true;
}

} // namespace netc
