//===- Glove.h - Word vectors in GloVe's text format, and vocabularies -*- C++ -*-===//
//
// What `init emb.table from glove("glove.6B.50d.txt", vocab: "vocab.txt")`
// reads (docs/trainer.md, "Pretrained parameters"):
//
//   a vocabulary file   one token per line; line k (from 1) is token id k-1.
//                       A trailing '\r' is dropped (CRLF files); empty lines
//                       and repeated tokens are errors.
//   a GloVe file        per line a word, then the vector's numbers, separated
//                       by spaces or tabs (glove.6B.*.txt, fastText .vec
//                       minus its header). Plain or gzip-compressed.
//
// The GloVe reader streams the file (they are gigabytes) and keeps only the
// vectors of vocabulary words, written into the caller's table rows; rows
// of words the file lacks are left as they are (the trainer has already
// given them their seeded random init) and counted. The first occurrence
// of a word wins. Every line must hold a word and exactly `dim` numbers,
// except that a word may itself contain spaces (glove.840B has ". . .")
// once the first line has fixed the dimension; every error names the file,
// the line, its byte offset (into the decompressed text) and what was
// expected. The interface takes the vocabulary as a list of tokens in id
// order, so a vocabulary built from text data plugs in as well as a file.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Expected.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace netc::rt {

/// Reads a vocabulary file: the tokens in id order.
Expected<std::vector<std::string>> read_vocab_file(const std::string &path);

/// What read_glove found.
struct GloveStats {
  /// Lines in the file; vocabulary words found; lines repeating a found word.
  int64_t lines = 0, found = 0, repeated = 0;
  /// Vocabulary ids the file has no vector for, in id order.
  std::vector<int64_t> missing;
};

/// Reads `path` and copies the vector of every vocabulary word it lists
/// into that word's row of `table` (vocab.size() rows of `dim` floats).
Expected<GloveStats> read_glove(const std::string &path, std::span<const std::string> vocab,
                                int64_t dim, std::span<float> table);

} // namespace netc::rt
