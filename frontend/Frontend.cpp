//===- Frontend.cpp - .net source to IR -----------------------------------===//
//
// This file implements the frontend's entry points: read a file, lex and
// parse it, and lower it (Lower.cpp). Each stage stops the pipeline when it
// reported errors, so later stages only see well-formed input.
//
//===----------------------------------------------------------------------===//
#include "frontend/Frontend.h"
#include "frontend/Lexer.h"
#include "frontend/Parser.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

namespace netc {

std::unique_ptr<ast::File> parse_net(int32_t file, Diagnostics &diag) {
  int before = diag.error_count();
  std::vector<Token> tokens = lex(file, diag);
  if (diag.error_count() >= kMaxErrors) {
    diag.note(Loc{}, fmt::format("too many errors ({}); stopping", diag.error_count()));
    return nullptr;
  }
  std::unique_ptr<ast::File> f = parse_tokens(file, tokens, diag);
  if (diag.error_count() > before)
    return nullptr;
  return f;
}

std::optional<Module> compile_net_file(const std::string &path, const std::string &model_name,
                                       Diagnostics &diag) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    diag.error(Loc{}, fmt::format("cannot read `{}`: it is a directory", path));
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diag.error(Loc{}, fmt::format("cannot read `{}`: {}", path, std::strerror(errno)));
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  int32_t file = diag.sources().add(path, text.str());
  std::unique_ptr<ast::File> f = parse_net(file, diag);
  if (!f)
    return std::nullopt;
  return lower_to_ir(*f, model_name, diag);
}

} // namespace netc
