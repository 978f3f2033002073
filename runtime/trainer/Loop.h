//===- Loop.h - Training, evaluation and prediction over a Model -*- C++ -*-===//
//
// The loops a trainer runs, over the slots of a Model (runtime/trainer/
// Model.h) and data from runtime/Dataset.h:
//
//   train     per epoch: Batcher::shuffled(n, batch, seed) + set_epoch(e);
//             per batch: gather inputs and labels straight into the
//             argument slots' host memory, bind the batch (the last,
//             partial batch is kept at its own size), call train_step, read
//             `loss`; then evaluate on the held-out set and print one line.
//             Checkpoints at epoch ends, every N steps, and on stopping.
//   evaluate  eval over sequential batches: the loss mean weighted by batch
//             size, and accuracy (argmax of eval's first non-loss output).
//   predict   predict over sequential batches, collecting its first output.
//
// The batch order depends only on (seed, epoch), so training resumed from a
// checkpoint at (epoch, step) skips that epoch's first `step` batches and
// ends with exactly the parameters of an uninterrupted run.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Dataset.h"
#include "runtime/Expected.h"
#include "runtime/trainer/Checkpoint.h"
#include "runtime/trainer/Model.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace netc::rt {

/// The data slots of one function: its f32 input and i32 label (-1: none).
struct FnData {
  int input = -1, label = -1;
};

/// How data feeds the model's functions. Supported today: one f32 input
/// whose batch dimension is outermost, and one i32 class label [N].
struct DataBinding {
  std::string input_name, label_name;
  /// The input's per-example shape (its slot shape minus N).
  std::vector<int64_t> input_shape;
  /// The width of eval's score output [N, C]; 0 without eval.
  int64_t num_classes = 0;
  FnData train, eval, predict;
  /// train_step's and eval's `loss`, eval's score output, predict's first output.
  int train_loss = -1, eval_loss = -1, eval_scores = -1, predict_output = -1;
  std::string scores_name, predict_output_name;

  /// What check_dataset needs.
  ModelDataSpec spec() const { return {input_name, input_shape, label_name, num_classes}; }
};

/// Reads the data interface off the model's functions; errors say which
/// function has what the trainer does not support.
Expected<DataBinding> bind_data(const ModelDesc &m);

struct TrainSettings {
  int64_t epochs = 1, batch = 32;
  uint64_t seed = 0;
  /// Also checkpoint every this many global steps (0: epoch ends only).
  int64_t save_every_steps = 0;
  /// Stop (and checkpoint) once the global step reaches this (0: never).
  int64_t max_steps = 0;
  /// Where checkpoints go; empty for none.
  std::string checkpoint;
  /// Show the '\r' progress line; print nothing but errors when quiet.
  bool progress = false, quiet = false;
};

/// One epoch's numbers, as printed.
struct EpochStats {
  int64_t epoch = 0, batches = 0, examples = 0;
  double train_loss = 0, eval_loss = 0, accuracy = 0, samples_per_s = 0, seconds = 0;
  bool evaluated = false;
};

struct TrainSummary {
  TrainPosition position;
  /// Examples passed to train_step (all epochs run by this call).
  int64_t examples_seen = 0;
  std::vector<EpochStats> epochs;
  bool stopped_early = false;
};

/// Trains from `start`; `held` may be null (no held-out evaluation).
Expected<TrainSummary> train(Model &model, const DataBinding &d, const Dataset &data, const Dataset *held,
                             const TrainSettings &s, TrainPosition start, std::ostream &out);

struct EvalResult {
  double loss = 0, accuracy = 0;
  int64_t count = 0;
};

/// Runs eval over `data` in sequential batches of at most `batch`.
Expected<EvalResult> evaluate(Model &model, const DataBinding &d, const Dataset &data, int64_t batch);

/// predict's first output for every example: shape [n, ...], row-major.
struct Predictions {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

/// Runs predict over `data`'s inputs (labels unused) in sequential batches.
Expected<Predictions> predict(Model &model, const DataBinding &d, const Dataset &data, int64_t batch);

/// An .npy file (format version 1.0) holding `p` as little-endian float32.
std::vector<uint8_t> encode_npy(const Predictions &p);

/// "epoch 1/5: train loss 0.5012, held-out loss 0.4311, accuracy 84.52%, 61234 samples/s, 1.2 s"
std::string format_epoch(const EpochStats &e, int64_t epochs);

} // namespace netc::rt
