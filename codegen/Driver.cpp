//===- Driver.cpp - The step driver, emitted as LLVM IR -------------------===//
#include "codegen/Driver.h"

#include <HalideRuntime.h>
#include <cstddef>
#include <cstring>
#include <map>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Host.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <nlohmann/json.hpp>

namespace netc::codegen {

using json = nlohmann::ordered_json;

namespace {

json attr_json(const AttrValue &v) {
  if (auto *i = std::get_if<int64_t>(&v))
    return *i;
  if (auto *d = std::get_if<double>(&v))
    return *d;
  if (auto *s = std::get_if<std::string>(&v))
    return *s;
  return std::get<std::vector<int64_t>>(v);
}

json attrs_json(const Attrs &a) {
  json j = json::object();
  for (const auto &[k, v] : a.map())
    j[k] = attr_json(v);
  return j;
}

json named_slots(const std::vector<NamedSlot> &v, const char *key) {
  json j = json::array();
  for (const NamedSlot &s : v)
    j.push_back({{key, s.name}, {"slot", s.slot}});
  return j;
}

/// Emits `i32 @netc_fn_<name>(i8** slots, i32 batch)` for one function plan.
class FunctionEmitter {
public:
  FunctionEmitter(llvm::LLVMContext &ctx, llvm::Module &mod, const ModelPlan &plan,
                  const std::vector<llvm::FunctionCallee> &kernels, const FunctionPlan &fp)
      : ctx_(ctx), mod_(mod), plan_(plan), kernels_(kernels), fp_(fp), b_(ctx) {}

  void emit() {
    auto *ft = llvm::FunctionType::get(i32(), {i8pp(), i32()}, false);
    fn_ = llvm::Function::Create(ft, llvm::GlobalValue::ExternalLinkage, "netc_fn_" + fp_.name, mod_);
    slots_ = fn_->getArg(0);
    batch_ = fn_->getArg(1);
    slots_->setName("slots");
    batch_->setName("batch");
    auto *entry = llvm::BasicBlock::Create(ctx_, "entry", fn_);
    fail_ = llvm::BasicBlock::Create(ctx_, "fail", fn_);
    b_.SetInsertPoint(fail_);
    code_ = b_.CreatePHI(i32(), 4, "code");
    b_.CreateRet(code_);

    b_.SetInsertPoint(entry);
    for (const KernelCall &call : fp_.calls) {
      if (call.loop >= 0)
        emit_loop(plan_.loops[static_cast<size_t>(call.loop)]);
      else
        emit_call(call);
    }
    // Updates land after every kernel ran, so all kernels saw the old values.
    for (const Copy &cp : fp_.copies)
      b_.CreateMemCpy(host(slot(cp.to)), llvm::MaybeAlign(4), host(slot(cp.from)),
                      llvm::MaybeAlign(4), static_cast<uint64_t>(cp.bytes));
    b_.CreateRet(b_.getInt32(0));
    if (code_->getNumIncomingValues() == 0)
      fail_->eraseFromParent();
  }

private:
  llvm::Type *i8() { return llvm::Type::getInt8Ty(ctx_); }
  llvm::Type *i32() { return llvm::Type::getInt32Ty(ctx_); }
  llvm::Type *i64() { return llvm::Type::getInt64Ty(ctx_); }
  llvm::PointerType *i8p() { return i8()->getPointerTo(); }
  llvm::PointerType *i8pp() { return i8p()->getPointerTo(); }

  llvm::Value *slot(int s) {
    llvm::Value *addr = b_.CreateConstInBoundsGEP1_64(i8p(), slots_, static_cast<uint64_t>(s));
    return b_.CreateLoad(i8p(), addr, "slot" + std::to_string(s));
  }
  llvm::Value *buffer(int b) { return is_view(b) ? views_.at(view_index(b)) : slot(b); }

  /// A pointer to the field at byte `offset` of the structure at `base`.
  llvm::Value *field(llvm::Value *base, size_t offset, llvm::Type *type) {
    llvm::Value *p = b_.CreateConstInBoundsGEP1_64(i8(), base, offset);
    return b_.CreateBitCast(p, type->getPointerTo());
  }
  llvm::Value *host(llvm::Value *buf) {
    return b_.CreateLoad(i8p(), field(buf, offsetof(halide_buffer_t, host), i8p()));
  }

  /// Calls a kernel; a non-zero result branches to the fail block.
  void emit_call(const KernelCall &call) {
    llvm::Value *batch = batch_;
    if (call.batch_scale != 1)
      batch = b_.CreateMul(batch_, b_.getInt32(static_cast<uint32_t>(call.batch_scale)));
    std::vector<llvm::Value *> args = {batch};
    for (int b : call.buffers())
      args.push_back(buffer(b));
    llvm::Value *r = b_.CreateCall(kernels_[static_cast<size_t>(call.kernel)], args);
    auto *next = llvm::BasicBlock::Create(ctx_, "k" + std::to_string(++calls_), fn_, fail_);
    code_->addIncoming(r, b_.GetInsertBlock());
    b_.CreateCondBr(b_.CreateICmpNE(r, b_.getInt32(0)), fail_, next);
    b_.SetInsertPoint(next);
  }

  /// Bytes of slot `s` at the run's batch.
  llvm::Value *bytes(int s) {
    const TensorType &t = plan_.slots[static_cast<size_t>(s)].type;
    llvm::Value *n = b_.getInt64(static_cast<uint64_t>(4 * static_elements(t.shape)));
    for (int64_t d : t.shape)
      if (d == kBatch)
        n = b_.CreateMul(n, b_.CreateZExt(batch_, i64()));
    return n;
  }

  /// A halide_buffer_t (and its dimensions) on the stack for view `v`, its
  /// type and extents set; host and strides are set at every step.
  llvm::Value *make_view(const View &v) {
    llvm::IRBuilder<> at(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
    int rank = v.type.rank();
    auto *buf = at.CreateAlloca(llvm::ArrayType::get(i8(), sizeof(halide_buffer_t)));
    buf->setAlignment(llvm::Align(8));
    llvm::Value *dims = nullptr;
    if (rank > 0) {
      auto *d = at.CreateAlloca(llvm::ArrayType::get(i8(), sizeof(halide_dimension_t) * rank));
      d->setAlignment(llvm::Align(8));
      dims = b_.CreateBitCast(d, i8p());
    }
    llvm::Value *p = b_.CreateBitCast(buf, i8p());
    b_.CreateMemSet(p, b_.getInt8(0), sizeof(halide_buffer_t), llvm::MaybeAlign(8));
    const TensorType &base = plan_.slots[static_cast<size_t>(v.slot)].type;
    NETC_ASSERT(base.dtype == DType::F32 || base.dtype == DType::I32,
                "codegen: a scan over " + base.str());
    halide_type_t type(base.dtype == DType::F32 ? halide_type_float : halide_type_int, 32);
    uint32_t packed;
    static_assert(sizeof(type) == sizeof(packed));
    std::memcpy(&packed, &type, sizeof(packed));
    b_.CreateStore(b_.getInt32(packed), field(p, offsetof(halide_buffer_t, type), i32()));
    b_.CreateStore(b_.getInt32(static_cast<uint32_t>(rank)),
                   field(p, offsetof(halide_buffer_t, dimensions), i32()));
    if (dims) {
      b_.CreateMemSet(dims, b_.getInt8(0), sizeof(halide_dimension_t) * rank, llvm::MaybeAlign(8));
      b_.CreateStore(dims, field(p, offsetof(halide_buffer_t, dim), i8p()));
      for (int d = 0; d < rank; ++d) {
        int64_t e = v.type.shape[static_cast<size_t>(rank - 1 - d)];
        llvm::Value *extent = b_.getInt32(static_cast<uint32_t>(e));
        if (e == kBatch)
          extent = v.batch_scale == 1
                       ? batch_
                       : b_.CreateMul(batch_, b_.getInt32(static_cast<uint32_t>(v.batch_scale)));
        b_.CreateStore(extent, field(dims, sizeof(halide_dimension_t) * d +
                                               offsetof(halide_dimension_t, extent), i32()));
      }
    }
    return p;
  }

  /// Points view `v` at loop iteration `k` (an i64) of `loop`.
  void set_view(const View &v, llvm::Value *view, const ScanLoop &loop, llvm::Value *k) {
    llvm::Value *steps = b_.getInt64(static_cast<uint64_t>(loop.steps));
    llvm::Value *t = loop.reverse ? b_.CreateSub(b_.CreateSub(steps, b_.getInt64(1)), k) : k;
    llvm::Value *index = t;
    if (v.shift == 1)
      index = loop.reverse && !v.time_order ? b_.CreateAdd(t, b_.getInt64(1))
                                            : b_.CreateSub(t, b_.getInt64(1));
    if (v.ring > 0) // the last `ring` steps (View::ring); index >= 0 where it is used
      index = b_.CreateURem(index, b_.getInt64(static_cast<uint64_t>(v.ring)));
    llvm::Value *step = b_.getInt64(static_cast<uint64_t>(4 * v.step_stride));
    if (v.time_major) // steps of batch rows each (View::time_major)
      step = b_.CreateMul(step, b_.CreateZExt(batch_, i64()));
    llvm::Value *offset = b_.CreateMul(index, step);
    llvm::Value *ptr = b_.CreateInBoundsGEP(i8(), host(slot(v.slot)), offset);
    llvm::Value *first = v.shift == 1 ? b_.CreateICmpEQ(v.time_order ? t : k, b_.getInt64(0)) : nullptr;
    if (first)
      ptr = b_.CreateSelect(first, host(slot(v.first)), ptr);
    if (v.offset != 0)
      ptr = b_.CreateConstInBoundsGEP1_64(i8(), ptr, static_cast<uint64_t>(4 * v.offset));
    b_.CreateStore(ptr, field(view, offsetof(halide_buffer_t, host), i8p()));
    llvm::Value *dims = b_.CreateLoad(i8p(), field(view, offsetof(halide_buffer_t, dim), i8p()));
    for (size_t d = 0; d < v.strides.size(); ++d) {
      llvm::Value *stride = b_.getInt32(static_cast<uint32_t>(v.strides[d]));
      if (first)
        stride = b_.CreateSelect(first, b_.getInt32(static_cast<uint32_t>(v.first_strides[d])), stride);
      b_.CreateStore(stride, field(dims, sizeof(halide_dimension_t) * d +
                                             offsetof(halide_dimension_t, stride), i32()));
    }
  }

  /// The body's kernels once per step, on views moved along the time axis,
  /// then the sums over all steps' rows (ScanLoop::after) on fixed views.
  void emit_loop(const ScanLoop &loop) {
    std::vector<int> used;
    for (const auto *calls : {&loop.calls, &loop.after})
      for (const KernelCall &c : *calls) {
        for (int b : c.buffers())
          if (is_view(b) && std::find(used.begin(), used.end(), view_index(b)) == used.end())
            used.push_back(view_index(b));
      }
    for (int v : used) {
      const View &view = plan_.views[static_cast<size_t>(v)];
      views_[v] = make_view(view);
      if (view.fixed)
        set_view(view, views_[v], loop, b_.getInt64(0));
    }
    for (int s : loop.zero)
      b_.CreateMemSet(host(slot(s)), b_.getInt8(0), bytes(s), llvm::MaybeAlign(4));
    for (const KernelCall &c : loop.before)
      emit_call(c);

    llvm::BasicBlock *pre = b_.GetInsertBlock();
    auto *head = llvm::BasicBlock::Create(ctx_, "scan." + loop.body, fn_, fail_);
    b_.CreateBr(head);
    b_.SetInsertPoint(head);
    llvm::PHINode *k = b_.CreatePHI(i64(), 2, "step");
    k->addIncoming(b_.getInt64(0), pre);
    for (int v : used)
      if (!plan_.views[static_cast<size_t>(v)].fixed)
        set_view(plan_.views[static_cast<size_t>(v)], views_[v], loop, k);
    for (const KernelCall &c : loop.calls)
      emit_call(c);
    llvm::Value *next = b_.CreateAdd(k, b_.getInt64(1));
    k->addIncoming(next, b_.GetInsertBlock());
    auto *exit = llvm::BasicBlock::Create(ctx_, "scan.done", fn_, fail_);
    b_.CreateCondBr(b_.CreateICmpULT(next, b_.getInt64(static_cast<uint64_t>(loop.steps))), head,
                    exit);
    b_.SetInsertPoint(exit);
    for (const KernelCall &c : loop.after)
      emit_call(c);
  }

  llvm::LLVMContext &ctx_;
  llvm::Module &mod_;
  const ModelPlan &plan_;
  const std::vector<llvm::FunctionCallee> &kernels_;
  const FunctionPlan &fp_;
  llvm::IRBuilder<> b_;
  llvm::Function *fn_ = nullptr;
  llvm::Value *slots_ = nullptr, *batch_ = nullptr;
  llvm::BasicBlock *fail_ = nullptr;
  llvm::PHINode *code_ = nullptr;
  std::map<int, llvm::Value *> views_;
  int calls_ = 0;
};

} // namespace

std::string model_json(const Module &m, const ModelPlan &plan) {
  json j;
  j["name"] = m.name;
  j["config"] = attrs_json(m.config);
  j["slots"] = json::array();
  for (const Slot &s : plan.slots)
    j["slots"].push_back({{"dtype", dtype_name(s.type.dtype)}, {"shape", s.type.shape}});
  j["params"] = json::array();
  for (size_t i = 0; i < m.params.size(); ++i) {
    const ParamDecl &p = m.params[i];
    // Parameters own the first slots, in module order (Plan.cpp).
    j["params"].push_back({{"name", p.name},
                           {"kind", p.kind == ParamKind::Param ? "param" : "state"},
                           {"slot", static_cast<int>(i)},
                           {"attrs", attrs_json(p.attrs)}});
  }
  j["functions"] = json::object();
  for (const FunctionPlan &f : plan.functions)
    j["functions"][f.name] = {{"args", named_slots(f.args, "name")},
                              {"outputs", named_slots(f.outputs, "name")},
                              {"updates", named_slots(f.updates, "param")}};
  return j.dump();
}

std::unique_ptr<llvm::Module> emit_driver(llvm::LLVMContext &ctx, const Module &m,
                                          const ModelPlan &plan, const std::string &json_text) {
  auto mod = std::make_unique<llvm::Module>("netc." + m.name, ctx);
  llvm::Type *i8 = llvm::Type::getInt8Ty(ctx);
  llvm::Type *i32 = llvm::Type::getInt32Ty(ctx);
  llvm::PointerType *i8p = i8->getPointerTo();

  llvm::Constant *text = llvm::ConstantDataArray::getString(ctx, json_text, /*AddNull=*/true);
  new llvm::GlobalVariable(*mod, text->getType(), /*isConstant=*/true,
                           llvm::GlobalValue::ExternalLinkage, text, "netc_model_json");

  // Kernels: i32 (i32 batch, halide_buffer_t* inputs... [, the sum so far
  // (Kernel::accumulate)], halide_buffer_t* out, halide_buffer_t* also...).
  std::vector<llvm::FunctionCallee> kernels;
  for (const Kernel &k : plan.kernels) {
    std::vector<llvm::Type *> params(k.inputs.size() + (k.accumulate ? 1 : 0) + 2 + k.also.size(), i8p);
    params[0] = i32;
    kernels.push_back(mod->getOrInsertFunction(k.symbol, llvm::FunctionType::get(i32, params, false)));
  }

  for (const FunctionPlan &fp : plan.functions)
    FunctionEmitter(ctx, *mod, plan, kernels, fp).emit();
  return mod;
}

bool emit_object(llvm::Module &mod, const std::string &path, std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::string triple = llvm::sys::getDefaultTargetTriple();
  std::string err;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, err);
  if (!target) {
    error = "LLVM has no target for " + triple + ": " + err;
    return false;
  }
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, "generic", "", options, llvm::Optional<llvm::Reloc::Model>(llvm::Reloc::PIC_)));
  mod.setDataLayout(tm->createDataLayout());
  mod.setTargetTriple(triple);
  std::string verify;
  llvm::raw_string_ostream vs(verify);
  if (llvm::verifyModule(mod, &vs)) {
    error = "the emitted driver is invalid LLVM IR (a netc bug): " + vs.str();
    return false;
  }
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = "cannot write " + path + ": " + ec.message();
    return false;
  }
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, out, nullptr, llvm::CGFT_ObjectFile)) {
    error = "LLVM cannot emit objects for " + triple;
    return false;
  }
  pm.run(mod);
  out.flush();
  return true;
}

} // namespace netc::codegen
