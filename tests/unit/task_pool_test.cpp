//===- task_pool_test.cpp - runtime/TaskPool.h: Halide's parallel loops ---===//
#include "runtime/TaskPool.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using namespace netc::rt;
using namespace std::chrono_literals;

namespace {

/// What a loop's tasks saw: how often each index ran, and on which threads.
struct Record {
  std::vector<std::atomic<int>> runs;
  std::mutex mu;
  std::set<std::thread::id> threads;
  std::vector<int> order;
  std::vector<int> fail; // code per index, 0: success
  explicit Record(int n) : runs(size_t(n)), fail(size_t(n), 0) {}
};

int record(Record *r, int i, uint8_t *) {
  r->runs[size_t(i)].fetch_add(1);
  std::lock_guard<std::mutex> lock(r->mu);
  r->threads.insert(std::this_thread::get_id());
  r->order.push_back(i);
  return r->fail[size_t(i)];
}

bool all_once(const Record &r, int min, int size) {
  for (size_t i = 0; i < r.runs.size(); ++i)
    if (r.runs[i].load() != (int(i) >= min && int(i) < min + size ? 1 : 0))
      return false;
  return true;
}

} // namespace

TEST_CASE("a pool of one thread runs a loop's tasks in order and stops at the first failure", "[pool]") {
  TaskPool pool(1);
  CHECK(pool.threads() == 1);
  Record r(10);
  CHECK(pool.run(record, &r, 3, 4, nullptr) == 0);
  CHECK(r.order == std::vector<int>{3, 4, 5, 6});
  Record f(10);
  f.fail[5] = -7;
  f.fail[6] = -8;
  CHECK(pool.run(record, &f, 3, 4, nullptr) == -7);
  CHECK(f.order == std::vector<int>{3, 4, 5});
  Record none(1);
  CHECK(pool.run(record, &none, 0, 0, nullptr) == 0);
  CHECK(none.order.empty());
}

TEST_CASE("a pool runs every task of every loop exactly once", "[pool]") {
  for (int threads : {2, 3}) {
    TaskPool pool(threads);
    CHECK(pool.threads() == threads);
    // Many short loops back to back (the workers spinning between them),
    // of sizes 1 to 67, at offsets: 3,000 loops.
    for (int loop = 0; loop < 3000; ++loop) {
      int size = 1 + loop % 67, min = loop % 5;
      Record r(min + size);
      int code = pool.run(record, &r, min, size, nullptr);
      if (code != 0 || !all_once(r, min, size)) {
        FAIL("loop " << loop << " of " << size << " tasks from " << min << " on " << threads
                     << " threads: code " << code);
      }
    }
  }
}

TEST_CASE("a pool returns the code of the lowest-numbered failing task", "[pool]") {
  TaskPool pool(2);
  for (int loop = 0; loop < 500; ++loop) {
    Record r(40);
    r.fail[37] = -37;
    r.fail[11] = -11;
    r.fail[23] = -23;
    REQUIRE(pool.run(record, &r, 0, 40, nullptr) == -11);
    REQUIRE(all_once(r, 0, 40)); // the others still ran
  }
}

namespace {

struct Pair {
  std::atomic<bool> second_started{false};
  std::thread::id first, second;
};

/// Task 0 waits (up to 10 s) for task 1 to start: only a second thread can
/// run it meanwhile. Returns 1 if it never did.
int wait_for_partner(Pair *p, int i, uint8_t *) {
  if (i == 1) {
    p->second = std::this_thread::get_id();
    p->second_started.store(true);
    return 0;
  }
  p->first = std::this_thread::get_id();
  auto until = std::chrono::steady_clock::now() + 10s;
  while (!p->second_started.load())
    if (std::chrono::steady_clock::now() > until)
      return 1;
  return 0;
}

} // namespace

TEST_CASE("a pool's tasks run at the same time, also after its workers slept", "[pool]") {
  // No spinning: after each loop the worker goes to sleep on the loop word
  // and must be woken by the next loop.
  TaskPool pool(2, 0us);
  for (int loop = 0; loop < 20; ++loop) {
    Pair p;
    REQUIRE(pool.run(wait_for_partner, &p, 0, 2, nullptr) == 0);
    CHECK(p.first != p.second);
    std::this_thread::sleep_for(2ms);
  }
}

namespace {

struct Nested {
  TaskPool *pool;
  std::deque<Record> *inner;
};

int run_inner(Nested *n, int i, uint8_t *) {
  Record &r = (*n->inner)[size_t(i)];
  return n->pool->run(record, &r, 0, 8, nullptr);
}

} // namespace

TEST_CASE("a loop started inside a task runs serially on that task's thread", "[pool]") {
  TaskPool pool(2);
  std::deque<Record> inner;
  for (int i = 0; i < 6; ++i)
    inner.emplace_back(8);
  inner[4].fail[2] = -3;
  Nested n{&pool, &inner};
  CHECK(pool.run(run_inner, &n, 0, 6, nullptr) == -3);
  for (int i = 0; i < 6; ++i) {
    CHECK(inner[size_t(i)].threads.size() == 1);
    // In order, the failing one stopping at its failure.
    std::vector<int> want = i == 4 ? std::vector<int>{0, 1, 2} : std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7};
    CHECK(inner[size_t(i)].order == want);
  }
}

TEST_CASE("the process's pool runs loops serially until it is given threads", "[pool]") {
  Record r(6);
  CHECK(pool_do_par_for<Record>(&r, record, 0, 6, nullptr) == 0);
  CHECK(r.order == std::vector<int>{0, 1, 2, 3, 4, 5});
  set_pool_threads(2);
  Pair p;
  CHECK(pool_do_par_for<Pair>(&p, wait_for_partner, 0, 2, nullptr) == 0);
  CHECK(p.first != p.second);
  set_pool_threads(1);
  Record s(4);
  s.fail[1] = -2;
  CHECK(pool_do_par_for<Record>(&s, record, 0, 4, nullptr) == -2);
  CHECK(s.order == std::vector<int>{0, 1});
}
