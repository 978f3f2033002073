//===- AST.h - The .net abstract syntax tree -------------------*- C++ -*-===//
//
// Placeholder until the frontend lands: the frontend owner replaces this
// file with the real AST (kind enum + classof, per docs/STYLE).
//
//===----------------------------------------------------------------------===//
#pragma once

namespace netc::ast {
struct File;
} // namespace netc::ast
