//===- Parser.h - Text to IR -----------------------------------*- C++ -*-===//
//
// Reads the text form written by ir/Printer.h. Node result types may be
// omitted (`%3 = add %1, %2`); such nodes get an empty shape and the
// shape-infer pass fills them in. Errors are reported with file:line:col.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <optional>

namespace netc {

/// Parses the whole text of source `file` (registered in diag.sources()).
/// Returns nullopt after reporting at least one error.
std::optional<Module> parse_module(int32_t file, Diagnostics &diag);

} // namespace netc
