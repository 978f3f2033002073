//===- Driver.h - The step driver, emitted as LLVM IR ----------*- C++ -*-===//
//
// For each function of the plan, emits
//     i32 @netc_fn_<name>(i8** %slots, i32 %batch)
// which calls the function's kernels in order on the slots' buffers, stops
// at the first non-zero Halide error code and returns it, then copies each
// update slot into its parameter's slot (see runtime/ModelABI.h). Also emits
// the model description `netc_model_json`. LLVM compiles it to an object.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Plan.h"

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <memory>
#include <string>

namespace netc::codegen {

/// The JSON description of the model that the runtime reads.
std::string model_json(const Module &m, const ModelPlan &plan);

/// The driver module. `json` becomes the `netc_model_json` symbol.
std::unique_ptr<llvm::Module> emit_driver(llvm::LLVMContext &ctx, const Module &m,
                                          const ModelPlan &plan, const std::string &json);

/// Compiles `mod` to an object file for the host's target triple.
bool emit_object(llvm::Module &mod, const std::string &path, std::string &error);

} // namespace netc::codegen
