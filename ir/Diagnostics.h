//===- Diagnostics.h - Located user errors ---------------------*- C++ -*-===//
//
// User errors are values with a location. They print as
//
//   model.net:3:20: error: dense expects a rank-2 input [N, features], found f32[N, 28, 28]
//       h = image |> dense(512)
//                    ^
//   hint: insert `flatten` before dense
//
// Compiler bugs are not diagnostics: they go through NETC_ASSERT.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Spelling.h"

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace netc {

/// A source location: file id in the SourceManager, 1-based line and column.
/// file < 0 means "no location" (generated code).
struct Loc {
  int32_t file = -1;
  uint32_t line = 0;
  uint32_t col = 0;
  bool valid() const { return file >= 0 && line > 0; }
  bool operator==(const Loc &) const = default;
};

/// The text of every file the compiler read, so diagnostics can quote lines.
class SourceManager {
public:
  /// Registers a buffer and returns its file id.
  int32_t add(std::string path, std::string text);
  const std::string &path(int32_t file) const { return files_[file].path; }
  const std::string &text(int32_t file) const { return files_[file].text; }
  /// The text of 1-based `line` of `file`, without its newline.
  std::string line_text(int32_t file, uint32_t line) const;
  size_t size() const { return files_.size(); }

private:
  struct File {
    std::string path, text;
    std::vector<size_t> line_starts;
  };
  std::vector<File> files_;
};

enum class Severity { Error, Warning, Note };

struct Diagnostic {
  Severity severity;
  Loc loc;
  std::string message;
  std::string hint;
};

/// Collects diagnostics and renders them with the source line and a caret.
class Diagnostics {
public:
  explicit Diagnostics(SourceManager &sm) : sm_(sm) {}

  void error(Loc loc, std::string message, std::string hint = {});
  void warning(Loc loc, std::string message, std::string hint = {});
  void note(Loc loc, std::string message);

  bool has_errors() const { return errors_ > 0; }
  int error_count() const { return errors_; }
  const std::vector<Diagnostic> &all() const { return diags_; }
  SourceManager &sources() { return sm_; }

  /// Writes every diagnostic collected so far to `os` and forgets them.
  void flush(std::ostream &os);
  /// Renders one diagnostic.
  std::string render(const Diagnostic &d) const;

private:
  SourceManager &sm_;
  std::vector<Diagnostic> diags_;
  int errors_ = 0;
};

[[noreturn]] void internal_error(const char *file, int line, const std::string &msg);

} // namespace netc

/// An internal invariant; failing it is a compiler bug, not a user error.
#define NETC_ASSERT(cond, msg)                                                                     \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ::netc::internal_error(__FILE__, __LINE__, std::string("assertion `" #cond "` failed: ") +   \
                                                     (msg));                                       \
  } while (0)
#define NETC_UNREACHABLE(msg) ::netc::internal_error(__FILE__, __LINE__, msg)
