//===- Fusion.cpp - Group IR nodes into kernels ---------------------------===//
//
// This file implements fuse_kernels: one backward sweep per function
// (consumers are decided before their producers), in the style of TVM's
// FuseOps, with the (producer, consumer) rules as a table.
//
//===----------------------------------------------------------------------===//
#include "passes/Fusion.h"

#include <algorithm>
#include <cstring>
#include <set>

namespace netc {

namespace {

/// How a node takes part in fusion.
enum class Role : uint8_t {
  Leaf,        // arg, param: read from a slot
  Inline,      // recomputed inside each consumer kernel
  Pointwise,   // elementwise or broadcasting arithmetic
  Reduction,   // reductions and the row-statistics ops (softmax, cross-entropy)
  MatMul,      // matmul and conv2d: opaque, with an epilogue rule
  Opaque,      // anything else: a kernel of its own
};

Role role_of(const Node &n) {
  if (n.op == OpKind::Arg || n.op == OpKind::Param)
    return Role::Leaf;
  if (n.op == OpKind::Constant || n.op == OpKind::BatchSize)
    return Role::Inline;
  // A forward convolution takes an epilogue like a matmul: the bias add and
  // activation are computed on its register blocks (codegen/halide/Conv.cpp
  // schedules the epilogue's root around the accumulator).
  if (n.op == OpKind::MatMul || n.op == OpKind::Conv2D)
    return Role::MatMul;
  // A concat reads each element of one operand: pointwise arithmetic for
  // fusion, so the pieces of a zero-padded adjoint sum (Simplify.cpp) are
  // computed in the one kernel that writes them side by side, instead of
  // a select per element inside every kernel that reads them (a matmul's
  // inner loop).
  if (n.op == OpKind::Concat)
    return Role::Pointwise;
  // A pooling gradient is a pure gather from the few windows over each
  // pixel (codegen/halide/Conv.cpp): pointwise for fusion, so the relu mask
  // that follows it in a CNN's backward pass is applied in the same kernel.
  if (n.op == OpKind::MaxPool2DGrad || n.op == OpKind::AvgPool2DGrad)
    return Role::Pointwise;
  // Movement ops are index arithmetic, recomputed where read; scatter_add
  // (Opaque: it accumulates) is a kernel of its own.
  if (std::strcmp(op_family(n.op), "Movement") == 0 &&
      op_fusion_class(n.op) != FusionClass::Opaque)
    return Role::Inline;
  switch (op_fusion_class(n.op)) {
  case FusionClass::Elementwise:
  case FusionClass::Broadcast:
    return Role::Pointwise;
  case FusionClass::Reduce:
    return Role::Reduction;
  case FusionClass::Injective:
  case FusionClass::Opaque:
    return Role::Opaque;
  }
  return Role::Opaque;
}

/// Whether a producer of role `p` may be computed inside a consumer of role
/// `c`. `direct`: the consumer reads the producer itself, not through an
/// inline node (a transpose or broadcast in between changes the indexing).
///
///   producer \ consumer | Pointwise        | Reduction | MatMul | Opaque
///   --------------------+------------------+-----------+--------+-------
///   Pointwise           | yes              | yes       | no     | no
///   Reduction           | yes              | yes       | no     | no
///   MatMul              | epilogue (below) | no        | no     | no
///   Opaque              | no               | no        | no     | no
///
// A matmul's operands are read P/32 times each by the register-blocked
// schedule, so recomputing an elementwise producer there is not free; only
// inline (index-only) nodes go into a matmul. The matmul epilogue rule:
// the consumer reads the matmul directly, has its type, and lies on a
// pointwise, same-shaped path to the kernel's root, which the matmul
// schedule tiles around the accumulator (codegen/halide/Schedule.cpp).
bool fusable(Role p, Role c, bool direct) {
  const bool table[4][4] = {
      /* Pointwise */ {true, true, false, false},
      /* Reduction */ {true, true, false, false},
      /* MatMul    */ {true, false, false, false},
      /* Opaque    */ {false, false, false, false},
  };
  auto index = [](Role r) -> int {
    switch (r) {
    case Role::Pointwise:
      return 0;
    case Role::Reduction:
      return 1;
    case Role::MatMul:
      return 2;
    case Role::Leaf:
    case Role::Inline:
    case Role::Opaque:
      return 3;
    }
    return 3;
  };
  return table[index(p)][index(c)] && (direct || p != Role::MatMul);
}

class Fuser {
public:
  /// `scan_body`: `f` is the body of a scan, whose outputs are stacked over
  /// the steps.
  Fuser(Function &f, bool scan_body) : f_(f), n_(f.nodes.size()), scan_body_(scan_body) {}

  void run() {
    std::vector<bool> result(n_, false);
    for (const NamedValue &o : f_.outputs)
      result[o.value] = true;
    for (const Update &u : f_.updates)
      result[u.value] = true;
    // Direct users of each node.
    users_.assign(n_, {});
    for (size_t i = 0; i < n_; ++i)
      for (ValueId v : f_.nodes[i].operands)
        if (users_[v].empty() || users_[v].back() != static_cast<ValueId>(i))
          users_[v].push_back(static_cast<ValueId>(i));

    updated_.assign(n_, false);
    for (const Update &u : f_.updates)
      updated_[u.value] = true;
    group_.assign(n_, -1);
    pointwise_path_.assign(n_, false);
    output_join_.assign(n_, false);
    for (size_t r = n_; r-- > 0;) {
      ValueId i = static_cast<ValueId>(r);
      Role role = role_of(f_.nodes[i]);
      output_join_[i] = scan_body_ && joins_last_axis(i) &&
                        (result[i] || std::all_of(users_[i].begin(), users_[i].end(),
                                                  [&](ValueId u) { return output_join_[u]; }));
      if (role == Role::Leaf || (role == Role::Inline && !result[i] && !feeds_matmul(i)))
        continue;
      bool joined = result[i] ? join_as_co_output(i, role)
                              : join_consumer(i, role) || join_as_shared(i, role);
      if (!joined)
        new_group(i, role);
    }
    write_attrs();
  }

private:
  struct Group {
    ValueId root;
    bool has_matmul;
  };

  /// A reshape read by a matmul is materialised: inlined, its index
  /// arithmetic (a division and a modulo per element) would sit in the
  /// matmul's inner loop. So is a transpose read as a matmul's right
  /// operand with at least kGatherRows rows, whose rows the schedule loads
  /// as vectors: through the transpose, each vector would be a gather
  /// (dG @ Uᵀ in an LSTM's gradient, 512 rows, ran at 31 GFLOP/s); a few
  /// rows (an MLP's 10 classes) cost less than a kernel of their own.
  static constexpr int64_t kGatherRows = 32;
  bool feeds_matmul(ValueId v) const {
    const Node &n = f_.nodes[v];
    bool big_transpose = n.op == OpKind::Transpose && n.type.rank() == 2 &&
                         n.type.shape[0] != kBatch && n.type.shape[0] >= kGatherRows;
    return std::any_of(users_[v].begin(), users_[v].end(), [&](ValueId u) {
      const Node &user = f_.nodes[u];
      return user.op == OpKind::MatMul &&
             (n.op == OpKind::Reshape || (big_transpose && user.operands[1] == v));
    });
  }

  /// The non-inline nodes that read `v`, looking through inline nodes;
  /// `direct` is cleared for users reached through one.
  void effective_users(ValueId v, bool direct, std::vector<std::pair<ValueId, bool>> &out) const {
    for (ValueId u : users_[v]) {
      if (role_of(f_.nodes[u]) == Role::Inline && group_[u] < 0)
        effective_users(u, false, out);
      else
        out.push_back({u, direct});
    }
  }

  /// A concat along the last axis (a join of parts side by side).
  bool joins_last_axis(ValueId v) const {
    const Node &n = f_.nodes[v];
    return n.op == OpKind::Concat && n.attrs.get_int("axis") == n.type.rank() - 1;
  }

  /// The kernel `i` may join as its users' producer, or -1: every user is
  /// in it and the rules allow each pair; `*path` says whether every path
  /// from `i` to the kernel's root is pointwise on `i`'s shape.
  int consumer_kernel(ValueId i, Role role, bool *path) const {
    std::vector<std::pair<ValueId, bool>> users;
    effective_users(i, true, users);
    if (users.empty())
      return -1;
    // A part of a scan body's output joined along the last axis is written
    // straight into its columns of the stacked output by its own kernel
    // (codegen/Plan.cpp, joins_in_place): computed inside the join, it
    // would be the join's only part computed there, and the kernel that
    // computes it could not also write the values beside it.
    if (!output_join_[i] && std::any_of(users.begin(), users.end(), [&](const auto &u) {
          return output_join_[u.first];
        }))
      return -1;
    int g = group_[users[0].first];
    if (g < 0)
      return -1;
    const Node &self = f_.nodes[i];
    *path = true;
    for (auto [u, direct] : users) {
      if (group_[u] != g || !fusable(role, role_of(f_.nodes[u]), direct))
        return -1;
      *path = *path && direct && pointwise_path_[u] && f_.nodes[u].type == self.type;
    }
    if (role == Role::MatMul && (groups_[g].has_matmul || !*path))
      return -1;
    return g;
  }

  void join(ValueId i, Role role, int g, bool path) {
    group_[i] = g;
    groups_[g].has_matmul = groups_[g].has_matmul || role == Role::MatMul;
    pointwise_path_[i] = path && role == Role::Pointwise;
  }

  /// Puts `i` in the kernel of its users when the rules allow it.
  bool join_consumer(ValueId i, Role role) {
    bool path = false;
    int g = consumer_kernel(i, role, &path);
    if (g >= 0)
      join(i, role, g, path);
    return g >= 0;
  }

  /// Whether `v` is elementwise (or broadcasting) arithmetic: not a concat
  /// or a pooling gradient, which are Pointwise for fusion but change the
  /// shape.
  bool elementwise(ValueId v) const {
    const Node &n = f_.nodes[v];
    FusionClass c = op_fusion_class(n.op);
    return std::strcmp(op_family(n.op), "Elementwise") == 0 &&
           (c == FusionClass::Elementwise || c == FusionClass::Broadcast);
  }

  /// Puts result `i` in the kernel of its users as a co-output: a new
  /// optimizer state (momentum, Adam's moments) computed in the kernel of
  /// the parameter update that reads it, which writes both (one pass over
  /// them instead of a pass writing the state and another reading it
  /// back). Only updates, on the same shape as the kernel's elementwise
  /// root and a pointwise path to it, so the one loop nest computes both.
  bool join_as_co_output(ValueId i, Role role) {
    if (!updated_[i] || role != Role::Pointwise || !elementwise(i))
      return false;
    bool path = false;
    int g = consumer_kernel(i, role, &path);
    if (g < 0 || !path)
      return false;
    ValueId root = groups_[g].root;
    if (!elementwise(root) || f_.nodes[root].type != f_.nodes[i].type)
      return false;
    join(i, role, g, path);
    return true;
  }

  /// Puts `i`, read by several kernels, in the kernel of one of them as a
  /// co-output: it is written there (once, as it would be by a kernel of
  /// its own) and read from its slot by the others. The host is the first
  /// of those kernels to run; its root is elementwise, of `i`'s type, and
  /// reached from `i` on a pointwise path (so the one loop nest computes
  /// both), and every other reader runs after it (its root comes later, so
  /// it cannot feed the host either). An LSTM step's gates, new cell and
  /// tanh of it, which the step's new state reads and a stacked output
  /// saves for the backward pass, are so computed in the kernel of the new
  /// hidden state: one kernel, not seven.
  bool join_as_shared(ValueId i, Role role) {
    if (role != Role::Pointwise || !elementwise(i))
      return false;
    std::vector<std::pair<ValueId, bool>> users;
    effective_users(i, true, users);
    int host = -1;
    for (auto [u, direct] : users) {
      int g = group_[u];
      if (g < 0)
        return false;
      if (host < 0 || groups_[g].root < groups_[host].root)
        host = g;
    }
    if (host < 0)
      return false;
    ValueId root = groups_[host].root;
    const TensorType &t = f_.nodes[i].type;
    if (!elementwise(root) || f_.nodes[root].type != t)
      return false;
    for (auto [u, direct] : users) {
      bool ok = group_[u] == host
                    ? direct && pointwise_path_[u] && f_.nodes[u].type == t
                    : groups_[group_[u]].root > root;
      if (!ok)
        return false;
    }
    join(i, role, host, true);
    return true;
  }

  void new_group(ValueId i, Role role) {
    group_[i] = static_cast<int>(groups_.size());
    groups_.push_back({i, role == Role::MatMul});
    pointwise_path_[i] = role == Role::Pointwise;
  }

  /// Kernels numbered by their roots' order; stale attributes dropped.
  void write_attrs() {
    std::vector<int> number(groups_.size(), -1);
    std::vector<ValueId> roots;
    for (const Group &g : groups_)
      roots.push_back(g.root);
    std::sort(roots.begin(), roots.end());
    for (size_t k = 0; k < roots.size(); ++k)
      number[group_[roots[k]]] = static_cast<int>(k);
    for (size_t i = 0; i < n_; ++i) {
      Attrs kept;
      for (const auto &[name, value] : f_.nodes[i].attrs.map())
        if (name != kKernelAttr)
          kept.set(name, value);
      if (group_[i] >= 0)
        kept.set(kKernelAttr, static_cast<int64_t>(number[group_[i]]));
      f_.nodes[i].attrs = std::move(kept);
    }
  }

  Function &f_;
  size_t n_;
  std::vector<std::vector<ValueId>> users_;
  std::vector<int> group_;
  /// The values of the function's updates (co-output candidates).
  std::vector<bool> updated_;
  /// Whether every path from the node to its kernel's root is pointwise
  /// arithmetic on one shape (the matmul epilogue condition).
  std::vector<bool> pointwise_path_;
  bool scan_body_;
  /// Concats along the last axis that make up a scan body's output (the
  /// output, or a concat only such concats read).
  std::vector<bool> output_join_;
  std::vector<Group> groups_;
};

} // namespace

bool fuse_kernels(Module &m, Diagnostics &) {
  std::set<std::string> bodies;
  for (const Function &f : m.functions)
    for (const Node &n : f.nodes)
      if (n.op == OpKind::Scan)
        bodies.insert(n.attrs.get_str("body"));
  for (Function &f : m.functions)
    Fuser(f, bodies.count(f.name) > 0).run();
  return true;
}

} // namespace netc
