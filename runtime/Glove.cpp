//===- Glove.cpp - Word vectors in GloVe's text format, and vocabularies --===//
//
// This file implements read_vocab_file and read_glove over one line reader
// that knows each line's number and byte offset and refuses binary files.
//
//===----------------------------------------------------------------------===//
#include "runtime/Glove.h"

#include "runtime/ByteStream.h"

#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <string_view>
#include <unordered_map>

namespace netc::rt {

namespace {

/// Longer lines are not text these readers expect (a 300-d vector is ~3 KB).
constexpr size_t kMaxLine = size_t(1) << 20;

/// Lines of a plain or gzip file, without their '\n' (and a final '\r').
class LineReader {
public:
  LineReader(std::string path, const char *what) : path_(path), what_(what), in_(std::move(path), what) {}

  Expected<void> open() { return in_.open(); }

  /// The next line into `line`; false at the end or on an error (error() then).
  bool next(std::string &line) {
    line.clear();
    if (err_)
      return false;
    offset_ = consumed_;
    for (;;) {
      if (pos_ == buf_.size()) {
        buf_.resize(1 << 16);
        buf_.resize(in_.read(reinterpret_cast<uint8_t *>(buf_.data()), buf_.size()));
        pos_ = 0;
        if (in_.error())
          return err_ = *in_.error(), false;
        if (buf_.empty()) {
          if (line.empty())
            return false;
          break; // a last line without '\n'
        }
      }
      size_t nl = buf_.find('\n', pos_);
      size_t end = nl == std::string::npos ? buf_.size() : nl;
      if (size_t nul = buf_.find('\0', pos_); nul < end)
        return err_ = fail(fmt::format("{}: byte 0x00 at offset {}; {} is text", path_,
                                       consumed_ + (nul - pos_), what_)),
               false;
      line.append(buf_, pos_, end - pos_);
      consumed_ += end - pos_ + (nl != std::string::npos);
      pos_ = nl == std::string::npos ? end : end + 1;
      if (line.size() > kMaxLine)
        return err_ = fail(fmt::format("{}: line {} (offset {}) is longer than 1 MiB; {} has short "
                                       "lines",
                                       path_, number_ + 1, offset_, what_)),
               false;
      if (nl != std::string::npos)
        break;
    }
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    ++number_;
    return true;
  }

  /// The last line's number (from 1) and byte offset.
  int64_t number() const { return number_; }
  uint64_t offset() const { return offset_; }
  const std::optional<Error> &error() const { return err_; }
  /// "F: line 3 (offset 120)": where the last line is.
  std::string where() const { return fmt::format("{}: line {} (offset {})", path_, number_, offset_); }

private:
  std::string path_;
  const char *what_;
  ByteStream in_;
  std::string buf_;
  size_t pos_ = 0;
  uint64_t consumed_ = 0, offset_ = 0;
  int64_t number_ = 0;
  std::optional<Error> err_;
};

/// Splits on runs of spaces and tabs.
std::vector<std::string_view> fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t'))
      ++i;
    size_t b = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t')
      ++i;
    if (i > b)
      out.push_back(s.substr(b, i - b));
  }
  return out;
}

} // namespace

Expected<std::vector<std::string>> read_vocab_file(const std::string &path) {
  LineReader in(path, "a vocabulary file");
  if (Expected<void> ok = in.open(); !ok)
    return Error{ok.error()};
  std::vector<std::string> tokens;
  std::unordered_map<std::string, int64_t> first;
  std::string line;
  while (in.next(line)) {
    if (line.empty())
      return fail(in.where() + " is empty; a vocabulary file has one token per line");
    if (auto [it, fresh] = first.emplace(line, in.number()); !fresh)
      return fail(fmt::format("{}: token `{}` repeats line {}", in.where(), line, it->second));
    tokens.push_back(line);
  }
  if (in.error())
    return *in.error();
  if (tokens.empty())
    return fail(path + ": empty vocabulary file; expected one token per line");
  return tokens;
}

Expected<GloveStats> read_glove(const std::string &path, std::span<const std::string> vocab,
                                int64_t dim, std::span<float> table) {
  if (table.size() != vocab.size() * size_t(dim))
    return fail(fmt::format("{}: internal error: a table of {} floats for {} words of {}", path,
                            table.size(), vocab.size(), dim));
  std::unordered_map<std::string_view, int64_t> ids;
  for (size_t i = 0; i < vocab.size(); ++i)
    ids.emplace(vocab[i], int64_t(i));
  std::vector<bool> seen(vocab.size(), false);
  GloveStats stats;
  LineReader in(path, "a GloVe file");
  if (Expected<void> ok = in.open(); !ok)
    return Error{ok.error()};
  std::string line;
  std::vector<float> vec(static_cast<size_t>(dim));
  while (in.next(line)) {
    std::vector<std::string_view> f = fields(line);
    if (f.empty())
      return fail(in.where() + " is empty; expected a word and its vector");
    // The first line fixes the dimension exactly; later ones may have a word
    // of several space-separated parts (glove.840B's ". . .").
    size_t numbers = f.size() - 1;
    if (numbers < size_t(dim) || (in.number() == 1 && numbers != size_t(dim))) {
      bool header = in.number() == 1 && f.size() == 2 && f[0].find_first_not_of("0123456789") ==
                                                            std::string_view::npos;
      return fail(fmt::format("{}: expected a word and {} numbers, found {} number{} after `{}`{}",
                              in.where(), dim, numbers, numbers == 1 ? "" : "s",
                              std::string(f[0].substr(0, 40)),
                              header ? "; this looks like a word2vec header (count and "
                                       "dimension), which GloVe files do not have: delete the "
                                       "first line"
                                     : ""));
    }
    size_t word_parts = f.size() - size_t(dim);
    for (size_t k = 0; k < size_t(dim); ++k) {
      std::string_view s = f[word_parts + k];
      const char *b = s.data(), *e = s.data() + s.size();
      if (*b == '+')
        ++b;
      auto [p, ec] = std::from_chars(b, e, vec[k]);
      if (ec != std::errc() || p != e || !std::isfinite(vec[k]))
        return fail(fmt::format("{}: value {} of the vector, `{}` at offset {}, is not a finite "
                                "number",
                                in.where(), k + 1, std::string(s.substr(0, 40)),
                                in.offset() + uint64_t(s.data() - line.data())));
    }
    ++stats.lines;
    const std::string_view last = f[word_parts - 1];
    std::string_view word(f[0].data(), size_t(last.data() + last.size() - f[0].data()));
    auto it = ids.find(word);
    if (it == ids.end())
      continue;
    if (seen[size_t(it->second)]) {
      ++stats.repeated;
      continue;
    }
    seen[size_t(it->second)] = true;
    ++stats.found;
    std::copy(vec.begin(), vec.end(), table.begin() + it->second * dim);
  }
  if (in.error())
    return *in.error();
  if (stats.lines == 0)
    return fail(fmt::format("{}: empty file; expected lines of a word and {} numbers", path, dim));
  for (size_t i = 0; i < vocab.size(); ++i)
    if (!seen[i])
      stats.missing.push_back(int64_t(i));
  return stats;
}

} // namespace netc::rt
