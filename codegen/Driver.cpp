//===- Driver.cpp - The step driver, emitted as LLVM IR -------------------===//
#include "codegen/Driver.h"

#include <HalideRuntime.h>
#include <cstddef>
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
  llvm::PointerType *i8pp = i8p->getPointerTo();

  llvm::Constant *text = llvm::ConstantDataArray::getString(ctx, json_text, /*AddNull=*/true);
  new llvm::GlobalVariable(*mod, text->getType(), /*isConstant=*/true,
                           llvm::GlobalValue::ExternalLinkage, text, "netc_model_json");

  // Kernels: i32 (i32 batch, halide_buffer_t* inputs..., halide_buffer_t* out).
  std::vector<llvm::FunctionCallee> kernels;
  for (const Kernel &k : plan.kernels) {
    std::vector<llvm::Type *> params(k.inputs.size() + 2, i8p);
    params[0] = i32;
    kernels.push_back(mod->getOrInsertFunction(k.symbol, llvm::FunctionType::get(i32, params, false)));
  }

  for (const FunctionPlan &fp : plan.functions) {
    auto *ft = llvm::FunctionType::get(i32, {i8pp, i32}, false);
    auto *fn = llvm::Function::Create(ft, llvm::GlobalValue::ExternalLinkage, "netc_fn_" + fp.name,
                                      *mod);
    llvm::Value *slots = fn->getArg(0), *batch = fn->getArg(1);
    slots->setName("slots");
    batch->setName("batch");
    auto *entry = llvm::BasicBlock::Create(ctx, "entry", fn);
    auto *fail = llvm::BasicBlock::Create(ctx, "fail", fn);
    llvm::IRBuilder<> b(entry);
    auto slot = [&](int s) -> llvm::Value * {
      llvm::Value *addr = b.CreateConstInBoundsGEP1_64(i8p, slots, static_cast<uint64_t>(s));
      return b.CreateLoad(i8p, addr, "slot" + std::to_string(s));
    };
    b.SetInsertPoint(fail);
    llvm::PHINode *code = b.CreatePHI(i32, static_cast<unsigned>(fp.calls.size()), "code");
    b.CreateRet(code);

    b.SetInsertPoint(entry);
    for (size_t c = 0; c < fp.calls.size(); ++c) {
      const KernelCall &call = fp.calls[c];
      std::vector<llvm::Value *> args = {batch};
      for (int s : call.inputs)
        args.push_back(slot(s));
      args.push_back(slot(call.output));
      llvm::Value *r = b.CreateCall(kernels[call.kernel], args);
      auto *next = llvm::BasicBlock::Create(ctx, "k" + std::to_string(c + 1), fn, fail);
      code->addIncoming(r, b.GetInsertBlock());
      b.CreateCondBr(b.CreateICmpNE(r, b.getInt32(0)), fail, next);
      b.SetInsertPoint(next);
    }
    // Updates land after every kernel ran, so all kernels saw the old values.
    for (const Copy &cp : fp.copies) {
      auto host = [&](int s) {
        llvm::Value *field = b.CreateConstInBoundsGEP1_64(i8, slot(s), offsetof(halide_buffer_t, host));
        return b.CreateLoad(i8p, b.CreateBitCast(field, i8pp));
      };
      b.CreateMemCpy(host(cp.to), llvm::MaybeAlign(4), host(cp.from), llvm::MaybeAlign(4),
                     static_cast<uint64_t>(cp.bytes));
    }
    b.CreateRet(b.getInt32(0));
    if (fp.calls.empty())
      fail->eraseFromParent();
  }
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
