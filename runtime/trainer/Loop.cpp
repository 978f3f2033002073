//===- Loop.cpp - Training, evaluation and prediction over a Model --------===//
//
// This file implements the data binding, the epoch loop with checkpoints
// and resumption, evaluation, prediction and the .npy encoder.
//
//===----------------------------------------------------------------------===//
#include "runtime/trainer/Loop.h"

#include "runtime/Batcher.h"
#include "runtime/Metrics.h"
#include "runtime/trainer/Progress.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace netc::rt {

namespace {

/// The pending stop request's signal; written by signal handlers.
volatile std::sig_atomic_t g_stop_signal = 0;

/// The first signal asks for a stop; a second one (the run is stuck, or the
/// user insists) gets the default action. signal() and raise() are
/// async-signal-safe.
void on_stop_signal(int signal) {
  if (g_stop_signal) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  g_stop_signal = signal;
}

using Clock = std::chrono::steady_clock;

/// Host buffers gather() reuses across batches.
struct Scratch {
  std::vector<float> inputs;
  std::vector<int32_t> labels;
};

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// A slot whose only batch dimension is the outermost: row-major [N, ...],
/// so a batch of k examples is its first k rows.
bool batch_outermost(const SlotDesc &s) {
  if (s.shape.empty() || s.shape[0] != kBatchDim)
    return false;
  for (size_t i = 1; i < s.shape.size(); ++i)
    if (s.shape[i] == kBatchDim)
      return false;
  return true;
}

/// Finds `fn`'s input (the argument named d.input_name, f32 or i32) and,
/// when `label`, its i32 label (the other argument): [N], or [N, T...] for a
/// label per position.
Expected<FnData> fn_data(const ModelDesc &m, const FnDesc &fn, bool label, DataBinding &d) {
  FnData r;
  for (const SlotRef &a : fn.args) {
    const SlotDesc &s = m.slots[size_t(a.slot)];
    bool is_input = a.name == d.input_name && (s.type == ElemType::F32 || s.type == ElemType::I32);
    bool is_label = label && !is_input && s.type == ElemType::I32;
    int &target = is_input ? r.input : r.label;
    if ((!is_input && !is_label) || target >= 0)
      return fail(fmt::format("`{}` takes `{}: {}`; this trainer supports one input `{}`{} only", fn.name, a.name,
                              slot_type_string(s), d.input_name, label ? " and one i32 label" : ""));
    if (!batch_outermost(s))
      return fail(fmt::format("`{}`'s argument `{}: {}` must have the batch dimension N outermost", fn.name, a.name,
                              slot_type_string(s)));
    target = a.slot;
    if (is_input)
      continue;
    std::vector<int64_t> shape(s.shape.begin() + 1, s.shape.end());
    if (!d.label_name.empty() && (d.label_name != a.name || d.label_shape != shape))
      return fail(fmt::format("`{}`'s label `{}` differs from the other functions' `{}`", fn.name, a.name,
                              d.label_name));
    d.label_name = a.name, d.label_shape = shape;
  }
  if (r.input < 0 || (label && r.label < 0))
    return fail(fmt::format("`{}` needs the input `{}`{}", fn.name, d.input_name, label ? " and an i32 label" : ""));
  const SlotDesc &in = m.slots[size_t(r.input)];
  std::vector<int64_t> shape(in.shape.begin() + 1, in.shape.end());
  if (!d.input_shape.empty() && (d.input_shape != shape || d.input_type != in.type))
    return fail(fmt::format("`{}`'s input `{}` has another type than the other functions'", fn.name, d.input_name));
  d.input_shape = shape, d.input_type = in.type;
  return r;
}

/// The data input's name: predict's only argument when there is a predict
/// (a model's predict takes just the inputs its outputs need), else the
/// first f32 argument of train_step or eval, else their first argument.
std::string input_name(const ModelDesc &m) {
  if (const FnDesc *p = m.function("predict"); p && p->args.size() == 1)
    return p->args[0].name;
  for (const char *name : {"train_step", "eval"})
    if (const FnDesc *f = m.function(name)) {
      for (const SlotRef &a : f->args)
        if (m.slots[size_t(a.slot)].type == ElemType::F32)
          return a.name;
      if (!f->args.empty())
        return f->args[0].name;
    }
  return "input";
}

/// The output called `loss`: an f32 scalar.
Expected<int> loss_slot(const ModelDesc &m, const FnDesc &fn) {
  const SlotRef *l = fn.output("loss");
  if (!l || m.slots[size_t(l->slot)].type != ElemType::F32 || m.slots[size_t(l->slot)].has_batch_dim())
    return fail(fmt::format("`{}` has no f32 `loss` output", fn.name));
  return l->slot;
}

Expected<void> bind_eval(const ModelDesc &m, const FnDesc &fn, DataBinding &d) {
  Expected<FnData> data = fn_data(m, fn, true, d);
  Expected<int> loss = data ? loss_slot(m, fn) : Expected<int>(Error{data.error()});
  if (!loss)
    return Error{loss.error()};
  d.eval = *data, d.eval_loss = *loss;
  for (const SlotRef &o : fn.outputs) {
    if (o.name == "loss")
      continue;
    const SlotDesc &s = m.slots[size_t(o.slot)];
    bool per_label = s.shape.size() == d.label_shape.size() + 2 &&
                     std::equal(d.label_shape.begin(), d.label_shape.end(), s.shape.begin() + 1);
    if (s.type != ElemType::F32 || !per_label || !batch_outermost(s)) {
      std::string want = "N";
      for (int64_t x : d.label_shape)
        want += ", " + std::to_string(x);
      return fail(fmt::format("eval's output `{}: {}` must be f32[{}, classes] (scores per label) to score accuracy",
                              o.name, slot_type_string(s), want));
    }
    d.eval_scores = o.slot, d.scores_name = o.name, d.num_classes = s.shape.back();
    return {};
  }
  return fail("eval has no output besides `loss` to score accuracy with");
}

Expected<void> bind_predict(const ModelDesc &m, const FnDesc &fn, DataBinding &d) {
  Expected<FnData> data = fn_data(m, fn, false, d);
  if (!data)
    return Error{data.error()};
  if (fn.outputs.empty())
    return fail("predict has no output");
  const SlotDesc &s = m.slots[size_t(fn.outputs[0].slot)];
  if (s.type != ElemType::F32 || !batch_outermost(s))
    return fail(
        fmt::format("predict's output `{}: {}` must be f32 with N outermost", fn.outputs[0].name, slot_type_string(s)));
  d.predict = *data, d.predict_output = fn.outputs[0].slot, d.predict_output_name = fn.outputs[0].name;
  return {};
}

/// Copies examples `idx` into `fd`'s argument slots. An i32 input (token
/// ids, exact in the dataset's floats) goes through `scratch` and is
/// converted.
void gather(Model &model, const FnData &fd, const Dataset &data, std::span<const int64_t> idx, Scratch &scratch) {
  size_t k = idx.size(), row = size_t(data.example_size()), lrow = size_t(data.label_size());
  bool ints = model.desc().slots[size_t(fd.input)].type == ElemType::I32;
  scratch.inputs.resize(ints ? k * row : 0);
  std::span<float> inputs = ints ? std::span(scratch.inputs) : std::span<float>(model.f32(fd.input), k * row);
  scratch.labels.resize(k * lrow);
  std::span<int32_t> labels =
      fd.label >= 0 ? std::span<int32_t>(model.i32(fd.label), k * lrow) : std::span(scratch.labels);
  gather_batch(data, idx, inputs, labels);
  if (ints)
    std::transform(inputs.begin(), inputs.end(), model.i32(fd.input), [](float v) { return int32_t(v); });
}

/// Saves the run at `pos` to `path` (s.checkpoint or s.keep_best); nothing
/// when `path` is empty.
Expected<void> save_run(const std::string &path, const Model &model, const TrainSettings &s, const TrainPosition &pos,
                        const RunState &run) {
  if (path.empty())
    return {};
  return save_checkpoint(path, model, {model.desc().name, pos, s.seed, s.batch, run});
}

/// Augments the `count` examples just gathered into `fd`'s input slot,
/// drawing from the run's generator (kept in `run`).
void augment_batch(Model &model, const FnData &fd, const DataBinding &d, const TrainSettings &s, int64_t count,
                   RunState &run, std::vector<float> &scratch) {
  if (s.augment.empty())
    return;
  Pcg32 rng;
  rng.restore(run.rng_state, run.rng_inc);
  const std::vector<int64_t> &shape = d.input_shape;
  int64_t h = shape[0], w = shape[1], c = shape.size() == 3 ? shape[2] : 1;
  for (int64_t k = 0; k < count; ++k)
    augment_image({model.f32(fd.input) + k * h * w * c, h, w, c}, s.augment, rng, scratch);
  run.rng_state = rng.state(), run.rng_inc = rng.inc();
}

/// Writes one JSON line to the metrics stream and flushes it.
void write_metrics(const TrainSettings &s, const std::string &line) {
  if (s.metrics)
    *s.metrics << line << std::endl;
}

/// Runs the batches of epoch `pos.epoch` from `pos.step` on, advancing
/// `sum.position`; stops (and checkpoints) when the global step reaches
/// max_steps or a stop was requested, setting sum.stopped_early.
Expected<void> run_epoch(Model &model, const DataBinding &d, const Dataset &data, Batcher &batches,
                         const TrainSettings &s, TrainSummary &sum, EpochStats &st, std::ostream &out) {
  TrainPosition &pos = sum.position;
  bool &stopped = sum.stopped_early;
  RunningMean loss;
  Scratch scratch;
  std::vector<float> image_scratch;
  Progress progress(out, s.progress && !s.quiet, fmt::format("epoch {}/{}", pos.epoch + 1, s.epochs),
                    batches.num_batches());
  auto t0 = Clock::now();
  while (pos.step < batches.num_batches()) {
    if (int signal = stop_requested()) {
      sum.interrupted = signal, stopped = true;
      if (Expected<void> ok = save_run(s.checkpoint, model, s, pos, sum.run); !ok)
        return ok;
      break;
    }
    std::span<const int64_t> idx = batches.batch(pos.step);
    gather(model, d.train, data, idx, scratch);
    augment_batch(model, d.train, d, s, int64_t(idx.size()), sum.run, image_scratch);
    if (Expected<void> ok = model.call("train_step", int64_t(idx.size())); !ok)
      return ok;
    loss.add(model.f32(d.train_loss)[0], double(idx.size()));
    st.examples += int64_t(idx.size());
    ++pos.step, ++pos.global_step, ++st.batches;
    progress.update(pos.step, st.examples);
    if (s.log_every > 0 && pos.global_step % s.log_every == 0) {
      nlohmann::json j = {{"step", pos.global_step}, {"loss", model.f32(d.train_loss)[0]}};
      write_metrics(s, j.dump());
    }
    stopped = s.max_steps > 0 && pos.global_step >= s.max_steps;
    bool periodic = s.save_every_steps > 0 && pos.global_step % s.save_every_steps == 0;
    if (stopped || (periodic && pos.step < batches.num_batches()))
      if (Expected<void> ok = save_run(s.checkpoint, model, s, pos, sum.run); !ok)
        return ok;
    if (stopped)
      break;
  }
  double secs = seconds_since(t0);
  st.train_loss = loss.mean();
  st.samples_per_s = secs > 0 ? double(st.examples) / secs : 0;
  return {};
}

} // namespace

void request_stop(int signal) { g_stop_signal = signal; }
int stop_requested() { return int(g_stop_signal); }
void clear_stop() { g_stop_signal = 0; }

StopOnSignals::StopOnSignals() {
  clear_stop();
  old_int_ = std::signal(SIGINT, on_stop_signal);
  old_term_ = std::signal(SIGTERM, on_stop_signal);
}

StopOnSignals::~StopOnSignals() {
  std::signal(SIGINT, old_int_ == SIG_ERR ? SIG_DFL : old_int_);
  std::signal(SIGTERM, old_term_ == SIG_ERR ? SIG_DFL : old_term_);
}

Expected<DataBinding> bind_data(const ModelDesc &m) {
  DataBinding d;
  d.input_name = input_name(m);
  if (const FnDesc *fn = m.function("train_step")) {
    Expected<FnData> data = fn_data(m, *fn, true, d);
    Expected<int> loss = data ? loss_slot(m, *fn) : Expected<int>(Error{data.error()});
    if (!loss)
      return Error{loss.error()};
    d.train = *data, d.train_loss = *loss;
  }
  if (const FnDesc *fn = m.function("eval"))
    if (Expected<void> ok = bind_eval(m, *fn, d); !ok)
      return Error{ok.error()};
  if (const FnDesc *fn = m.function("predict"))
    if (Expected<void> ok = bind_predict(m, *fn, d); !ok)
      return Error{ok.error()};
  return d;
}

std::string format_epoch(const EpochStats &e, int64_t epochs) {
  std::string line = fmt::format("epoch {}/{}: train loss ", e.epoch + 1, epochs);
  line += e.batches ? fmt::format("{:.4f}", e.train_loss) : "-";
  if (e.evaluated)
    line += fmt::format(", held-out loss {:.4f}, accuracy {:.2f}%", e.eval_loss, 100 * e.accuracy);
  return line + fmt::format(", {:.0f} samples/s, {:.1f} s", e.samples_per_s, e.seconds);
}

std::string epoch_json(const EpochStats &e, int64_t global_step) {
  nlohmann::json j = {{"epoch", e.epoch + 1},
                      {"step", global_step},
                      {"train_loss", e.batches ? nlohmann::json(e.train_loss) : nlohmann::json()},
                      {"held_out_loss", e.evaluated ? nlohmann::json(e.eval_loss) : nlohmann::json()},
                      {"accuracy", e.evaluated ? nlohmann::json(e.accuracy) : nlohmann::json()},
                      {"samples_per_s", e.samples_per_s},
                      {"seconds", e.seconds}};
  return j.dump();
}

/// Tracks the best held-out loss in `run`: saves keep_best on improvement;
/// returns true when `patience` epochs have passed without one.
static Expected<bool> track_best(const Model &model, const TrainSettings &s, const EpochStats &st, int64_t global_step,
                                 RunState &run) {
  if (!st.evaluated)
    return false;
  if (run.best_epoch >= 0 && !(st.eval_loss < run.best_loss))
    return s.patience > 0 && ++run.since_best >= s.patience;
  run.best_loss = st.eval_loss, run.best_epoch = st.epoch, run.since_best = 0;
  if (Expected<void> ok = save_run(s.keep_best, model, s, {st.epoch + 1, 0, global_step}, run); !ok)
    return Error{ok.error()};
  return false;
}

Expected<TrainSummary> train(Model &model, const DataBinding &d, const Dataset &data, const Dataset *held,
                             const TrainSettings &s, TrainPosition start, std::ostream &out, RunState run) {
  if (!model.has_function("train_step"))
    return fail(
        fmt::format("model `{}` has no train_step (it has no loss), so there is nothing to train", model.desc().name));
  if (!s.augment.empty())
    if (Expected<void> ok = check_augment(s.augment, d.input_shape); !ok)
      return Error{ok.error()};
  TrainSummary sum;
  sum.position = start;
  sum.run = run;
  if (!s.augment.empty() && sum.run.rng_inc == 0) { // a fresh run (or one that did not augment before)
    Pcg32 rng = augment_rng(s.seed);
    sum.run.rng_state = rng.state(), sum.run.rng_inc = rng.inc();
  }
  TrainPosition &pos = sum.position;
  Batcher batches = Batcher::shuffled(data.size(), s.batch, s.seed);
  int64_t saved_at = -1;
  // Resuming a run that early stopping ended: it stays ended.
  if (s.patience > 0 && sum.run.since_best >= s.patience)
    sum.stopped_early = sum.patience_exhausted = true, saved_at = pos.global_step;
  for (; pos.epoch < s.epochs && !sum.patience_exhausted; ++pos.epoch, pos.step = 0) {
    auto t0 = Clock::now();
    batches.set_epoch(pos.epoch);
    EpochStats st;
    st.epoch = pos.epoch;
    if (Expected<void> ok = run_epoch(model, d, data, batches, s, sum, st, out); !ok)
      return Error{ok.error()};
    sum.examples_seen += st.examples;
    if (sum.stopped_early) {
      saved_at = pos.global_step;
      break;
    }
    if (held && model.has_function("eval")) {
      Expected<EvalResult> r = evaluate(model, d, *held, s.batch);
      if (!r)
        return Error{r.error()};
      st.eval_loss = r->loss, st.accuracy = r->accuracy, st.evaluated = true;
    }
    st.seconds = seconds_since(t0);
    if (!s.quiet)
      out << format_epoch(st, s.epochs) << std::endl;
    write_metrics(s, epoch_json(st, pos.global_step));
    sum.epochs.push_back(st);
    Expected<bool> out_of_patience = track_best(model, s, st, pos.global_step, sum.run);
    if (!out_of_patience)
      return Error{out_of_patience.error()};
    if (Expected<void> ok = save_run(s.checkpoint, model, s, {pos.epoch + 1, 0, pos.global_step}, sum.run); !ok)
      return Error{ok.error()};
    saved_at = pos.global_step;
    if (*out_of_patience) {
      sum.stopped_early = sum.patience_exhausted = true;
      pos = {pos.epoch + 1, 0, pos.global_step};
      if (!s.quiet)
        out << fmt::format("early stopping: held-out loss has not improved for {} epochs (best {:.4f} at epoch {})\n",
                           s.patience, sum.run.best_loss, sum.run.best_epoch + 1);
      break;
    }
  }
  // Nothing ran (e.g. resuming a finished run): still leave a checkpoint.
  if (saved_at != pos.global_step)
    if (Expected<void> ok = save_run(s.checkpoint, model, s, pos, sum.run); !ok)
      return Error{ok.error()};
  return sum;
}

Expected<EvalResult> evaluate(Model &model, const DataBinding &d, const Dataset &data, int64_t batch) {
  Batcher batches = Batcher::sequential(data.size(), std::min(batch, model.max_batch()));
  RunningMean loss;
  int64_t correct = 0;
  EvalResult r;
  r.classes = d.num_classes;
  r.confusion.assign(size_t(r.classes * r.classes), 0);
  Scratch scratch;
  for (int64_t b = 0; b < batches.num_batches(); ++b) {
    std::span<const int64_t> idx = batches.batch(b);
    int64_t k = int64_t(idx.size());
    gather(model, d.eval, data, idx, scratch);
    if (Expected<void> ok = model.call("eval", k); !ok)
      return Error{ok.error()};
    loss.add(model.f32(d.eval_loss)[0], double(k));
    int64_t positions = k * data.label_size();
    std::span<const float> scores(model.f32(d.eval_scores), size_t(positions * d.num_classes));
    std::span<const int32_t> labels(model.i32(d.eval.label), size_t(positions));
    for (int64_t i = 0; i < positions; ++i) {
      int64_t label = labels[size_t(i)];
      int64_t predicted = int64_t(argmax(scores.subspan(size_t(i * d.num_classes), size_t(d.num_classes))));
      correct += predicted == label;
      if (label >= 0 && label < d.num_classes)
        ++r.confusion[size_t(label * d.num_classes + predicted)];
    }
    r.count += positions;
  }
  r.loss = loss.mean(), r.accuracy = r.count ? double(correct) / double(r.count) : 0.0;
  return r;
}

std::string format_confusion(const EvalResult &r) {
  int64_t most = 0;
  for (int64_t v : r.confusion)
    most = std::max(most, v);
  int width = std::max({int(std::to_string(most).size()), int(std::to_string(r.classes - 1).size()), 3});
  std::string text = "confusion matrix (rows: true class, columns: predicted):\n";
  text += fmt::format("{:>{}} ", "", 6);
  for (int64_t c = 0; c < r.classes; ++c)
    text += fmt::format(" {:>{}}", c, width);
  text += "  accuracy\n";
  for (int64_t t = 0; t < r.classes; ++t) {
    int64_t total = 0, right = r.confusion[size_t(t * r.classes + t)];
    text += fmt::format("{:>6} ", t);
    for (int64_t c = 0; c < r.classes; ++c) {
      int64_t v = r.confusion[size_t(t * r.classes + c)];
      total += v;
      text += fmt::format(" {:>{}}", v, width);
    }
    text += total ? fmt::format("  {:.2f}%\n", 100.0 * double(right) / double(total)) : "  -\n";
  }
  return text;
}

Expected<Predictions> predict(Model &model, const DataBinding &d, const Dataset &data, int64_t batch) {
  Batcher batches = Batcher::sequential(data.size(), std::min(batch, model.max_batch()));
  Predictions p;
  p.shape = model.desc().slots[size_t(d.predict_output)].shape_at(data.size());
  Scratch scratch;
  for (int64_t b = 0; b < batches.num_batches(); ++b) {
    std::span<const int64_t> idx = batches.batch(b);
    gather(model, d.predict, data, idx, scratch);
    if (Expected<void> ok = model.call("predict", int64_t(idx.size())); !ok)
      return Error{ok.error()};
    const float *o = model.f32(d.predict_output);
    p.values.insert(p.values.end(), o, o + model.elements(d.predict_output));
  }
  return p;
}

std::vector<uint8_t> encode_npy(const Predictions &p) {
  std::string shape;
  for (int64_t d : p.shape)
    shape += std::to_string(d) + ", ";
  // (n, 10) but (n,) for one dimension: Python's tuple syntax.
  shape.resize(shape.size() - (p.shape.size() > 1 ? 2 : 1));
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shape + "), }";
  // magic (6) + version (2) + length (2) + dict, padded so the data starts
  // at a multiple of 64 bytes, ending in '\n'.
  size_t total = (10 + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - 10 - dict.size() - 1, ' ');
  dict += '\n';
  std::string head = "\x93NUMPY\x01";
  head += '\0';
  head += char(dict.size() & 0xff);
  head += char(dict.size() >> 8);
  head += dict;
  std::vector<uint8_t> out(head.begin(), head.end());
  out.reserve(out.size() + 4 * p.values.size());
  for (float v : p.values) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    for (int i = 0; i < 4; ++i)
      out.push_back(uint8_t(bits >> (8 * i)));
  }
  return out;
}

} // namespace netc::rt
