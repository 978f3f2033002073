//===- Language.cpp - Text and generated data, vocabularies, sampling -----===//
//
// This file implements the trainer's text and waves data sources, the
// vocabulary file, temperature sampling and the baseline line.
//
//===----------------------------------------------------------------------===//
#include "runtime/trainer/Language.h"

#include "ir/Random.h"
#include "runtime/Waves.h"
#include "runtime/trainer/Checkpoint.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

namespace netc::rt {

bool is_generated_data(const ModelDesc &m, const std::string &prefix) {
  std::string f = m.config_string(prefix + ".format");
  return f == "text" || f == "waves" || (prefix == "validate" && f.empty() && m.config_string("data.format") == "text");
}

namespace {

/// The examples' length: the setting, else the model input's first dimension.
Expected<int64_t> example_length(const ModelDesc &m, const DataBinding &d, const std::string &prefix) {
  int64_t length = m.config_int(prefix + ".length", 0);
  if (length > 0)
    return length;
  if (d.input_shape.empty())
    return fail(fmt::format("`{} = {}(...)` has no `length:` and the model's input `{}` has no length to take it from",
                            prefix, m.config_string(prefix + ".format"), d.input_name));
  return d.input_shape[0];
}

/// Keeps the first `limit` examples of `d`.
void keep_first(Dataset &d, std::optional<int64_t> limit) {
  if (!limit || *limit >= d.size())
    return;
  d.inputs.shape[0] = *limit;
  d.inputs.data.resize(size_t(*limit * d.example_size()));
  d.labels.resize(size_t(*limit * d.label_size()));
}

} // namespace

Expected<const TextCorpus *> text_corpus(const ModelDesc &m, const DataBinding &d, const std::string &source_dir) {
  static std::map<std::string, TextCorpus> cache; // one trainer process, one corpus
  TextOptions o;
  Expected<int64_t> length = example_length(m, d, "data");
  if (!length)
    return Error{length.error()};
  o.length = *length;
  o.separator = m.config_string("data.separator", "%");
  std::string tokens = m.config_string("data.tokens", "chars");
  std::optional<TokenKind> kind = parse_token_kind(tokens);
  if (!kind)
    return fail(fmt::format("data.tokens is \"{}\", expected \"chars\" or \"words\"", tokens));
  o.tokens = *kind;
  o.vocab = m.config_int("data.vocab", 256);
  o.held_out = m.config_number("data.held_out", 0.1);
  std::string files = m.config_string("data.files");
  std::string key = fmt::format("{}|{}|{}|{}|{}|{}|{}", files, source_dir, o.separator, tokens, o.vocab, o.length,
                                o.held_out);
  if (auto it = cache.find(key); it != cache.end())
    return &it->second;
  Expected<TextCorpus> c = load_text(files, source_dir, o);
  if (!c)
    return Error{c.error()};
  return &cache.emplace(key, std::move(*c)).first->second;
}

Expected<Dataset> load_generated(const ModelDesc &m, const DataBinding &d, const std::string &prefix,
                                 const std::string &source_dir, std::optional<int64_t> limit) {
  Dataset data;
  if (m.config_string("data.format") == "text" && m.config_string(prefix + ".format") != "waves") {
    Expected<const TextCorpus *> c = text_corpus(m, d, source_dir);
    if (!c)
      return Error{c.error()};
    data = prefix == "data" ? (*c)->train : (*c)->held_out;
    if (prefix != "data" && data.size() == 0)
      return fail(fmt::format("{}: the held-out split has no example (`held_out:` is {}); raise it or add text",
                              data.images_path, m.config_number("data.held_out", 0.1)));
    if ((*c)->vocab.size() > d.num_classes && d.num_classes > 0)
      return fail(fmt::format("the text vocabulary has {} tokens but the model scores {} classes; set `vocab: {}` in "
                              "text(...) or widen the model to class<{}>",
                              (*c)->vocab.size(), d.num_classes, d.num_classes, (*c)->vocab.size()));
  } else {
    Expected<int64_t> length = example_length(m, d, prefix);
    if (!length)
      return Error{length.error()};
    WaveOptions o;
    o.count = m.config_int(prefix + ".count", 4000);
    o.length = *length;
    o.seed = uint64_t(m.config_int(prefix + ".seed", prefix == "data" ? 1 : 2));
    o.noise = m.config_number(prefix + ".noise", 0.3);
    data = make_waves(o);
  }
  keep_first(data, limit);
  if (Expected<void> ok = check_dataset(data, d.spec()); !ok)
    return Error{ok.error()};
  return data;
}

//===----------------------------------------------------------------------===//
// The vocabulary file
//===----------------------------------------------------------------------===//

std::string vocab_path(const std::string &checkpoint) {
  const std::string ext = ".safetensors";
  if (checkpoint.size() > ext.size() && checkpoint.ends_with(ext))
    return checkpoint.substr(0, checkpoint.size() - ext.size()) + ".vocab.json";
  return checkpoint + ".vocab.json";
}

Expected<void> save_vocab(const std::string &path, const Vocabulary &v, TokenKind kind) {
  nlohmann::json j = {{"tokens", kind == TokenKind::Chars ? "chars" : "words"}, {"vocab", v.tokens()}};
  std::string text = j.dump() + "\n";
  return write_file_atomic(path, std::span(reinterpret_cast<const uint8_t *>(text.data()), text.size()));
}

Expected<SavedVocab> load_vocab(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail(fmt::format("{}: no vocabulary file; training on text(...) data writes it next to the checkpoint",
                            path));
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("vocab") || !j["vocab"].is_array() ||
      !j.contains("tokens") || !j["tokens"].is_string())
    return fail(fmt::format("{}: not a vocabulary file: expected JSON {{\"tokens\": \"chars\", \"vocab\": [...]}}",
                            path));
  std::optional<TokenKind> kind = parse_token_kind(j["tokens"].get<std::string>());
  if (!kind)
    return fail(fmt::format("{}: \"tokens\" is {}, expected \"chars\" or \"words\"", path, j["tokens"].dump()));
  std::vector<std::string> tokens;
  for (const nlohmann::json &t : j["vocab"]) {
    if (!t.is_string())
      return fail(fmt::format("{}: vocabulary entry {} is {}, expected a string", path, tokens.size(), t.dump()));
    tokens.push_back(t.get<std::string>());
  }
  Expected<Vocabulary> v = Vocabulary::from_tokens(std::move(tokens));
  if (!v)
    return fail(path + ": " + v.error());
  return SavedVocab{std::move(*v), *kind};
}

//===----------------------------------------------------------------------===//
// Sampling
//===----------------------------------------------------------------------===//

namespace {

/// Draws an index from p^(1/temperature), renormalised (in log space).
int32_t draw(std::span<const float> p, double temperature, Pcg32 &rng) {
  std::vector<double> w(p.size());
  double most = -INFINITY;
  for (size_t i = 0; i < p.size(); ++i) {
    w[i] = p[i] > 0 ? std::log(double(p[i])) / temperature : -INFINITY;
    most = std::max(most, w[i]);
  }
  double total = 0;
  for (double &x : w)
    total += x = std::exp(x - most);
  double u = rng.uniform() * total;
  for (size_t i = 0; i < w.size(); ++i)
    if ((u -= w[i]) < 0 && w[i] > 0)
      return int32_t(i);
  return int32_t(std::max_element(w.begin(), w.end()) - w.begin());
}

} // namespace

Expected<std::string> sample_text(Model &model, const DataBinding &d, const SavedVocab &v, const SampleOptions &o) {
  const ModelDesc &m = model.desc();
  if (d.predict.input < 0 || d.predict_output < 0)
    return fail(fmt::format("model `{}` has no predict function to sample from", m.name));
  const SlotDesc &in = m.slots[size_t(d.predict.input)], &out = m.slots[size_t(d.predict_output)];
  if (in.type != ElemType::I32 || in.shape.size() != 2)
    return fail(fmt::format("sample needs a token-sequence input i32[T]; predict's input `{}` is {}", d.input_name,
                            slot_type_string(in)));
  int64_t T = in.shape[1], V = v.vocab.size();
  if (out.type != ElemType::F32 || out.shape.size() != 3 || out.shape[1] != T || out.shape[2] != V)
    return fail(fmt::format("sample needs predict's first output to be a distribution per position f32[N, {}, {}] "
                            "(the vocabulary has {} tokens); `{}` is {}",
                            T, V, V, d.predict_output_name, slot_type_string(out)));
  if (!(o.temperature > 0) || !std::isfinite(o.temperature))
    return fail(fmt::format("--temperature must be a positive number, found {}", o.temperature));
  std::vector<int32_t> context{Vocabulary::kEos};
  for (const std::string &t : tokenize(o.prime, v.kind))
    context.push_back(v.vocab.id(t));
  Pcg32 rng(o.seed);
  for (int64_t n = 0; n < o.length; ++n) {
    size_t used = std::min<size_t>(context.size(), size_t(T));
    std::vector<int32_t> window = pad_or_truncate(std::span(context).last(used), T);
    std::copy(window.begin(), window.end(), model.i32(d.predict.input));
    if (Expected<void> ok = model.call("predict", 1); !ok)
      return Error{ok.error()};
    std::span<const float> p(model.f32(d.predict_output) + (used - 1) * size_t(V), size_t(V));
    double total = 0;
    for (float x : p)
      total += x >= 0 ? x : INFINITY;
    if (!(std::abs(total - 1) < 1e-3))
      return fail(fmt::format("predict's output `{}` is not a distribution: position {} sums to {} (expected 1); make "
                              "the model's first output softmax(logits)",
                              d.predict_output_name, used - 1, total));
    context.push_back(draw(p, o.temperature, rng));
  }
  return detokenize(std::span(context).subspan(1), v.vocab, v.kind);
}

std::string baseline_line(double held_out_nats, double unigram_nats, TokenKind kind) {
  const char *unit = kind == TokenKind::Chars ? "char" : "word";
  return fmt::format("held-out cross-entropy {:.4f} nats/{} ({:.4f} bits), unigram baseline {:.4f} nats/{} ({:.4f} "
                     "bits): {:.2f} of the baseline",
                     held_out_nats, unit, held_out_nats / std::log(2.0), unigram_nats, unit,
                     unigram_nats / std::log(2.0), held_out_nats / unigram_nats);
}

} // namespace netc::rt
