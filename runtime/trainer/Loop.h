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
//             A stop request (SIGINT/SIGTERM, see request_stop) is checked
//             between steps: the step running finishes, a checkpoint is
//             saved, and train returns with `interrupted` set.
//             Optionally: augmentation of each training example as it is
//             gathered, JSON-lines metrics per epoch and per N steps, a
//             copy of the best checkpoint by held-out loss, and early
//             stopping after `patience` epochs without improvement.
//   evaluate  eval over sequential batches: the loss mean weighted by batch
//             size, and accuracy (argmax of eval's first non-loss output).
//   predict   predict over sequential batches, collecting its first output.
//
// The batch order depends only on (seed, epoch), and the checkpoint holds
// the augmentation generator and the keep-best/patience state, so training
// resumed from a checkpoint at (epoch, step) skips that epoch's first `step`
// batches and ends with exactly the parameters of an uninterrupted run.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Augment.h"
#include "runtime/Dataset.h"
#include "runtime/Expected.h"
#include "runtime/trainer/Checkpoint.h"
#include "runtime/trainer/Model.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace netc::rt {

/// The data slots of one function: its input and i32 label (-1: none).
struct FnData {
  int input = -1, label = -1;
};

/// How data feeds the model's functions: one input, f32 or i32 (token ids),
/// and one i32 label, [N] (a class) or [N, T...] (one per position), each
/// with the batch dimension outermost. The input is predict's argument (or
/// train_step's first f32 one); the label is the other argument.
struct DataBinding {
  std::string input_name, label_name;
  /// The input's per-example shape (its slot shape minus N) and type.
  std::vector<int64_t> input_shape;
  ElemType input_type = ElemType::F32;
  /// The labels per example: empty for a class label, [T] for a sequence.
  std::vector<int64_t> label_shape;
  /// The width C of eval's score output [N, T..., C]; 0 without eval.
  int64_t num_classes = 0;
  FnData train, eval, predict;
  /// train_step's and eval's `loss`, eval's score output, predict's first output.
  int train_loss = -1, eval_loss = -1, eval_scores = -1, predict_output = -1;
  std::string scores_name, predict_output_name;

  /// What check_dataset needs.
  ModelDataSpec spec() const { return {input_name, input_shape, label_name, num_classes, label_shape}; }
};

/// Reads the data interface off the model's functions; errors say which
/// function has what the trainer does not support.
Expected<DataBinding> bind_data(const ModelDesc &m);

/// Asks a running train() to stop after its current step, as SIGINT or
/// SIGTERM would; `signal` (nonzero) is reported back. Safe to call from a
/// signal handler: it only sets a volatile sig_atomic_t.
void request_stop(int signal);
/// The signal of a pending stop request, or 0.
int stop_requested();
/// Forgets a pending stop request (train() does this when it starts).
void clear_stop();

/// While alive, the first SIGINT or SIGTERM calls request_stop instead of
/// killing the process (a second one kills it as usual); the previous
/// handlers come back on destruction.
class StopOnSignals {
public:
  StopOnSignals();
  ~StopOnSignals();
  StopOnSignals(const StopOnSignals &) = delete;
  StopOnSignals &operator=(const StopOnSignals &) = delete;

private:
  void (*old_int_)(int), (*old_term_)(int);
};

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
  /// Where JSON-lines metrics go (null: none): one object per epoch and,
  /// with log_every > 0, one {"step", "loss"} per log_every global steps.
  std::ostream *metrics = nullptr;
  int64_t log_every = 0;
  /// Also save a checkpoint here whenever the held-out loss improves.
  std::string keep_best;
  /// Stop after this many epochs without held-out improvement (0: never).
  int64_t patience = 0;
  /// Applied in order to every training example (runtime/Augment.h), whose
  /// per-example shape must then be [H, W] or [H, W, C]; empty: none.
  std::vector<AugmentOp> augment;
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
  /// Stopped before `epochs`: by max_steps, a stop request or patience.
  bool stopped_early = false;
  /// The signal that stopped training (see request_stop), or 0.
  int interrupted = 0;
  /// Stopped because held-out loss did not improve for `patience` epochs.
  bool patience_exhausted = false;
  /// Where the run state ended: the best held-out loss and its epoch,
  /// epochs since, and the augmentation generator.
  RunState run;
};

/// Trains from `start` with the run state `run` (a checkpoint's, when
/// resuming); `held` may be null (no held-out evaluation).
Expected<TrainSummary> train(Model &model, const DataBinding &d, const Dataset &data, const Dataset *held,
                             const TrainSettings &s, TrainPosition start, std::ostream &out, RunState run = {});

struct EvalResult {
  double loss = 0, accuracy = 0;
  int64_t count = 0;
  /// classes x classes counts, row-major: [true class][predicted class].
  int64_t classes = 0;
  std::vector<int64_t> confusion;
};

/// The confusion matrix as text: a header of predicted classes, one row per
/// true class with its counts and per-class accuracy ("-" with no examples).
std::string format_confusion(const EvalResult &r);

/// Runs eval over `data` in sequential batches of at most `batch`. With a
/// label per position, accuracy and the confusion matrix count positions.
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

/// One epoch as a JSON object on one line: {"epoch", "step", "train_loss",
/// "held_out_loss", "accuracy", "samples_per_s", "seconds"}; the epoch is
/// 1-based, step is the global step, held-out values are null without eval.
std::string epoch_json(const EpochStats &e, int64_t global_step);

/// "epoch 1/5: train loss 0.5012, held-out loss 0.4311, accuracy 84.52%, 61234 samples/s, 1.2 s"
std::string format_epoch(const EpochStats &e, int64_t epochs);

} // namespace netc::rt
