//===- Driver.cpp - Input to module: frontend, then the pass pipeline -----===//
#include "tools/Driver.h"

#include "frontend/Frontend.h"
#include "ir/Parser.h"
#include "ir/Printer.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace netc {

namespace {

bool ends_with(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::optional<std::string> read_file(const std::string &path, std::string &error) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    error = "it is a directory";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    error = "read error";
    return std::nullopt;
  }
  return ss.str();
}

bool wants(const std::set<std::string> &s, const std::string &name) {
  return s.count(name) || s.count("all");
}

} // namespace

std::optional<Module> compile_input(const std::string &path, const FrontOptions &front,
                                    const PipelineOptions &opts, Diagnostics &diag,
                                    std::ostream &dump, bool *ast_printed) {
  std::string error;
  std::optional<std::string> text = read_file(path, error);
  if (!text) {
    diag.error(Loc{}, "cannot read '" + path + "': " + error);
    return std::nullopt;
  }
  int32_t file = diag.sources().add(path, std::move(*text));
  bool nir = front.input_format == "nir" || (front.input_format.empty() && ends_with(path, ".nir"));
  PrintOptions po;
  po.locations = opts.print_locations;

  std::optional<Module> m;
  if (nir) {
    m = parse_module(file, diag);
    if (!m)
      return std::nullopt;
    if (wants(opts.print_after, "parse"))
      dump << "// ----- IR after parse -----\n" << print_module(*m, po);
    if (opts.stop_after == "parse")
      return m;
  } else {
    std::unique_ptr<ast::File> ast = parse_net(file, diag);
    if (!ast)
      return std::nullopt;
    if (opts.stop_after == "ast" || opts.stop_after == "parse") {
      dump << print_ast(*ast);
      if (ast_printed)
        *ast_printed = true;
      return Module{};
    }
    m = lower_to_ir(*ast, front.model, diag);
    if (!m)
      return std::nullopt;
    // Trainers resolve data paths against the model's directory wherever
    // they run, so record it absolutely.
    std::error_code ec;
    std::filesystem::path abs = std::filesystem::absolute(path, ec);
    if (!ec)
      m->config.set("source.path", abs.lexically_normal().string());
    if (wants(opts.print_after, "lower"))
      dump << "// ----- IR after lower -----\n" << print_module(*m, po);
    if (opts.stop_after == "lower")
      return m;
  }
  if (!run_pipeline(*m, diag, opts, dump))
    return std::nullopt;
  return m;
}

} // namespace netc
