//===- Jit.cpp - Run a planned module in-process with Halide's JIT --------===//
#include "codegen/Jit.h"

#include <cstring>

namespace netc::codegen {

struct JitModel::Compiled {
  KernelPipeline kp;
};

namespace {

/// A Halide buffer for a slot of IR type `t` at batch `batch`, dims reversed.
Halide::Buffer<> make_buffer(const TensorType &t, int64_t batch) {
  std::vector<int> sizes;
  for (int d = t.rank() - 1; d >= 0; --d)
    sizes.push_back(static_cast<int>(t.shape[d] == kBatch ? batch : t.shape[d]));
  return Halide::Buffer<>(t.dtype == DType::F32 ? Halide::Float(32) : Halide::Int(32), sizes);
}

/// Row-major host data in and out of a Halide buffer (whose dense layout,
/// with dim 0 innermost, is the same row-major order).
void fill(Halide::Buffer<> &b, const Tensor &t) {
  NETC_ASSERT(static_cast<int64_t>(b.number_of_elements()) == t.size(), "size mismatch");
  if (b.type() == Halide::Float(32)) {
    float *p = static_cast<float *>(b.data());
    for (int64_t i = 0; i < t.size(); ++i)
      p[i] = static_cast<float>(t[i]);
  } else {
    int32_t *p = static_cast<int32_t *>(b.data());
    for (int64_t i = 0; i < t.size(); ++i)
      p[i] = static_cast<int32_t>(t[i]);
  }
}

Tensor read(const Halide::Buffer<> &b, const TensorType &t, int64_t batch) {
  Tensor out(t.dtype, concrete_shape(t.shape, batch));
  for (int64_t i = 0; i < out.size(); ++i)
    out[i] = b.type() == Halide::Float(32) ? static_cast<const float *>(b.data())[i]
                                           : static_cast<const int32_t *>(b.data())[i];
  return out;
}

/// The buffer a call names: a slot, or one of `views`.
Halide::Buffer<> &resolve(int buffer, std::vector<Halide::Buffer<>> &slots,
                          std::map<int, Halide::Buffer<>> &views) {
  return is_view(buffer) ? views.at(view_index(buffer)) : slots[static_cast<size_t>(buffer)];
}

} // namespace

namespace {

/// Points the views of `loop`'s calls at step `k` of the slots.
void point_views(const ModelPlan &plan, const ScanLoop &loop, const std::vector<KernelCall> &calls,
                 int64_t k, std::vector<Halide::Buffer<>> &slots, int64_t batch,
                 std::map<int, Halide::Buffer<>> &views) {
  for (const KernelCall &c : calls) {
    for (int b : c.buffers()) {
      if (!is_view(b))
        continue;
      const View &v = plan.views[static_cast<size_t>(view_index(b))];
      ViewStep at = view_step(v, loop, k, batch);
      Halide::Buffer<> &base = slots[static_cast<size_t>(at.slot)];
      std::vector<halide_dimension_t> dims;
      for (int d = 0; d < v.type.rank(); ++d) {
        int64_t e = v.type.shape[static_cast<size_t>(v.type.rank() - 1 - d)];
        dims.emplace_back(0, static_cast<int32_t>(e == kBatch ? batch * v.batch_scale : e),
                          static_cast<int32_t>(at.strides[static_cast<size_t>(d)]));
      }
      auto *host = static_cast<uint8_t *>(base.data()) + at.offset * base.type().bytes();
      views[view_index(b)] = Halide::Buffer<>(base.type(), host, v.type.rank(), dims.data());
    }
  }
}

void run_one(const KernelCall &c, std::vector<Halide::Buffer<>> &slots,
             std::map<int, Halide::Buffer<>> &views, const RunKernel &run) {
  std::vector<Halide::Buffer<>> inputs;
  for (int b : c.inputs)
    inputs.push_back(resolve(b, slots, views));
  std::vector<Halide::Buffer<>> outputs;
  for (int b : c.outputs())
    outputs.push_back(resolve(b, slots, views));
  run(c, inputs, outputs);
}

} // namespace

void run_call(const ModelPlan &plan, const KernelCall &call, std::vector<Halide::Buffer<>> &slots,
              int64_t batch, const RunKernel &run) {
  std::map<int, Halide::Buffer<>> views;
  if (call.loop < 0) {
    run_one(call, slots, views, run);
    return;
  }
  const ScanLoop &loop = plan.loops[static_cast<size_t>(call.loop)];
  for (int s : loop.zero)
    std::memset(slots[static_cast<size_t>(s)].data(), 0, slots[static_cast<size_t>(s)].size_in_bytes());
  for (const KernelCall &c : loop.before)
    run_one(c, slots, views, run);
  for (int64_t k = 0; k < loop.steps; ++k) {
    point_views(plan, loop, loop.calls, k, slots, batch, views);
    for (const KernelCall &c : loop.calls)
      run_one(c, slots, views, run);
  }
  point_views(plan, loop, loop.after, 0, slots, batch, views);
  for (const KernelCall &c : loop.after)
    run_one(c, slots, views, run);
}

void run_loop_call(const ModelPlan &plan, const ScanLoop &loop, const std::vector<KernelCall> &calls,
                   size_t c, int64_t k, std::vector<Halide::Buffer<>> &slots, int64_t batch,
                   const RunKernel &run) {
  std::map<int, Halide::Buffer<>> views;
  point_views(plan, loop, calls, k, slots, batch, views);
  run_one(calls[c], slots, views, run);
}

JitModel::JitModel(const Module &m, const Halide::Target &target)
    : m_(m), target_(target), plan_(plan_model(m, target.to_string())) {
  for (const Kernel &k : plan_.kernels) {
    auto c = std::make_unique<Compiled>(Compiled{build_kernel_pipeline(k, target_)});
    c->kp.pipeline.compile_jit(target_);
    kernels_.push_back(std::move(c));
  }
}

JitModel::~JitModel() = default;

std::map<std::string, Tensor> JitModel::call(const std::string &name,
                                              const std::vector<Tensor> &args, ParamStore &params) {
  const FunctionPlan *fp = nullptr;
  for (const FunctionPlan &f : plan_.functions)
    if (f.name == name)
      fp = &f;
  NETC_ASSERT(fp, "no function @" + name);
  NETC_ASSERT(args.size() == fp->args.size(), "wrong number of arguments");
  int64_t batch = args.empty() || args[0].shape.empty() ? 1 : args[0].shape[0];

  std::vector<Halide::Buffer<>> slots(plan_.slots.size());
  for (size_t s = 0; s < plan_.slots.size(); ++s)
    slots[s] = make_buffer(plan_.slots[s].type, batch);
  for (size_t i = 0; i < m_.params.size(); ++i)
    fill(slots[i], params.at(m_.params[i].name));
  for (size_t i = 0; i < args.size(); ++i)
    fill(slots[fp->args[i].slot], args[i]);

  for (const KernelCall &call : fp->calls)
    run_call(plan_, call, slots, batch,
             [&](const KernelCall &c, const std::vector<Halide::Buffer<>> &inputs,
                 std::vector<Halide::Buffer<>> &outputs) {
               KernelPipeline &kp = kernels_[static_cast<size_t>(c.kernel)]->kp;
               kp.batch.set(static_cast<int32_t>(batch * c.batch_scale));
               for (size_t i = 0; i < inputs.size(); ++i)
                 kp.inputs[i].set(inputs[i]);
               kp.pipeline.realize(Halide::Realization(outputs), target_);
             });
  std::map<std::string, Tensor> out;
  for (const NamedSlot &o : fp->outputs)
    out[o.name] = read(slots[o.slot], plan_.slots[o.slot].type, batch);
  for (const NamedSlot &u : fp->updates)
    params[u.name] = read(slots[u.slot], plan_.slots[u.slot].type, batch);
  return out;
}

} // namespace netc::codegen
