//===- Layout.cpp - Where a plan's values lie in memory -------------------===//
//
// The memory side of the plan (codegen/Plan.h): dense strides, the
// time-major layout of stacked slots that only step views touch, the
// buffer a view names at a loop's step, and the arena's size.
//
//===----------------------------------------------------------------------===//
#include "codegen/Layout.h"

namespace netc::codegen {

/// Dense strides of `shape` in elements, IR order (outermost first); the
/// batch may only be the outermost dimension.
std::vector<int64_t> dense_strides(const Shape &shape) {
  std::vector<int64_t> st(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) {
    NETC_ASSERT(shape[d] != kBatch, "codegen: the batch must be the outermost dimension");
    st[d - 1] = st[d] * shape[d];
  }
  return st;
}

/// Lays out time-major (View::time_major) every slot [N, T, ...] that only
/// step views along axis 1 touch: no kernel, copy, argument or result reads
/// or writes it whole, no view reads all its steps at once, and it is no
/// state's first step. At batch 256 a step of the LSTM's saved gates is 256
/// rows of 640 floats lying 28 x 640 floats apart; time-major, they are one
/// dense block, which the gradient loop's kernels stream.
void time_major_slots(ModelPlan &plan) {
  std::vector<bool> whole(plan.slots.size(), false);
  auto touch = [&](int buffer) {
    if (!is_view(buffer))
      whole[static_cast<size_t>(buffer)] = true;
  };
  auto calls = [&](const std::vector<KernelCall> &cs) {
    for (const KernelCall &c : cs) {
      if (c.loop >= 0) // a loop's operands are read through its views
        continue;
      for (int b : c.inputs)
        touch(b);
      touch(c.output);
    }
  };
  for (const FunctionPlan &f : plan.functions) {
    calls(f.calls);
    for (const auto *named : {&f.args, &f.outputs, &f.updates})
      for (const NamedSlot &n : *named)
        whole[static_cast<size_t>(n.slot)] = true;
    for (const Copy &c : f.copies)
      whole[static_cast<size_t>(c.from)] = whole[static_cast<size_t>(c.to)] = true;
  }
  for (const ScanLoop &loop : plan.loops) {
    calls(loop.before);
    calls(loop.calls);
    calls(loop.after);
    for (int s : loop.zero)
      whole[static_cast<size_t>(s)] = true;
  }
  for (const View &v : plan.views) {
    const Shape &shape = plan.slots[static_cast<size_t>(v.slot)].type.shape;
    if (v.fixed || v.axis != 1 || shape.size() < 2 || shape[0] != kBatch)
      whole[static_cast<size_t>(v.slot)] = true;
    if (v.first >= 0)
      whole[static_cast<size_t>(v.first)] = true;
  }
  for (View &v : plan.views) {
    if (whole[static_cast<size_t>(v.slot)])
      continue;
    Shape step = plan.slots[static_cast<size_t>(v.slot)].type.shape;
    step.erase(step.begin() + 1);
    std::vector<int64_t> dense = dense_strides(step);
    v.time_major = true;
    v.strides.assign(dense.rbegin(), dense.rend());
    v.step_stride = dense[0];
  }
}

ViewStep view_step(const View &v, const ScanLoop &loop, int64_t k, int64_t batch) {
  if (v.fixed)
    return {v.slot, v.offset, v.strides};
  int64_t t = loop.reverse ? loop.steps - 1 - k : k;
  int64_t step = v.step_stride * (v.time_major ? batch : 1);
  auto at = [&](int64_t i) { return (v.ring > 0 ? i % v.ring : i) * step + v.offset; };
  if (v.shift == 0)
    return {v.slot, at(t), v.strides};
  if (v.time_order ? t == 0 : k == 0)
    return {v.first, v.offset, v.first_strides};
  return {v.slot, at(loop.reverse && !v.time_order ? t + 1 : t - 1), v.strides};
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
