//===- Lexer.h - Tokens of the .net language -------------------*- C++ -*-===//
//
// The lexer turns a source buffer into a vector of tokens ending in Eof.
// Newlines are not tokens; each token records whether it is the first on its
// line, which the parser uses to resynchronise after an error. Keywords
// (model, train, def, output, loss, scan, in) are identifiers; the parser
// gives them meaning by position.
//
// Lexical errors (stray characters, unterminated strings or comments,
// numbers out of range) are reported to Diagnostics and the offending text is
// skipped, so one bad byte does not hide the rest of the file. After
// kMaxErrors errors the lexer stops and returns what it has, ended by Eof.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Diagnostics.h"

#include <cstdint>
#include <string>
#include <vector>

namespace netc {

/// Errors reported before the frontend gives up on a file.
inline constexpr int kMaxErrors = 20;

enum class Tok : uint8_t {
  Ident,    // image, dense, model
  Int,      // 64
  Float,    // 0.1, 1e-3
  String,   // "fashion-mnist/train-images-idx3-ubyte.gz"
  LParen,   // (
  RParen,   // )
  LBracket, // [
  RBracket, // ]
  LBrace,   // {
  RBrace,   // }
  Less,     // <
  Greater,  // >
  Comma,    // ,
  Colon,    // :
  Semi,     // ;
  Assign,   // =
  Plus,     // +
  Minus,    // -
  Star,     // *
  Slash,    // /
  At,       // @
  Pipe,     // |>
  Eof,
};

struct Token {
  Tok kind = Tok::Eof;
  /// The identifier, the number as written, or the decoded string value.
  std::string text;
  Loc loc;
  /// First token on its source line.
  bool line_start = false;
  int64_t int_value = 0;
  double float_value = 0;
};

/// Tokenizes source `file` of `diag.sources()`. The result always ends in an
/// Eof token; lexical errors have been reported to `diag`.
std::vector<Token> lex(int32_t file, Diagnostics &diag);

/// How a token reads in a message: "')'", "'IDENT foo'", "'NUMBER 3'",
/// "'STRING \"a\"'", "end of file".
std::string describe(const Token &t);

/// The spelling of a token kind: ")" or "identifier".
const char *tok_spelling(Tok k);

/// A byte as it reads in a message: printable as itself, others as \xNN.
std::string escape_byte(unsigned char c);

} // namespace netc
