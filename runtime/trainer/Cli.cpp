//===- Cli.cpp - The trainer's command line -------------------------------===//
//
// This file implements trainer_main: CLI11 subcommands train, eval, predict,
// info and the picture commands (saliency, filters, activations, topk; the
// work is in Pictures.cpp) over a ModelABI. Exceptions stay inside this
// file: CLI11 reports usage errors by throwing, and they become exit code 2
// here.
//
//===----------------------------------------------------------------------===//
#include "runtime/trainer/Cli.h"

#include "runtime/CliChecks.h"

#include "runtime/Dataset.h"
#include "runtime/Idx.h"
#include "runtime/Inputs.h"
#include "runtime/Metrics.h"
#include "runtime/TaskPool.h"
#include "runtime/trainer/Checkpoint.h"
#include "runtime/trainer/Language.h"
#include "runtime/trainer/Loop.h"
#include "runtime/trainer/Pictures.h"
#include "runtime/trainer/Plot.h"
#include "runtime/trainer/Pretrained.h"
#include "runtime/trainer/Progress.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <csignal>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <optional>
#include <sstream>

namespace netc::rt {

namespace {

/// Every flag of every command; each command reads the ones it declares.
struct Options {
  SampleOptions sample; // the sample command
  std::optional<int64_t> epochs, batch, threads, limit, validate_limit, save_every_steps, max_steps;
  int64_t log_every = 0, patience = 0;
  std::string metrics, keep_best;
  std::optional<uint64_t> seed;
  std::optional<double> lr;
  std::vector<std::string> data, validate;
  std::string checkpoint, resume, input, format = "text", output;
  bool quiet = false, no_checkpoint = false, no_augment = false;
  /// The picture commands: --input IMAGES [LABELS] and the rest.
  std::vector<std::string> inputs;
  PictureRequest picture;
};

/// What every command works with.
struct Context {
  const ModelABI &abi;
  const ModelDesc &desc;
  const Options &o;
  std::ostream &out, &err;

  int error(const std::string &message) const {
    err << "error: " << message << "\n";
    return kExitError;
  }
  std::string default_checkpoint() const { return desc.name + ".safetensors"; }
  int64_t config_batch() const { return desc.config_int("batch", 32); }
};

std::string source_dir(const ModelDesc &m) {
  return std::filesystem::path(m.config_string("source.path")).parent_path().string();
}

/// The data of `prefix` ("data" or "validate"): the flag's two paths or the
/// train block's, loaded and checked against the model.
Expected<Dataset> load_data(const Context &c, const DataBinding &d, const std::vector<std::string> &flag,
                            const std::string &prefix, std::optional<int64_t> limit) {
  if (flag.empty() && is_generated_data(c.desc, prefix)) // text(...), waves(...)
    return load_generated(c.desc, d, prefix, source_dir(c.desc), limit);
  std::string images = flag.size() == 2 ? flag[0] : c.desc.config_string(prefix + ".images");
  std::string labels = flag.size() == 2 ? flag[1] : c.desc.config_string(prefix + ".labels");
  if (images.empty() || labels.empty())
    return fail(fmt::format("the train block of `{}` names no {} data (`{} = idx(...)`); pass --{} IMAGES LABELS",
                            c.desc.name, prefix == "data" ? "training" : "held-out", prefix, prefix));
  DatasetOptions opts;
  opts.limit = limit;
  // `classes: [...]` of the data declaration applies to data given by flags too.
  if (const nlohmann::json &k = c.desc.config.value(prefix + ".classes", nlohmann::json()); k.is_array())
    for (const nlohmann::json &v : k)
      opts.classes.push_back(v.get<int32_t>());
  Expected<Dataset> ds = load_dataset_from(images, labels, source_dir(c.desc), opts);
  if (!ds)
    return ds;
  if (Expected<void> ok = check_dataset(*ds, d.spec()); !ok)
    return Error{ok.error()};
  return ds;
}

/// Inputs without labels (`predict --input`, IDX, .npy or one image:
/// runtime/Inputs.h): labels all 0, unchecked.
Expected<Dataset> load_images(const Context &c, const DataBinding &d, const std::string &images) {
  Expected<std::string> path = resolve_data_path(images, source_dir(c.desc));
  Expected<HostArray> inputs =
      path ? read_inputs(*path, d.input_shape, c.o.limit) : Expected<HostArray>(Error{path.error()});
  if (!inputs)
    return Error{inputs.error()};
  Dataset data{*path, "", std::move(*inputs), {}};
  data.labels.assign(size_t(data.size()), 0);
  ModelDataSpec spec = d.spec();
  spec.num_classes = 1;
  if (Expected<void> ok = check_dataset(data, spec); !ok)
    return Error{ok.error()};
  return data;
}

/// Creates the model for batches up to `batch` and initialises it from `seed`.
Expected<Model> make_model(const Context &c, int64_t batch, uint64_t seed) {
  Expected<Model> m = Model::create(c.abi, batch);
  if (m)
    m->init_params(seed);
  return m;
}

/// Writes the learning rate into the optimizer state `lr`.
Expected<void> set_lr(Model &m, double lr) {
  const ParamDesc *p = m.desc().param("lr");
  if (!p || m.desc().slots[size_t(p->slot)].type != ElemType::F32 || m.elements(p->slot) != 1)
    return fail(fmt::format("--lr: model `{}` has no f32[] learning-rate state `lr`", m.desc().name));
  m.f32(p->slot)[0] = float(lr);
  return {};
}

/// The kernels' parallel loops run on netc's pool (runtime/TaskPool.h) of
/// --threads threads, or as many as HL_NUM_THREADS or the machine's cores.
void set_threads(const Context &c) {
  if (!c.abi.set_custom_do_par_for) {
    if (c.o.threads)
      c.err << "note: --threads ignored: no Halide runtime is linked\n";
    return;
  }
  int threads = c.o.threads ? int(*c.o.threads) : default_pool_threads();
  if (c.abi.set_num_threads) // Halide's own pool, should anything still use it
    c.abi.set_num_threads(threads);
  set_pool_threads(threads);
  c.abi.set_custom_do_par_for(pool_do_par_for<void>);
}

/// The data binding of a model that must have the function `fn`.
Expected<DataBinding> binding_for(const Context &c, const char *fn, const char *why) {
  if (!c.desc.function(fn))
    return fail(fmt::format("model `{}` has no {} function{}", c.desc.name, fn, why));
  return bind_data(c.desc);
}

//===----------------------------------------------------------------------===//
// train
//===----------------------------------------------------------------------===//

/// For text data: writes the vocabulary next to the checkpoint, so that
/// `sample` can turn ids back into text.
Expected<void> save_text_vocab(const Context &c, const DataBinding &d, const std::string &checkpoint) {
  if (checkpoint.empty() || c.desc.config_string("data.format") != "text")
    return {};
  Expected<const TextCorpus *> corpus = text_corpus(c.desc, d, source_dir(c.desc));
  if (!corpus)
    return Error{corpus.error()};
  return save_vocab(vocab_path(checkpoint), (*corpus)->vocab, (*corpus)->tokens);
}

/// Confusion matrices wider than this are not printed (a language model's
/// vocabulary-sized one says nothing at a glance).
constexpr int64_t kMaxConfusionClasses = 20;

/// For text data: the held-out cross-entropy against the unigram baseline.
void print_text_baseline(const Context &c, const DataBinding &d, double held_out_loss) {
  if (c.desc.config_string("data.format") != "text")
    return;
  Expected<const TextCorpus *> corpus = text_corpus(c.desc, d, source_dir(c.desc));
  if (!corpus)
    return;
  double unigram = unigram_cross_entropy((*corpus)->train_counts, (*corpus)->held_out.labels);
  c.out << baseline_line(held_out_loss, unigram, (*corpus)->tokens) << "\n";
}

/// Seed and batch: the flag, else the checkpoint being resumed, else the
/// train block. A resumed run that changes either cannot match the run it
/// continues, so that gets a note.
void choose_seed_batch(const Context &c, const std::optional<CheckpointInfo> &ck, TrainSettings &s) {
  s.seed = c.o.seed.value_or(ck ? ck->seed : uint64_t(c.desc.config_int("seed", 0)));
  s.batch = c.o.batch.value_or(ck && ck->batch > 0 ? ck->batch : c.config_batch());
  if (ck && (s.seed != ck->seed || s.batch != ck->batch))
    c.err << fmt::format("note: resuming with seed {} and batch {}, but {} was trained with seed {} and batch {}; "
                         "the result will differ from an uninterrupted run\n",
                         s.seed, s.batch, c.o.resume, ck->seed, ck->batch);
}

/// Says where a run stopped by a signal stands; exit code 128 + signal.
int report_interrupt(const Context &c, const TrainSettings &s, const TrainSummary &sum) {
  const TrainPosition &p = sum.position;
  std::string name = sum.interrupted == SIGINT ? "SIGINT" : sum.interrupted == SIGTERM ? "SIGTERM" : "a signal";
  std::string where = fmt::format("interrupted by {} at epoch {}, step {} (global step {})", name, p.epoch + 1,
                                  p.step, p.global_step);
  if (s.checkpoint.empty())
    c.err << where << "; nothing saved (--no-checkpoint)\n";
  else
    c.err << fmt::format("{}; saved {}; continue with --resume {}\n", where, s.checkpoint, s.checkpoint);
  return 128 + sum.interrupted;
}

/// The train block's `augment` list for the model's input (config
/// `augment.<input>`), unless --no-augment.
Expected<void> choose_augment(const Context &c, const DataBinding &d, TrainSettings &s) {
  std::string text = c.desc.config_string("augment." + d.input_name);
  if (text.empty() || c.o.no_augment)
    return {};
  Expected<std::vector<AugmentOp>> ops = parse_augment(text);
  if (!ops)
    return Error{ops.error()};
  if (Expected<void> ok = check_augment(*ops, d.input_shape); !ok)
    return fail(fmt::format("input `{}`: {}", d.input_name, ok.error()));
  s.augment = std::move(*ops);
  return {};
}

int run_train(const Context &c) {
  if (!c.desc.function("train_step"))
    return c.error(
        fmt::format("model `{}` has no train_step (it has no loss), so there is nothing to train", c.desc.name));
  Expected<DataBinding> d = bind_data(c.desc);
  if (!d)
    return c.error(d.error());
  std::optional<CheckpointInfo> ck;
  if (!c.o.resume.empty()) {
    Expected<CheckpointInfo> info = read_checkpoint_info(c.o.resume);
    if (!info)
      return c.error(info.error());
    ck = *info;
  }
  TrainSettings s;
  choose_seed_batch(c, ck, s);
  s.epochs = c.o.epochs.value_or(c.desc.config_int("epochs", 1));
  s.save_every_steps = c.o.save_every_steps.value_or(0);
  s.max_steps = c.o.max_steps.value_or(0);
  s.checkpoint = c.o.no_checkpoint ? "" : c.o.checkpoint.empty() ? c.default_checkpoint() : c.o.checkpoint;
  s.quiet = c.o.quiet;
  s.log_every = c.o.log_every, s.keep_best = c.o.keep_best, s.patience = c.o.patience;
  std::ofstream metrics;
  if (!c.o.metrics.empty()) {
    metrics.open(c.o.metrics, std::ios::app);
    if (!metrics)
      return c.error(fmt::format("{}: cannot open for appending metrics", c.o.metrics));
    s.metrics = &metrics;
  }
  s.progress = stdout_is_terminal() && &c.out == &std::cout;
  if (Expected<void> ok = choose_augment(c, *d, s); !ok)
    return c.error(ok.error());

  Expected<Dataset> data = load_data(c, *d, c.o.data, "data", c.o.limit);
  if (!data)
    return c.error(data.error());
  std::optional<Dataset> held;
  bool has_validate = !c.o.validate.empty() || !c.desc.config_string("validate.images").empty() ||
                      is_generated_data(c.desc, "validate");
  if (has_validate) {
    Expected<Dataset> v = load_data(c, *d, c.o.validate, "validate", c.o.validate_limit);
    if (!v)
      return c.error(v.error());
    held = std::move(*v);
  }
  Expected<Model> m = make_model(c, s.batch, s.seed);
  if (!m)
    return c.error(m.error());
  TrainPosition start;
  RunState run;
  if (ck) {
    Expected<CheckpointInfo> info = load_checkpoint(c.o.resume, *m);
    if (!info)
      return c.error(info.error());
    start = info->position, run = info->run;
  } else {
    // A fresh run: `init ... from` overwrites the seeded values (Pretrained.h).
    Expected<std::vector<std::string>> loaded = load_pretrained(*m, source_dir(c.desc), s.seed);
    if (!loaded)
      return c.error(loaded.error());
    for (const std::string &line : *loaded)
      if (!s.quiet)
        c.out << line << "\n";
  }
  if (c.o.lr)
    if (Expected<void> ok = set_lr(*m, *c.o.lr); !ok)
      return c.error(ok.error());
  set_threads(c);
  if (!s.quiet) {
    c.out << fmt::format("training {}: {} examples, {} held out, batch {}, {} epochs, seed {}\n", c.desc.name,
                         data->size(), held ? held->size() : 0, s.batch, s.epochs, s.seed);
    if (ck)
      c.out << fmt::format("resuming from {} at epoch {}, step {} (global step {})\n", c.o.resume, start.epoch + 1,
                           start.step, start.global_step);
  }
  if (Expected<void> ok = save_text_vocab(c, *d, s.checkpoint); !ok)
    return c.error(ok.error());
  StopOnSignals stop_on_signals;
  Expected<TrainSummary> sum = train(*m, *d, *data, held ? &*held : nullptr, s, start, c.out, run);
  if (!sum)
    return c.error(sum.error());
  if (sum->interrupted)
    return report_interrupt(c, s, *sum);
  if (!s.quiet && !s.checkpoint.empty())
    c.out << fmt::format("{} {} ({} epochs and {} steps done, global step {})\n",
                         sum->stopped_early ? "stopped; saved" : "saved", s.checkpoint, sum->position.epoch,
                         sum->position.step, sum->position.global_step);
  if (!s.quiet && !sum->epochs.empty() && sum->epochs.back().evaluated)
    print_text_baseline(c, *d, sum->epochs.back().eval_loss);
  return kExitOk;
}

//===----------------------------------------------------------------------===//
// eval, predict
//===----------------------------------------------------------------------===//

/// Loads the checkpoint the flag names, or the default one; evaluating
/// random parameters is never what was meant, so a missing file is an error.
/// Then applies --threads.
Expected<Model> model_from_checkpoint(const Context &c, int64_t batch) {
  std::string path = c.o.checkpoint.empty() ? c.default_checkpoint() : c.o.checkpoint;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return fail(fmt::format("{}: no such checkpoint; train first (`train --checkpoint {}`) or pass --checkpoint FILE",
                            path, path));
  Expected<Model> m = make_model(c, batch, 0);
  if (!m)
    return m;
  if (Expected<CheckpointInfo> info = load_checkpoint(path, *m); !info)
    return Error{info.error()};
  set_threads(c);
  return m;
}

int run_eval(const Context &c) {
  Expected<DataBinding> d = binding_for(c, "eval", " (it has no loss)");
  if (!d)
    return c.error(d.error());
  Expected<Dataset> data = load_data(c, *d, c.o.validate, "validate", c.o.limit);
  if (!data)
    return c.error(data.error());
  Expected<Model> m = model_from_checkpoint(c, c.o.batch.value_or(c.config_batch()));
  if (!m)
    return c.error(m.error());
  Expected<EvalResult> r = evaluate(*m, *d, *data, m->max_batch());
  if (!r)
    return c.error(r.error());
  if (!d->label_shape.empty()) { // a label per position: count positions, not examples
    c.out << fmt::format("held-out loss {:.4f}, accuracy {:.2f}% ({} positions of {} examples)\n", r->loss,
                         100 * r->accuracy, r->count, data->size());
    print_text_baseline(c, *d, r->loss);
  } else {
    c.out << fmt::format("held-out loss {:.4f}, accuracy {:.2f}% ({} examples)\n", r->loss, 100 * r->accuracy,
                         r->count);
  }
  if (r->classes <= kMaxConfusionClasses)
    c.out << format_confusion(*r);
  else
    c.out << fmt::format("(no confusion matrix for {} classes)\n", r->classes);
  return kExitOk;
}

int run_sample(const Context &c) {
  Expected<DataBinding> d = binding_for(c, "predict", "");
  if (!d)
    return c.error(d.error());
  std::string path = c.o.checkpoint.empty() ? c.default_checkpoint() : c.o.checkpoint;
  Expected<SavedVocab> v = load_vocab(vocab_path(path));
  if (!v)
    return c.error(v.error());
  Expected<Model> m = model_from_checkpoint(c, 1);
  if (!m)
    return c.error(m.error());
  Expected<std::string> text = sample_text(*m, *d, *v, c.o.sample);
  if (!text)
    return c.error(text.error());
  c.out << *text << "\n";
  return kExitOk;
}

/// The predictions as text: a header line, then one line per example with
/// its index, argmax and values.
void print_predictions(std::ostream &out, const Predictions &p, const std::string &name) {
  size_t row = p.shape[0] ? p.values.size() / size_t(p.shape[0]) : 0;
  out << fmt::format("# example argmax {}[0..{}]\n", name, row ? row - 1 : 0);
  for (int64_t i = 0; i < p.shape[0]; ++i) {
    std::span<const float> v(p.values.data() + size_t(i) * row, row);
    out << i << ' ' << argmax(v);
    for (float x : v)
      out << ' ' << fmt::format("{:.6g}", x);
    out << '\n';
  }
}

int run_predict(const Context &c) {
  Expected<DataBinding> d = binding_for(c, "predict", "");
  if (!d)
    return c.error(d.error());
  if (c.o.format == "npy" && c.o.output.empty()) {
    c.err << "error: --format npy needs --output FILE\n";
    return kExitUsage;
  }
  Expected<Dataset> data = load_images(c, *d, c.o.input);
  if (!data)
    return c.error(data.error());
  Expected<Model> m = model_from_checkpoint(c, c.o.batch.value_or(c.config_batch()));
  if (!m)
    return c.error(m.error());
  Expected<Predictions> p = predict(*m, *d, *data, m->max_batch());
  if (!p)
    return c.error(p.error());
  if (c.o.format == "npy") {
    std::vector<uint8_t> bytes = encode_npy(*p);
    if (Expected<void> ok = write_file_atomic(c.o.output, bytes); !ok)
      return c.error(ok.error());
    return kExitOk;
  }
  if (c.o.output.empty()) {
    print_predictions(c.out, *p, d->predict_output_name);
    return kExitOk;
  }
  std::ostringstream text;
  print_predictions(text, *p, d->predict_output_name);
  std::string s = text.str();
  if (Expected<void> ok =
          write_file_atomic(c.o.output, std::span(reinterpret_cast<const uint8_t *>(s.data()), s.size()));
      !ok)
    return c.error(ok.error());
  return kExitOk;
}

//===----------------------------------------------------------------------===//
// saliency, filters, activations, topk (Pictures.h)
//===----------------------------------------------------------------------===//

/// The examples a picture command reads: --input IMAGES [LABELS], else the
/// held-out set of the train block.
Expected<Dataset> picture_data(const Context &c, const DataBinding &d) {
  if (c.o.inputs.size() == 1)
    return load_images(c, d, c.o.inputs[0]);
  return load_data(c, d, c.o.inputs, "validate", c.o.limit);
}

/// What picture command `command` prints, run on the loaded model `m`.
Expected<std::string> picture_report(const Context &c, Model &m, const std::string &command) {
  if (command == "filters")
    return filters_command(m, c.o.picture);
  Expected<DataBinding> d = binding_for(c, "predict", "");
  Expected<Dataset> data = d ? picture_data(c, *d) : Expected<Dataset>(Error{d.error()});
  if (!data)
    return Error{data.error()};
  if (command == "saliency")
    return saliency_command(m, *d, *data, c.o.picture);
  if (command == "activations")
    return activations_command(m, *d, *data, c.o.picture);
  return topk_command(m, *d, *data, c.o.picture);
}

int run_picture(const Context &c, const std::string &command) {
  if (command == "saliency" && c.o.picture.output.empty() && !c.o.picture.stats) {
    c.err << "error: saliency needs -o FILE.png (or --stats)\n";
    return kExitUsage;
  }
  Expected<Model> m = model_from_checkpoint(c, c.o.batch.value_or(c.config_batch()));
  if (!m)
    return c.error(m.error());
  Expected<std::string> report = picture_report(c, *m, command);
  if (!report)
    return c.error(report.error());
  c.out << *report;
  return kExitOk;
}

//===----------------------------------------------------------------------===//
// plot
//===----------------------------------------------------------------------===//

/// The training curves of a metrics file as a PNG (Plot.h).
int run_plot(const Context &c) {
  Expected<std::vector<Panel>> panels = read_metrics_panels(c.o.metrics);
  if (!panels)
    return c.error(panels.error());
  Image img = plot_panels(*panels);
  if (Expected<void> ok = write_png(c.o.output, img); !ok)
    return c.error(ok.error());
  c.out << fmt::format("wrote {} ({}x{})\n", c.o.output, img.width, img.height);
  return kExitOk;
}

//===----------------------------------------------------------------------===//
// info
//===----------------------------------------------------------------------===//

void print_function(std::ostream &out, const ModelDesc &m, const FnDesc &f, bool linked) {
  auto list = [&](const std::vector<SlotRef> &refs) {
    std::string s;
    for (const SlotRef &r : refs)
      s += (s.empty() ? "" : ", ") + r.name + ": " + slot_type_string(m.slots[size_t(r.slot)]);
    return s;
  };
  out << fmt::format("  {}({}) -> {}{}\n", f.name, list(f.args), list(f.outputs), linked ? "" : "  [not linked]");
}

/// Each distinct argument (or output) name of all functions, with its type.
void print_named_slots(std::ostream &out, const ModelDesc &m, bool outputs) {
  std::vector<std::string> seen;
  for (const FnDesc &f : m.functions)
    for (const SlotRef &r : outputs ? f.outputs : f.args) {
      if (std::find(seen.begin(), seen.end(), r.name) != seen.end())
        continue;
      seen.push_back(r.name);
      out << fmt::format("  {}: {}\n", r.name, slot_type_string(m.slots[size_t(r.slot)]));
    }
}

int run_info(const Context &c) {
  const ModelDesc &m = c.desc;
  c.out << "model " << m.name << "\ninputs (N is the batch dimension):\n";
  print_named_slots(c.out, m, false);
  c.out << "outputs:\n";
  print_named_slots(c.out, m, true);
  c.out << "functions:\n";
  Expected<Model> model = Model::create(c.abi, 1);
  for (const FnDesc &f : m.functions)
    print_function(c.out, m, f, model && model->has_function(f.name));
  int64_t params = 0, state = 0;
  size_t width = 4;
  for (const ParamDesc &p : m.params)
    width = std::max(width, p.name.size());
  c.out << "parameters and state:\n";
  for (const ParamDesc &p : m.params) {
    const SlotDesc &s = m.slots[size_t(p.slot)];
    int64_t n = num_elements(s.shape);
    (p.is_state ? state : params) += n;
    c.out << fmt::format("  {:<{}}  {:<5}  {:<20} {:>10}  init {}\n", p.name, width, p.is_state ? "state" : "param",
                         slot_type_string(s), n, p.init.empty() ? "zeros" : p.init);
  }
  c.out << fmt::format("total: {} parameters, {} state elements\n", params, state);
  c.out << "train-block defaults:\n";
  for (auto &[key, value] : m.config.items())
    c.out << fmt::format("  {} = {}\n", key, value.is_string() ? value.get<std::string>() : value.dump());
  return kExitOk;
}

//===----------------------------------------------------------------------===//
// The command line
//===----------------------------------------------------------------------===//

void add_common(CLI::App *cmd, Options &o) {
  cmd->add_option("--batch", o.batch, "examples per batch (default: the train block's)")->check(netc::cli::kPositive);
  cmd->add_option("--threads", o.threads, "Halide worker threads")->check(netc::cli::kPositive);
  cmd->add_option("--limit", o.limit, "use only the first N examples")->check(netc::cli::kPositive);
}

void add_train(CLI::App &app, Options &o) {
  CLI::App *t = app.add_subcommand("train", "train the model; checkpoint at every epoch end");
  add_common(t, o);
  t->add_option("--epochs", o.epochs, "epochs to train (default: the train block's)")->check(netc::cli::kNonNegative);
  t->add_option("--lr", o.lr, "learning rate (written into the optimizer state `lr`)")
      ->check(netc::cli::kFinite);
  t->add_option("--seed", o.seed, "seed for initialisation and shuffling");
  t->add_option("--data", o.data, "training images and labels (IDX, optionally .gz)")->expected(2);
  t->add_option("--validate", o.validate, "held-out images and labels")->expected(2);
  t->add_option("--validate-limit", o.validate_limit, "use only the first N held-out examples")
      ->check(netc::cli::kPositive);
  t->add_option("--checkpoint", o.checkpoint, "where to save (default: <model>.safetensors)");
  t->add_flag("--no-checkpoint", o.no_checkpoint, "save no checkpoint");
  t->add_option("--resume", o.resume, "continue from this checkpoint's epoch and step");
  t->add_option("--save-every-steps", o.save_every_steps, "also checkpoint every N steps")
      ->check(netc::cli::kNonNegative);
  t->add_option("--max-steps", o.max_steps, "stop (and checkpoint) at global step N")->check(netc::cli::kNonNegative);
  t->add_option("--metrics", o.metrics, "append JSON lines: one per epoch (and per --log-every steps)");
  t->add_option("--log-every", o.log_every, "with --metrics, also log the loss every N steps")
      ->check(netc::cli::kNonNegative);
  t->add_option("--keep-best", o.keep_best, "also checkpoint here whenever the held-out loss improves");
  t->add_option("--patience", o.patience, "stop after K epochs without held-out improvement")
      ->check(netc::cli::kNonNegative);
  t->add_flag("--no-augment", o.no_augment, "train without the train block's `augment` list");
  t->add_flag("-q,--quiet", o.quiet, "print only errors");
}

void add_eval_predict_info(CLI::App &app, Options &o) {
  CLI::App *e = app.add_subcommand("eval", "held-out loss and accuracy of a checkpoint");
  add_common(e, o);
  e->add_option("--checkpoint", o.checkpoint, "parameters to evaluate (default: <model>.safetensors)");
  e->add_option("--validate", o.validate, "held-out images and labels")->expected(2);
  CLI::App *p = app.add_subcommand("predict", "run the model on inputs; print or save its outputs");
  add_common(p, o);
  p->add_option("--checkpoint", o.checkpoint, "parameters to use")->required();
  p->add_option("--input", o.input, "inputs: IDX (optionally .gz), .npy, or one PNG/JPEG/BMP/PGM image")->required();
  p->add_option("--format", o.format, "text or npy")->check(CLI::IsMember({"text", "npy"}));
  p->add_option("--output", o.output, "write to FILE instead of stdout");
  app.add_subcommand("info", "the model's inputs, outputs, parameters and train-block defaults");
  CLI::App *plot = app.add_subcommand("plot", "draw the loss and accuracy curves of `train --metrics` as a PNG");
  plot->add_option("--metrics", o.metrics, "the JSON-lines metrics file")->required();
  plot->add_option("-o,--output", o.output, "PNG to write")->required();
  CLI::App *s = app.add_subcommand("sample", "generate text from a language model trained on text(...) data");
  s->add_option("--checkpoint", o.checkpoint, "parameters to use (default: <model>.safetensors)");
  s->add_option("--length", o.sample.length, "tokens to generate (default 300)")->check(netc::cli::kNonNegative);
  s->add_option("--temperature", o.sample.temperature, "sharpen (< 1) or flatten (> 1) the distribution (default 1)")
      ->check(netc::cli::kPositiveReal);
  s->add_option("--seed", o.sample.seed, "seed of the draws (default 0)");
  s->add_option("--prime", o.sample.prime, "text to start from (default: none, a document start)");
  s->add_option("--threads", o.threads, "Halide worker threads")->check(netc::cli::kPositive);
}

void add_pictures(CLI::App &app, Options &o) {
  PictureRequest &r = o.picture;
  auto common = [&](CLI::App *cmd, bool data) {
    cmd->add_option("--checkpoint", o.checkpoint, "parameters to use (default: <model>.safetensors)");
    cmd->add_option("--threads", o.threads, "Halide worker threads")->check(netc::cli::kPositive);
    if (data) {
      cmd->add_option("--input", o.inputs, "images [and labels] (IDX, optionally .gz); default: the held-out set")
          ->expected(1, 2);
      cmd->add_option("--batch", o.batch, "examples per call (default: the train block's)")
          ->check(netc::cli::kPositive);
      cmd->add_option("--limit", o.limit, "use only the first N examples")->check(netc::cli::kPositive);
    }
    return cmd;
  };
  CLI::App *s = common(app.add_subcommand("saliency", "heat maps of d(class score or loss)/d(input) beside the inputs"),
                       true);
  s->add_option("--index", r.index, "first example (default 0)");
  s->add_option("--count", r.count, "examples (default 8; the picture shows at most 32)");
  CLI::Option *cls = s->add_option("--class", r.cls, "differentiate this class's score (default: the predicted one)");
  s->add_flag("--loss", r.loss, "differentiate the loss of the example's label instead")->excludes(cls);
  s->add_flag("--stats", r.stats, "print the share of |gradient| on object pixels (input != 0) vs their area");
  s->add_option("-o,--output", r.output, "PNG to write (rows: input | heat map)");
  CLI::App *f = common(app.add_subcommand("filters", "a conv2d layer's learned kernels as an image grid"), false);
  f->add_option("--layer", r.layer, "conv2d kernel: a parameter (h.conv2d.w) or layer (h.conv2d) name");
  f->add_flag("--channel-mean", r.channel_mean, "one tile per filter: the mean over input channels");
  f->add_option("-o,--output", r.output, "PNG to write")->required();
  CLI::App *a = common(app.add_subcommand("activations", "the feature maps of a named value for one input"), true);
  a->add_option("--value", r.value, "a named value of the model (see `info`)");
  a->add_option("--index", r.index, "the example (default 0)");
  a->add_option("-o,--output", r.output, "PNG to write (the input | one tile per channel)")->required();
  CLI::App *t = common(app.add_subcommand("topk", "the inputs that activate a unit of a named value most"), true);
  t->add_option("--value", r.value, "a named value of the model (see `info`)");
  t->add_option("--unit", r.unit, "index on the value's last axis (a channel or a neuron; default 0)");
  t->add_option("--k", r.k, "how many inputs (default 16)");
  t->add_option("-o,--output", r.output, "PNG to write (the k inputs in rank order)")->required();
}

int dispatch(const CLI::App &app, const Context &c) {
  for (const char *picture : {"saliency", "filters", "activations", "topk"})
    if (app.got_subcommand(picture))
      return run_picture(c, picture);
  if (app.got_subcommand("train"))
    return run_train(c);
  if (app.got_subcommand("eval"))
    return run_eval(c);
  if (app.got_subcommand("predict"))
    return run_predict(c);
  if (app.got_subcommand("plot"))
    return run_plot(c);
  if (app.got_subcommand("sample"))
    return run_sample(c);
  return run_info(c);
}

} // namespace

int trainer_main(int argc, const char *const *argv, const ModelABI &abi, std::ostream &out, std::ostream &err) {
  Expected<ModelDesc> desc = parse_model_json(abi.json ? abi.json : "");
  if (!desc) {
    err << "error: " << desc.error() << "\n";
    return kExitError;
  }
  Options o;
  CLI::App app{fmt::format("Trainer for the model `{}`, compiled by netc.", desc->name)};
  app.name(argc > 0 ? std::filesystem::path(argv[0]).filename().string() : "trainer");
  app.require_subcommand(1);
  add_train(app, o);
  add_eval_predict_info(app, o);
  add_pictures(app, o);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e, out, err) == 0 ? kExitOk : kExitUsage;
  }
  try {
    return dispatch(app, Context{abi, *desc, o, out, err});
  } catch (const std::exception &e) {
    err << "error: internal error: " << e.what() << "\n";
    return kExitError;
  }
}

} // namespace netc::rt
