//===- Text.cpp - Text corpora as token-id examples for language models ---===//
//
// This file implements the text loader: file globbing, documents, UTF-8
// checking, the two tokenizers, the vocabulary, the hash split, the
// language-model windows and the unigram baseline.
//
//===----------------------------------------------------------------------===//
#include "runtime/Text.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <glob.h>
#include <map>
#include <set>
#include <sstream>

namespace netc::rt {

namespace fs = std::filesystem;

std::optional<TokenKind> parse_token_kind(std::string_view s) {
  if (s == "chars")
    return TokenKind::Chars;
  if (s == "words")
    return TokenKind::Words;
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Vocabulary
//===----------------------------------------------------------------------===//

namespace {
const char *const kSpecialNames[Vocabulary::kSpecials] = {"<pad>", "<unk>", "<eos>"};
} // namespace

Expected<Vocabulary> Vocabulary::from_tokens(std::vector<std::string> tokens) {
  if (tokens.size() <= size_t(kSpecials))
    return fail(fmt::format("a vocabulary needs the {} special tokens and at least one more, found {} tokens",
                            kSpecials, tokens.size()));
  Vocabulary v;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i < size_t(kSpecials) && tokens[i] != kSpecialNames[i])
      return fail(fmt::format("vocabulary token {} is \"{}\", expected the special token {}", i, tokens[i],
                              kSpecialNames[i]));
    if (tokens[i].empty())
      return fail(fmt::format("vocabulary token {} is empty", i));
    if (!v.index_.emplace(tokens[i], int32_t(i)).second)
      return fail(fmt::format("vocabulary token {} (\"{}\") repeats token {}", i, tokens[i], v.index_[tokens[i]]));
  }
  v.tokens_ = std::move(tokens);
  return v;
}

int32_t Vocabulary::id(std::string_view token) const {
  auto it = index_.find(std::string(token));
  return it == index_.end() ? kUnk : it->second;
}

Vocabulary build_vocabulary(const std::vector<std::vector<std::string>> &docs, int64_t cap) {
  std::map<std::string, int64_t> counts; // ordered: ties fall back to byte order
  for (const auto &doc : docs)
    for (const std::string &t : doc)
      ++counts[t];
  for (const char *s : kSpecialNames)
    counts.erase(s); // a literal "<eos>" in the text is not the special token
  std::vector<std::pair<std::string, int64_t>> ranked(counts.begin(), counts.end());
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto &a, const auto &b) { return a.second > b.second; });
  std::vector<std::string> tokens(std::begin(kSpecialNames), std::end(kSpecialNames));
  for (size_t i = 0; i < ranked.size() && int64_t(tokens.size()) < cap; ++i)
    tokens.push_back(ranked[i].first);
  Expected<Vocabulary> v = Vocabulary::from_tokens(std::move(tokens));
  return v ? std::move(*v) : Vocabulary{};
}

//===----------------------------------------------------------------------===//
// UTF-8 and tokenizers
//===----------------------------------------------------------------------===//

namespace {

/// The length of the valid UTF-8 sequence at s[i], or 0.
size_t utf8_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return uint8_t(s[k]); };
  uint8_t b = byte(i);
  if (b < 0x80)
    return 1;
  size_t n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 ? 2 : 0; // C0, C1: overlong
  if (n == 0 || b > 0xF4 || i + n > s.size())
    return 0;
  uint32_t cp = b & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80)
      return 0;
    cp = cp << 6 | (byte(i + k) & 0x3F);
  }
  bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
  bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
  return overlong || surrogate || cp > 0x10FFFF ? 0 : n;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/// Part of a word: ASCII letters and digits, the apostrophe, non-ASCII bytes.
bool is_word_byte(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '\'' || u >= 0x80;
}

} // namespace

int64_t find_invalid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t n = utf8_length(text, i);
    if (n == 0)
      return int64_t(i);
    i += n;
  }
  return -1;
}

std::vector<std::string> tokenize(std::string_view text, TokenKind kind) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size();) {
    if (kind == TokenKind::Chars) {
      size_t n = std::max<size_t>(utf8_length(text, i), 1);
      out.emplace_back(text.substr(i, n));
      i += n;
    } else if (is_space(text[i])) {
      ++i;
    } else if (is_word_byte(text[i])) {
      size_t j = i;
      while (j < text.size() && is_word_byte(text[j]))
        ++j;
      std::string w(text.substr(i, j - i));
      for (char &c : w)
        if (c >= 'A' && c <= 'Z')
          c = char(c - 'A' + 'a');
      out.push_back(std::move(w));
      i = j;
    } else {
      out.emplace_back(1, text[i++]);
    }
  }
  return out;
}

std::string detokenize(std::span<const int32_t> ids, const Vocabulary &v, TokenKind kind) {
  std::string out;
  bool after_open = true; // no space at the start
  for (int32_t id : ids) {
    if (id == Vocabulary::kPad || id < 0 || id >= v.size())
      continue;
    if (id == Vocabulary::kEos) {
      out += "\n\n";
      after_open = true;
      continue;
    }
    std::string t = id == Vocabulary::kUnk ? "\xEF\xBF\xBD" : v.token(id);
    if (kind == TokenKind::Words) {
      bool punct = t.size() == 1 && !is_word_byte(t[0]) && t[0] != '(';
      if (!after_open && !punct)
        out += ' ';
      after_open = t == "(";
    }
    out += t;
  }
  return out;
}

std::vector<int32_t> pad_or_truncate(std::span<const int32_t> ids, int64_t length) {
  std::vector<int32_t> out(ids.begin(), ids.begin() + std::min<int64_t>(int64_t(ids.size()), length));
  out.resize(size_t(length), Vocabulary::kPad);
  return out;
}

//===----------------------------------------------------------------------===//
// Files and documents
//===----------------------------------------------------------------------===//

namespace {

/// Where Debian's `fortunes` package installs its files (fortunes/...).
constexpr const char *kGamesDir = "/usr/share/games";

std::vector<std::string> glob_files(const std::string &pattern) {
  glob_t g{};
  std::vector<std::string> out;
  if (::glob(pattern.c_str(), 0, nullptr, &g) == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i)
      out.emplace_back(g.gl_pathv[i]);
  ::globfree(&g);
  return out;
}

/// Regular files of `matches` (symlinks followed), sorted, each canonical
/// path once, *.dat skipped.
std::vector<std::string> text_files(std::vector<std::string> matches) {
  std::sort(matches.begin(), matches.end());
  std::set<std::string> seen;
  std::vector<std::string> out;
  for (const std::string &m : matches) {
    std::error_code ec;
    fs::path p(m);
    if (p.extension() == ".dat" || !fs::is_regular_file(p, ec))
      continue;
    std::string canon = fs::canonical(p, ec).string();
    if (!ec && seen.insert(canon).second)
      out.push_back(m);
  }
  return out;
}

} // namespace

Expected<std::vector<std::string>> expand_text_files(const std::string &pattern, const std::string &source_dir) {
  if (pattern.empty())
    return fail("empty text file pattern");
  std::vector<fs::path> dirs;
  if (fs::path(pattern).is_absolute()) {
    dirs.emplace_back("");
  } else {
    dirs.emplace_back(".");
    if (!source_dir.empty())
      dirs.emplace_back(source_dir);
    if (const char *env = std::getenv("NETC_DATA")) {
      std::stringstream ss(env);
      for (std::string d; std::getline(ss, d, ':');)
        if (!d.empty())
          dirs.emplace_back(d);
    }
    dirs.emplace_back(kGamesDir);
  }
  std::string tried;
  for (const fs::path &dir : dirs) {
    std::string full = dir.empty() ? pattern : (dir / pattern).lexically_normal().string();
    std::vector<std::string> files = text_files(glob_files(full));
    if (!files.empty())
      return files;
    tried += "\n  " + full;
  }
  return fail(fmt::format("no text files match '{}' (regular files, *.dat skipped); looked in (current directory, "
                          "the .net file's directory, $NETC_DATA, {}):{}",
                          pattern, kGamesDir, tried));
}

Expected<std::vector<Document>> read_documents(const std::vector<std::string> &files, const std::string &separator) {
  std::vector<Document> docs;
  for (const std::string &f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in)
      return fail(fmt::format("{}: cannot open", f));
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (int64_t bad = find_invalid_utf8(bytes); bad >= 0)
      return fail(fmt::format("{}: not UTF-8: byte 0x{:02x} at offset {} does not start a valid UTF-8 sequence; "
                              "convert the file (e.g. iconv -f latin1 -t utf-8)",
                              f, uint8_t(bytes[size_t(bad)]), bad));
    Document cur{f, 1, ""};
    int64_t line = 1;
    auto flush = [&] {
      while (!cur.text.empty() && (cur.text.back() == '\n' || cur.text.back() == '\r'))
        cur.text.pop_back();
      if (!cur.text.empty())
        docs.push_back(cur);
    };
    std::string_view rest(bytes);
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      std::string_view l = rest.substr(0, nl == std::string_view::npos ? rest.size() : nl + 1);
      rest.remove_prefix(l.size());
      std::string_view body = l.substr(0, l.size() - (l.ends_with('\n') ? 1 : 0));
      if (body.ends_with('\r'))
        body.remove_suffix(1);
      if (!separator.empty() && body == separator) {
        flush();
        cur = Document{f, line + 1, ""};
      } else {
        cur.text += l;
      }
      ++line;
    }
    flush();
  }
  if (docs.empty())
    return fail(fmt::format("the text files ({}{}) hold no documents: every file is empty or only separators",
                            files.empty() ? "none" : files[0], files.size() > 1 ? ", ..." : ""));
  return docs;
}

bool is_held_out(std::string_view text, double fraction) {
  uint64_t h = 0xcbf29ce484222325ull; // FNV-1a 64
  for (char c : text)
    h = (h ^ uint8_t(c)) * 0x100000001b3ull;
  // MurmurHash3's finaliser: FNV's top bits barely move when only the last
  // bytes differ ("doc 1", "doc 2"), and the top bits decide the split.
  h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdull;
  h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return double(h >> 11) * 0x1.0p-53 < fraction;
}

//===----------------------------------------------------------------------===//
// Examples
//===----------------------------------------------------------------------===//

std::vector<int32_t> encode_stream(const std::vector<std::vector<std::string>> &docs, const Vocabulary &v) {
  std::vector<int32_t> s{Vocabulary::kEos};
  for (const auto &doc : docs) {
    for (const std::string &t : doc)
      s.push_back(v.id(t));
    s.push_back(Vocabulary::kEos);
  }
  return s;
}

Dataset stream_examples(std::span<const int32_t> stream, int64_t length, const std::string &name) {
  int64_t n = stream.size() > 0 ? (int64_t(stream.size()) - 1) / length : 0;
  Dataset d{name, name, HostArray{{n, length}, {}}, {}, {length}};
  d.inputs.data.resize(size_t(n * length));
  d.labels.resize(size_t(n * length));
  for (int64_t i = 0; i < n * length; ++i) {
    d.inputs.data[size_t(i)] = float(stream[size_t(i)]);
    d.labels[size_t(i)] = stream[size_t(i) + 1];
  }
  return d;
}

double unigram_cross_entropy(std::span<const int64_t> train_counts, std::span<const int32_t> held) {
  double total = double(train_counts.size());
  for (int64_t c : train_counts)
    total += double(c);
  double sum = 0;
  for (int32_t id : held) {
    double c = id >= 0 && size_t(id) < train_counts.size() ? double(train_counts[size_t(id)]) : 0;
    sum -= std::log((c + 1) / total);
  }
  return held.empty() ? 0 : sum / double(held.size());
}

Expected<TextCorpus> load_text(const std::string &pattern, const std::string &source_dir, const TextOptions &o) {
  if (o.vocab < Vocabulary::kSpecials + 1)
    return fail(fmt::format("text vocab must be at least {} (the special tokens <pad>, <unk>, <eos> and one more), "
                            "found {}",
                            Vocabulary::kSpecials + 1, o.vocab));
  if (o.length < 1)
    return fail(fmt::format("text length must be a positive number of tokens, found {}", o.length));
  if (!(o.held_out >= 0 && o.held_out < 1))
    return fail(fmt::format("text held_out must be a fraction in [0, 1), found {}", o.held_out));
  Expected<std::vector<std::string>> files = expand_text_files(pattern, source_dir);
  if (!files)
    return Error{files.error()};
  Expected<std::vector<Document>> docs = read_documents(*files, o.separator);
  if (!docs)
    return Error{docs.error()};
  std::vector<std::vector<std::string>> train, held;
  for (const Document &d : *docs)
    (is_held_out(d.text, o.held_out) ? held : train).push_back(tokenize(d.text, o.tokens));
  TextCorpus c;
  c.tokens = o.tokens;
  c.vocab = build_vocabulary(train, o.vocab);
  c.train_documents = int64_t(train.size()), c.held_out_documents = int64_t(held.size());
  std::string where = fmt::format("text '{}'", pattern);
  std::vector<int32_t> s = encode_stream(train, c.vocab);
  c.train = stream_examples(s, o.length, where + " (training split)");
  c.held_out = stream_examples(encode_stream(held, c.vocab), o.length, where + " (held-out split)");
  if (c.train.size() == 0)
    return fail(fmt::format("{}: the training split has {} tokens, fewer than one example of length {} needs ({})",
                            where, s.size(), o.length, o.length + 1));
  c.train_counts.assign(size_t(c.vocab.size()), 0);
  for (int32_t id : c.train.labels)
    ++c.train_counts[size_t(id)];
  return c;
}

} // namespace netc::rt
