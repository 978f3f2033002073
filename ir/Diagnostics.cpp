//===- Diagnostics.cpp - Located user errors ------------------------------===//
#include "ir/Diagnostics.h"

#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>

namespace netc {

int32_t SourceManager::add(std::string path, std::string text) {
  File f{std::move(path), std::move(text), {0}};
  for (size_t i = 0; i < f.text.size(); ++i)
    if (f.text[i] == '\n')
      f.line_starts.push_back(i + 1);
  files_.push_back(std::move(f));
  return static_cast<int32_t>(files_.size() - 1);
}

std::string SourceManager::line_text(int32_t file, uint32_t line) const {
  if (file < 0 || static_cast<size_t>(file) >= files_.size())
    return {};
  const File &f = files_[file];
  if (line == 0 || line > f.line_starts.size())
    return {};
  size_t b = f.line_starts[line - 1];
  size_t e = f.text.find('\n', b);
  if (e == std::string::npos)
    e = f.text.size();
  std::string s = f.text.substr(b, e - b);
  if (!s.empty() && s.back() == '\r')
    s.pop_back();
  return s;
}

void Diagnostics::error(Loc loc, std::string message, std::string hint) {
  diags_.push_back({Severity::Error, loc, std::move(message), std::move(hint)});
  ++errors_;
}

void Diagnostics::warning(Loc loc, std::string message, std::string hint) {
  diags_.push_back({Severity::Warning, loc, std::move(message), std::move(hint)});
}

void Diagnostics::note(Loc loc, std::string message) {
  diags_.push_back({Severity::Note, loc, std::move(message), {}});
}

std::string Diagnostics::render(const Diagnostic &d) const {
  const char *sev = d.severity == Severity::Error     ? "error"
                    : d.severity == Severity::Warning ? "warning"
                                                      : "note";
  std::string out;
  if (d.loc.valid())
    out = fmt::format("{}:{}:{}: {}: {}\n", sm_.path(d.loc.file), d.loc.line, d.loc.col, sev,
                      d.message);
  else if (d.loc.file >= 0)
    out = fmt::format("{}: {}: {}\n", sm_.path(d.loc.file), sev, d.message);
  else
    out = fmt::format("netc: {}: {}\n", sev, d.message);
  if (d.loc.valid()) {
    std::string line = sm_.line_text(d.loc.file, d.loc.line);
    // Keep the quoted line printable: binary garbage must not reach the terminal raw.
    std::string shown, caret;
    for (size_t i = 0; i < line.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      char p = c == '\t' ? ' ' : (c < 0x20 || c >= 0x7f) ? '?' : static_cast<char>(c);
      shown += p;
      if (i + 1 < d.loc.col)
        caret += ' ';
    }
    if (d.loc.col > line.size() + 1)
      caret = std::string(line.size(), ' ');
    out += "    " + shown + "\n    " + caret + "^\n";
  }
  if (!d.hint.empty())
    out += "hint: " + d.hint + "\n";
  return out;
}

void Diagnostics::flush(std::ostream &os) {
  for (const Diagnostic &d : diags_)
    os << render(d);
  os.flush();
  diags_.clear();
}

void internal_error(const char *file, int line, const std::string &msg) {
  std::fprintf(stderr, "netc: internal compiler error at %s:%d: %s\n", file, line, msg.c_str());
  std::abort();
}

} // namespace netc
