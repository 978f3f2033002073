//===- Pretrained.cpp - Parameters initialised from files -----------------===//
//
// This file implements load_pretrained: each target's file is resolved,
// read (a safetensors file once for all its targets) and checked against the
// parameter into a staging buffer; only when every target has its values
// are they copied into the model.
//
//===----------------------------------------------------------------------===//
#include "runtime/trainer/Pretrained.h"

#include "runtime/Dataset.h"
#include "runtime/Glove.h"
#include "runtime/Npy.h"
#include "runtime/trainer/Checkpoint.h"

#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>

namespace netc::rt {

namespace {

std::string dims(std::span<const int64_t> shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

int64_t elements(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// `t`'s values from a parsed safetensors file.
Expected<std::vector<float>> from_safetensors(const PretrainedTarget &t, const StFile &f, const std::string &path) {
  const StTensor *s = f.find(t.tensor);
  if (!s) {
    std::vector<std::string> names;
    for (const StTensor &x : f.tensors)
      names.push_back(x.name);
    size_t shown = std::min<size_t>(names.size(), 8);
    return fail(fmt::format("{}: no tensor `{}` to initialise parameter `{}`; the file has {} tensor{}: {}{}", path,
                            t.tensor, t.name, names.size(), names.size() == 1 ? "" : "s",
                            fmt::join(names.begin(), names.begin() + std::ptrdiff_t(shown), ", "),
                            shown < names.size() ? ", ..." : ""));
  }
  if (s->dtype != "F32" || s->shape != t.shape)
    return fail(fmt::format("{}: tensor `{}` is {} {} but parameter `{}` is F32 {}{}", path, t.tensor, s->dtype,
                            dims(s->shape), t.name, dims(t.shape),
                            s->dtype != "F32" ? "; netc loads F32 tensors (convert them with .float())" : ""));
  std::vector<float> v(size_t(elements(t.shape)));
  std::memcpy(v.data(), s->data.data(), s->data.size());
  return v;
}

Expected<std::vector<float>> from_npy(const PretrainedTarget &t, const std::string &path) {
  Expected<NpyArray> a = read_npy(path);
  if (!a)
    return Error{a.error()};
  if (a->kind != NpyKind::Float || a->item_size != 4 || a->shape != t.shape)
    return fail(fmt::format("{}: holds {} ({}) but parameter `{}` is float32 ({}){}", path, a->dtype_name(),
                            fmt::join(a->shape, ", "), t.name, fmt::join(t.shape, ", "),
                            a->kind == NpyKind::Float && a->item_size != 4
                                ? "; save it with arr.astype(numpy.float32)"
                                : ""));
  return a->to_floats();
}

/// The table with the GloVe vectors of the words the file has; the message.
Expected<std::string> from_glove(const PretrainedTarget &t, const std::string &path, const std::string &source_dir,
                                 uint64_t seed, std::vector<float> &table) {
  Expected<std::string> vocab_path = resolve_data_path(t.vocab, source_dir);
  if (!vocab_path)
    return fail(fmt::format("the vocabulary of `{}`: {}", t.name, vocab_path.error()));
  Expected<std::vector<std::string>> vocab = read_vocab_file(*vocab_path);
  if (!vocab)
    return Error{vocab.error()};
  if (int64_t(vocab->size()) != t.shape[0])
    return fail(fmt::format("{}: {} tokens, but `{}` ({}) has {} rows, one per token id", *vocab_path, vocab->size(),
                            t.name, dims(t.shape), t.shape[0]));
  table.assign(t.values.begin(), t.values.end());
  Expected<GloveStats> s = read_glove(path, *vocab, t.shape[1], table);
  if (!s)
    return Error{s.error()};
  std::string missing;
  if (!s->missing.empty()) {
    std::vector<std::string> words;
    for (size_t i = 0; i < std::min<size_t>(s->missing.size(), 5); ++i)
      words.push_back((*vocab)[size_t(s->missing[i])]);
    missing = fmt::format("; {} not in the file ({}{}) keep their random {} values (seed {})", s->missing.size(),
                          fmt::join(words, ", "), s->missing.size() > words.size() ? ", ..." : "", t.init, seed);
  }
  return fmt::format("initialised {} from {}: {} of {} words found{}", t.name, path, s->found, vocab->size(),
                     missing);
}

} // namespace

Expected<std::vector<std::string>> load_pretrained(std::span<const PretrainedTarget> targets,
                                                   const std::string &source_dir, uint64_t seed) {
  std::vector<std::string> messages;
  std::vector<std::vector<float>> staged(targets.size());
  std::map<std::string, StFile> files; // safetensors files by resolved path
  std::map<std::string, std::vector<std::string>> loaded;
  std::vector<std::string> order;
  for (size_t i = 0; i < targets.size(); ++i) {
    const PretrainedTarget &t = targets[i];
    Expected<std::string> path = resolve_data_path(t.path, source_dir);
    if (!path)
      return fail(fmt::format("the pretrained values of `{}`: {}", t.name, path.error()));
    if (t.from == "safetensors") {
      auto it = files.find(*path);
      if (it == files.end()) {
        Expected<StFile> f = read_safetensors(*path);
        if (!f)
          return Error{f.error()};
        it = files.emplace(*path, std::move(*f)).first;
        order.push_back(*path);
      }
      Expected<std::vector<float>> v = from_safetensors(t, it->second, *path);
      if (!v)
        return Error{v.error()};
      staged[i] = std::move(*v);
      loaded[*path].push_back(t.tensor == t.name ? t.name : t.name + " <- " + t.tensor);
    } else if (t.from == "npy") {
      Expected<std::vector<float>> v = from_npy(t, *path);
      if (!v)
        return Error{v.error()};
      staged[i] = std::move(*v);
      messages.push_back(fmt::format("initialised {} from {}", t.name, *path));
    } else {
      Expected<std::string> m = from_glove(t, *path, source_dir, seed, staged[i]);
      if (!m)
        return Error{m.error()};
      messages.push_back(*m);
    }
  }
  std::vector<std::string> files_loaded; // safetensors files first, in order of first use
  for (const std::string &path : order)
    files_loaded.push_back(fmt::format("initialised {} from {}", fmt::join(loaded[path], ", "), path));
  messages.insert(messages.begin(), files_loaded.begin(), files_loaded.end());
  for (size_t i = 0; i < targets.size(); ++i)
    std::copy(staged[i].begin(), staged[i].end(), targets[i].values.begin());
  return messages;
}

Expected<std::vector<std::string>> load_pretrained(Model &model, const std::string &source_dir, uint64_t seed) {
  std::vector<PretrainedTarget> targets;
  for (const ParamDesc &p : model.desc().params) {
    if (p.init_from.empty())
      continue;
    const SlotDesc &s = model.desc().slots[size_t(p.slot)];
    targets.push_back({p.name, s.shape, p.init, p.init_from, p.init_path, p.init_tensor, p.init_vocab,
                       std::span<float>(model.f32(p.slot), size_t(elements(s.shape)))});
  }
  return load_pretrained(targets, source_dir, seed);
}

} // namespace netc::rt
