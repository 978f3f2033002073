//===- trainer_test.cpp - The native trainer runtime over a hand-written model ===//
//
// The model, its workspace and helpers live in TrainerFake.h.
//
//===----------------------------------------------------------------------===//
#include "TrainerFake.h"
#include "runtime/Denormals.h"
#include "runtime/TaskPool.h"

#include <thread>

using namespace netc::rt;
using namespace netc::rt::testing;

//===----------------------------------------------------------------------===//
// Model: JSON, slots, batch binding, init, calls
//===----------------------------------------------------------------------===//

TEST_CASE("model JSON parses into slots, params and functions", "[trainer]") {
  Workspace ws;
  Model m = ws.model(5);
  const ModelDesc &d = m.desc();
  CHECK(d.name == "tiny");
  CHECK(d.slots.size() == 10);
  CHECK(slot_type_string(d.slots[X]) == "f32[N, 2, 3]");
  CHECK(d.params.size() == 3);
  CHECK(d.params[2].is_state);
  CHECK(d.params[2].value == 0.5);
  CHECK(d.config_int("batch", 0) == 4);
  CHECK(d.config_string("data.images") == "train-x.idx");
  REQUIRE(d.function("train_step"));
  CHECK(d.function("train_step")->updates[1].name == "dense.b");
  for (int i = 0; i < 10; ++i)
    CHECK(reinterpret_cast<uintptr_t>(m.host(i)) % 64 == 0);
}

TEST_CASE("bind_batch sets N extents and dense strides in Halide order", "[trainer]") {
  Workspace ws;
  Model m = ws.model(8);
  m.bind_batch(5);
  // "extent/stride" per Halide dim of slot i.
  auto dims = [&](int i) {
    std::vector<std::string> d;
    for (int k = 0; k < m.buffer(i).dimensions; ++k)
      d.push_back(fmt::format("{}/{}", m.buffer(i).dim[k].extent, m.buffer(i).dim[k].stride));
    return d;
  };
  using V = std::vector<std::string>;
  CHECK(dims(X) == V{"3/1", "2/3", "5/6"});    // f32[N, 2, 3]: dim[0] is the last IR dimension
  CHECK(dims(ODD) == V{"4/1", "5/4", "3/20"}); // f32[3, N, 4]: N in the middle
  CHECK(dims(LR).empty());
  CHECK((m.buffer(X).type.code == halide_type_float && m.buffer(X).type.bits == 32));
  CHECK(m.buffer(Y).type.code == halide_type_int);
  CHECK(m.elements(ODD) == 60);
  m.bind_batch(2);
  CHECK(dims(ODD) == V{"4/1", "2/4", "3/8"});
}

TEST_CASE("bad model descriptions are refused with what is wrong", "[trainer]") {
  auto error = [](const std::string &json) {
    Expected<ModelDesc> d = parse_model_json(json);
    REQUIRE_FALSE(d.ok());
    return d.error();
  };
  const std::string p = "invalid model description (netc_model_json): ";
  CHECK(error("[") == p + "not a JSON object");
  CHECK(error(R"({"name": "m", "slots": [{"dtype": "f16", "shape": []}]})") == p + "slot 0: unknown dtype \"f16\"");
  CHECK(error(R"({"name": "m", "slots": [], "params": [{"name": "w", "kind": "param", "slot": 3}]})") ==
        p + "param `w`: slot 3 is out of range (the model has 0 slots)");
  CHECK(error(R"({"name": "m", "slots": [{"dtype": "f32", "shape": [-1]}],
                  "params": [{"name": "w", "kind": "param", "slot": 0}]})") ==
        p + "param `w`: a parameter cannot have the batch dimension N");
}

TEST_CASE("init_params equals init_values from the same seed, in params order", "[trainer]") {
  Workspace ws;
  Model m = ws.model(4, 42);
  netc::Pcg32 rng(42);
  std::vector<float> expect;
  for (const ParamDesc &p : m.desc().params) {
    netc::init_values(p.init, m.desc().slots[size_t(p.slot)].shape, p.value, p.stddev, rng, expect);
    REQUIRE(std::memcmp(expect.data(), m.f32(p.slot), expect.size() * 4) == 0);
  }
  CHECK(m.f32(LR)[0] == 0.5f);
}

TEST_CASE("a failing kernel's Halide error code becomes a message", "[trainer]") {
  Workspace ws;
  ws.abi.eval = fake_out_of_bounds;
  Model m = ws.model();
  Expected<void> r = m.call("eval", 3);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == "`eval` failed with Halide error -4: a kernel accessed a buffer out of bounds");
  ws.abi.predict = nullptr;
  Model n = ws.model();
  CHECK(n.call("predict", 1).error() == "model `tiny` has no `predict` function");
}

//===----------------------------------------------------------------------===//
// Loops
//===----------------------------------------------------------------------===//

TEST_CASE("training reduces the loss and uses the last partial batch", "[trainer]") {
  Workspace ws;
  Model m = ws.model();
  g_train_batches.clear();
  TrainSummary sum = run(ws, m, settings(4));
  // 10 examples, batch 4: 4, 4, 2 per epoch, nothing dropped.
  CHECK(g_train_batches == std::vector<int32_t>{4, 4, 2, 4, 4, 2, 4, 4, 2, 4, 4, 2});
  CHECK(sum.examples_seen == 40);
  CHECK(sum.position.global_step == 12);
  REQUIRE(sum.epochs.size() == 4);
  CHECK(sum.epochs.back().train_loss < 0.5 * sum.epochs.front().train_loss);
  CHECK(sum.epochs.back().eval_loss < sum.epochs.front().eval_loss);
  CHECK(sum.epochs.back().accuracy == 1.0);
  // The printed line.
  EpochStats &e = sum.epochs.front();
  e.train_loss = 0.50123, e.eval_loss = 0.43109, e.accuracy = 0.84523, e.samples_per_s = 61234.4, e.seconds = 1.234;
  CHECK(format_epoch(e, 5) ==
        "epoch 1/5: train loss 0.5012, held-out loss 0.4311, accuracy 84.52%, 61234 samples/s, 1.2 s");
}

TEST_CASE("evaluate weighs the partial batch by its size", "[trainer]") {
  Workspace ws;
  Model a = ws.model(4), b = ws.model(9);
  Expected<DataBinding> d = bind_data(a.desc());
  REQUIRE(d.ok());
  CHECK(d->num_classes == 3);
  Dataset held = ws.data("test");
  Expected<EvalResult> ra = evaluate(a, *d, held, 4), rb = evaluate(b, *d, held, 9);
  REQUIRE((ra.ok() && rb.ok()));
  CHECK(ra->count == 9);
  CHECK(ra->loss == Approx(rb->loss).epsilon(1e-6));
  CHECK(ra->accuracy == rb->accuracy);
}

//===----------------------------------------------------------------------===//
// Checkpoints
//===----------------------------------------------------------------------===//

TEST_CASE("checkpoint save and load are bit-exact; the write leaves no temp file", "[trainer]") {
  Workspace ws;
  Model m = ws.model(4, 3);
  std::string path = ws.path("ck.safetensors");
  CheckpointInfo info{"tiny", {2, 1, 7}, 3, 4, {}};
  REQUIRE(save_checkpoint(path, m, info).ok());
  std::vector<std::string> files;
  for (const auto &e : fs::directory_iterator(ws.dir))
    if (e.path().extension() != ".idx")
      files.push_back(e.path().filename().string());
  CHECK(files == std::vector<std::string>{"ck.safetensors"});
  Model n = ws.model(4, 99);
  REQUIRE(param_bytes(n) != param_bytes(m));
  Expected<CheckpointInfo> r = load_checkpoint(path, n);
  REQUIRE(r.ok());
  CHECK(param_bytes(n) == param_bytes(m));
  CHECK((r->model == "tiny" && r->position.epoch == 2 && r->position.step == 1 && r->position.global_step == 7));
  CHECK((r->seed == 3 && r->batch == 4));
}

TEST_CASE("a checkpoint is plain safetensors", "[trainer]") {
  Workspace ws;
  Model m = ws.model();
  REQUIRE(save_checkpoint(ws.path("ck.safetensors"), m, {"tiny", {}, 7, 4, {}}).ok());
  std::vector<uint8_t> bytes = read_bytes(ws.path("ck.safetensors"));
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  CHECK((8 + n) % 8 == 0);
  nlohmann::json h = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + long(n));
  CHECK(h["dense.w"]["dtype"] == "F32");
  CHECK(h["dense.w"]["shape"] == nlohmann::json{6, 3});
  CHECK(h["dense.w"]["data_offsets"] == nlohmann::json{0, 72});
  CHECK(h["dense.b"]["data_offsets"] == nlohmann::json{72, 84});
  CHECK(h["lr"]["shape"] == nlohmann::json::array());
  CHECK(h["__metadata__"]["model"] == "tiny");
  CHECK(bytes.size() == 8 + n + 88);
  CHECK(std::memcmp(bytes.data() + 8 + n, m.f32(W), 72) == 0);
}

TEST_CASE("corrupt checkpoints are refused with a precise message", "[trainer]") {
  Workspace ws;
  std::string f = ws.path("ck.safetensors");
  Model m = ws.model();
  REQUIRE(save_checkpoint(f, m, {"tiny", {}, 7, 4, {}}).ok());
  std::vector<uint8_t> good = read_bytes(f);
  uint64_t n = 0;
  std::memcpy(&n, good.data(), 8);

  CHECK(load_error(ws, {1, 2, 3}) ==
        f + ": file too short (3 bytes); a safetensors file starts with an 8-byte header length");
  std::vector<uint8_t> b = good;
  b[0] = 0xff, b[1] = 0xff;
  CHECK(load_error(ws, b) == f + fmt::format(": header length {} (at offset 0) goes beyond the end of the file ({} "
                                             "bytes, so at most {} bytes of header)",
                                             n | 0xffff, good.size(), good.size() - 8));
  b = good;
  b[8] = '[';
  CHECK_THAT(load_error(ws, b), Catch::StartsWith(f + fmt::format(": bad JSON header ({} bytes at offset 8): ", n)));
  b = good;
  b.back() ^= 1;
  CHECK_THAT(load_error(ws, b), Catch::Matches(f + ": checksum mismatch: the header records [0-9a-f]{16} but the "
                                                   "tensor data hashes to [0-9a-f]{16} \\(FNV-1a 64\\); the file "
                                                   "is corrupt"));

  // Well-formed files that do not fit the model.
  std::vector<float> w(18), bias(3), lr(1);
  auto bytes_of = [](const std::vector<float> &v) {
    return std::span(reinterpret_cast<const uint8_t *>(v.data()), v.size() * 4);
  };
  std::map<std::string, std::string> meta = {{"model", "tiny"}};
  std::vector<StInput> t = {{"dense.w", "F32", {6, 3}, bytes_of(w)}, {"lr", "F32", {}, bytes_of(lr)}};
  CHECK(load_error(ws, encode_safetensors(t, meta)) ==
        f + ": missing tensor `dense.b` (F32 [3]) that model `tiny` needs");
  t = {{"dense.w", "F32", {3, 6}, bytes_of(w)},
       {"dense.b", "F32", {3}, bytes_of(bias)},
       {"lr", "F32", {}, bytes_of(lr)}};
  CHECK(load_error(ws, encode_safetensors(t, meta)) ==
        f + ": tensor `dense.w` is F32 [3, 6] in the checkpoint but F32 [6, 3] in model `tiny`");
  t[0] = {"dense.w", "I32", {6, 3}, bytes_of(w)};
  CHECK(load_error(ws, encode_safetensors(t, meta)) ==
        f + ": tensor `dense.w` is I32 [6, 3] in the checkpoint but F32 [6, 3] in model `tiny`");
  t[0] = {"dense.w", "F32", {6, 3}, bytes_of(w)};
  t.push_back({"extra", "F32", {}, bytes_of(lr)});
  CHECK(load_error(ws, encode_safetensors(t, meta)) ==
        f + ": tensor `extra` is not a parameter or state of model `tiny`");
  t.pop_back();
  CHECK(load_error(ws, encode_safetensors(t, {{"model", "mlp"}})) ==
        f + ": the checkpoint is for model `mlp`, but this trainer is model `tiny`");
  CHECK(load_error(ws, encode_safetensors(t, {{"epoch", "two"}})) ==
        f + ": metadata `epoch` is \"two\", expected a non-negative integer");
  // Without netc's metadata (a file written by PyTorch) it loads.
  REQUIRE(write_file_bytes(f, encode_safetensors(t, {}), false).ok());
  CHECK(load_checkpoint(f, m).ok());
}

//===----------------------------------------------------------------------===//
// Resumption
//===----------------------------------------------------------------------===//

TEST_CASE("resuming after an epoch or mid-epoch gives the uninterrupted run's bits", "[trainer]") {
  Workspace ws;
  Model full = ws.model();
  run(ws, full, settings(3));
  std::string ck = ws.path("ck.safetensors");

  SECTION("stopped after epoch 1") {
    Model first = ws.model();
    run(ws, first, settings(1, ck));
    Model resumed = ws.model(4, 12345); // the checkpoint overwrites it all
    Expected<CheckpointInfo> info = load_checkpoint(ck, resumed);
    REQUIRE(info.ok());
    CHECK((info->position.epoch == 1 && info->position.step == 0 && info->position.global_step == 3));
    TrainSummary s = run(ws, resumed, settings(3, ck), info->position);
    CHECK(s.position.global_step == 9);
    CHECK(param_bytes(resumed) == param_bytes(full));
  }
  SECTION("stopped at a step inside epoch 2") {
    Model first = ws.model();
    TrainSettings s = settings(3, ck);
    s.max_steps = 5;
    TrainSummary stop = run(ws, first, s);
    CHECK(stop.stopped_early);
    Model resumed = ws.model(4, 12345);
    Expected<CheckpointInfo> info = load_checkpoint(ck, resumed);
    REQUIRE(info.ok());
    CHECK((info->position.epoch == 1 && info->position.step == 2 && info->position.global_step == 5));
    g_train_batches.clear();
    run(ws, resumed, settings(3, ck), info->position);
    CHECK(g_train_batches == std::vector<int32_t>{2, 4, 4, 2}); // the rest of epoch 2, then epoch 3
    CHECK(param_bytes(resumed) == param_bytes(full));
  }
}

//===----------------------------------------------------------------------===//
// Prediction and the command line
//===----------------------------------------------------------------------===//

TEST_CASE("encode_npy writes a v1.0 header and little-endian floats", "[trainer]") {
  Predictions p{{2, 3}, {1, 2, 3, 4, 5, 6.5f}};
  std::vector<uint8_t> b = encode_npy(p);
  REQUIRE(b.size() == 128 + 24);
  CHECK(std::string(b.begin(), b.begin() + 8) == std::string("\x93NUMPY\x01\x00", 8));
  size_t hlen = b[8] | (b[9] << 8);
  CHECK(10 + hlen == 128); // the data starts 64-byte aligned
  std::string dict(b.begin() + 10, b.begin() + 10 + long(hlen));
  CHECK_THAT(dict, Catch::StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
  CHECK(dict.back() == '\n');
  float last;
  std::memcpy(&last, b.data() + 128 + 20, 4);
  CHECK(last == 6.5f);
  std::vector<uint8_t> one = encode_npy({{4}, {1, 2, 3, 4}});
  CHECK_THAT(std::string(one.begin() + 10, one.end() - 16), Catch::StartsWith("{'descr': '<f4', 'fortran_order': "
                                                                              "False, 'shape': (4,), }"));
}

TEST_CASE("trainer CLI: train, eval, predict, info end to end", "[trainer]") {
  Workspace ws;
  std::string ck = ws.path("t.safetensors");
  CliResult r = cli(ws, {"train", "--epochs", "2", "--checkpoint", ck, "--lr", "0.25"});
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("training tiny: 10 examples, 9 held out, batch 4, 2 epochs, seed 7"));
  CHECK_THAT(r.out, Catch::Contains("epoch 2/2: train loss "));
  CHECK(fs::exists(ck));

  r = cli(ws, {"eval", "--checkpoint", ck});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("(9 examples)"));

  std::string npy = ws.path("p.npy");
  r = cli(ws, {"predict", "--checkpoint", ck, "--input", ws.path("test-x.idx"), "--limit", "5", "--format", "npy",
               "--output", npy});
  REQUIRE(r.code == 0);
  std::vector<uint8_t> b = read_bytes(npy);
  size_t hlen = b[8] | (b[9] << 8);
  CHECK_THAT(std::string(b.begin() + 10, b.begin() + 10 + long(hlen)), Catch::Contains("'shape': (5, 3)"));
  REQUIRE(b.size() == 10 + hlen + 5 * 3 * 4);
  float p0[3];
  std::memcpy(p0, b.data() + 10 + hlen, 12);
  CHECK(p0[0] + p0[1] + p0[2] == Approx(1.0f));

  r = cli(ws, {"predict", "--checkpoint", ck, "--input", ws.path("test-x.idx"), "--limit", "2"});
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("# example argmax prob[0..2]\n0 0 "));

  r = cli(ws, {"info"});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("dense.w"));
  CHECK_THAT(r.out, Catch::Contains("total: 21 parameters, 1 state elements"));
  CHECK_THAT(r.out, Catch::Contains("train_step(x: f32[N, 2, 3], y: i32[N]) -> loss: f32[]"));
}

TEST_CASE("trainer CLI: usage errors exit 2, data and checkpoint errors exit 1", "[trainer]") {
  Workspace ws;
  // Unknown flag, bad values, no command, predict without its required --checkpoint.
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"train", "--bogus"}, {"train", "--batch", "0"}, {"train", "--lr", "nan"}, {}, {"predict", "--input", "x"}})
    CHECK(cli(ws, args).code == 2);
  // Counts are checked with messages that say what they must be.
  CliResult count = cli(ws, {"train", "--batch", "0"});
  CHECK_THAT(count.err, Catch::StartsWith("--batch: must be a positive whole number, got 0"));
  count = cli(ws, {"train", "--epochs", "-1"});
  CHECK(count.code == 2);
  CHECK_THAT(count.err, Catch::StartsWith("--epochs: must be a whole number, 0 or more, got -1"));
  count = cli(ws, {"train", "--threads", "2.5"});
  CHECK(count.code == 2);
  CHECK_THAT(count.err, Catch::StartsWith("--threads: must be a positive whole number, got 2.5"));
  CliResult help = cli(ws, {"train", "--help"});
  CHECK(help.code == 0);
  CHECK_THAT(help.out, Catch::Contains("--save-every-steps"));

  CliResult r = cli(ws, {"train", "--no-checkpoint", "--data", ws.path("test-x.idx"), ws.path("nope.idx")});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("nope.idx"));
  r = cli(ws, {"train", "--resume", ws.path("missing.safetensors")});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::StartsWith("error: " + ws.path("missing.safetensors") + ": cannot open"));
  r = cli(ws, {"eval"});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("tiny.safetensors: no such checkpoint"));
  // Labels outside the model's 3 classes.
  std::vector<int64_t> shape = {2};
  std::vector<double> bad = {0, 7};
  REQUIRE(write_idx(ws.path("bad-y.idx"), IdxType::U8, shape, bad, false).ok());
  std::vector<int64_t> xs = {2, 2, 3};
  std::vector<double> x(12, 0.0);
  REQUIRE(write_idx(ws.path("bad-x.idx"), IdxType::F32, xs, x, false).ok());
  r = cli(ws, {"train", "--no-checkpoint", "--data", ws.path("bad-x.idx"), ws.path("bad-y.idx")});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("label 7 at index 1"));
}

TEST_CASE("trainer CLI: --resume continues a stopped run to the same bits", "[trainer]") {
  Workspace ws;
  std::string a = ws.path("a.safetensors"), b = ws.path("b.safetensors");
  REQUIRE(cli(ws, {"train", "-q", "--checkpoint", a}).code == 0);
  REQUIRE(cli(ws, {"train", "-q", "--checkpoint", b, "--max-steps", "4"}).code == 0);
  CliResult r = cli(ws, {"train", "--checkpoint", b, "--resume", b});
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("resuming from " + b + " at epoch 2, step 1 (global step 4)"));
  Model ma = ws.model(), mb = ws.model();
  REQUIRE((load_checkpoint(a, ma).ok() && load_checkpoint(b, mb).ok()));
  CHECK(param_bytes(ma) == param_bytes(mb));
}


//===----------------------------------------------------------------------===//
// Threads
//===----------------------------------------------------------------------===//

namespace {
halide_do_par_for_t g_installed = nullptr;
int g_installs = 0;
halide_do_par_for_t record_par_for(halide_do_par_for_t f) {
  ++g_installs;
  g_installed = f;
  return nullptr;
}
std::vector<int> g_tasks;
int record_task(void *, int i, uint8_t *closure) {
  g_tasks.push_back(i);
  return i == *reinterpret_cast<int *>(closure) ? -7 : 0;
}
} // namespace

TEST_CASE("the kernels' parallel loops run on netc's pool of --threads threads", "[trainer]") {
  Workspace ws;
  ws.abi.set_custom_do_par_for = record_par_for;
  for (const char *threads : {"2", "1"}) {
    g_installs = 0;
    g_installed = nullptr;
    REQUIRE(cli(ws, {"train", "--epochs", "1", "--no-checkpoint", "--threads", threads}).code == 0);
    REQUIRE(g_installs == 1);
    CHECK(g_installed == &pool_do_par_for<void>); // runtime/TaskPool.h
  }
  // One thread: tasks min .. min + size - 1 in order on the calling thread;
  // the first failing task's code ends the loop.
  int fail_at = -1;
  g_tasks.clear();
  CHECK(g_installed(nullptr, record_task, 3, 4, reinterpret_cast<uint8_t *>(&fail_at)) == 0);
  CHECK(g_tasks == std::vector<int>{3, 4, 5, 6});
  fail_at = 5;
  g_tasks.clear();
  CHECK(g_installed(nullptr, record_task, 3, 4, reinterpret_cast<uint8_t *>(&fail_at)) == -7);
  CHECK(g_tasks == std::vector<int>{3, 4, 5});
  g_tasks.clear();
  CHECK(g_installed(nullptr, record_task, 0, 0, reinterpret_cast<uint8_t *>(&fail_at)) == 0);
  CHECK(g_tasks.empty());
  // No --threads: the pool is installed all the same (HL_NUM_THREADS or the
  // machine's threads).
  g_installs = 0;
  REQUIRE(cli(ws, {"train", "--epochs", "1", "--no-checkpoint"}).code == 0);
  CHECK(g_installs == 1);
  set_pool_threads(1);
}

//===----------------------------------------------------------------------===//
// Floating point mode (runtime/Denormals.h)
//===----------------------------------------------------------------------===//

TEST_CASE("flush_denormals makes denormal results and operands zero on its thread", "[trainer]") {
  // MXCSR is per thread: the test sets it on a thread of its own, so the
  // rest of the suite keeps IEEE denormals, and checks a thread started
  // afterwards (as Halide's workers are) inherits it.
  volatile float tiny = 1e-30f, scale = 1e-10f, denormal = 1e-39f, one = 1.0f;
  REQUIRE(tiny * scale != 0.0f); // 1e-40: a denormal result under IEEE
  REQUIRE(denormal * one != 0.0f);
  float product = -1, operand = -1, child_product = -1;
  bool flushed = false;
  std::thread([&] {
    flushed = flush_denormals();
    product = tiny * scale;
    operand = denormal * one;
    std::thread([&] { child_product = tiny * scale; }).join();
  }).join();
#if defined(__SSE2__)
  CHECK(flushed);
  CHECK(product == 0.0f);
  CHECK(operand == 0.0f);
  CHECK(child_product == 0.0f);
#else
  CHECK_FALSE(flushed);
#endif
  CHECK(tiny * scale != 0.0f); // this thread is unchanged
}
