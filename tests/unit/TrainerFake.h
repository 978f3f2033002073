//===- TrainerFake.h - A hand-written model for the trainer tests -*- C++ -*-===//
//
// No codegen is needed: the model below implements the ABI of
// runtime/ModelABI.h by hand (a linear softmax classifier on 2x3 inputs, 3
// classes, plain SGD), and is handed to the runtime as a ModelABI, the same
// path Main.cpp takes with the generated symbols. Shared by trainer_test.cpp
// and trainer_run_test.cpp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <catch2/catch.hpp>

#include "ir/Init.h"
#include "runtime/Idx.h"
#include "runtime/trainer/Checkpoint.h"
#include "runtime/trainer/Cli.h"
#include "runtime/trainer/Loop.h"
#include "runtime/trainer/Model.h"

#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace netc::rt::testing {

namespace fs = std::filesystem;


//===----------------------------------------------------------------------===//
// The fake model: logits = flatten(x) @ w + b, softmax, cross-entropy.
//===----------------------------------------------------------------------===//

enum Slot { W, B, LR, X, Y, LOSS, PROB, W_NEW, B_NEW, ODD };
constexpr int kIn = 6, kClasses = 3;

inline const char *const kSlots = R"("slots": [
  {"dtype": "f32", "shape": [6, 3]}, {"dtype": "f32", "shape": [3]}, {"dtype": "f32", "shape": []},
  {"dtype": "f32", "shape": [-1, 2, 3]}, {"dtype": "i32", "shape": [-1]}, {"dtype": "f32", "shape": []},
  {"dtype": "f32", "shape": [-1, 3]}, {"dtype": "f32", "shape": [6, 3]}, {"dtype": "f32", "shape": [3]},
  {"dtype": "f32", "shape": [3, -1, 4]}],
 "params": [
  {"name": "dense.w", "kind": "param", "slot": 0, "attrs": {"init": "glorot_uniform"}},
  {"name": "dense.b", "kind": "param", "slot": 1, "attrs": {"init": "normal", "stddev": 0.5}},
  {"name": "lr", "kind": "state", "slot": 2, "attrs": {"init": "constant", "value": 0.5}}],
 "functions": {
  "train_step": {"args": [{"name": "x", "slot": 3}, {"name": "y", "slot": 4}],
                 "outputs": [{"name": "loss", "slot": 5}],
                 "updates": [{"param": "dense.w", "slot": 7}, {"param": "dense.b", "slot": 8}]},
  "eval": {"args": [{"name": "x", "slot": 3}, {"name": "y", "slot": 4}],
           "outputs": [{"name": "loss", "slot": 5}, {"name": "prob", "slot": 6}]},
  "predict": {"args": [{"name": "x", "slot": 3}], "outputs": [{"name": "prob", "slot": 6}]}}})";

/// Batch sizes train_step was called with, in order.
inline std::vector<int32_t> g_train_batches;
/// When nonzero, the train_step call that makes g_train_batches this long
/// also calls request_stop(g_stop_signal), as a signal arriving mid-step
/// would; with g_stop_raise, it raises the real signal instead.
inline size_t g_stop_after = 0;
inline int g_stop_signal = 0;
inline bool g_stop_raise = false;

inline float *f32(halide_buffer_t **s, int i) { return reinterpret_cast<float *>(s[i]->host); }

/// The argument buffers must be laid out as the ABI says: Halide order.
inline bool args_ok(halide_buffer_t **s, int32_t n) {
  const halide_buffer_t *x = s[X];
  return x->dimensions == 3 && x->dim[0].extent == 3 && x->dim[0].stride == 1 && x->dim[1].extent == 2 &&
         x->dim[1].stride == 3 && x->dim[2].extent == n && x->dim[2].stride == 6 && s[Y]->dim[0].extent == n &&
         s[PROB]->dim[1].extent == n;
}

/// prob = softmax(x @ w + b), row by row.
inline void forward(halide_buffer_t **s, int32_t n) {
  const float *x = f32(s, X), *w = f32(s, W), *b = f32(s, B);
  float *p = f32(s, PROB);
  for (int32_t r = 0; r < n; ++r) {
    float z[kClasses], mx = -1e30f, sum = 0;
    for (int c = 0; c < kClasses; ++c) {
      z[c] = b[c];
      for (int i = 0; i < kIn; ++i)
        z[c] += x[r * kIn + i] * w[i * kClasses + c];
      mx = std::max(mx, z[c]);
    }
    for (int c = 0; c < kClasses; ++c)
      sum += (p[r * kClasses + c] = std::exp(z[c] - mx));
    for (int c = 0; c < kClasses; ++c)
      p[r * kClasses + c] /= sum;
  }
}

inline int fake_eval(halide_buffer_t **s, int32_t n) {
  if (!args_ok(s, n))
    return halide_error_code_bad_dimensions;
  forward(s, n);
  const int32_t *y = reinterpret_cast<int32_t *>(s[Y]->host);
  float &loss = f32(s, LOSS)[0] = 0;
  for (int32_t r = 0; r < n; ++r)
    loss -= std::log(f32(s, PROB)[r * kClasses + y[r]]) / float(n);
  return 0;
}

inline int fake_predict(halide_buffer_t **s, int32_t n) {
  if (!args_ok(s, n))
    return halide_error_code_bad_dimensions;
  forward(s, n);
  return 0;
}

/// One SGD step; writes the update slots, then copies them into the
/// params, as the generated driver does.
inline int fake_train_step(halide_buffer_t **s, int32_t n) {
  if (int code = fake_eval(s, n))
    return code;
  g_train_batches.push_back(n);
  if (g_stop_after && g_train_batches.size() == g_stop_after)
    g_stop_raise ? void(std::raise(g_stop_signal)) : request_stop(g_stop_signal);
  const int32_t *y = reinterpret_cast<int32_t *>(s[Y]->host);
  const float *x = f32(s, X), *p = f32(s, PROB), lr = f32(s, LR)[0];
  float *w = f32(s, W), *b = f32(s, B), *wn = f32(s, W_NEW), *bn = f32(s, B_NEW);
  std::copy(w, w + kIn * kClasses, wn);
  std::copy(b, b + kClasses, bn);
  for (int32_t r = 0; r < n; ++r)
    for (int c = 0; c < kClasses; ++c) {
      float g = (p[r * kClasses + c] - float(y[r] == c)) / float(n);
      bn[c] -= lr * g;
      for (int i = 0; i < kIn; ++i)
        wn[i * kClasses + c] -= lr * g * x[r * kIn + i];
    }
  std::copy(wn, wn + kIn * kClasses, w);
  std::copy(bn, bn + kClasses, b);
  return 0;
}

inline int fake_out_of_bounds(halide_buffer_t **, int32_t) { return halide_error_code_access_out_of_bounds; }

/// A temporary directory holding synthetic IDX data and the model's JSON.
struct Workspace {
  fs::path dir;
  std::string json;
  ModelABI abi;

  Workspace() {
    std::string tmpl = (fs::temp_directory_path() / "netc-trainer-XXXXXX").string();
    dir = mkdtemp(tmpl.data());
    write_data("train", 10, 1);
    write_data("test", 9, 2);
    json = R"({"name": "tiny", "config": {"batch": 4, "epochs": 3, "seed": 7, "optimizer": "sgd",
      "data.images": "train-x.idx", "data.labels": "train-y.idx",
      "validate.images": "test-x.idx", "validate.labels": "test-y.idx",
      "source.path": ")" +
           (dir / "tiny.net").string() + R"("},)" + kSlots;
    abi = {json.c_str(), fake_train_step, fake_eval, fake_predict, nullptr};
  }
  ~Workspace() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string path(const std::string &f) const { return (dir / f).string(); }

  /// n examples of 3 separable classes: class c has a large value at c.
  void write_data(const std::string &prefix, int64_t n, uint64_t seed) {
    netc::Pcg32 rng(seed);
    std::vector<double> x, y;
    for (int64_t i = 0; i < n; ++i) {
      int c = int(i % kClasses);
      y.push_back(c);
      for (int k = 0; k < kIn; ++k)
        x.push_back((k == c ? 2.0 : 0.0) + rng.uniform(-0.5, 0.5));
    }
    std::vector<int64_t> xs = {n, 2, 3}, ys = {n};
    REQUIRE(write_idx(path(prefix + "-x.idx"), IdxType::F32, xs, x, false).ok());
    REQUIRE(write_idx(path(prefix + "-y.idx"), IdxType::U8, ys, y, false).ok());
  }

  Model model(int64_t batch = 4, uint64_t seed = 7) const {
    Expected<Model> m = Model::create(abi, batch);
    REQUIRE(m.ok());
    m->init_params(seed);
    return std::move(*m);
  }
  Dataset data(const std::string &prefix) const {
    Expected<Dataset> d = load_dataset(path(prefix + "-x.idx"), path(prefix + "-y.idx"));
    REQUIRE(d.ok());
    return std::move(*d);
  }
};

/// Every parameter and state slot's bytes, in params order.
inline std::vector<uint8_t> param_bytes(const Model &m) {
  std::vector<uint8_t> out;
  for (const ParamDesc &p : m.desc().params)
    out.insert(out.end(), m.host(p.slot), m.host(p.slot) + m.bytes(p.slot));
  return out;
}

/// Trains a fresh or given model with `s` from `start` (and run state
/// `state`, as a checkpoint restores it); returns the summary.
inline TrainSummary run(Workspace &ws, Model &m, const TrainSettings &s, TrainPosition start = {},
                        RunState state = {}) {
  Expected<DataBinding> d = bind_data(m.desc());
  REQUIRE(d.ok());
  Dataset train_set = ws.data("train"), held = ws.data("test");
  std::ostringstream out;
  Expected<TrainSummary> sum = train(m, *d, train_set, &held, s, start, out, state);
  REQUIRE(sum.ok());
  return *sum;
}

inline TrainSettings settings(int64_t epochs, const std::string &checkpoint = "") {
  TrainSettings s;
  s.epochs = epochs, s.batch = 4, s.seed = 7, s.checkpoint = checkpoint, s.quiet = true;
  return s;
}

/// trainer_main's exit code, stdout and stderr.
struct CliResult {
  int code;
  std::string out, err;
};

/// Runs trainer_main on the fake model.
inline CliResult cli(const Workspace &ws, std::vector<std::string> args) {
  args.insert(args.begin(), "trainer");
  std::vector<const char *> argv;
  for (const std::string &a : args)
    argv.push_back(a.c_str());
  std::ostringstream out, err;
  int code = trainer_main(int(argv.size()), argv.data(), ws.abi, out, err);
  return {code, out.str(), err.str()};
}

inline std::vector<uint8_t> read_bytes(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

/// The error load_checkpoint gives for `bytes` written to `ck.safetensors`.
inline std::string load_error(Workspace &ws, const std::vector<uint8_t> &bytes) {
  REQUIRE(write_file_bytes(ws.path("ck.safetensors"), bytes, false).ok());
  Model m = ws.model();
  Expected<CheckpointInfo> r = load_checkpoint(ws.path("ck.safetensors"), m);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

} // namespace netc::rt::testing
