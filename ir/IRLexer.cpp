//===- IRLexer.cpp - Tokens of the IR text format -------------------------===//
//
// This file implements the tokenizer behind ir/Parser.cpp. It works on bytes,
// tracks 1-based line and column, and turns every malformed token into
// Tok::Error rather than stopping, so arbitrary input is safe to lex.
//
//===----------------------------------------------------------------------===//
#include "ir/IRLexer.h"

#include "ir/Attrs.h"

#include <fmt/format.h>

namespace netc::irtext {

namespace {
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c) || c == '.'; }
} // namespace

bool is_bare_name(std::string_view s) {
  if (s.empty() || !is_name_start(s[0]))
    return false;
  for (char c : s)
    if (!is_name_char(c))
      return false;
  return true;
}

std::string quote_name_if_needed(std::string_view s) {
  if (is_bare_name(s))
    return std::string(s);
  return attr_value_str(std::string(s));
}

std::string describe(const Token &t) {
  if (t.kind == Tok::Eof)
    return "end of input";
  // Quote the spelling, keeping it short and printable.
  std::string out = "'";
  size_t n = 0;
  for (char c : t.spelling) {
    if (++n > 24) {
      out += "...";
      break;
    }
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f)
      out += fmt::format("\\x{:02x}", u);
    else
      out += c;
  }
  return out + "'";
}

void IRLexer::advance() {
  if (at_end())
    return;
  if (text_[pos_] == '\n') {
    ++line_;
    col_ = 1;
  } else {
    ++col_;
  }
  ++pos_;
}

void IRLexer::skip_space_and_comments() {
  for (;;) {
    char c = peek();
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      advance();
    } else if (c == '/' && peek(1) == '/') {
      while (!at_end() && peek() != '\n')
        advance();
    } else {
      return;
    }
  }
}

// number = "-"? ( "inf" | digit+ ("." digit*)? (("e"|"E") ("+"|"-")? digit+)? )
Token IRLexer::lex_number(Token t) {
  size_t start = pos_;
  if (peek() == '-')
    advance();
  if (peek() == 'i' && peek(1) == 'n' && peek(2) == 'f' && !is_name_char(peek(3))) {
    advance(), advance(), advance();
    t.kind = Tok::Float;
  } else if (!is_digit(peek())) {
    advance();
    t.kind = Tok::Error;
    t.text = "expected a number after '-'";
  } else {
    t.kind = Tok::Int;
    while (is_digit(peek()))
      advance();
    if (peek() == '.') {
      t.kind = Tok::Float;
      advance();
      while (is_digit(peek()))
        advance();
    }
    if (peek() == 'e' || peek() == 'E') {
      t.kind = Tok::Float;
      advance();
      if (peek() == '+' || peek() == '-')
        advance();
      if (!is_digit(peek()))
        t.kind = Tok::Error;
      while (is_digit(peek()))
        advance();
    }
  }
  // "12abc" or "1.5.2" is one malformed token, not two good ones.
  if (t.kind != Tok::Error && is_name_char(peek()))
    t.kind = Tok::Error;
  if (t.kind == Tok::Error) {
    while (is_name_char(peek()) || peek() == '+' || peek() == '-')
      advance();
    t.spelling = text_.substr(start, pos_ - start);
    if (t.text.empty())
      t.text = "malformed number " + describe(t);
    return t;
  }
  t.spelling = text_.substr(start, pos_ - start);
  t.text = std::string(t.spelling);
  return t;
}

// string = '"' ( [^"\\] | '\\' any )* '"'
bool IRLexer::lex_string(Token &t) {
  advance(); // opening quote
  std::string s;
  while (!at_end() && peek() != '"') {
    if (peek() == '\\') {
      advance();
      if (at_end())
        break;
    }
    s += peek();
    advance();
  }
  if (at_end())
    return false;
  advance(); // closing quote
  t.text = std::move(s);
  return true;
}

// name = [A-Za-z_][A-Za-z0-9_.]* | [0-9]+ (locals only) | string
bool IRLexer::lex_name(Token &t) {
  if (peek() == '"')
    return t.quoted = true, lex_string(t);
  size_t start = pos_;
  if (is_name_start(peek())) {
    while (is_name_char(peek()))
      advance();
  } else if (t.kind == Tok::Local && is_digit(peek())) {
    while (is_digit(peek()))
      advance();
    if (is_name_char(peek()))
      return false;
  } else {
    return false;
  }
  t.text = std::string(text_.substr(start, pos_ - start));
  return true;
}

Token IRLexer::next() {
  skip_space_and_comments();
  Token t;
  t.line = line_;
  t.col = col_;
  size_t start = pos_;
  if (at_end()) {
    t.kind = Tok::Eof;
    return t;
  }
  char c = peek();
  auto punct = [&](Tok k) {
    advance();
    t.kind = k;
    t.spelling = text_.substr(start, 1);
    return t;
  };
  switch (c) {
  case '=':
    return punct(Tok::Equal);
  case ':':
    return punct(Tok::Colon);
  case ',':
    return punct(Tok::Comma);
  case '(':
    return punct(Tok::LParen);
  case ')':
    return punct(Tok::RParen);
  case '{':
    return punct(Tok::LBrace);
  case '}':
    return punct(Tok::RBrace);
  case '[':
    return punct(Tok::LBracket);
  case ']':
    return punct(Tok::RBracket);
  default:
    break;
  }
  if (c == '-' || is_digit(c))
    return lex_number(t);
  if (is_name_start(c)) {
    while (is_name_char(peek()))
      advance();
    t.kind = Tok::Ident;
    t.spelling = text_.substr(start, pos_ - start);
    t.text = std::string(t.spelling);
    return t;
  }
  if (c == '"') {
    t.kind = Tok::String;
    bool ok = lex_string(t);
    t.spelling = text_.substr(start, pos_ - start);
    if (!ok) {
      t.kind = Tok::Error;
      t.text = "unterminated string";
    }
    return t;
  }
  if (c == '@' || c == '%') {
    t.kind = c == '@' ? Tok::Global : Tok::Local;
    advance();
    bool ok = lex_name(t);
    if (!ok) {
      // Swallow the rest of the bad name so the message quotes all of it.
      while (!at_end() && (is_name_char(peek()) || peek() == '"'))
        advance();
      t.spelling = text_.substr(start, std::max<size_t>(pos_ - start, 1));
      t.text = fmt::format("expected a name after '{}', found {}", c,
                           pos_ - start > 1 ? describe(t) : "nothing");
      if (at_end() && pos_ - start > 1 && text_[start + 1] == '"')
        t.text = "unterminated string";
      t.kind = Tok::Error;
      return t;
    }
    t.spelling = text_.substr(start, pos_ - start);
    return t;
  }
  advance();
  t.kind = Tok::Error;
  t.spelling = text_.substr(start, 1);
  t.text = "unexpected character " + describe(t);
  return t;
}

} // namespace netc::irtext
