//===- Plan.h - Kernels and buffer slots of a module -----------*- C++ -*-===//
//
// The plan is what codegen builds from an optimised module:
//   - slots: every buffer the step functions touch (parameters and state
//     first, in module order, shared by all functions; then each function's
//     arguments and kernel outputs);
//   - kernels: groups of IR nodes, each compiled to one Halide pipeline
//     `int <symbol>(int32_t batch, halide_buffer_t *inputs..., halide_buffer_t *out,
//     halide_buffer_t *also...)` (also: the co-outputs, Kernel::also);
//     identical kernels (same nodes, types and target) share one symbol;
//   - per function: the kernel calls in order, then the update copies.
//
// Grouping: the fusion pass's `kernel = k` attributes (passes/Fusion.h);
// a kernel's nodes are its members plus the inline nodes (constants,
// batch_size, movement) they read, recomputed in each kernel. IR without
// those attributes (fusion disabled) gets one kernel per non-leaf node,
// with constant and batch_size operands inlined.
//
// Memory: a temporary slot is reused by a later value of the same type once
// every kernel that reads its current value has run (lifetimes over each
// function, in call order; functions never overlap, so the pool of
// temporaries is shared by all of them). Results (outputs, updates) and
// arguments keep slots of their own. An update is written in place, straight
// into its parameter or state slot, when no later kernel reads the old value
// and its own kernel reads it only pointwise at the element it writes; such
// kernels use exact tails (no overlapping recomputation), and need no copy.
// Kernels scheduled by an autoscheduler (which may recompute overlapping
// tails) never write in place.
//
// Scans (docs/recurrence.md): the sibling scans of one loop (same body,
// operands and direction) become one call with `loop` set: a ScanLoop that
// runs its body's kernels once per time step, on per-step views of the
// sequence, state and stacked result slots (no copies, no unrolling). The
// state always lives in a stacked slot (the scan's output 0, or a temporary
// that keeps two steps, View::ring), so step t reads step t-1's slice; a
// slot only step views touch is laid out time-major (View::time_major), so
// a step's rows are dense; a stacked output that
// concatenates values along the last axis is written in place by the
// kernels of its parts, each into its columns (View::offset); a sequence
// that is a stacked value one step later in time (the states before each
// step) is a view of it shifted in time (View::time_order); summed outputs
// are accumulated in place at each step, by the kernel of the step's value
// (Kernel::accumulate) or an `add` kernel after it, except a sum over the
// batch's rows (a weight gradient x_t^T g_t, a bias gradient), which runs
// once after the loop on the stacked rows of every step while the body
// values it stacks stay small (PlanRules.cpp, kStackBytes).
// A body's slots are its own (its pool of temporaries is shared by
// all bodies, which never run at the same time), since a body runs while
// its caller's values live.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <memory>
#include <string>
#include <vector>

namespace netc::codegen {

struct Slot {
  TensorType type;
  std::string role; // "param", "state", "arg", "temp"
  std::string name; // parameter or argument name, for dumps
};

struct Kernel {
  const Function *function = nullptr;
  /// Nodes of `function`, in order; the last is the kernel's output.
  std::vector<ValueId> nodes;
  /// Co-outputs: members besides the root that are written to slots of
  /// their own too (an optimizer's new moment beside the new parameter it
  /// feeds; an LSTM step's gates beside its new hidden state, which later
  /// kernels or a stacked output read), of the root's type and on a
  /// pointwise path to it, so they are computed on the root's loop nest
  /// (one Halide Tuple). The kernel's arguments end with the root's
  /// buffer, then theirs, in node order (KernelGroups.h, co_outputs).
  std::vector<ValueId> also;
  /// Values read from slots, in the kernel's argument order.
  std::vector<ValueId> inputs;
  /// Content key: everything the compiled object depends on except the target.
  std::string key;
  /// The C symbol, `netc_k_` + a hash of key and target.
  std::string symbol;
  /// The output may alias an input (an in-place update): every loop must
  /// compute each element once (no ShiftInwards overlap).
  bool exact_tails = false;
  /// "manual" (codegen/halide/Schedule.cpp) or a Halide autoscheduler:
  /// "adams2019", "li2018", "mullapudi2016" (their estimates use
  /// `batch_estimate` for N).
  std::string schedule = "manual";
  int64_t batch_estimate = 64;
  /// Run over many rows (a scan body's sum run once over every step's rows):
  /// its matmul is blocked along the reduction (Schedule.cpp).
  bool long_reduction = false;
  /// A scan body's kernel whose matmul reads a loop-invariant right operand
  /// [K, P]: input `packed_rhs` (an index into `inputs`, or -1) arrives
  /// packed into panels [P / panel, K, panel] by a kernel run once before
  /// the loop (ScanLoop::before), where the matmul would otherwise pack
  /// each panel again at every step (Schedule.cpp's panel schedule).
  int packed_rhs = -1;
  int64_t panel = 0;
  /// The root is added to what its output holds (a scan's sum at every
  /// step, Plan.cpp's accumulated_sum): the output's buffer is passed
  /// again as the last input, after `inputs`. With exact tails.
  bool accumulate = false;
};

/// Buffers of a call: a slot (>= 0), or view `v` written as -1 - v.
inline int view_buffer(int view) { return -1 - view; }
inline bool is_view(int buffer) { return buffer < 0; }
inline int view_index(int buffer) { return -1 - buffer; }

struct KernelCall {
  int kernel;              // index into ModelPlan::kernels; -1 for a loop
  std::vector<int> inputs; // buffers, in the kernel's argument order (a loop: its operands)
  int output;              // buffer (a loop: its first result's slot)
  int loop = -1;           // index into ModelPlan::loops, or -1
  /// The kernel runs at batch * batch_scale: a body kernel run once over
  /// all the steps of a loop, whose rows are the batch's rows at every step.
  int64_t batch_scale = 1;
  /// Buffers of the kernel's co-outputs (Kernel::also), in order.
  std::vector<int> also = {};

  /// The buffers the kernel writes: its output, then its co-outputs.
  std::vector<int> outputs() const {
    std::vector<int> out = {output};
    out.insert(out.end(), also.begin(), also.end());
    return out;
  }
  /// Every buffer, in the kernel's argument order: inputs, then outputs().
  std::vector<int> buffers() const {
    std::vector<int> all = inputs, out = outputs();
    all.insert(all.end(), out.begin(), out.end());
    return all;
  }
};

/// One time step of a slot along a scan's axis: the buffer a body reads or
/// writes at step t, with the slot's strides (Halide order: innermost
/// first). `shift` 1 views the previous step in loop order, and slot
/// `first` (densely) at the first step: a body's state argument.
struct View {
  int slot;
  TensorType type; // one step's type: the slot's without the axis
  std::vector<int64_t> strides;       // per Halide dimension of `type`
  std::vector<int64_t> first_strides; // of `first` (dense), with shift 1
  int64_t step_stride = 0;            // elements between consecutive steps
  /// 1: the previous step's slice, `first` before the first step. In loop
  /// order (a carried state: in a reversed loop, the later step in time),
  /// or with time_order in time order (a sequence shifted one step later:
  /// step t reads t - 1 and step 0 `first`, whichever way the loop runs).
  int shift = 0;
  int first = -1;
  bool time_order = false;
  /// A view of all steps at once (`fixed`, never moved): the slot
  /// [N, T, ...] seen as [N·T, ...], its batch extent batch * batch_scale.
  bool fixed = false;
  int64_t batch_scale = 1;
  /// Elements from the start of each step's slice (of `first`'s, too) to
  /// the view's: a column block of a concatenation its parts write in place.
  int64_t offset = 0;
  /// The axis the view steps along (the slot's, before it was removed).
  int64_t axis = 0;
  /// The slot holds its steps one after the other, [T, N, ...] in memory
  /// though typed [N, T, ...]: it is only ever seen through step views
  /// (time_major_slots in Plan.cpp), so each step's rows can be dense.
  /// Step t then starts t * batch * step_stride elements in, step_stride
  /// being the elements of one row of a step, and `strides` are dense.
  bool time_major = false;
  /// Steps the slot keeps, 0 for all: step t lives at t mod ring. A carried
  /// state that no sibling scan returns keeps its last two (the one a step
  /// reads and the one it writes).
  int64_t ring = 0;
};

struct ScanLoop {
  std::string body;
  int64_t steps = 0;
  bool reverse = false;
  /// Body kernels that read only parameters (a transposed weight), run once
  /// before the first step into slots of their own; then the packs of the
  /// step matmuls' loop-invariant right operands (Kernel::packed_rhs).
  std::vector<KernelCall> before;
  /// The body's kernels, run in order at every step (views and slots).
  std::vector<KernelCall> calls;
  /// Slots zeroed before the first step (summed outputs).
  std::vector<int> zero;
  /// Body kernels run once after the last step, over all steps' rows: a
  /// summed weight gradient x_t^T g_t is one matmul of the stacked x and
  /// g (their rows are the batch's rows at every step), not T small ones.
  std::vector<KernelCall> after;
};

struct Copy {
  int from, to;
  int64_t bytes;
};

struct NamedSlot {
  std::string name;
  int slot;
};

struct FunctionPlan {
  std::string name;
  std::vector<NamedSlot> args, outputs, updates;
  std::vector<KernelCall> calls;
  std::vector<Copy> copies;
};

struct ModelPlan {
  std::vector<Slot> slots;
  std::vector<Kernel> kernels;
  std::vector<FunctionPlan> functions;
  std::vector<View> views;
  std::vector<ScanLoop> loops;
  /// Small functions codegen adds (a copy, an accumulation) that kernels
  /// point into; shared so kernels stay valid when the plan moves.
  std::vector<std::shared_ptr<Function>> helpers;
  /// The type of every kernel output that is not written in place, over all
  /// functions: what the temporaries would take without slot reuse.
  std::vector<TensorType> temp_values;
};

/// Bytes of a buffer of type `t` at batch `batch`.
int64_t buffer_bytes(const TensorType &t, int64_t batch);

/// Bytes of the temporaries (slots of role "temp") at batch `batch`: the
/// arena the step functions work in, beside parameters, state and inputs.
int64_t arena_bytes(const ModelPlan &plan, int64_t batch);

/// The same without slot reuse (one buffer per kernel output).
int64_t unshared_temp_bytes(const ModelPlan &plan, int64_t batch);

/// The functions of `m` that scans run as bodies (planned inside their
/// callers' loops, not as functions of their own).
std::vector<std::string> scan_bodies(const Module &m);

/// The host address offset (in elements) and Halide dimensions of view `v`
/// at loop iteration `k` (0-based, in loop order) of `loop`, at `batch`;
/// `*slot` is the slot the view reads at that step.
struct ViewStep {
  int slot;
  int64_t offset;
  std::vector<int64_t> strides;
};
ViewStep view_step(const View &v, const ScanLoop &loop, int64_t k, int64_t batch);

/// Plans `m` (after the pass pipeline) for `target` (a Halide target string,
/// part of every kernel's symbol so objects for different targets never mix)
/// with the kernels scheduled by `schedule` (see Kernel::schedule).
ModelPlan plan_model(const Module &m, const std::string &target,
                     const std::string &schedule = "manual");

/// Why `m` cannot be compiled natively ("" when it can), with the offending
/// node's location in *loc: a scan inside a scan's body.
std::string codegen_unsupported(const Module &m, Loc *loc);

/// The schedules plan_model accepts.
const std::vector<std::string> &schedule_names();

/// A stable 64-bit FNV-1a hash, as 16 hex digits.
std::string stable_hash(const std::string &text);

} // namespace netc::codegen
