#include "error.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KILN_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define KILN_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define KILN_CPU_RELAX() ((void)0)
#endif

namespace {

using Body = void (*)(int64_t, int64_t, void *);

/* True on pool workers always, and on a caller while it runs its own chunk:
 * a nested kiln_parallel_for then runs inline instead of deadlocking on the
 * run mutex its own caller holds. */
thread_local bool t_inside_parallel = false;

constexpr int kMaxThreads = 1024;

/* How long a waiting thread spins before it blocks. Training steps issue
 * parallel loops back to back, so the next one usually comes within a few
 * microseconds and a futex wake-up would dominate; an idle pool must not burn
 * CPU, so after this it sleeps on a condition variable. */
constexpr std::chrono::microseconds kSpinTime{50};

template <typename Ready> bool spin_until(Ready ready) {
  auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready())
        return true;
      KILN_CPU_RELAX();
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return ready();
  }
}

int threads_from_environment() {
  if (const char *env = std::getenv("KILN_NUM_THREADS")) {
    char *end = nullptr;
    long n = std::strtol(env, &end, 10);
    // A malformed value cannot be reported (there is no call to fail), so it
    // falls back to the hardware default rather than to something surprising.
    if (end != env && *end == '\0' && n >= 1 && n <= kMaxThreads)
      return static_cast<int>(n);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(std::min<unsigned>(hw, kMaxThreads));
}

/* Chunk i of `chunks` near-equal contiguous chunks of [0, n); the first
 * n % chunks chunks get one extra index. Written without n * i so that it
 * cannot overflow for any n. */
void chunk_range(int64_t n, int64_t chunks, int64_t i, int64_t *begin,
                 int64_t *end) {
  int64_t q = n / chunks, r = n % chunks;
  *begin = i * q + std::min(i, r);
  *end = *begin + q + (i < r ? 1 : 0);
}

/* The process-wide pool. One job at a time (callers are serialised by
 * run_mutex_); the caller runs chunk 0 and worker w runs chunk w.
 *
 * Hand-off protocol, lock-free on the fast path:
 *  1. The caller writes the job fields, sets remaining_ to the number of
 *     workers, then bumps generation_ (seq_cst, so the job is visible to
 *     every worker that sees the new generation).
 *  2. A worker spins on generation_, then registers in sleepers_ and blocks on
 *     wake_cv_. Because both sides use seq_cst (bump-then-read-sleepers versus
 *     register-then-read-generation), either the worker sees the bump or the
 *     caller sees the sleeper and notifies under wake_mutex_: no lost wake-up.
 *  3. Every worker (with or without a chunk) decrements remaining_ when done,
 *     so no worker still reads the job when the caller returns; the caller
 *     waits on remaining_ with the same spin-then-block scheme.
 */
class Pool {
public:
  static Pool &get() {
    // Deliberately leaked: workers may still be blocked at exit, and a pool
    // destroyed by static destruction would break parallel loops called from
    // other static destructors.
    static Pool *pool = new Pool();
    return *pool;
  }

  int num_threads() const { return configured_.load(std::memory_order_relaxed); }

  kiln_status set_num_threads(int n) {
    if (n < 1 || n > kMaxThreads)
      return kiln::rt::set_thread_error(
          KILN_ERROR_INVALID_ARGUMENT,
          "kiln_set_num_threads: " + std::to_string(n) + " is not in [1, " +
              std::to_string(kMaxThreads) + "]");
    if (t_inside_parallel)
      return kiln::rt::set_thread_error(
          KILN_ERROR_INVALID_ARGUMENT,
          "kiln_set_num_threads: called from inside kiln_parallel_for");
    std::lock_guard<std::mutex> lock(run_mutex_);
    configured_.store(n, std::memory_order_relaxed);
    if (!workers_.empty() && static_cast<int>(workers_.size()) != n - 1)
      stop_workers(); // the next parallel loop starts the right number
    return KILN_OK;
  }

  void run(int64_t n, Body body, void *ctx) {
    int64_t chunks = std::min<int64_t>(num_threads(), n);
    if (t_inside_parallel || chunks <= 1) {
      body(0, n, ctx);
      return;
    }
    std::lock_guard<std::mutex> lock(run_mutex_);
    // Re-read under the lock: a concurrent kiln_set_num_threads may have won.
    chunks = std::min<int64_t>(num_threads(), n);
    if (chunks <= 1 || !start_workers(num_threads() - 1)) {
      run_inline(n, body, ctx);
      return;
    }
    body_ = body;
    ctx_ = ctx;
    n_ = n;
    chunks_ = chunks;
    remaining_.store(static_cast<int>(workers_.size()));
    generation_.fetch_add(1);
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> wake(wake_mutex_);
      wake_cv_.notify_all();
    }

    int64_t begin, end;
    chunk_range(n, chunks, 0, &begin, &end);
    run_inline_range(begin, end, body, ctx);

    if (!spin_until([this] { return remaining_.load() == 0; })) {
      std::unique_lock<std::mutex> done(done_mutex_);
      caller_sleeping_.store(true);
      done_cv_.wait(done, [this] { return remaining_.load() == 0; });
      caller_sleeping_.store(false);
    }
  }

private:
  Pool() : configured_(threads_from_environment()) {}

  static void run_inline_range(int64_t begin, int64_t end, Body body,
                               void *ctx) {
    bool outer = t_inside_parallel;
    t_inside_parallel = true;
    body(begin, end, ctx);
    t_inside_parallel = outer;
  }
  static void run_inline(int64_t n, Body body, void *ctx) {
    run_inline_range(0, n, body, ctx);
  }

  // Precondition: run_mutex_ held and no job in flight.
  bool start_workers(int count) {
    if (static_cast<int>(workers_.size()) == count)
      return true;
    stop_workers();
    stop_.store(false);
    uint64_t generation = generation_.load();
    try {
      workers_.reserve(count);
      for (int w = 1; w <= count; ++w)
        workers_.emplace_back([this, w, generation] { worker(w, generation); });
    } catch (...) {
      // No threads to be had (resource limits): run loops on the caller.
      stop_workers();
      configured_.store(1, std::memory_order_relaxed);
      kiln::rt::set_thread_error(KILN_ERROR_OUT_OF_MEMORY,
                                 "kiln_parallel_for: could not start worker "
                                 "threads; running single-threaded");
      return false;
    }
    return true;
  }

  // Precondition: run_mutex_ held and no job in flight.
  void stop_workers() {
    if (workers_.empty())
      return;
    stop_.store(true);
    generation_.fetch_add(1);
    {
      std::lock_guard<std::mutex> wake(wake_mutex_);
      wake_cv_.notify_all();
    }
    for (std::thread &t : workers_)
      t.join();
    workers_.clear();
  }

  void worker(int index, uint64_t seen) {
    t_inside_parallel = true;
    for (;;) {
      seen = wait_for_job(seen);
      if (stop_.load())
        return;
      if (index < chunks_) {
        int64_t begin, end;
        chunk_range(n_, chunks_, index, &begin, &end);
        body_(begin, end, ctx_);
      }
      if (remaining_.fetch_sub(1) == 1 && caller_sleeping_.load()) {
        std::lock_guard<std::mutex> done(done_mutex_);
        done_cv_.notify_one();
      }
    }
  }

  uint64_t wait_for_job(uint64_t seen) {
    uint64_t generation = seen;
    if (spin_until([&] { return (generation = generation_.load()) != seen; }))
      return generation;
    std::unique_lock<std::mutex> wake(wake_mutex_);
    sleepers_.fetch_add(1);
    while ((generation = generation_.load()) == seen)
      wake_cv_.wait(wake);
    sleepers_.fetch_sub(1);
    return generation;
  }

  std::atomic<int> configured_;
  std::mutex run_mutex_; // one job (or resize) at a time
  std::vector<std::thread> workers_;

  // The job; written by the caller before the generation bump.
  Body body_ = nullptr;
  void *ctx_ = nullptr;
  int64_t n_ = 0;
  int64_t chunks_ = 0;

  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int> sleepers_{0};
  std::mutex wake_mutex_;
  std::condition_variable wake_cv_;

  std::atomic<int> remaining_{0};
  std::atomic<bool> caller_sleeping_{false};
  std::mutex done_mutex_;
  std::condition_variable done_cv_;
};

} // namespace

extern "C" int kiln_get_num_threads(void) { return Pool::get().num_threads(); }

extern "C" kiln_status kiln_set_num_threads(int n) {
  KILN_API_GUARD_BEGIN
  return Pool::get().set_num_threads(n);
  KILN_API_GUARD_END(kiln::rt::set_thread_error)
}

/* Precondition: body does not throw (it is C code generated by kilnc). A NULL
 * body is recorded in kiln_last_error() and ignored: the signature has no
 * status to return. */
extern "C" void kiln_parallel_for(int64_t n, Body body, void *ctx) {
  if (n <= 0)
    return;
  if (!body) {
    kiln::rt::set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                               "kiln_parallel_for: body is NULL");
    return;
  }
  Pool::get().run(n, body, ctx);
}
