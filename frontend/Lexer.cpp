//===- Lexer.cpp - Tokens of the .net language ----------------------------===//
//
// This file implements the lexer: a hand-written scanner over the source
// bytes, tracking line and column (1-based, in bytes) for every token.
//
//===----------------------------------------------------------------------===//
#include "frontend/Lexer.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>

namespace netc {

namespace {

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Lexer {
public:
  Lexer(int32_t file, Diagnostics &diag)
      : file_(file), diag_(diag), src_(diag.sources().text(file)) {}

  std::vector<Token> run();

private:
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0';
  }
  bool at_end() const { return pos_ >= src_.size(); }
  Loc here() const { return Loc{file_, line_, col_}; }
  void advance();
  void error(Loc loc, std::string msg, std::string hint = {});
  bool too_many_errors() const { return diag_.error_count() >= kMaxErrors; }

  void skip_space_and_comments();
  void lex_number(Token &t);
  void lex_string(Token &t);
  bool lex_punct(Token &t);
  void lex_stray();

  int32_t file_;
  Diagnostics &diag_;
  const std::string &src_;
  size_t pos_ = 0;
  uint32_t line_ = 1, col_ = 1;
  bool line_start_ = true;
};

void Lexer::advance() {
  if (src_[pos_] == '\n') {
    ++line_;
    col_ = 1;
    line_start_ = true;
  } else {
    ++col_;
  }
  ++pos_;
}

void Lexer::error(Loc loc, std::string msg, std::string hint) {
  diag_.error(loc, std::move(msg), std::move(hint));
}

// space   = " " | "\t" | "\r" | "\n"
// comment = "//" any* "\n" | "/*" any* "*/"
void Lexer::skip_space_and_comments() {
  while (!at_end()) {
    char c = peek();
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
      advance();
    } else if (c == '/' && peek(1) == '/') {
      while (!at_end() && peek() != '\n')
        advance();
    } else if (c == '/' && peek(1) == '*') {
      Loc start = here();
      advance();
      advance();
      while (!at_end() && !(peek() == '*' && peek(1) == '/'))
        advance();
      if (at_end()) {
        error(start, "unterminated comment", "close it with `*/`");
        return;
      }
      advance();
      advance();
    } else {
      return;
    }
  }
}

// number = digit+ ("." digit+)? (("e" | "E") ("+" | "-")? digit+)?
void Lexer::lex_number(Token &t) {
  size_t begin = pos_;
  bool is_float = false;
  while (is_digit(peek()))
    advance();
  if (peek() == '.' && is_digit(peek(1))) {
    is_float = true;
    advance();
    while (is_digit(peek()))
      advance();
  }
  if ((peek() == 'e' || peek() == 'E') &&
      (is_digit(peek(1)) || ((peek(1) == '+' || peek(1) == '-') && is_digit(peek(2))))) {
    is_float = true;
    advance();
    advance();
    while (is_digit(peek()))
      advance();
  }
  t.text = src_.substr(begin, pos_ - begin);
  errno = 0;
  if (is_float) {
    t.kind = Tok::Float;
    t.float_value = std::strtod(t.text.c_str(), nullptr);
    if (errno == ERANGE && std::isinf(t.float_value))
      error(t.loc, fmt::format("number {} is out of range", t.text),
            "the largest finite number is about 3.4e38 (f32)");
  } else {
    t.kind = Tok::Int;
    t.int_value = std::strtoll(t.text.c_str(), nullptr, 10);
    t.float_value = static_cast<double>(t.int_value);
    if (errno == ERANGE)
      error(t.loc, fmt::format("integer {} is too large", t.text),
            "integers must fit in 64 bits");
  }
  if (is_ident_start(peek())) {
    Loc loc = here();
    size_t b = pos_;
    while (is_ident_char(peek()))
      advance();
    error(loc, fmt::format("unexpected `{}` after number {}", src_.substr(b, pos_ - b), t.text),
          "separate the number from the name with a space or an operator");
  }
}

// string = '"' (char | "\\" ("\"" | "\\" | "n" | "t"))* '"'   (on one line)
void Lexer::lex_string(Token &t) {
  t.kind = Tok::String;
  advance(); // opening quote
  while (true) {
    if (at_end() || peek() == '\n') {
      error(t.loc, "unterminated string", "close the string with `\"` on the same line");
      return;
    }
    char c = peek();
    if (c == '"') {
      advance();
      return;
    }
    if (c == '\\') {
      Loc esc = here();
      advance();
      char e = peek();
      if (e == '"' || e == '\\')
        t.text += e;
      else if (e == 'n')
        t.text += '\n';
      else if (e == 't')
        t.text += '\t';
      else {
        error(esc, fmt::format("unknown escape `\\{}` in string", escape_byte(e)),
              "known escapes: \\\" \\\\ \\n \\t");
        if (at_end() || e == '\n')
          continue;
      }
      advance();
      continue;
    }
    t.text += c;
    advance();
  }
}

bool Lexer::lex_punct(Token &t) {
  static const struct {
    const char *text;
    Tok kind;
  } kPuncts[] = {{"|>", Tok::Pipe},    {"(", Tok::LParen},  {")", Tok::RParen},
                 {"[", Tok::LBracket}, {"]", Tok::RBracket}, {"{", Tok::LBrace},
                 {"}", Tok::RBrace},   {"<", Tok::Less},    {">", Tok::Greater},
                 {",", Tok::Comma},    {":", Tok::Colon},   {";", Tok::Semi},
                 {"=", Tok::Assign},   {"+", Tok::Plus},    {"-", Tok::Minus},
                 {"*", Tok::Star},     {"/", Tok::Slash},   {"@", Tok::At}};
  for (const auto &p : kPuncts) {
    size_t n = std::char_traits<char>::length(p.text);
    if (src_.compare(pos_, n, p.text) == 0) {
      t.kind = p.kind;
      t.text = p.text;
      for (size_t i = 0; i < n; ++i)
        advance();
      return true;
    }
  }
  return false;
}

// A byte that starts no token. Bytes >= 0x80 (UTF-8 sequences, binary data)
// are reported as one run so a multi-byte character gives one error.
void Lexer::lex_stray() {
  Loc loc = here();
  std::string shown;
  unsigned char c = static_cast<unsigned char>(peek());
  if (c >= 0x80) {
    while (!at_end() && static_cast<unsigned char>(peek()) >= 0x80 && shown.size() < 16 * 4) {
      shown += escape_byte(static_cast<unsigned char>(peek()));
      advance();
    }
  } else {
    shown = escape_byte(c);
    advance();
  }
  std::string hint;
  if (c == '|')
    hint = "the pipe operator is `|>`";
  else if (c == '#')
    hint = "comments start with `//`";
  else if (c == '\'')
    hint = "strings use double quotes";
  error(loc, fmt::format("unexpected character '{}'", shown), hint);
}

std::vector<Token> Lexer::run() {
  std::vector<Token> out;
  while (!too_many_errors()) {
    skip_space_and_comments();
    if (at_end() || too_many_errors())
      break;
    Token t;
    t.loc = here();
    t.line_start = line_start_;
    char c = peek();
    if (is_ident_start(c)) {
      t.kind = Tok::Ident;
      size_t b = pos_;
      while (is_ident_char(peek()))
        advance();
      t.text = src_.substr(b, pos_ - b);
    } else if (is_digit(c)) {
      lex_number(t);
    } else if (c == '"') {
      lex_string(t);
    } else if (!lex_punct(t)) {
      lex_stray();
      continue;
    }
    line_start_ = false;
    out.push_back(std::move(t));
  }
  Token eof;
  eof.kind = Tok::Eof;
  eof.loc = here();
  eof.line_start = true;
  out.push_back(eof);
  return out;
}

} // namespace

std::vector<Token> lex(int32_t file, Diagnostics &diag) { return Lexer(file, diag).run(); }

std::string escape_byte(unsigned char c) {
  if (c >= 0x20 && c < 0x7f)
    return std::string(1, static_cast<char>(c));
  return fmt::format("\\x{:02X}", c);
}

const char *tok_spelling(Tok k) {
  switch (k) {
  case Tok::Ident:
    return "identifier";
  case Tok::Int:
    return "integer";
  case Tok::Float:
    return "number";
  case Tok::String:
    return "string";
  case Tok::LParen:
    return "(";
  case Tok::RParen:
    return ")";
  case Tok::LBracket:
    return "[";
  case Tok::RBracket:
    return "]";
  case Tok::LBrace:
    return "{";
  case Tok::RBrace:
    return "}";
  case Tok::Less:
    return "<";
  case Tok::Greater:
    return ">";
  case Tok::Comma:
    return ",";
  case Tok::Colon:
    return ":";
  case Tok::Semi:
    return ";";
  case Tok::Assign:
    return "=";
  case Tok::Plus:
    return "+";
  case Tok::Minus:
    return "-";
  case Tok::Star:
    return "*";
  case Tok::Slash:
    return "/";
  case Tok::At:
    return "@";
  case Tok::Pipe:
    return "|>";
  case Tok::Eof:
    return "end of file";
  }
  return "?";
}

std::string describe(const Token &t) {
  std::string shown;
  for (char c : t.text.substr(0, 40))
    shown += escape_byte(static_cast<unsigned char>(c));
  switch (t.kind) {
  case Tok::Ident:
    return "'IDENT " + shown + "'";
  case Tok::Int:
  case Tok::Float:
    return "'NUMBER " + shown + "'";
  case Tok::String:
    return "'STRING \"" + shown + "\"'";
  case Tok::Eof:
    return "end of file";
  default:
    return std::string("'") + tok_spelling(t.kind) + "'";
  }
}

} // namespace netc
