//===- Printer.h - IR to text and Graphviz ---------------------*- C++ -*-===//
//
// The text form is stable and deterministic, and ir/Parser.h reads it back:
// print(parse(print(m))) == print(m). See docs/ir.md for the grammar.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/IR.h"

#include <string>

namespace netc {

struct PrintOptions {
  /// Append ` loc(LINE:COL)` to nodes that carry a source location.
  bool locations = false;
};

std::string print_module(const Module &m, const PrintOptions &opts = {});
std::string print_function(const Function &f, const PrintOptions &opts = {});
/// A Graphviz digraph of one function: a node per IR node, labelled with op
/// and type, edges from operands to users, outputs and updates as sinks.
std::string print_dot(const Function &f);

} // namespace netc
