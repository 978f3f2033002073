//===- Parser.h - Recursive-descent parser for .net files ------*- C++ -*-===//
//
// The parser turns tokens into an ast::File. It is a chibicc-style recursive
// descent parser with the grammar rule written above every parse function;
// docs/language.md collects the whole grammar.
//
// Errors name what was expected and what was found ("expected ')' after
// arguments, found 'IDENT foo'"). After an error the parser skips to the next
// statement (a `;`, or a token that starts a new line) and goes on, so one
// typo does not hide the next; it stops after kMaxErrors errors. Nesting is
// bounded (kMaxNesting), so no input can exhaust the stack.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/AST.h"
#include "frontend/Lexer.h"

#include <memory>
#include <vector>

namespace netc {

/// Deepest expression nesting the parser accepts (parentheses, operator
/// chains, pipes); the bound keeps every walk over the AST shallow.
inline constexpr int kMaxNesting = 256;

/// Parses the tokens of source `file`. Returns nullptr if any error was
/// reported (by the lexer before, or by the parser).
std::unique_ptr<ast::File> parse_tokens(int32_t file, const std::vector<Token> &tokens,
                                        Diagnostics &diag);

} // namespace netc
