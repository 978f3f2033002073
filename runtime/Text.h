//===- Text.h - Text corpora as token-id examples for language models -*- C++ -*-===//
//
// What a `train` block's `data = text("fortunes/*", ...)` names (docs/data.md,
// "Text"): every file a glob pattern matches, split into documents, each
// document tokenized (characters, or words by a small fixed rule), a
// vocabulary with a size cap built from the training documents, and
// examples for a next-token language model:
//
//   stream   = <eos> doc_1 <eos> doc_2 <eos> ... doc_n <eos>   (token ids)
//   example  = input  stream[i .. i+T)      i = 0, T, 2T, ...
//              target stream[i+1 .. i+T+1)  (the next token at each position)
//
// Documents go to the held-out set by a hash of their text, not by position,
// so the split does not depend on file order and repeated documents (fortune
// files repeat some) land on the same side.
//
// Ids 0, 1, 2 are the special tokens <pad>, <unk>, <eos>; the remaining ids
// are tokens by decreasing training frequency (ties by byte order), up to
// the cap; rarer tokens map to <unk>.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Dataset.h"
#include "runtime/Expected.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace netc::rt {

/// How text becomes tokens.
enum class TokenKind {
  /// One token per Unicode code point (UTF-8 decoded), whitespace included.
  Chars,
  /// Words: a maximal run of letters, digits, apostrophes and bytes >= 0x80
  /// (non-ASCII letters), lowercased (ASCII only); every other non-space
  /// character is a token of its own; whitespace separates and is dropped.
  Words,
};

/// "chars" or "words"; nullopt for anything else.
std::optional<TokenKind> parse_token_kind(std::string_view s);

/// The token ids and spellings; specials first.
class Vocabulary {
public:
  static constexpr int32_t kPad = 0, kUnk = 1, kEos = 2;
  /// The number of special tokens.
  static constexpr int32_t kSpecials = 3;

  /// From spellings, id = position; the first three must be the specials.
  /// Errors on a duplicate, an empty spelling or missing specials.
  static Expected<Vocabulary> from_tokens(std::vector<std::string> tokens);

  /// The id of `token`: its own, or kUnk.
  int32_t id(std::string_view token) const;
  /// The spelling of `id` ("<pad>", "<unk>", "<eos>" for the specials).
  const std::string &token(int32_t id) const { return tokens_[size_t(id)]; }
  int64_t size() const { return int64_t(tokens_.size()); }
  const std::vector<std::string> &tokens() const { return tokens_; }

private:
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int32_t> index_;
};

/// Builds the vocabulary of `docs` (already tokenized): the specials, then
/// the most frequent tokens (ties in byte order), `cap` ids in all.
/// cap must be at least kSpecials + 1.
Vocabulary build_vocabulary(const std::vector<std::vector<std::string>> &docs, int64_t cap);

/// Splits UTF-8 text into tokens. The text must be valid UTF-8 (see
/// check_utf8); Words follows the rule of TokenKind::Words.
std::vector<std::string> tokenize(std::string_view text, TokenKind kind);

/// Joins tokens back into text: Chars concatenates; Words puts a space
/// between two tokens unless the second is punctuation other than '(' or
/// the first is '(' . Specials: <eos> becomes "\n\n", <pad> nothing, <unk>
/// U+FFFD.
std::string detokenize(std::span<const int32_t> ids, const Vocabulary &v, TokenKind kind);

/// The byte offset of the first invalid UTF-8 sequence (overlong forms,
/// surrogates and code points above U+10FFFF are invalid), or -1.
int64_t find_invalid_utf8(std::string_view text);

/// `ids` cut to its first `length` ids, or padded with <pad> at the end.
std::vector<int32_t> pad_or_truncate(std::span<const int32_t> ids, int64_t length);

/// One document and where it starts.
struct Document {
  std::string file;
  int64_t line = 1; // 1-based line of its first line in `file`
  std::string text;
};

struct TextOptions {
  /// A line consisting of exactly this string ends a document (fortune
  /// files use "%"); empty: each file is one document.
  std::string separator = "%";
  TokenKind tokens = TokenKind::Chars;
  /// The vocabulary size, specials included.
  int64_t vocab = 256;
  /// T: tokens per example.
  int64_t length = 64;
  /// The fraction of documents held out, in [0, 1).
  double held_out = 0.1;
};

/// The files a pattern names: a glob (`*`, `?`, `[...]`) resolved against
/// the current directory, then `source_dir`, then $NETC_DATA and
/// /usr/share/games (where Debian's `fortunes` package puts its files), the
/// first place with matches winning. Regular files only, sorted, each
/// canonical path once (fortune's `X.u8 -> X` links add nothing), and
/// fortune's binary `strfile` indexes `*.dat` skipped. No match: an error
/// listing the places tried.
Expected<std::vector<std::string>> expand_text_files(const std::string &pattern, const std::string &source_dir);

/// Reads files into documents split at separator lines (empty documents,
/// e.g. after the last "%", are dropped; a document's trailing newline is
/// removed). A file that is not valid UTF-8 is an error naming the file and
/// the byte offset; no documents at all is an error.
Expected<std::vector<Document>> read_documents(const std::vector<std::string> &files, const std::string &separator);

/// True when the document goes to the held-out set: the FNV-1a 64 hash of
/// its text, mixed by MurmurHash3's 64-bit finaliser and scaled to [0, 1),
/// is below `fraction`.
bool is_held_out(std::string_view text, double fraction);

/// A corpus turned into language-model examples.
struct TextCorpus {
  Vocabulary vocab;
  TokenKind tokens = TokenKind::Chars;
  /// inputs [n, T] (ids as exact floats), labels [n, T]: the next ids.
  Dataset train, held_out;
  int64_t train_documents = 0, held_out_documents = 0;
  /// Token counts of the training targets, per id (for the unigram baseline).
  std::vector<int64_t> train_counts;
};

/// The whole pipeline: files, documents, split, vocabulary (from the training
/// documents only), streams and windows. Errors: no files, invalid UTF-8, no
/// documents, vocab below kSpecials + 1, length < 1, held_out outside [0, 1),
/// or a split without a single full example (the error says how many tokens
/// it has).
Expected<TextCorpus> load_text(const std::string &pattern, const std::string &source_dir, const TextOptions &o);

/// The stream of one split: <eos> before every document and one at the end.
std::vector<int32_t> encode_stream(const std::vector<std::vector<std::string>> &docs, const Vocabulary &v);

/// Windows of `length` over `stream` at stride `length`: inputs [n, T] and
/// next-token labels [n, T]; the tail shorter than T + 1 tokens is dropped.
Dataset stream_examples(std::span<const int32_t> stream, int64_t length, const std::string &name);

/// The cross-entropy in nats per token of `held` labels under the unigram
/// model of `train_counts`, with add-one smoothing over the vocabulary.
double unigram_cross_entropy(std::span<const int64_t> train_counts, std::span<const int32_t> held);

} // namespace netc::rt
