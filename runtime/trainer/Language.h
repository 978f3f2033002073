//===- Language.h - Text and generated data, vocabularies, sampling -*- C++ -*-===//
//
// The trainer's side of the data sources that are not IDX files:
//
//   text(...)   runtime/Text.h: the training split feeds `train`, the
//               held-out split feeds evaluation; the vocabulary is written
//               next to the checkpoint (`lm.safetensors` -> `lm.vocab.json`)
//               so `sample` can map ids back to text; eval compares the
//               held-out cross-entropy with a unigram baseline.
//   waves(...)  runtime/Waves.h: `data` and `validate` are generated.
//
// `sample` works for any model whose input is a token sequence i32[T] and
// whose predict output is a distribution per position f32[T, V] (softmax):
// the context (<eos>, then the prime's tokens) is placed at the start of
// the input, right-padded with <pad>, and the distribution at the context's
// last position gives the next token; once the context is longer than T the
// input is its last T tokens. This is exact for causal models (position t
// sees only inputs 0..t), the kind a language model is.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Dataset.h"
#include "runtime/Expected.h"
#include "runtime/Text.h"
#include "runtime/trainer/Loop.h"
#include "runtime/trainer/Model.h"

#include <optional>
#include <string>

namespace netc::rt {

/// True when the train block's `<prefix>` data is generated or text (not
/// idx): config `<prefix>.format` is "text" or "waves", or, for "validate",
/// `data` is text (its held-out split).
bool is_generated_data(const ModelDesc &m, const std::string &prefix);

/// The text corpus of the train block's `data = text(...)`, loaded once per
/// process (the T of the examples: data.length, else the model's input
/// length).
Expected<const TextCorpus *> text_corpus(const ModelDesc &m, const DataBinding &d, const std::string &source_dir);

/// The `<prefix>` data of a generated or text source, checked against the
/// model; `limit` keeps the first examples.
Expected<Dataset> load_generated(const ModelDesc &m, const DataBinding &d, const std::string &prefix,
                                 const std::string &source_dir, std::optional<int64_t> limit);

/// Where the vocabulary of checkpoint `path` lives: `lm.safetensors` ->
/// `lm.vocab.json` (any other name: path + ".vocab.json").
std::string vocab_path(const std::string &checkpoint);

/// Writes {"tokens": "chars"|"words", "vocab": [spelling, ...]} atomically.
Expected<void> save_vocab(const std::string &path, const Vocabulary &v, TokenKind kind);

struct SavedVocab {
  Vocabulary vocab;
  TokenKind kind = TokenKind::Chars;
};

/// Reads what save_vocab wrote; errors name the file.
Expected<SavedVocab> load_vocab(const std::string &path);

struct SampleOptions {
  int64_t length = 300;
  double temperature = 1.0;
  uint64_t seed = 0;
  std::string prime;
};

/// Generates `length` tokens after the prime (see the file comment) and
/// returns prime + generated text. The model needs predict with an i32[T]
/// input and an f32[T, V] output whose rows are distributions (V = the
/// vocabulary size); anything else is an error saying what it has.
Expected<std::string> sample_text(Model &model, const DataBinding &d, const SavedVocab &v, const SampleOptions &o);

/// "held-out cross-entropy 1.8034 nats/token (2.6018 bits), unigram baseline
/// 3.1234 nats/token (4.5061 bits): 0.58 of the baseline"
std::string baseline_line(double held_out_nats, double unigram_nats, TokenKind kind);

} // namespace netc::rt
