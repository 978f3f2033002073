//===- Frontend.h - .net source to IR --------------------------*- C++ -*-===//
//
// The frontend's entry points: parse a .net file into an AST, print the AST,
// and lower it to an IR module. The grammar is in docs/language.md and above
// each parse function in Parser.cpp.
//
// Lowering produces a module with:
//   - one ParamDecl per parameter created by a layer (dense: `<name>.w`
//     glorot_uniform [in, units], `<name>.b` zeros [units]);
//   - @eval(inputs...) with the model's `output` values and `loss` (a scalar:
//     the mean over the batch) as outputs;
//   - @predict(inputs the outputs depend on...) with only the `output` values;
//   - module config from the train block (see docs/language.md).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/AST.h"
#include "ir/IR.h"

#include <memory>
#include <optional>
#include <string>

namespace netc {

/// Parses source `file` (already registered in diag.sources()). Returns
/// nullptr after reporting at least one error.
std::unique_ptr<ast::File> parse_net(int32_t file, Diagnostics &diag);

/// The AST as indented text (`netc ir --emit=ast`).
std::string print_ast(const ast::File &f);

/// Lowers model `model_name` (empty: the model named by the file's train
/// block, else the only model) to IR. Reports shape errors at the line that
/// causes them with both shapes. Returns nullopt on error.
std::optional<Module> lower_to_ir(const ast::File &f, const std::string &model_name,
                                  Diagnostics &diag);

/// Reads `path`, parses and lowers it: what `netc check` and `netc ir` do
/// first. Reports unreadable files as errors too.
std::optional<Module> compile_net_file(const std::string &path, const std::string &model_name,
                                       Diagnostics &diag);

} // namespace netc
