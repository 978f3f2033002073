//===- Checkpoint.cpp - Parameters and training position as safetensors ---===//
//
// This file implements the safetensors encoder and validating parser, the
// atomic file write, and checkpoint save/load over a Model's slots.
//
//===----------------------------------------------------------------------===//
#include "runtime/trainer/Checkpoint.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace netc::rt {

namespace {

/// Bytes per element of a safetensors dtype; 0 when unknown.
size_t st_dtype_size(const std::string &d) {
  static const std::pair<const char *, size_t> kSizes[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
                                                           {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U64", 8},  {"U32", 4},
                                                           {"U16", 2}, {"U8", 1},  {"BOOL", 1}};
  for (const auto &[name, size] : kSizes)
    if (d == name)
      return size;
  return 0;
}

std::string shape_str(std::span<const int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

uint64_t read_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

std::string hex64(uint64_t v) { return fmt::format("{:016x}", v); }

/// One header entry: dtype, shape and offsets checked against `data_size`.
Expected<StTensor> parse_entry(const std::string &name, const nlohmann::json &e, size_t data_size,
                               const std::string &path) {
  std::string where = fmt::format("{}: tensor `{}`", path, name);
  if (!e.is_object() || !e.contains("dtype") || !e["dtype"].is_string() || !e.contains("shape") ||
      !e["shape"].is_array() || !e.contains("data_offsets") || !e["data_offsets"].is_array() ||
      e["data_offsets"].size() != 2)
    return fail(where + ": expected {\"dtype\": ..., \"shape\": [...], \"data_offsets\": [begin, end]}");
  StTensor t;
  t.name = name;
  t.dtype = e["dtype"].get<std::string>();
  size_t size = st_dtype_size(t.dtype);
  if (size == 0)
    return fail(fmt::format("{}: unknown dtype \"{}\"", where, t.dtype));
  uint64_t count = 1;
  for (const nlohmann::json &d : e["shape"]) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > (uint64_t(1) << 40))
      return fail(fmt::format("{}: bad dimension {} in its shape", where, d.dump()));
    t.shape.push_back(d.get<int64_t>());
    count *= d.get<uint64_t>();
    if (count > (uint64_t(1) << 48))
      return fail(where + ": its shape describes more than 2^48 elements");
  }
  const nlohmann::json &o = e["data_offsets"];
  if (!o[0].is_number_unsigned() || !o[1].is_number_unsigned())
    return fail(where + ": data_offsets must be two non-negative integers");
  uint64_t begin = o[0].get<uint64_t>(), end = o[1].get<uint64_t>();
  if (begin > end || end > data_size)
    return fail(fmt::format("{}: data_offsets [{}, {}] lie outside the {} data bytes", where, begin, end, data_size));
  if (end - begin != count * size)
    return fail(fmt::format("{}: data_offsets [{}, {}] hold {} bytes but {} {} needs {}", where, begin, end,
                            end - begin, t.dtype, shape_str(t.shape), count * size));
  t.offset = begin;
  t.length = end - begin;
  return t;
}

/// The tensors must tile the data section exactly, as safetensors requires.
Expected<void> check_coverage(std::vector<StTensor> &tensors, const uint8_t *data, size_t data_size,
                              const std::string &path) {
  std::vector<StTensor *> by_offset;
  for (StTensor &t : tensors)
    by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](const StTensor *a, const StTensor *b) {
    return a->offset != b->offset ? a->offset < b->offset : a->length < b->length;
  });
  uint64_t expect = 0;
  for (StTensor *t : by_offset) {
    if (t->offset != expect)
      return fail(fmt::format("{}: tensor `{}` starts at data offset {}, expected {} (tensors must be back to back)",
                              path, t->name, t->offset, expect));
    expect = t->offset + t->length;
    t->data = std::span<const uint8_t>(data + t->offset, size_t(t->length));
  }
  if (expect != data_size)
    return fail(fmt::format("{}: the tensors cover {} of the {} data bytes", path, expect, data_size));
  return {};
}

Expected<nlohmann::json> parse_header_json(const uint8_t *p, size_t n, const std::string &path) {
  try {
    nlohmann::json j = nlohmann::json::parse(p, p + n);
    if (!j.is_object())
      return fail(path + ": the header is not a JSON object");
    return j;
  } catch (const nlohmann::json::exception &e) {
    return fail(fmt::format("{}: bad JSON header ({} bytes at offset 8): {}", path, n, e.what()));
  }
}

Expected<std::vector<uint8_t>> read_whole_file(const std::string &path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return fail(path + ": is a directory, not a checkpoint");
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    return fail(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::vector<uint8_t> bytes;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    bytes.insert(bytes.end(), buf, buf + n);
  bool bad = std::ferror(f);
  std::fclose(f);
  if (bad)
    return fail(path + ": read error");
  return bytes;
}

Expected<int64_t> meta_int(const StFile &f, const char *key, const std::string &path) {
  auto it = f.metadata.find(key);
  if (it == f.metadata.end())
    return int64_t(0);
  int64_t v = 0;
  const std::string &s = it->second;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0)
    return fail(fmt::format("{}: metadata `{}` is \"{}\", expected a non-negative integer", path, key, s));
  return v;
}

/// A metadata value of 16 hex digits per element of `out`; an absent key leaves `out` alone.
Expected<void> meta_hex(const StFile &f, const char *key, std::span<uint64_t> out, const std::string &path) {
  auto it = f.metadata.find(key);
  if (it == f.metadata.end())
    return {};
  const std::string &s = it->second;
  bool ok = s.size() == 16 * out.size();
  for (size_t i = 0; ok && i < out.size(); ++i) {
    auto [end, ec] = std::from_chars(s.data() + 16 * i, s.data() + 16 * (i + 1), out[i], 16);
    ok = ec == std::errc() && end == s.data() + 16 * (i + 1);
  }
  if (!ok)
    return fail(fmt::format("{}: metadata `{}` is \"{}\", expected {} hex digits", path, key, s, 16 * out.size()));
  return {};
}

/// The run state: absent keys (older checkpoints) give a fresh state.
Expected<RunState> read_run_state(const StFile &f, const std::string &path) {
  RunState r;
  uint64_t rng[2] = {0, 0}, best[1] = {0};
  if (Expected<void> ok = meta_hex(f, "rng", rng, path); !ok)
    return Error{ok.error()};
  if (Expected<void> ok = meta_hex(f, "best_loss", best, path); !ok)
    return Error{ok.error()};
  r.rng_state = rng[0], r.rng_inc = rng[1];
  r.best_loss = std::bit_cast<double>(best[0]);
  Expected<int64_t> since = meta_int(f, "since_best", path);
  if (!since)
    return Error{since.error()};
  r.since_best = *since;
  // best_epoch is -1 before the first evaluation, so it is stored plus one as `best_epochs`.
  Expected<int64_t> epochs = meta_int(f, "best_epochs", path);
  if (!epochs)
    return Error{epochs.error()};
  r.best_epoch = *epochs - 1;
  return r;
}

Expected<CheckpointInfo> read_info(const StFile &f, const std::string &path) {
  CheckpointInfo info;
  Expected<RunState> run = read_run_state(f, path);
  if (!run)
    return Error{run.error()};
  info.run = *run;
  auto it = f.metadata.find("model");
  info.model = it == f.metadata.end() ? "" : it->second;
  int64_t *fields[] = {&info.position.epoch, &info.position.step, &info.position.global_step, nullptr, &info.batch};
  const char *keys[] = {"epoch", "step", "global_step", "seed", "batch"};
  for (size_t i = 0; i < 5; ++i) {
    Expected<int64_t> v = meta_int(f, keys[i], path);
    if (!v)
      return Error{v.error()};
    if (fields[i])
      *fields[i] = *v;
    else
      info.seed = uint64_t(*v);
  }
  return info;
}

/// The model's param slots must match the file's tensors one for one.
Expected<void> match_tensors(const StFile &f, const Model &model, const std::string &path) {
  const ModelDesc &m = model.desc();
  for (const ParamDesc &p : m.params) {
    const SlotDesc &s = m.slots[size_t(p.slot)];
    std::string want = fmt::format("{} {}", elem_type_safetensors_name(s.type), shape_str(s.shape));
    const StTensor *t = f.find(p.name);
    if (!t)
      return fail(fmt::format("{}: missing tensor `{}` ({}) that model `{}` needs", path, p.name, want, m.name));
    std::string have = fmt::format("{} {}", t->dtype, shape_str(t->shape));
    if (have != want)
      return fail(fmt::format("{}: tensor `{}` is {} in the checkpoint but {} in model `{}`", path, p.name, have, want,
                              m.name));
  }
  for (const StTensor &t : f.tensors)
    if (!m.param(t.name))
      return fail(fmt::format("{}: tensor `{}` is not a parameter or state of model `{}`", path, t.name, m.name));
  return {};
}

} // namespace

const StTensor *StFile::find(const std::string &name) const {
  for (const StTensor &t : tensors)
    if (t.name == name)
      return &t;
  return nullptr;
}

uint64_t fnv1a64(std::span<const uint8_t> bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (uint8_t b : bytes)
    h = (h ^ b) * 0x100000001b3ULL;
  return h;
}

std::vector<uint8_t> encode_safetensors(std::span<const StInput> tensors,
                                        const std::map<std::string, std::string> &metadata) {
  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  for (const StInput &t : tensors) {
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  if (!metadata.empty())
    header["__metadata__"] = metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' '); // align the data to 8 bytes
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i)
    out[size_t(i)] = uint8_t(uint64_t(text.size()) >> (8 * i));
  out.insert(out.end(), text.begin(), text.end());
  for (const StInput &t : tensors)
    out.insert(out.end(), t.data.begin(), t.data.end());
  return out;
}

Expected<StFile> parse_safetensors(std::vector<uint8_t> bytes, const std::string &path) {
  if (bytes.size() < 8)
    return fail(fmt::format("{}: file too short ({} bytes); a safetensors file starts with an 8-byte header length",
                            path, bytes.size()));
  uint64_t n = read_le64(bytes.data());
  if (n > bytes.size() - 8)
    return fail(fmt::format("{}: header length {} (at offset 0) goes beyond the end of the file ({} bytes, so at "
                            "most {} bytes of header)",
                            path, n, bytes.size(), bytes.size() - 8));
  Expected<nlohmann::json> header = parse_header_json(bytes.data() + 8, size_t(n), path);
  if (!header)
    return Error{header.error()};
  StFile f;
  size_t data_begin = 8 + size_t(n), data_size = bytes.size() - data_begin;
  for (auto &[key, value] : header->items()) {
    if (key == "__metadata__") {
      if (!value.is_object())
        return fail(path + ": __metadata__ is not a JSON object");
      for (auto &[mk, mv] : value.items()) {
        if (!mv.is_string())
          return fail(fmt::format("{}: metadata `{}` is not a string", path, mk));
        f.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    Expected<StTensor> t = parse_entry(key, value, data_size, path);
    if (!t)
      return Error{t.error()};
    f.tensors.push_back(std::move(*t));
  }
  f.bytes = std::move(bytes);
  if (Expected<void> ok = check_coverage(f.tensors, f.bytes.data() + data_begin, data_size, path); !ok)
    return Error{ok.error()};
  auto it = f.metadata.find("checksum");
  if (it != f.metadata.end()) {
    std::string actual = hex64(fnv1a64(std::span(f.bytes).subspan(data_begin)));
    if (it->second != actual)
      return fail(fmt::format("{}: checksum mismatch: the header records {} but the tensor data hashes to {} "
                              "(FNV-1a 64); the file is corrupt",
                              path, it->second, actual));
  }
  return f;
}

Expected<void> write_file_atomic(const std::string &path, std::span<const uint8_t> bytes) {
  std::filesystem::path target(path);
  std::filesystem::path dir = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
  std::string tmp = (dir / ("." + target.filename().string() + fmt::format(".tmp{}", ::getpid()))).string();
  FILE *f = std::fopen(tmp.c_str(), "wb");
  if (!f)
    return fail(fmt::format("{}: cannot create {}: {}", path, tmp, std::strerror(errno)));
  bool ok =
      std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  int err = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    err = ok ? errno : err;
    std::remove(tmp.c_str());
    return fail(fmt::format("{}: write failed: {}", path, std::strerror(err)));
  }
  // Make the rename itself durable.
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  return {};
}

Expected<void> save_checkpoint(const std::string &path, const Model &model, const CheckpointInfo &info) {
  const ModelDesc &m = model.desc();
  std::vector<StInput> tensors;
  std::vector<uint8_t> data;
  for (const ParamDesc &p : m.params) {
    const SlotDesc &s = m.slots[size_t(p.slot)];
    size_t n = model.bytes(p.slot);
    tensors.push_back({p.name, elem_type_safetensors_name(s.type), s.shape, std::span(model.host(p.slot), n)});
    data.insert(data.end(), model.host(p.slot), model.host(p.slot) + n);
  }
  std::map<std::string, std::string> meta = {
      {"format", "netc"},
      {"model", info.model},
      {"epoch", std::to_string(info.position.epoch)},
      {"step", std::to_string(info.position.step)},
      {"global_step", std::to_string(info.position.global_step)},
      {"seed", std::to_string(info.seed)},
      {"batch", std::to_string(info.batch)},
      {"rng", hex64(info.run.rng_state) + hex64(info.run.rng_inc)},
      {"best_loss", hex64(std::bit_cast<uint64_t>(info.run.best_loss))},
      {"best_epochs", std::to_string(info.run.best_epoch + 1)},
      {"since_best", std::to_string(info.run.since_best)},
      {"checksum", hex64(fnv1a64(data))},
  };
  return write_file_atomic(path, encode_safetensors(tensors, meta));
}

namespace {
/// Reads and parses a whole checkpoint file.
Expected<StFile> read_checkpoint_file(const std::string &path) {
  Expected<std::vector<uint8_t>> bytes = read_whole_file(path);
  if (!bytes)
    return Error{bytes.error()};
  return parse_safetensors(std::move(*bytes), path);
}
} // namespace

Expected<StFile> read_safetensors(const std::string &path) { return read_checkpoint_file(path); }

Expected<CheckpointInfo> read_checkpoint_info(const std::string &path) {
  Expected<StFile> f = read_checkpoint_file(path);
  if (!f)
    return Error{f.error()};
  return read_info(*f, path);
}

Expected<CheckpointInfo> load_checkpoint(const std::string &path, Model &model) {
  Expected<StFile> f = read_checkpoint_file(path);
  if (!f)
    return Error{f.error()};
  Expected<CheckpointInfo> info = read_info(*f, path);
  if (!info)
    return Error{info.error()};
  const std::string &name = model.desc().name;
  if (!info->model.empty() && info->model != name)
    return fail(
        fmt::format("{}: the checkpoint is for model `{}`, but this trainer is model `{}`", path, info->model, name));
  if (Expected<void> ok = match_tensors(*f, model, path); !ok)
    return Error{ok.error()};
  for (const ParamDesc &p : model.desc().params) {
    const StTensor *t = f->find(p.name);
    std::memcpy(model.host(p.slot), t->data.data(), t->data.size());
  }
  return info;
}

} // namespace netc::rt
