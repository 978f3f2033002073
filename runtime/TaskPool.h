//===- TaskPool.h - The threads that run Halide's parallel loops -*- C++ -*-===//
//
// Every parallel loop of a kernel is a call of halide_do_par_for(task, min,
// size, closure). Halide's own pool answers it with a mutex-guarded queue
// and workers that sleep on a condition variable almost as soon as they run
// out of work, so each loop pays a futex wake-up of the other vCPU and a
// lock around every task: on the 2-vCPU machines that cost more than the
// second core saved on an LSTM step's [64,128] x [128,512] products, and
// examples/lstm.net trained slower on 2 threads than on 1.
//
// TaskPool is the trainers' replacement (installed with
// halide_set_custom_do_par_for, runtime/trainer/Cli.cpp; `netc bench` installs
// it through its JIT handlers, tools/Bench.cpp):
//   - the calling thread publishes a loop in one atomic word (a generation,
//     the next unclaimed task, the task count) and takes tasks itself;
//   - `threads - 1` workers spin on that word for a while (kSpin) after
//     their last task, so a loop that follows soon after starts without a
//     system call, then sleep on a condition variable;
//   - a task is claimed by compare-and-swap on the whole word, so a worker
//     that saw an older loop can never run a task of the wrong one;
//   - the caller waits (spinning) until every task is done, and returns the
//     code of the lowest-numbered failing task: the serial loop's answer.
// A parallel loop started inside a task (nested), from a second thread
// while a loop runs, or of one task, runs serially on its caller. At one
// thread every loop runs serially, in order, with no lock at all.
//
// Results do not depend on the thread count: each task writes its own
// elements, whichever thread runs it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace netc::rt {

class TaskPool {
public:
  /// A task of a loop as the pool stores it: `fn` is the caller's task
  /// function, called through `invoke` (which knows its context type).
  using Invoke = int (*)(void *fn, void *ctx, int index, uint8_t *closure);

  /// `threads` threads in all: the caller's and threads - 1 workers (none
  /// at 1). Workers spin for `spin` after their last task before sleeping.
  explicit TaskPool(int threads, std::chrono::microseconds spin = kSpin);
  ~TaskPool();
  TaskPool(const TaskPool &) = delete;
  TaskPool &operator=(const TaskPool &) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  /// Runs tasks min .. min + size - 1 (see the file comment); returns the
  /// lowest-numbered failing task's code, or 0.
  int run(Invoke invoke, void *fn, void *ctx, int min, int size, uint8_t *closure);

  template <typename Context>
  int run(int (*task)(Context *, int, uint8_t *), Context *ctx, int min, int size, uint8_t *closure) {
    return run(&invoke<Context>, reinterpret_cast<void *>(task), ctx, min, size, closure);
  }

  /// The Invoke of tasks taking a `Context *`.
  template <typename Context>
  static int invoke(void *fn, void *ctx, int index, uint8_t *closure) {
    return reinterpret_cast<int (*)(Context *, int, uint8_t *)>(fn)(static_cast<Context *>(ctx), index,
                                                                      closure);
  }

  /// How long an idle worker spins before it sleeps: long enough to bridge
  /// the serial kernels between two parallel loops of a train step.
  static constexpr std::chrono::microseconds kSpin{2000};

private:
  /// Claims and runs tasks of the loop of generation `gen` until none is left.
  void drain(uint64_t gen);
  void work();
  void wake_all();

  // The loop word: generation (16 bits) | next task (24) | task count (24).
  static constexpr int kCountBits = 24;
  static constexpr uint64_t kCountMask = (uint64_t(1) << kCountBits) - 1;
  static constexpr int kMaxTasks = int(kCountMask);
  static uint64_t generation(uint64_t w) { return w >> (2 * kCountBits); }
  static int next(uint64_t w) { return int((w >> kCountBits) & kCountMask); }
  static int count(uint64_t w) { return int(w & kCountMask); }

  std::atomic<uint64_t> word_{0};
  uint64_t gen_ = 0;
  // The loop's task, written before its word is published and read only by
  // a thread that has claimed one of its tasks.
  Invoke invoke_ = nullptr;
  void *fn_ = nullptr, *ctx_ = nullptr;
  uint8_t *closure_ = nullptr;
  int min_ = 0;
  std::atomic<int> done_{0};
  /// (failing task index << 32) | its code, the lowest index kept.
  std::atomic<uint64_t> failure_{UINT64_MAX};
  std::atomic<int> sleepers_{0};
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
  std::atomic<bool> busy_{false}, stop_{false};
  std::chrono::microseconds spin_;
  std::vector<std::thread> workers_;
};

/// Makes the process's pool (the one pool_do_par_for uses) `threads`
/// threads; no loop may be running. Threads inherit the caller's floating-
/// point mode (runtime/Denormals.h), so set that first.
void set_pool_threads(int threads);

/// HL_NUM_THREADS when it is a positive number (as Halide's own pool reads
/// it), else the machine's hardware threads.
int default_pool_threads();

/// halide_do_par_for on the process's pool (serially before
/// set_pool_threads). Context is void for the trainers' AOT runtime and
/// Halide::JITUserContext for `netc bench`'s JIT handlers.
int pool_run(TaskPool::Invoke invoke, void *fn, void *ctx, int min, int size, uint8_t *closure);

template <typename Context>
int pool_do_par_for(Context *ctx, int (*task)(Context *, int, uint8_t *), int min, int size,
                    uint8_t *closure) {
  return pool_run(&TaskPool::invoke<Context>, reinterpret_cast<void *>(task), ctx, min, size, closure);
}

} // namespace netc::rt
