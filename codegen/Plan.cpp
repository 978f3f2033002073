//===- Plan.cpp - Kernels and buffer slots of a module --------------------===//
#include "codegen/Plan.h"

#include "codegen/KernelGroups.h"
#include "codegen/Layout.h"
#include "codegen/PlanRules.h"
#include "codegen/halide/Lower.h"

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


/// One kernel or one scan loop of a function, in run order.
struct Step {
  std::vector<ValueId> members; // a kernel's nodes (its root last)
  std::vector<ValueId> scans;   // a loop: its sibling scans, in order
  std::vector<ValueId> also = {}; // the kernel's co-outputs, in order
};

bool same_loop(const Node &a, const Node &b) {
  return a.operands == b.operands && a.attrs.get_str("body") == b.attrs.get_str("body") &&
         a.attrs.get_int("axis") == b.attrs.get_int("axis") &&
         a.attrs.get_int("reverse") == b.attrs.get_int("reverse");
}

class Planner {
public:
  Planner(const Module &m, const std::string &target, const std::string &schedule)
      : m_(m), target_(target), schedule_(schedule) {
    if (Halide::Target::validate_target_string(target))
      panel_ = hl::matmul_panel_cols(Halide::Target(target));
  }

  ModelPlan run() {
    for (const ParamDecl &p : m_.params) {
      param_slot_[p.name] = static_cast<int>(plan_.slots.size());
      plan_.slots.push_back({p.type, p.kind == ParamKind::Param ? "param" : "state", p.name});
    }
    std::vector<std::string> bodies = scan_bodies(m_);
    for (const Function &f : m_.functions)
      if (std::find(bodies.begin(), bodies.end(), f.name) == bodies.end())
        plan_.functions.push_back(plan_function(f));
    time_major_slots(plan_);
    return std::move(plan_);
  }

private:
  using FreeSlots = std::map<std::string, std::vector<int>>;

  int new_slot(const TensorType &t, const char *role, const std::string &name) {
    plan_.slots.push_back({t, role, name});
    return static_cast<int>(plan_.slots.size() - 1);
  }

  /// A slot for a kernel's output `root` of type `t`: its own for a result,
  /// else a free temporary of `pool` (or a new one added to it).
  int take_slot(const TensorType &t, bool result, ValueId root, FreeSlots &free, FreeSlots &pool) {
    plan_.temp_values.push_back(t);
    std::vector<int> &avail = free[t.str()];
    if (result)
      return new_slot(t, "temp", "%" + std::to_string(root));
    if (!avail.empty()) {
      int s = avail.back();
      avail.pop_back();
      return s;
    }
    int s = new_slot(t, "temp", "%" + std::to_string(root));
    pool[t.str()].push_back(s);
    return s;
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

  const Function &function(const std::string &name) const {
    for (const Function &f : m_.functions)
      if (f.name == name)
        return f;
    NETC_ASSERT(false, "codegen: no function @" + name);
    return m_.functions.front();
  }

  static std::vector<bool> results_of(const Function &f) {
    std::vector<bool> is_result(f.nodes.size(), false);
    for (const NamedValue &o : f.outputs)
      is_result[o.value] = true;
    for (const Update &u : f.updates)
      is_result[u.value] = true;
    return is_result;
  }

  /// The steps of `f` in run order, with `in_slot` marking the values kept
  /// in slots. A scan's operands are all in slots (an inline one, like a
  /// constant initial state, gets a kernel of its own); sibling scans are
  /// one step, at the first of them.
  std::vector<Step> steps_of(const Function &f, const std::vector<bool> &is_result,
                             std::vector<bool> &in_slot) {
    std::vector<std::vector<ValueId>> groups = kernel_groups(f, is_result);
    std::vector<bool> co_output = co_outputs(f, groups, is_result);
    in_slot.assign(f.nodes.size(), false);
    for (const auto &g : groups)
      for (ValueId v : g)
        in_slot[v] = v == g.back() || co_output[v];
    for (size_t i = 0; i < f.nodes.size(); ++i)
      if (is_leaf(f.nodes[i]))
        in_slot[i] = true;
    bool added = false;
    for (const Node &n : f.nodes)
      if (n.op == OpKind::Scan)
        for (ValueId o : n.operands)
          if (!in_slot[o]) {
            groups.push_back({o});
            in_slot[o] = true;
            added = true;
          }
    if (added)
      std::sort(groups.begin(), groups.end(),
                [](const auto &a, const auto &b) { return a.back() < b.back(); });
    std::vector<Step> steps;
    for (auto &g : groups) {
      const Node &root = f.node(g.back());
      if (root.op != OpKind::Scan) {
        std::vector<ValueId> also;
        for (ValueId v : g)
          if (co_output[v])
            also.push_back(v);
        steps.push_back({std::move(g), {}, std::move(also)});
        continue;
      }
      NETC_ASSERT(g.size() == 1, "@" + f.name + ": a scan shares its kernel");
      auto sibling = std::find_if(steps.begin(), steps.end(), [&](const Step &s) {
        return !s.scans.empty() && same_loop(f.node(s.scans[0]), root);
      });
      if (sibling != steps.end())
        sibling->scans.push_back(g.back());
      else
        steps.push_back({{}, {g.back()}});
    }
    return steps;
  }

  FunctionPlan plan_function(const Function &f) {
    FunctionPlan fp;
    fp.name = f.name;
    size_t n = f.nodes.size();
    std::vector<bool> is_result = results_of(f);
    std::vector<bool> in_slot;
    std::vector<Step> steps = steps_of(f, is_result, in_slot);
    shifted_.clear();
    shift_sequences(f, steps, in_slot, is_result);

    // Kernels (a loop: its operands as inputs, a shifted sequence's source
    // and first step for it), and the last step that reads each value.
    std::vector<Kernel> kernels;
    std::vector<int> last_use(n, -1);
    for (size_t k = 0; k < steps.size(); ++k) {
      if (steps[k].scans.empty()) {
        kernels.push_back(make_kernel(f, steps[k].members, in_slot));
        kernels.back().also = steps[k].also;
      } else {
        Kernel loop;
        loop.function = &f;
        loop.nodes = steps[k].scans;
        for (ValueId o : f.node(steps[k].scans[0]).operands) {
          auto shifted = shifted_.find(o);
          std::vector<ValueId> read = {o};
          if (shifted != shifted_.end())
            read = {shifted->second.first, shifted->second.second};
          for (ValueId r : read)
            if (std::find(loop.inputs.begin(), loop.inputs.end(), r) == loop.inputs.end())
              loop.inputs.push_back(r);
        }
        kernels.push_back(std::move(loop));
      }
      for (ValueId v : kernels.back().inputs)
        last_use[v] = static_cast<int>(k);
    }
    std::map<ValueId, int> in_place;
    for (const auto &[value, param] : in_place_updates(m_, f, kernels))
      in_place[value] = param_slot_.at(param);

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
    FreeSlots free = pool_;
    for (size_t k = 0; k < kernels.size(); ++k) {
      std::vector<ValueId> inputs = kernels[k].inputs;
      std::vector<ValueId> roots = steps[k].scans;
      if (roots.empty())
        roots = {kernels[k].nodes.back()};
      std::vector<ValueId> written = roots;
      written.insert(written.end(), kernels[k].also.begin(), kernels[k].also.end());
      for (ValueId root : written) {
        // Autoschedulers may recompute overlapping tails: no aliasing for them.
        if (in_place.count(root) && schedule_ == "manual") {
          slot[root] = in_place.at(root);
          kernels[k].exact_tails = true;
        } else {
          slot[root] = take_slot(f.type(root), is_result[root], root, free, pool_);
        }
      }
      KernelCall call{-1, {}, slot[roots[0]]};
      for (ValueId v : inputs)
        call.inputs.push_back(slot[v]);
      for (ValueId v : kernels[k].also)
        call.also.push_back(slot[v]);
      if (steps[k].scans.empty())
        call.kernel = intern_kernel(std::move(kernels[k]));
      else
        call.loop = plan_loop(f, steps[k].scans, slot, free);
      fp.calls.push_back(std::move(call));
      // Give back what this call was the last to read (and a value nobody reads).
      for (ValueId v : inputs)
        if (last_use[v] == static_cast<int>(k))
          release(f, v, slot, is_result, free);
      for (ValueId root : roots)
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

  /// A view of `slot` at one step along `axis` (see View).
  int add_view(int slot, int64_t axis, int shift, int first) {
    const TensorType &base = plan_.slots[static_cast<size_t>(slot)].type;
    View v;
    v.slot = slot;
    v.type = base;
    v.type.shape.erase(v.type.shape.begin() + axis);
    std::vector<int64_t> st = dense_strides(base.shape);
    v.step_stride = st[static_cast<size_t>(axis)];
    for (size_t d = base.shape.size(); d-- > 0;)
      if (static_cast<int64_t>(d) != axis)
        v.strides.push_back(st[d]);
    std::vector<int64_t> dense = dense_strides(v.type.shape);
    v.first_strides.assign(dense.rbegin(), dense.rend());
    v.shift = shift;
    v.first = first;
    v.axis = axis;
    plan_.views.push_back(std::move(v));
    return view_buffer(static_cast<int>(plan_.views.size() - 1));
  }

  /// A one-node helper function of `op` over arguments of type `t`, kept
  /// in the plan (a copy is a reshape to the same shape).
  const Function &helper(OpKind op, const TensorType &t) {
    std::string key = std::string(op_name(op)) + ":" + t.str();
    auto it = helper_index_.find(key);
    if (it != helper_index_.end())
      return *plan_.helpers[it->second];
    auto f = std::make_shared<Function>();
    f->name = op == OpKind::Add ? "scan.accumulate" : "scan.copy";
    int arity = op == OpKind::Add ? 2 : 1;
    for (int i = 0; i < arity; ++i) {
      Node a{OpKind::Arg, t, {}, {}, {}};
      a.attrs.set("index", static_cast<int64_t>(i));
      a.attrs.set("name", std::string(1, static_cast<char>('a' + i)));
      f->nodes.push_back(std::move(a));
    }
    Node n{op, t, {}, {}, {}};
    for (int i = 0; i < arity; ++i)
      n.operands.push_back(i);
    if (op == OpKind::Reshape)
      n.attrs.set("shape", t.shape);
    f->nodes.push_back(std::move(n));
    f->outputs.push_back({"out", arity});
    helper_index_[key] = plan_.helpers.size();
    plan_.helpers.push_back(std::move(f));
    return *plan_.helpers.back();
  }

  /// A call of helper `op` reading `inputs` and writing `out`.
  KernelCall helper_call(OpKind op, const TensorType &t, std::vector<int> inputs, int out) {
    const Function &h = helper(op, t);
    Kernel k;
    k.function = &h;
    k.nodes = {static_cast<ValueId>(h.nodes.size() - 1)};
    for (size_t i = 0; i + 1 < h.nodes.size(); ++i)
      k.inputs.push_back(static_cast<ValueId>(i));
    k.exact_tails = op == OpKind::Add; // in place: out is inputs[0]
    return {intern_kernel(std::move(k)), std::move(inputs), out};
  }

  /// A call that packs `from`, a matmul's right operand of type `t` = [K, P],
  /// into `to`, [P / panel, K, panel]: panel p holds columns [p·panel,
  /// (p + 1)·panel) of every row, contiguously (a reshape, then a transpose).
  KernelCall pack_call(const TensorType &t, int from, int to) {
    std::string key = "pack:" + t.str() + ":" + std::to_string(panel_);
    auto it = helper_index_.find(key);
    if (it == helper_index_.end()) {
      auto f = std::make_shared<Function>();
      f->name = "scan.pack";
      int64_t k = t.shape[0], p = t.shape[1];
      Node a{OpKind::Arg, t, {}, {}, {}};
      a.attrs.set("index", int64_t(0));
      a.attrs.set("name", std::string("w"));
      Node r{OpKind::Reshape, {t.dtype, {k, p / panel_, panel_}}, {0}, {}, {}};
      r.attrs.set("shape", r.type.shape);
      Node tr{OpKind::Transpose, {t.dtype, {p / panel_, k, panel_}}, {1}, {}, {}};
      tr.attrs.set("perm", std::vector<int64_t>{1, 0, 2});
      f->nodes = {std::move(a), std::move(r), std::move(tr)};
      f->outputs.push_back({"out", 2});
      it = helper_index_.emplace(key, plan_.helpers.size()).first;
      plan_.helpers.push_back(std::move(f));
    }
    const Function &h = *plan_.helpers[it->second];
    Kernel kernel;
    kernel.function = &h;
    kernel.nodes = {1, 2};
    kernel.inputs = {0};
    return {intern_kernel(std::move(kernel)), {from}, to};
  }

  /// The input of body kernel `k` that is the right operand of its only
  /// matmul when the loop can pack it once (loop-invariant: `invariant`;
  /// static [K, P] with P a whole number of panels), else -1.
  int packable_rhs(const Function &body, const Kernel &k, const std::vector<bool> &invariant) const {
    if (panel_ <= 0 || schedule_ != "manual")
      return -1;
    std::vector<ValueId> matmuls;
    for (ValueId v : k.nodes)
      if (body.node(v).op == OpKind::MatMul)
        matmuls.push_back(v);
    if (matmuls.size() != 1)
      return -1;
    ValueId rhs = body.node(matmuls[0]).operands[1];
    const TensorType &t = body.type(rhs);
    auto it = std::find(k.inputs.begin(), k.inputs.end(), rhs);
    if (it == k.inputs.end() || !invariant[rhs] || t.dtype != DType::F32 || t.rank() != 2 ||
        t.has_batch() || t.shape[1] < panel_ || t.shape[1] % panel_ != 0)
      return -1;
    return static_cast<int>(it - k.inputs.begin());
  }

  /// Where a selected body output goes at every step.
  struct Target {
    ValueId value;
    int buffer; // a view (stacked) or the sum's slot
    bool sum;
    bool written = false;
  };

  /// What joins_in_place decided: the joining kernels that are gone (every
  /// part written by an earlier kernel), and each part's join and column.
  struct Joins {
    std::vector<bool> gone;
    std::map<ValueId, std::pair<ValueId, int64_t>> part_of;
  };

  /// A stacked output that joins values along its last axis (an LSTM's
  /// saved gates, its new state [h, c']) is written in place by the kernels
  /// of its parts, each into its columns of the output's view, and read
  /// from there: the parts computed by earlier kernels, and at most one part
  /// computed inside the joining kernel itself, which then computes that
  /// part alone (`kernels` is updated). The parts must have rows, and not be
  /// outputs or stacked for a sum after the loop themselves. The joins'
  /// targets get their buffers here.
  Joins joins_in_place(const Function &body, std::vector<Kernel> &kernels,
                       std::vector<Target> &targets, const std::vector<bool> &sunk,
                       const std::vector<bool> &stack, const std::vector<bool> &in_slot,
                       std::vector<int> &buffer, std::vector<bool> &has_buffer) const {
    Joins out;
    out.gone.assign(kernels.size(), false);
    std::map<ValueId, size_t> kernel_of;
    for (size_t k = 0; k < kernels.size(); ++k) {
      kernel_of[kernels[k].nodes.back()] = k;
      for (ValueId v : kernels[k].also)
        kernel_of[v] = k;
    }
    auto is_target = [&](ValueId v) {
      return std::any_of(targets.begin(), targets.end(),
                         [&](const Target &t) { return t.value == v; });
    };
    for (size_t k = 0; k < kernels.size(); ++k) {
      ValueId root = kernels[k].nodes.back();
      auto target = std::find_if(targets.begin(), targets.end(), [&](const Target &t) {
        return !t.sum && !t.written && t.value == root;
      });
      std::set<ValueId> joins;
      std::vector<std::pair<ValueId, int64_t>> parts = concat_parts(body, kernels[k], &joins);
      bool ok = !sunk[k] && target != targets.end() && !parts.empty() && kernels[k].also.empty();
      std::vector<ValueId> inside; // the kernel's other members: one part's
      for (ValueId v : kernels[k].nodes)
        if (!joins.count(v))
          inside.push_back(v);
      ValueId own = kNoValue;
      for (const auto &[p, col] : parts) {
        bool member = std::find(inside.begin(), inside.end(), p) != inside.end();
        if (member) {
          ok = ok && own == kNoValue;
          own = p;
        } else {
          auto it = kernel_of.find(p);
          ok = ok && it != kernel_of.end() && it->second < k && !sunk[it->second];
        }
        ok = ok && body.type(p).has_batch() && !stack[p] && !is_target(p) &&
             out.part_of.count(p) == 0;
      }
      // The kernel's other members all compute its own part.
      ok = ok && (own == kNoValue ? inside.empty() : !inside.empty() && inside.back() == own);
      if (ok && own != kNoValue) {
        Kernel part = make_kernel(body, inside, in_slot);
        ok = part.nodes == inside;
        if (ok)
          kernels[k] = std::move(part);
      }
      if (!ok)
        continue;
      out.gone[k] = own == kNoValue;
      buffer[root] = target->buffer;
      has_buffer[root] = target->written = true;
      for (const auto &[p, col] : parts)
        out.part_of[p] = {root, col};
    }
    return out;
  }

  /// View of all `steps` steps of `slot` [N, T, ...] (time at axis 1) as
  /// [N·T, ...]: row n·T + t is step t of row n, so a kernel over the
  /// batch's rows runs on every step's rows at once.
  int all_steps_view(int slot, int64_t axis, int64_t steps) {
    int v = view_index(add_view(slot, axis, 0, -1));
    View &view = plan_.views[static_cast<size_t>(v)];
    view.fixed = true;
    view.batch_scale = steps;
    view.strides = view.first_strides; // dense: N and T merge
    view.step_stride = 0;
    return view_buffer(v);
  }

  /// View `parent`'s columns from `col` on, as type `t`: a part of a
  /// concatenation along the last axis, written in place.
  int column_view(int parent, int64_t col, const TensorType &t) {
    View v = plan_.views[static_cast<size_t>(view_index(parent))];
    v.type = t;
    v.offset += col;
    plan_.views.push_back(std::move(v));
    return view_buffer(static_cast<int>(plan_.views.size() - 1));
  }

  /// Sequences a loop reads through a view of another value shifted one
  /// step later in time, instead of from a copy: `concat(c, slice(S, 0,
  /// T - 1))` along the scan's axis with c one step, the states before each
  /// step of a recurrence that its gradient loop reads (the initial state,
  /// then the forward states but the last). Their kernels leave `steps`; a
  /// constant c gets one of its own (one step instead of T), and shifted_
  /// maps each sequence to (S, c). Not when a sum that runs after the loop
  /// reads it: that needs all steps in one slot.
  void shift_sequences(const Function &f, std::vector<Step> &steps, std::vector<bool> &in_slot,
                       const std::vector<bool> &is_result) {
    std::vector<std::vector<ValueId>> users(f.nodes.size());
    for (size_t i = 0; i < f.nodes.size(); ++i)
      for (ValueId o : f.nodes[i].operands)
        users[o].push_back(static_cast<ValueId>(i));
    for (size_t k = 0; k < steps.size(); ++k) {
      if (steps[k].members.empty() || !steps[k].also.empty())
        continue;
      ValueId v = steps[k].members.back();
      const Node &n = f.node(v);
      if (n.op != OpKind::Concat || n.operands.size() != 2 || is_result[v])
        continue;
      int64_t axis = n.attrs.get_int("axis");
      ValueId c = n.operands[0], s = n.operands[1];
      const Node &slice = f.node(s);
      if (slice.op != OpKind::Slice || slice.attrs.get_int("axis") != axis ||
          slice.attrs.get_int("begin") != 0 || in_slot[s])
        continue;
      ValueId source = slice.operands[0];
      auto a = static_cast<size_t>(axis);
      if (!in_slot[source] || f.type(source).shape != n.type.shape || f.type(c).shape[a] != 1 ||
          (!in_slot[c] && f.node(c).op != OpKind::Constant))
        continue;
      bool ok = std::all_of(steps[k].members.begin(), steps[k].members.end(),
                            [&](ValueId m) { return m == v || m == s || m == c; });
      for (ValueId u : users[v]) {
        const Node &scan = f.node(u);
        ok = ok && scan.op == OpKind::Scan && scan.attrs.get_int("axis") == axis &&
             scan.operands.back() != v;
        if (!ok)
          break;
        auto loop = std::find_if(steps.begin(), steps.end(), [&](const Step &st) {
          return std::find(st.scans.begin(), st.scans.end(), u) != st.scans.end();
        });
        NETC_ASSERT(loop != steps.end(), "@" + f.name + ": a scan in no step");
        if (loop->scans[0] != u) // a sibling: the same loop, asked once
          continue;
        const Function &body = function(scan.attrs.get_str("body"));
        BodyKernels bk = body_kernels(f, loop->scans);
        for (size_t i = 0; i + 1 < scan.operands.size(); ++i) {
          if (scan.operands[i] != v)
            continue;
          for (size_t j = 0; j < bk.kernels.size(); ++j) {
            const std::vector<ValueId> &in = bk.kernels[j].inputs;
            ok = ok && !(bk.sunk[j] && std::find(in.begin(), in.end(), body.args()[i]) != in.end());
          }
        }
      }
      if (!ok)
        continue;
      shifted_[v] = {source, c};
      if (!in_slot[c]) {
        in_slot[c] = true;
        steps[k] = Step{{c}, {}};
      } else {
        steps.erase(steps.begin() + static_cast<long>(k--));
      }
    }
  }

  /// The slot of the sum at every step that kernel `k` may add its root to
  /// in place (Kernel::accumulate), whose target it marks written; or -1.
  /// The root must be one sum's value and no other output's, read by no
  /// later body kernel, and the kernel have no co-outputs. Saves an `add` kernel per sum and step, and the step's
  /// value a slot (the LSTM's dW, dU and db: 15 us per step at batch 256).
  /// Not for autoschedulers, which may compute an element twice.
  int accumulated_sum(const Function &body, const Kernel &k, std::vector<Target> &targets,
                      const std::vector<int> &last_use) const {
    ValueId root = k.nodes.back();
    if (schedule_ != "manual" || !k.also.empty() || last_use[root] >= 0)
      return -1;
    Target *sum = nullptr;
    for (Target &t : targets)
      if (t.value == root) {
        if (!t.sum || sum)
          return -1;
        sum = &t;
      }
    if (!sum || sum->written ||
        plan_.slots[static_cast<size_t>(sum->buffer)].type.shape != body.type(root).shape)
      return -1;
    sum->written = true;
    return sum->buffer;
  }

  /// A loop body cut into kernels, the last kernel reading each value, and
  /// which kernels are sums that run after the loop (sums_after_loop).
  struct BodyKernels {
    std::vector<bool> is_result, in_slot;
    std::vector<Kernel> kernels;
    std::vector<int> last_use;
    std::vector<bool> sunk;
  };

  /// The body kernels of the loop of sibling scans `scans` of `f`.
  BodyKernels body_kernels(const Function &f, const std::vector<ValueId> &scans) {
    const Node &lead = f.node(scans[0]);
    const Function &body = function(lead.attrs.get_str("body"));
    BodyKernels bk;
    bk.is_result = results_of(body);
    std::vector<Step> steps = steps_of(body, bk.is_result, bk.in_slot);
    bk.last_use.assign(body.nodes.size(), -1);
    for (size_t k = 0; k < steps.size(); ++k) {
      NETC_ASSERT(steps[k].scans.empty(), "@" + body.name + ": a scan inside a scan's body");
      bk.kernels.push_back(make_kernel(body, steps[k].members, bk.in_slot));
      bk.kernels.back().also = steps[k].also;
      for (ValueId v : bk.kernels.back().inputs)
        bk.last_use[v] = static_cast<int>(k);
    }
    // Sums over the batch's rows run once after the loop on every step's
    // rows; the body values they read are stacked over the steps for it.
    std::vector<ValueId> sums;
    for (ValueId s : scans) {
      const Node &scan = f.node(s);
      int64_t j = scan.attrs.get_int("output");
      if (j != 0 && scan.attrs.get_int("sum") == 1)
        sums.push_back(body.outputs[static_cast<size_t>(j)].value);
    }
    bk.sunk = sums_after_loop(body, bk.kernels, sums, lead, f, lead.operands.size() - 1, bk.last_use,
                              m_.config.get_int("batch", 64));
    return bk;
  }

  /// The loop of sibling scans `scans` of `f`, whose result slots are set
  /// in `slot`: plans the body's kernels on per-step views. `free` is the
  /// caller's free temporaries (for the stacked state when no sibling
  /// returns it).
  int plan_loop(const Function &f, const std::vector<ValueId> &scans, const std::vector<int> &slot,
                FreeSlots &free) {
    const Node &lead = f.node(scans[0]);
    const Function &body = function(lead.attrs.get_str("body"));
    int64_t axis = lead.attrs.get_int("axis");
    size_t nseq = lead.operands.size() - 1;
    ScanLoop loop;
    loop.body = body.name;
    loop.reverse = lead.attrs.get_int("reverse") == 1;
    loop.steps = f.type(lead.operands[0]).shape[static_cast<size_t>(axis)];

    // The state lives in a stacked slot: output 0's, or, when no sibling
    // returns it, a temporary that keeps the last two steps (View::ring).
    int state = -1, state_temp = -1;
    int64_t ring = 0;
    for (ValueId s : scans)
      if (f.node(s).attrs.get_int("output") == 0)
        state = slot[s];
    if (state < 0) {
      TensorType stacked = f.type(lead.operands.back());
      ring = loop.steps > 2 ? 2 : 0;
      stacked.shape.insert(stacked.shape.begin() + axis, ring > 0 ? ring : loop.steps);
      state = state_temp = take_slot(stacked, false, scans[0], free, pool_);
    }
    auto state_view = [&](int shift, int first) {
      int v = add_view(state, axis, shift, first);
      plan_.views[static_cast<size_t>(view_index(v))].ring = ring;
      return v;
    };
    std::vector<ValueId> args = body.args();
    NETC_ASSERT(args.size() == nseq + 1, "@" + body.name + ": arguments do not match its scan");
    std::vector<int> buffer(body.nodes.size(), 0);
    std::vector<bool> has_buffer(body.nodes.size(), false);
    for (size_t i = 0; i < args.size(); ++i) {
      ValueId o = lead.operands[i];
      if (auto shifted = shifted_.find(o); i < nseq && shifted != shifted_.end()) {
        const auto &[source, first] = shifted->second;
        buffer[args[i]] = add_view(slot[source], axis, 1, slot[first]);
        plan_.views[static_cast<size_t>(view_index(buffer[args[i]]))].time_order = true;
      } else {
        buffer[args[i]] = i < nseq ? add_view(slot[o], axis, 0, -1) : state_view(1, slot[o]);
      }
      has_buffer[args[i]] = true;
    }
    for (size_t i = 0; i < body.nodes.size(); ++i)
      if (body.nodes[i].op == OpKind::Param) {
        buffer[i] = param_slot_.at(body.nodes[i].attrs.get_str("name"));
        has_buffer[i] = true;
      }

    // Where each selected body output goes at every step.
    std::vector<Target> targets = {{body.outputs[0].value, state_view(0, -1), false}};
    for (ValueId s : scans) {
      const Node &scan = f.node(s);
      int64_t j = scan.attrs.get_int("output");
      if (j == 0)
        continue;
      ValueId v = body.outputs[static_cast<size_t>(j)].value;
      bool sum = scan.attrs.get_int("sum") == 1;
      targets.push_back({v, sum ? slot[s] : add_view(slot[s], axis, 0, -1), sum});
      if (sum)
        loop.zero.push_back(slot[s]);
    }

    BodyKernels bk = body_kernels(f, scans);
    const std::vector<bool> &is_result = bk.is_result, &in_slot = bk.in_slot, &sunk = bk.sunk;
    std::vector<Kernel> &kernels = bk.kernels;
    const std::vector<int> &last_use = bk.last_use;
    std::vector<bool> stack(body.nodes.size(), false);
    for (size_t k = 0; k < kernels.size(); ++k)
      if (sunk[k])
        for (ValueId v : kernels[k].inputs)
          if (body.node(v).op != OpKind::Arg && body.node(v).op != OpKind::Param)
            stack[v] = true;
    std::vector<int> stacked_slot(body.nodes.size(), -1), stack_temps;
    for (size_t i = 0; i < nseq; ++i)
      stacked_slot[args[i]] = slot[lead.operands[i]];

    // Stacked outputs that join values along their last axis: written in
    // place by the kernels of their parts (joins_in_place).
    Joins joined = joins_in_place(body, kernels, targets, sunk, stack, in_slot, buffer, has_buffer);
    const std::vector<bool> &by_parts = joined.gone;
    const auto &part_of = joined.part_of;

    FreeSlots body_free = body_pool_;
    // Parameters and the values of hoisted kernels: the same at every step.
    std::vector<bool> invariant_value(body.nodes.size(), false);
    for (size_t i = 0; i < body.nodes.size(); ++i)
      invariant_value[i] = body.nodes[i].op == OpKind::Param;
    for (size_t k = 0; k < kernels.size(); ++k) {
      ValueId root = kernels[k].nodes.back();
      if (sunk[k] || by_parts[k])
        continue;
      // Loop-invariant: a kernel of parameters (and of such kernels) runs
      // once before the loop, into a slot that lives through it.
      bool invariant = !body.type(root).has_batch() && kernels[k].also.empty();
      for (ValueId v : kernels[k].inputs)
        invariant = invariant && invariant_value[v];
      if (invariant && !has_buffer[root]) {
        KernelCall call{intern_kernel(kernels[k]), {}, -1};
        std::string key = std::to_string(call.kernel);
        for (ValueId v : kernels[k].inputs) {
          call.inputs.push_back(buffer[v]);
          key += "," + std::to_string(buffer[v]);
        }
        // The same kernel of the same slots in every loop (eval's, the train
        // step's, ...) writes one slot, computed again before each loop.
        auto it = invariant_slot_.find(key);
        if (it == invariant_slot_.end())
          it = invariant_slot_
                   .emplace(key, new_slot(body.type(root), "temp", "%" + std::to_string(root)))
                   .first;
        buffer[root] = call.output = it->second;
        has_buffer[root] = invariant_value[root] = true;
        loop.before.push_back(std::move(call));
        continue;
      }
      // A sum at every step is added to its slot by the kernel that
      // computes it (Kernel::accumulate), when nothing else reads the value.
      int sum_slot = accumulated_sum(body, kernels[k], targets, last_use);
      if (sum_slot >= 0) {
        kernels[k].accumulate = kernels[k].exact_tails = true;
        buffer[root] = sum_slot;
        has_buffer[root] = true;
      }
      // A stacked output (the new state first) is written straight into its
      // view, a part of a joined one into its columns; other values take
      // slots of the bodies' pool. So are the kernel's co-outputs.
      std::vector<ValueId> written = {root};
      written.insert(written.end(), kernels[k].also.begin(), kernels[k].also.end());
      for (ValueId w : written) {
        for (Target &t : targets)
          if (!has_buffer[w] && !t.sum && !t.written && t.value == w) {
            buffer[w] = t.buffer;
            has_buffer[w] = t.written = true;
            stacked_slot[w] = plan_.views[static_cast<size_t>(view_index(t.buffer))].slot;
          }
        if (auto part = part_of.find(w); part != part_of.end()) {
          const auto &[join, column] = part->second;
          buffer[w] = column_view(buffer[join], column, body.type(w));
          has_buffer[w] = true;
        }
        if (!has_buffer[w] && stack[w]) {
          TensorType stacked = body.type(w);
          stacked.shape.insert(stacked.shape.begin() + axis, loop.steps);
          stacked_slot[w] = take_slot(stacked, false, w, free, pool_);
          stack_temps.push_back(stacked_slot[w]);
          buffer[w] = add_view(stacked_slot[w], axis, 0, -1);
          has_buffer[w] = true;
        }
        if (!has_buffer[w]) {
          buffer[w] = take_slot(body.type(w), is_result[w], w, body_free, body_pool_);
          has_buffer[w] = true;
        }
      }
      std::vector<ValueId> inputs = kernels[k].inputs;
      // A loop-invariant right operand of the kernel's matmul is packed
      // into panels once, before the loop (Kernel::packed_rhs).
      int packed = packable_rhs(body, kernels[k], invariant_value);
      if (packed >= 0) {
        kernels[k].packed_rhs = packed;
        kernels[k].panel = panel_;
      }
      KernelCall call{intern_kernel(kernels[k]), {}, buffer[root]};
      for (ValueId v : inputs)
        call.inputs.push_back(buffer[v]);
      for (ValueId v : kernels[k].also)
        call.also.push_back(buffer[v]);
      if (sum_slot >= 0) // the sum so far, read where it is written
        call.inputs.push_back(sum_slot);
      if (packed >= 0) {
        int from = call.inputs[static_cast<size_t>(packed)];
        auto it = packed_slot_.find(from);
        if (it == packed_slot_.end()) {
          const TensorType &t = body.type(inputs[static_cast<size_t>(packed)]);
          TensorType panels{t.dtype, {t.shape[1] / panel_, t.shape[0], panel_}};
          int to = new_slot(panels, "temp", "packed " + plan_.slots[static_cast<size_t>(from)].name);
          it = packed_slot_.emplace(from, to).first;
        }
        // Packed again before every loop that reads it: the parameter may
        // have changed since another loop packed it.
        if (std::none_of(loop.before.begin(), loop.before.end(),
                         [&](const KernelCall &c) { return c.output == it->second; }))
          loop.before.push_back(pack_call(body.type(inputs[static_cast<size_t>(packed)]), from,
                                          it->second));
        call.inputs[static_cast<size_t>(packed)] = it->second;
      }
      loop.calls.push_back(std::move(call));
      for (ValueId v : inputs)
        if (last_use[v] == static_cast<int>(k) && !is_view(buffer[v]))
          release(body, v, buffer, is_result, body_free);
      for (ValueId w : written)
        if (last_use[w] < 0 && !is_view(buffer[w]) && !(w == root && sum_slot >= 0))
          release(body, w, buffer, is_result, body_free);
    }
    // Outputs no kernel wrote in place (an argument returned as it is, a
    // value two outputs share, a sum not run after the loop): copied into
    // their view, or added to their sum, at every step.
    for (Target &t : targets) {
      bool after = false;
      for (size_t k = 0; k < kernels.size(); ++k)
        after = after || (sunk[k] && kernels[k].nodes.back() == t.value);
      if (t.written || (t.sum && after))
        continue;
      NETC_ASSERT(has_buffer[t.value], "@" + body.name + ": an output is in no buffer");
      const TensorType &type = body.type(t.value);
      loop.calls.push_back(
          t.sum ? helper_call(OpKind::Add, type, {t.buffer, buffer[t.value]}, t.buffer)
                : helper_call(OpKind::Reshape, type, {buffer[t.value]}, t.buffer));
      t.written = true;
    }
    // The sums after the loop, on views of all steps at once, straight into
    // their results (no zeroing, no accumulation).
    for (size_t k = 0; k < kernels.size(); ++k) {
      if (!sunk[k])
        continue;
      ValueId root = kernels[k].nodes.back();
      int out = -1;
      for (Target &t : targets)
        if (t.sum && t.value == root) {
          loop.zero.erase(std::find(loop.zero.begin(), loop.zero.end(), t.buffer));
          if (out < 0)
            out = t.buffer;
          else // another output with the same value (two biases' gradients)
            loop.after.push_back(helper_call(OpKind::Reshape, body.type(root), {out}, t.buffer));
          t.written = true;
        }
      kernels[k].long_reduction = true;
      KernelCall call{intern_kernel(kernels[k]), {}, out};
      for (ValueId v : kernels[k].inputs)
        call.inputs.push_back(body.node(v).op == OpKind::Param ? buffer[v]
                                                               : all_steps_view(stacked_slot[v], axis, loop.steps));
      call.batch_scale = loop.steps;
      loop.after.insert(loop.after.begin(), std::move(call));
    }
    if (state_temp >= 0)
      stack_temps.push_back(state_temp);
    for (int t : stack_temps)
      free[plan_.slots[static_cast<size_t>(t)].type.str()].push_back(t);
    plan_.loops.push_back(std::move(loop));
    return static_cast<int>(plan_.loops.size() - 1);
  }

  /// Returns the slot of temporary `v` to the free list (results and leaves
  /// keep theirs).
  void release(const Function &f, ValueId v, const std::vector<int> &slot,
               const std::vector<bool> &is_result, FreeSlots &free) {
    const Node &node = f.node(v);
    if (is_result[v] || node.op == OpKind::Arg || node.op == OpKind::Param)
      return;
    if (plan_.slots[slot[v]].role != std::string("temp"))
      return;
    free[node.type.str()].push_back(slot[v]);
  }

  const Module &m_;
  std::string target_, schedule_;
  /// Columns of a matmul panel on the target (0: unknown target, no packing).
  int64_t panel_ = 0;
  ModelPlan plan_;
  /// Every pooled temporary slot, by type: all free when a function starts.
  FreeSlots pool_;
  /// The same for scan bodies, which run while their callers' values live.
  FreeSlots body_pool_;
  std::map<std::string, int> param_slot_;
  std::map<std::string, int> kernel_index_;
  std::map<std::string, size_t> helper_index_;
  /// The slot a loop packs a matmul's right operand into, by the operand's
  /// slot: shared by every loop that reads it (each packs it before it runs).
  std::map<int, int> packed_slot_;
  /// The slot of a loop-invariant body kernel (run before its loop), by its
  /// kernel and input slots: shared by every loop that runs it.
  std::map<std::string, int> invariant_slot_;
  /// The function being planned's sequences read through shifted views
  /// (shift_sequences): each one's source and first step.
  std::map<ValueId, std::pair<ValueId, ValueId>> shifted_;
};

} // namespace

std::vector<std::string> scan_bodies(const Module &m) {
  std::vector<std::string> bodies;
  for (const Function &f : m.functions)
    for (const Node &n : f.nodes)
      if (n.op == OpKind::Scan &&
          std::find(bodies.begin(), bodies.end(), n.attrs.get_str("body")) == bodies.end())
        bodies.push_back(n.attrs.get_str("body"));
  return bodies;
}

std::string codegen_unsupported(const Module &m, Loc *loc) {
  std::vector<std::string> bodies = scan_bodies(m);
  for (const Function &f : m.functions) {
    if (std::find(bodies.begin(), bodies.end(), f.name) == bodies.end())
      continue;
    for (const Node &n : f.nodes)
      if (n.op == OpKind::Scan) {
        *loc = n.loc;
        return "the native code generator does not run a scan inside a scan's body (@" + f.name +
               "); `netc train` trains this model with the reference interpreter";
      }
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

} // namespace netc::codegen
