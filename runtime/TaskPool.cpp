//===- TaskPool.cpp - The threads that run Halide's parallel loops --------===//
#include "runtime/TaskPool.h"

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace netc::rt {

namespace {

/// Set while a thread runs tasks of a loop: a loop it starts then is nested.
thread_local bool t_in_task = false;

void pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

int serial_run(TaskPool::Invoke invoke, void *fn, void *ctx, int min, int size, uint8_t *closure) {
  for (int i = min; i < min + size; ++i)
    if (int r = invoke(fn, ctx, i, closure))
      return r;
  return 0;
}

std::unique_ptr<TaskPool> g_pool;

} // namespace

TaskPool::TaskPool(int threads, std::chrono::microseconds spin) : spin_(spin) {
  for (int i = 1; i < threads; ++i)
    workers_.emplace_back([this] { work(); });
}

TaskPool::~TaskPool() {
  stop_.store(true);
  word_.fetch_add(uint64_t(1) << (2 * kCountBits)); // a new generation wakes them
  wake_all();
  for (std::thread &t : workers_)
    t.join();
}

void TaskPool::wake_all() {
  // Taking the mutex orders this after a sleeper's look at the word (made
  // under it), so the wake-up cannot fall between its look and its wait.
  { std::lock_guard<std::mutex> lock(sleep_mutex_); }
  wake_.notify_all();
}

int TaskPool::run(Invoke invoke, void *fn, void *ctx, int min, int size, uint8_t *closure) {
  if (size <= 1 || workers_.empty() || size > kMaxTasks || t_in_task ||
      busy_.exchange(true, std::memory_order_acquire))
    return serial_run(invoke, fn, ctx, min, size, closure);
  invoke_ = invoke;
  fn_ = fn;
  ctx_ = ctx;
  closure_ = closure;
  min_ = min;
  done_.store(0, std::memory_order_relaxed);
  failure_.store(UINT64_MAX, std::memory_order_relaxed);
  gen_ = (gen_ + 1) & 0xffff;
  // Publishes the fields above with the loop; sequentially consistent with
  // a worker's sleepers_ increment and its last look at the word before it
  // sleeps, so either it sees this loop or this sees it asleep.
  word_.store((gen_ << (2 * kCountBits)) | uint64_t(size));
  if (sleepers_.load() > 0)
    wake_all();
  t_in_task = true;
  drain(gen_);
  t_in_task = false;
  while (done_.load(std::memory_order_acquire) < size)
    pause();
  busy_.store(false, std::memory_order_release);
  uint64_t failure = failure_.load(std::memory_order_relaxed);
  return failure == UINT64_MAX ? 0 : int(uint32_t(failure));
}

void TaskPool::drain(uint64_t gen) {
  uint64_t w = word_.load(std::memory_order_acquire);
  while (generation(w) == gen && next(w) < count(w)) {
    // The claim: only while the word is exactly this loop's, so the fields
    // read below are its own until its caller has seen this task done.
    if (!word_.compare_exchange_weak(w, w + (uint64_t(1) << kCountBits), std::memory_order_acq_rel,
                                     std::memory_order_acquire))
      continue;
    int i = next(w);
    if (int r = invoke_(fn_, ctx_, min_ + i, closure_)) {
      uint64_t mine = (uint64_t(uint32_t(i)) << 32) | uint32_t(r);
      uint64_t seen = failure_.load(std::memory_order_relaxed);
      while (mine < seen && !failure_.compare_exchange_weak(seen, mine, std::memory_order_relaxed))
        ;
    }
    done_.fetch_add(1, std::memory_order_release);
    w = word_.load(std::memory_order_acquire);
  }
}

void TaskPool::work() {
  t_in_task = true; // a loop started by a task runs serially
  // Generation 0 is the pool's state before its first loop, which may be
  // published before this thread starts.
  uint64_t seen = 0;
  for (;;) {
    auto idle_since = std::chrono::steady_clock::now();
    uint64_t w = word_.load(std::memory_order_acquire);
    for (unsigned spins = 1; generation(w) == seen; ++spins) {
      if (spins % 1024 == 0 && std::chrono::steady_clock::now() - idle_since > spin_) {
        std::unique_lock<std::mutex> lock(sleep_mutex_);
        sleepers_.fetch_add(1);
        wake_.wait(lock, [&] { return generation(word_.load()) != seen; });
        sleepers_.fetch_sub(1);
        idle_since = std::chrono::steady_clock::now();
      } else {
        pause();
      }
      w = word_.load(std::memory_order_acquire);
    }
    if (stop_.load())
      return;
    seen = generation(w);
    drain(seen);
  }
}

int default_pool_threads() {
  if (const char *env = std::getenv("HL_NUM_THREADS")) {
    char *end = nullptr;
    long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n > 0 && n <= 256)
      return int(n);
  }
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

void set_pool_threads(int threads) {
  g_pool.reset();
  if (threads > 1)
    g_pool = std::make_unique<TaskPool>(threads);
}

int pool_run(TaskPool::Invoke invoke, void *fn, void *ctx, int min, int size, uint8_t *closure) {
  if (!g_pool)
    return serial_run(invoke, fn, ctx, min, size, closure);
  return g_pool->run(invoke, fn, ctx, min, size, closure);
}

} // namespace netc::rt
