//===- Checkpoint.h - Parameters and training position as safetensors -*- C++ -*-===//
//
// A checkpoint is a safetensors file (huggingface.co/docs/safetensors):
//
//   8 bytes    N, the header length, little-endian u64
//   N bytes    JSON: {"<tensor>": {"dtype": "F32", "shape": [...],
//                                  "data_offsets": [begin, end]}, ...,
//                     "__metadata__": {"<key>": "<string>", ...}}
//              padded with spaces to a multiple of 8 bytes
//   the rest   the tensors' bytes, little-endian, row-major, back to back
//
// It holds every parameter and optimizer-state tensor of the model (its
// JSON "params" list, in that order) and, as metadata, the model name and
// the training position (epoch, step within it, global step), seed and
// batch, the run state (augmentation generator `rng` as 32 hex digits,
// `best_loss` exact to the bit as 16 hex digits of the double, `best_epoch`,
// `since_best`), plus `checksum`: FNV-1a 64 of the data section, as 16 hex
// digits. Files without the run-state keys (older ones) read as a fresh state.
// PyTorch loads it with safetensors.torch.load_file.
//
// Files are written atomically: a temporary in the same directory, fsync'd,
// renamed over the target, then the directory fsync'd. A crash leaves the
// old checkpoint or the new one, never half of one.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Expected.h"
#include "runtime/trainer/Model.h"

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace netc::rt {

/// Where training stands: `step` batches of epoch `epoch` (0-based) are
/// done; `global_step` counts every step since the start.
struct TrainPosition {
  int64_t epoch = 0, step = 0, global_step = 0;
};

/// What a run carries across steps besides tensors and position, so that
/// --resume continues it exactly.
struct RunState {
  /// The augmentation generator (PCG32 state and increment); 0, 0 when the
  /// run augments nothing (a fresh generator is then seeded from `seed`).
  uint64_t rng_state = 0, rng_inc = 0;
  /// Keep-best and patience: the best held-out loss so far and the epoch
  /// (0-based) it was reached at (-1: none yet), and the epochs since.
  double best_loss = 0;
  int64_t best_epoch = -1, since_best = 0;
};

/// What a checkpoint records besides the tensors.
struct CheckpointInfo {
  std::string model;
  TrainPosition position;
  uint64_t seed = 0;
  int64_t batch = 0;
  RunState run;
};

/// One tensor of a parsed safetensors file.
struct StTensor {
  std::string name, dtype;
  std::vector<int64_t> shape;
  /// Where its bytes lie in the data section (after the header).
  uint64_t offset = 0, length = 0;
  /// The tensor's bytes inside the file buffer.
  std::span<const uint8_t> data;
};

/// A parsed safetensors file; tensors point into `bytes`.
struct StFile {
  std::vector<uint8_t> bytes;
  std::vector<StTensor> tensors;
  std::map<std::string, std::string> metadata;

  const StTensor *find(const std::string &name) const;
};

/// A tensor to encode: name, safetensors dtype, shape and its bytes.
struct StInput {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::span<const uint8_t> data;
};

/// FNV-1a 64 of `bytes`.
uint64_t fnv1a64(std::span<const uint8_t> bytes);

/// Encodes tensors (in the given order) and metadata as a safetensors file.
std::vector<uint8_t> encode_safetensors(std::span<const StInput> tensors,
                                        const std::map<std::string, std::string> &metadata);

/// Parses a safetensors file held in memory; `path` names it in errors.
/// Checks the header length, the JSON, every entry's dtype, shape and data
/// offsets (in range, matching the shape, covering the data exactly).
Expected<StFile> parse_safetensors(std::vector<uint8_t> bytes, const std::string &path);

/// Reads and parses a whole safetensors file (checksum verified when recorded).
Expected<StFile> read_safetensors(const std::string &path);

/// Writes `bytes` to `path` atomically (see above).
Expected<void> write_file_atomic(const std::string &path, std::span<const uint8_t> bytes);

/// Saves every parameter and state slot of `model` with `info` to `path`.
Expected<void> save_checkpoint(const std::string &path, const Model &model, const CheckpointInfo &info);

/// Reads and validates `path` (as load_checkpoint does, short of matching
/// a model) and returns its info: a resumed run takes seed and batch from it.
Expected<CheckpointInfo> read_checkpoint_info(const std::string &path);

/// Loads `path` into the model's parameter and state slots. Refuses a file
/// that is short, malformed, fails its checksum, was written for another
/// model, or whose tensors are missing, extra, or of another dtype/shape;
/// the model is left untouched then. Returns the recorded info.
Expected<CheckpointInfo> load_checkpoint(const std::string &path, Model &model);

} // namespace netc::rt
