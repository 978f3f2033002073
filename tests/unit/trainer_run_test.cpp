//===- trainer_run_test.cpp - Stopping, metrics, confusion, keep-best -----===//
//
// The trainer's run control over the hand-written model of TrainerFake.h:
// SIGINT/SIGTERM stop with a checkpoint that resumes bit-exactly, JSON-lines
// metrics, eval's confusion matrix, keep-best and early stopping.
//
//===----------------------------------------------------------------------===//
#include "TrainerFake.h"

#include <nlohmann/json.hpp>
#include <sys/wait.h>

using namespace netc::rt;
using namespace netc::rt::testing;

namespace {

/// Arms the fake model to stop after `steps` train_step calls; disarms and
/// forgets any pending stop request when it goes out of scope.
struct StopAfter {
  StopAfter(size_t steps, int signal, bool raise) {
    clear_stop();
    g_train_batches.clear();
    g_stop_after = steps, g_stop_signal = signal, g_stop_raise = raise;
  }
  ~StopAfter() {
    g_stop_after = 0, g_stop_raise = false;
    clear_stop();
  }
};

std::vector<std::string> read_lines(const std::string &path) {
  std::ifstream f(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(f, line);)
    lines.push_back(line);
  return lines;
}

/// Sets the parameters so that classes 0 and 1 are both predicted as 1 and
/// class 2 as 2: logit 1 = x0 + x1, logit 2 = x2, logit 0 = 0.
void set_confused_params(Model &m) {
  float *w = m.f32(W), *b = m.f32(B);
  std::fill(w, w + kIn * kClasses, 0.0f);
  std::fill(b, b + kClasses, 0.0f);
  w[0 * kClasses + 1] = w[1 * kClasses + 1] = w[2 * kClasses + 2] = 1;
}

} // namespace

//===----------------------------------------------------------------------===//
// Stopping on SIGINT / SIGTERM
//===----------------------------------------------------------------------===//

TEST_CASE("a stop request mid-epoch checkpoints; resuming gives the uninterrupted bits", "[trainer]") {
  Workspace ws;
  Model full = ws.model();
  run(ws, full, settings(3));
  std::string ck = ws.path("ck.safetensors");
  Model first = ws.model();
  {
    StopAfter stop(5, SIGINT, false);
    TrainSummary s = run(ws, first, settings(3, ck));
    CHECK(s.interrupted == SIGINT);
    CHECK(s.stopped_early);
    CHECK((s.position.epoch == 1 && s.position.step == 2 && s.position.global_step == 5));
    CHECK(g_train_batches.size() == 5); // the step running finished; no further step ran
  }
  Model resumed = ws.model(4, 12345);
  Expected<CheckpointInfo> info = load_checkpoint(ck, resumed);
  REQUIRE(info.ok());
  CHECK((info->position.epoch == 1 && info->position.step == 2 && info->position.global_step == 5));
  CHECK(param_bytes(resumed) == param_bytes(first));
  TrainSummary rest = run(ws, resumed, settings(3, ck), info->position);
  CHECK(rest.interrupted == 0);
  CHECK(rest.position.global_step == 9);
  CHECK(param_bytes(resumed) == param_bytes(full));
}

TEST_CASE("trainer CLI: SIGINT and SIGTERM save, say where, and exit 130 / 143", "[trainer]") {
  Workspace ws;
  std::string a = ws.path("a.safetensors"), b = ws.path("b.safetensors");
  REQUIRE(cli(ws, {"train", "-q", "--checkpoint", a}).code == 0);
  int signal = GENERATE(SIGINT, SIGTERM);
  auto handler = [](int sig) {
    auto h = std::signal(sig, SIG_DFL);
    std::signal(sig, h);
    return h;
  };
  auto int_before = handler(SIGINT), term_before = handler(SIGTERM);
  CliResult r;
  {
    StopAfter stop(4, signal, true); // a real signal, through the trainer's handler
    r = cli(ws, {"train", "--checkpoint", b});
  }
  CHECK(r.code == 128 + signal);
  std::string name = signal == SIGINT ? "SIGINT" : "SIGTERM";
  CHECK_THAT(r.err, Catch::Contains("interrupted by " + name + " at epoch 2, step 1 (global step 4); saved " + b +
                                    "; continue with --resume " + b));
  // The handlers that were there before are back.
  CHECK(handler(SIGINT) == int_before);
  CHECK(handler(SIGTERM) == term_before);
  r = cli(ws, {"train", "--checkpoint", b, "--resume", b});
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("at epoch 2, step 1 (global step 4)"));
  Model ma = ws.model(), mb = ws.model();
  REQUIRE((load_checkpoint(a, ma).ok() && load_checkpoint(b, mb).ok()));
  CHECK(param_bytes(ma) == param_bytes(mb));
}

TEST_CASE("a second SIGINT kills the trainer at once", "[trainer]") {
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    StopOnSignals stop;
    std::raise(SIGINT);
    if (stop_requested() != SIGINT)
      _exit(3);
    std::raise(SIGINT);
    _exit(4); // not reached: the default action ends the process
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGINT);
}

//===----------------------------------------------------------------------===//
// Metrics
//===----------------------------------------------------------------------===//

TEST_CASE("trainer CLI: --metrics appends JSON lines per epoch and per --log-every steps", "[trainer]") {
  Workspace ws;
  std::string m = ws.path("metrics.jsonl");
  REQUIRE(cli(ws, {"train", "-q", "--no-checkpoint", "--epochs", "2", "--metrics", m, "--log-every", "2"}).code == 0);
  std::vector<std::string> lines = read_lines(m);
  REQUIRE(lines.size() == 5); // steps 2, epoch 1 (step 3), steps 4, 6, epoch 2 (step 6)
  std::vector<nlohmann::json> j;
  for (const std::string &l : lines)
    j.push_back(nlohmann::json::parse(l));
  for (int i : {0, 2, 3}) {
    CHECK(j[size_t(i)].size() == 2);
    CHECK(j[size_t(i)]["loss"].is_number());
  }
  CHECK((j[0]["step"] == 2 && j[2]["step"] == 4 && j[3]["step"] == 6));
  for (int i : {1, 4}) {
    const nlohmann::json &e = j[size_t(i)];
    for (const char *key : {"epoch", "step", "train_loss", "held_out_loss", "accuracy", "samples_per_s", "seconds"})
      CHECK(e.contains(key));
    CHECK(e["held_out_loss"].is_number());
    CHECK(e["accuracy"].get<double>() >= 0);
    CHECK(e["accuracy"].get<double>() <= 1);
  }
  CHECK((j[1]["epoch"] == 1 && j[1]["step"] == 3 && j[4]["epoch"] == 2 && j[4]["step"] == 6));
  CHECK(j[4]["train_loss"].get<double>() < j[1]["train_loss"].get<double>());

  // A failed run adds nothing; a second run appends.
  REQUIRE(cli(ws, {"train", "-q", "--no-checkpoint", "--epochs", "1", "--metrics", m, "--validate",
                   ws.path("nope-x.idx"), ws.path("nope-y.idx")})
              .code == 1);
  REQUIRE(cli(ws, {"train", "-q", "--no-checkpoint", "--epochs", "1", "--metrics", m}).code == 0);
  lines = read_lines(m);
  REQUIRE(lines.size() == 6);
  CHECK(nlohmann::json::parse(lines[5])["epoch"] == 1);
  CHECK(cli(ws, {"train", "-q", "--metrics", ws.path("no/such/dir/m.jsonl")}).code == 1);
}

//===----------------------------------------------------------------------===//
// Confusion matrix
//===----------------------------------------------------------------------===//

TEST_CASE("evaluate counts a confusion matrix; eval prints it", "[trainer]") {
  Workspace ws;
  Model m = ws.model();
  set_confused_params(m);
  Expected<DataBinding> d = bind_data(m.desc());
  REQUIRE(d.ok());
  Expected<EvalResult> r = evaluate(m, *d, ws.data("test"), 4);
  REQUIRE(r.ok());
  CHECK(r->classes == 3);
  CHECK(r->confusion == std::vector<int64_t>{0, 3, 0, 0, 3, 0, 0, 0, 3});
  CHECK(r->accuracy == Approx(6.0 / 9));
  std::string expected = "confusion matrix (rows: true class, columns: predicted):\n"
                         "          0   1   2  accuracy\n"
                         "     0    0   3   0  0.00%\n"
                         "     1    0   3   0  100.00%\n"
                         "     2    0   0   3  100.00%\n";
  CHECK(format_confusion(*r) == expected);

  std::string ck = ws.path("c.safetensors");
  REQUIRE(save_checkpoint(ck, m, {"tiny", {}, 7, 4, {}}).ok());
  CliResult out = cli(ws, {"eval", "--checkpoint", ck});
  REQUIRE(out.code == 0);
  CHECK_THAT(out.out, Catch::Contains("accuracy 66.67% (9 examples)\n" + expected));

  EvalResult empty{0, 0, 0, 2, {0, 0, 1, 0}};
  CHECK_THAT(format_confusion(empty), Catch::Contains("     0    0   0  -\n     1    1   0  0.00%\n"));
}

//===----------------------------------------------------------------------===//
// Keep-best and early stopping
//===----------------------------------------------------------------------===//

TEST_CASE("keep-best saves the best held-out checkpoint", "[trainer]") {
  Workspace ws;
  std::string best = ws.path("best.safetensors");
  Model m = ws.model();
  TrainSettings s = settings(3);
  s.keep_best = best;
  TrainSummary sum = run(ws, m, s);
  REQUIRE(sum.epochs.size() == 3);
  double lowest = std::min({sum.epochs[0].eval_loss, sum.epochs[1].eval_loss, sum.epochs[2].eval_loss});
  CHECK(sum.run.best_loss == lowest);
  Model loaded = ws.model();
  Expected<CheckpointInfo> info = load_checkpoint(best, loaded);
  REQUIRE(info.ok());
  CHECK(info->position.epoch == sum.run.best_epoch + 1);
  Expected<DataBinding> d = bind_data(loaded.desc());
  Expected<EvalResult> r = evaluate(loaded, *d, ws.data("test"), 4);
  REQUIRE(r.ok());
  CHECK(r->loss == Approx(lowest));
  if (sum.run.best_epoch == 2)
    CHECK(param_bytes(loaded) == param_bytes(m));
}

TEST_CASE("patience stops after K epochs without improvement", "[trainer]") {
  Workspace ws;
  SECTION("loop") {
    Model m = ws.model();
    m.f32(LR)[0] = 0; // nothing changes, so nothing improves after epoch 1
    TrainSettings s = settings(10);
    s.patience = 2;
    TrainSummary sum = run(ws, m, s);
    CHECK(sum.epochs.size() == 3);
    CHECK((sum.stopped_early && sum.patience_exhausted && sum.run.best_epoch == 0));
    CHECK((sum.position.epoch == 3 && sum.position.step == 0 && sum.position.global_step == 9));
  }
  SECTION("CLI, with keep-best") {
    std::string ck = ws.path("p.safetensors"), best = ws.path("best.safetensors");
    CliResult r = cli(ws, {"train", "--lr", "0", "--epochs", "10", "--patience", "2", "--checkpoint", ck,
                           "--keep-best", best});
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("early stopping: held-out loss has not improved for 2 epochs (best "));
    CHECK_THAT(r.out, Catch::Contains(" at epoch 1)\n"));
    CHECK_THAT(r.out, Catch::Contains("epoch 3/10"));
    CHECK_THAT(r.out, !Catch::Contains("epoch 4/10"));
    Expected<CheckpointInfo> b = read_checkpoint_info(best), last = read_checkpoint_info(ck);
    REQUIRE((b.ok() && last.ok()));
    CHECK(b->position.epoch == 1);
    CHECK(last->position.epoch == 3);
  }
}

//===----------------------------------------------------------------------===//
// Resuming with augmentation, keep-best and patience
//===----------------------------------------------------------------------===//

TEST_CASE("a resumed run augments, keeps the best and stops like an uninterrupted one", "[trainer]") {
  Workspace ws;
  std::string ck = ws.path("ck.safetensors"), best = ws.path("best.safetensors");
  std::string full_best = ws.path("full_best.safetensors");
  SECTION("augmentation: stopped mid-epoch, the generator state is restored") {
    TrainSettings s = settings(3);
    s.augment = {{AugmentOp::Mirror}, {AugmentOp::Translate, 1}, {AugmentOp::Noise, 0.1}};
    Model full = ws.model(), plain = ws.model();
    TrainSummary whole = run(ws, full, s);
    CHECK(whole.run.rng_inc != 0);
    TrainSettings none = settings(3);
    run(ws, plain, none);
    CHECK(param_bytes(plain) != param_bytes(full)); // augmentation changed the run

    Model first = ws.model();
    s.checkpoint = ck, s.max_steps = 5;
    run(ws, first, s);
    Model resumed = ws.model(4, 12345);
    Expected<CheckpointInfo> info = load_checkpoint(ck, resumed);
    REQUIRE(info.ok());
    CHECK(info->run.rng_inc != 0);
    s.max_steps = 0;
    TrainSummary rest = run(ws, resumed, s, info->position, info->run);
    CHECK(param_bytes(resumed) == param_bytes(full));
    CHECK((rest.run.rng_state == whole.run.rng_state && rest.run.rng_inc == whole.run.rng_inc));
    // Without the generator's state the resumed run draws other numbers.
    Model fresh = ws.model(4, 12345);
    REQUIRE(load_checkpoint(ck, fresh).ok());
    run(ws, fresh, s, info->position);
    CHECK(param_bytes(fresh) != param_bytes(full));
  }
  SECTION("keep-best and patience: stopped at an epoch end") {
    // lr 0: nothing improves after epoch 1, so patience 2 stops after epoch 3
    // and the best checkpoint is epoch 1's.
    TrainSettings s = settings(10);
    s.patience = 2, s.keep_best = full_best;
    Model full = ws.model();
    full.f32(LR)[0] = 0;
    TrainSummary whole = run(ws, full, s);
    REQUIRE(whole.epochs.size() == 3);
    CHECK(whole.patience_exhausted);

    s.keep_best = best, s.checkpoint = ck, s.epochs = 2; // stop after epoch 2: one epoch without improvement
    Model first = ws.model();
    first.f32(LR)[0] = 0;
    run(ws, first, s);
    Model resumed = ws.model(4, 12345);
    Expected<CheckpointInfo> info = load_checkpoint(ck, resumed);
    REQUIRE(info.ok());
    CHECK((info->run.best_epoch == 0 && info->run.since_best == 1));
    CHECK(info->run.best_loss == whole.epochs[0].eval_loss);
    s.epochs = 10;
    TrainSummary rest = run(ws, resumed, s, info->position, info->run);
    CHECK(rest.epochs.size() == 1); // epoch 3 only, then out of patience
    CHECK(rest.patience_exhausted);
    CHECK(rest.position.epoch == whole.position.epoch);
    CHECK(param_bytes(resumed) == param_bytes(full));
    // The best checkpoint is still epoch 1's, byte for byte.
    CHECK(read_bytes(best) == read_bytes(full_best));
    // Resuming the finished run again trains nothing.
    Expected<CheckpointInfo> done = load_checkpoint(ck, resumed);
    REQUIRE(done.ok());
    TrainSummary again = run(ws, resumed, s, done->position, done->run);
    CHECK((again.epochs.empty() && again.patience_exhausted));
  }
  SECTION("the CLI restores them from --resume") {
    std::vector<std::string> common = {"--lr", "0", "--patience", "2", "--keep-best", best, "--checkpoint", ck};
    auto with = [&](std::vector<std::string> a) {
      a.insert(a.end(), common.begin(), common.end());
      return a;
    };
    REQUIRE(cli(ws, with({"train", "--epochs", "2"})).code == 0);
    CliResult r = cli(ws, with({"train", "--epochs", "10", "--resume", ck}));
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("epoch 3/10"));
    CHECK_THAT(r.out, Catch::Contains("early stopping: held-out loss has not improved for 2 epochs (best "));
    CHECK_THAT(r.out, Catch::Contains(" at epoch 1)\n"));
    CHECK_THAT(r.out, !Catch::Contains("epoch 4/10"));
    Expected<CheckpointInfo> b = read_checkpoint_info(best);
    REQUIRE(b.ok());
    CHECK(b->position.epoch == 1);
  }
}
