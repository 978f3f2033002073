//===- Train.cpp - `netc train`: training with the reference interpreter --===//
//
// Runs @train_step and @eval through the interpreter over real data. It is
// slow and exact: the oracle the native trainer is checked against, and the
// way to train before `netc build` exists. One f32 input and one class label
// (IDX files) are supported here.
//
//===----------------------------------------------------------------------===//
#include "ir/Interpreter.h"
#include "ir/OpInfo.h"
#include "runtime/Batcher.h"
#include "runtime/Dataset.h"
#include "runtime/Metrics.h"
#include "tools/Driver.h"

#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>

namespace netc {

namespace {

/// The model's data interface, read off @eval: one f32 input, one label.
struct DataInterface {
  ValueId input = kNoValue, label = kNoValue;
  std::string input_name, label_name;
  Shape example_shape;
  int64_t classes = 0;
};

std::optional<DataInterface> data_interface(const Function &eval, Diagnostics &diag) {
  DataInterface d;
  for (ValueId a : eval.args()) {
    const Node &n = eval.node(a);
    ValueId &slot = n.type.dtype == DType::F32 ? d.input : d.label;
    if (slot != kNoValue) {
      diag.error(n.loc, "netc train supports one f32 input and one class label; `" +
                            n.attrs.get_str("name") + "` is one too many");
      return std::nullopt;
    }
    slot = a;
  }
  if (d.input == kNoValue || d.label == kNoValue) {
    diag.error(eval.loc, "netc train needs one f32 input and one class label input");
    return std::nullopt;
  }
  d.input_name = eval.node(d.input).attrs.get_str("name");
  d.label_name = eval.node(d.label).attrs.get_str("name");
  const Shape &s = eval.type(d.input).shape;
  d.example_shape.assign(s.begin() + 1, s.end());
  for (const Node &n : eval.nodes)
    if (n.op == OpKind::CrossEntropy && n.operands[1] == d.label)
      d.classes = eval.type(n.operands[0]).shape.back();
  if (d.classes == 0) {
    diag.error(eval.loc, "netc train needs a cross_entropy loss on the label `" + d.label_name + "`");
    return std::nullopt;
  }
  return d;
}

std::optional<rt::Dataset> load(const Module &m, const std::string &prefix,
                                std::optional<int64_t> limit, const DataInterface &d,
                                Diagnostics &diag) {
  if (!m.config.is_str(prefix + ".images")) {
    diag.error(Loc{}, "the train block has no `" + prefix + "` data");
    return std::nullopt;
  }
  std::string src = std::filesystem::path(m.config.get_str("source.path")).parent_path().string();
  rt::DatasetOptions o;
  o.limit = limit;
  for (int64_t k : m.config.get_ints(prefix + ".classes"))
    o.classes.push_back(static_cast<int32_t>(k));
  rt::Expected<rt::Dataset> ds = rt::load_dataset_from(
      m.config.get_str(prefix + ".images"), m.config.get_str(prefix + ".labels"), src, o);
  if (!ds) {
    diag.error(Loc{}, ds.error());
    return std::nullopt;
  }
  rt::ModelDataSpec spec{d.input_name, d.example_shape, d.label_name, d.classes};
  if (rt::Expected<void> ok = rt::check_dataset(*ds, spec); !ok) {
    diag.error(Loc{}, ok.error());
    return std::nullopt;
  }
  return std::move(*ds);
}

/// The interpreter's arguments for one batch, in @eval's argument order.
std::vector<Tensor> batch_args(const Function &f, const DataInterface &d, const rt::Dataset &data,
                               std::span<const int64_t> idx) {
  int64_t n = static_cast<int64_t>(idx.size());
  std::vector<float> x(static_cast<size_t>(n * data.example_size()));
  std::vector<int32_t> y(static_cast<size_t>(n));
  rt::gather_batch(data, idx, x, y);
  Shape xs = d.example_shape;
  xs.insert(xs.begin(), n);
  Tensor xt(DType::F32, xs), yt(DType::I32, {n});
  std::copy(x.begin(), x.end(), xt.data.begin());
  std::copy(y.begin(), y.end(), yt.data.begin());
  std::vector<Tensor> args;
  for (ValueId a : f.args())
    args.push_back(f.node(a).attrs.get_str("name") == d.input_name ? xt : yt);
  return args;
}

struct EvalResult {
  double loss = 0, accuracy = 0;
};

EvalResult evaluate(const Module &m, const Function &eval, const DataInterface &d,
                    const rt::Dataset &data, const ParamStore &params, int64_t batch) {
  rt::Batcher batches = rt::Batcher::sequential(data.size(), batch);
  rt::RunningMean loss;
  rt::RunningAccuracy acc;
  std::string scores = eval.outputs.front().name;
  for (int64_t b = 0; b < batches.num_batches(); ++b) {
    std::span<const int64_t> idx = batches.batch(b);
    CallResult r = interpret(m, eval, batch_args(eval, d, data, idx), params);
    loss.add(r.outputs.at("loss")[0], static_cast<double>(idx.size()));
    const Tensor &s = r.outputs.at(scores);
    std::vector<float> sf(s.data.begin(), s.data.end());
    std::vector<int32_t> labels;
    for (int64_t i : idx)
      labels.push_back(data.labels[i]);
    acc.add(sf, labels, d.classes);
  }
  return {loss.mean(), acc.accuracy()};
}

} // namespace

int train_interpreted(Module &m, const InterpTrainOptions &o, Diagnostics &diag) {
  const Function *step = m.find_function("train_step");
  const Function *eval = m.find_function("eval");
  if (!step || !eval) {
    diag.error(Loc{}, "model `" + m.name + "` has no loss, so there is nothing to train");
    return 1;
  }
  std::optional<DataInterface> d = data_interface(*eval, diag);
  if (!d)
    return 1;
  std::optional<rt::Dataset> train = load(m, "data", o.limit, *d, diag);
  std::optional<rt::Dataset> held = load(m, "validate", o.validate_limit, *d, diag);
  if (!train || !held)
    return 1;

  int64_t epochs = o.epochs.value_or(m.config.get_int("epochs", 1));
  int64_t batch = o.batch.value_or(m.config.get_int("batch", 32));
  uint64_t seed = static_cast<uint64_t>(o.seed.value_or(m.config.get_int("seed", 0)));
  if (epochs < 0 || batch <= 0) {
    diag.error(Loc{}, fmt::format("epochs must be >= 0 and batch > 0, found {} and {}", epochs, batch));
    return 1;
  }
  for (const ParamDecl &p : m.params)
    if (p.attrs.has("init.from")) {
      diag.error(p.loc, "netc train cannot load `init ... from` files yet (parameter `" + p.name +
                            "`)",
                 "build a native trainer with `netc build`; it loads them");
      return 1;
    }
  ParamStore params = init_params(m, seed);
  if (o.lr)
    params["lr"] = Tensor(DType::F32, {}, *o.lr);

  std::cout << fmt::format("training {} with the reference interpreter: {} examples, {} held out, "
                           "batch {}, {} epochs\n",
                           m.name, train->size(), held->size(), batch, epochs);
  rt::Batcher batches = rt::Batcher::shuffled(train->size(), batch, seed);
  for (int64_t e = 0; e < epochs; ++e) {
    auto t0 = std::chrono::steady_clock::now();
    batches.set_epoch(e);
    rt::RunningMean loss;
    for (int64_t b = 0; b < batches.num_batches(); ++b) {
      std::span<const int64_t> idx = batches.batch(b);
      CallResult r = interpret(m, *step, batch_args(*step, *d, *train, idx), params);
      apply_updates(params, r);
      loss.add(r.outputs.at("loss")[0], static_cast<double>(idx.size()));
    }
    EvalResult v = evaluate(m, *eval, *d, *held, params, batch);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << fmt::format("epoch {}/{}: train loss {:.4f}, held-out loss {:.4f}, held-out "
                             "accuracy {:.2f}% ({:.1f} s)\n",
                             e + 1, epochs, loss.mean(), v.loss, 100 * v.accuracy, secs)
              << std::flush;
  }
  return 0;
}

} // namespace netc
