//===- IRLexer.h - Tokens of the IR text format ----------------*- C++ -*-===//
//
// Splits IR text (docs/ir.md) into tokens for ir/Parser.cpp. Newlines are
// not significant; `//` comments run to the end of the line. The lexer never
// fails hard: a malformed token comes back as Tok::Error with a message, and
// the parser reports it at the token's location.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace netc {
/// The IR text lexer lives in its own namespace: the .net lexer has tokens too.
namespace irtext {

enum class Tok : uint8_t {
  Eof,
  Error,  // text holds the message
  Ident,  // f32, N, matmul, module, ...: [A-Za-z_][A-Za-z0-9_.]*
  Global, // @name or @"quoted name"; text holds the name
  Local,  // %name, %0 or %"quoted"; text holds the name
  Int,    // -?[0-9]+
  Float,  // -?[0-9]+(.[0-9]*)?([eE][+-]?[0-9]+)?, with '.' or an exponent; -inf
  String, // "..." with \" and \\ escapes; text holds the contents
  Equal,
  Colon,
  Comma,
  LParen,
  RParen,
  LBrace,
  RBrace,
  LBracket,
  RBracket,
};

struct Token {
  Tok kind = Tok::Eof;
  std::string text;
  /// For Local: the name was written quoted (%"0" is not the value %0).
  bool quoted = false;
  uint32_t line = 1, col = 1;
  /// The token as written in the source, for "found '...'" in messages.
  std::string_view spelling;
};

/// Whether `s` can be written bare after @ or % or as an attribute key.
bool is_bare_name(std::string_view s);
/// `s` bare if it can be, otherwise quoted with \" and \\ escapes.
std::string quote_name_if_needed(std::string_view s);
/// How a token reads in "expected X, found Y": 'text' or "end of input".
std::string describe(const Token &t);

class IRLexer {
public:
  explicit IRLexer(std::string_view text) : text_(text) {}
  /// The next token; Eof forever at the end.
  Token next();

private:
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  bool at_end() const { return pos_ >= text_.size(); }
  void advance();
  void skip_space_and_comments();
  Token lex_number(Token t);
  bool lex_name(Token &t);
  bool lex_string(Token &t);

  std::string_view text_;
  size_t pos_ = 0;
  uint32_t line_ = 1, col_ = 1;
};

} // namespace irtext

using irtext::is_bare_name;
using irtext::quote_name_if_needed;

} // namespace netc
