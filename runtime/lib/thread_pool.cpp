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
    // On an oversubscribed machine the thread we wait for may need our core.
    std::this_thread::yield();
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

/* The ticket packs (generation, chunk count, next unclaimed chunk) into one
 * atomic word, so claiming a chunk is a single CAS that also proves the job
 * is still the one the claimant thinks it is. */
constexpr int kIndexBits = 12; // chunks <= kMaxThreads < 4096
constexpr uint64_t kIndexMask = (uint64_t{1} << kIndexBits) - 1;
static_assert(kMaxThreads <= static_cast<int>(kIndexMask), "ticket too narrow");

uint64_t ticket_generation(uint64_t t) { return t >> (2 * kIndexBits); }
/* Generations wrap within the ticket's 40 bits; a worker would have to sleep
 * through 2^40 loops for a wrapped value to fool it. */
uint64_t next_generation(uint64_t g) {
  return (g + 1) & (~uint64_t{0} >> (2 * kIndexBits));
}
int64_t ticket_chunks(uint64_t t) { return (t >> kIndexBits) & kIndexMask; }
int64_t ticket_next(uint64_t t) { return t & kIndexMask; }
uint64_t make_ticket(uint64_t generation, int64_t chunks) {
  return generation << (2 * kIndexBits) |
         static_cast<uint64_t>(chunks) << kIndexBits;
}

/* The process-wide pool: one job at a time (callers are serialised by
 * run_mutex_), split into `chunks` <= num_threads contiguous chunks.
 *
 * Protocol, lock-free on the fast path:
 *  1. The caller writes the job (body_, ctx_, n_), resets done_, then
 *     publishes a ticket with a new generation (seq_cst store).
 *  2. Every participant, the caller included, claims chunk indices with a CAS
 *     on the ticket and runs them. A successful CAS on generation G proves
 *     job G is still in flight (it cannot finish before the claimed chunk),
 *     so its fields are stable; a worker that wakes late finds the chunks
 *     taken or a newer generation and never reads a stale job. Because the
 *     caller claims whatever is left, a worker that is slow to wake (or
 *     descheduled on a busy machine) never holds the loop up.
 *  3. Idle workers spin briefly on the ticket's generation, then register in
 *     sleepers_ and block on wake_cv_. Both sides use seq_cst (publish, then
 *     read sleepers_ / register, then read the ticket), so either the worker
 *     sees the new ticket or the caller sees the sleeper and notifies under
 *     wake_mutex_: no lost wake-up.
 *  4. The caller waits for done_ == chunks the same way (spin, then block on
 *     done_cv_ with caller_sleeping_ as the handshake).
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
      run_inline(0, n, body, ctx);
      return;
    }
    body_ = body;
    ctx_ = ctx;
    n_ = n;
    done_.store(0, std::memory_order_relaxed);
    generation_ = next_generation(generation_);
    ticket_.store(make_ticket(generation_, chunks));
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> wake(wake_mutex_);
      wake_cv_.notify_all();
    }

    bool outer = t_inside_parallel;
    t_inside_parallel = true;
    run_chunks(generation_);
    t_inside_parallel = outer;

    if (!spin_until([&] { return done_.load() == chunks; })) {
      std::unique_lock<std::mutex> done(done_mutex_);
      caller_sleeping_.store(true);
      done_cv_.wait(done, [&] { return done_.load() == chunks; });
      caller_sleeping_.store(false);
    }
  }

private:
  Pool() : configured_(threads_from_environment()) {}

  static void run_inline(int64_t begin, int64_t end, Body body, void *ctx) {
    bool outer = t_inside_parallel;
    t_inside_parallel = true;
    body(begin, end, ctx);
    t_inside_parallel = outer;
  }

  /* Claims and runs chunks of job `generation` until none is left. */
  void run_chunks(uint64_t generation) {
    uint64_t t = ticket_.load();
    for (;;) {
      if (ticket_generation(t) != generation)
        return;
      const int64_t index = ticket_next(t), chunks = ticket_chunks(t);
      if (index >= chunks)
        return;
      if (!ticket_.compare_exchange_weak(t, t + 1))
        continue; // t now holds the current ticket
      int64_t begin, end;
      chunk_range(n_, chunks, index, &begin, &end);
      body_(begin, end, ctx_);
      if (done_.fetch_add(1) + 1 == chunks && caller_sleeping_.load()) {
        std::lock_guard<std::mutex> done(done_mutex_);
        done_cv_.notify_one();
      }
      t = ticket_.load();
    }
  }

  // Precondition: run_mutex_ held and no job in flight.
  bool start_workers(int count) {
    if (static_cast<int>(workers_.size()) == count)
      return true;
    stop_workers();
    stop_.store(false);
    const uint64_t seen = ticket_generation(ticket_.load());
    try {
      workers_.reserve(count);
      for (int w = 0; w < count; ++w)
        workers_.emplace_back([this, seen] { worker(seen); });
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
    generation_ = next_generation(generation_);
    ticket_.store(make_ticket(generation_, 0));
    {
      std::lock_guard<std::mutex> wake(wake_mutex_);
      wake_cv_.notify_all();
    }
    for (std::thread &t : workers_)
      t.join();
    workers_.clear();
  }

  void worker(uint64_t seen) {
    t_inside_parallel = true;
    for (;;) {
      seen = wait_for_job(seen);
      if (stop_.load())
        return;
      run_chunks(seen);
    }
  }

  uint64_t wait_for_job(uint64_t seen) {
    uint64_t generation = seen;
    auto fresh = [&] {
      generation = ticket_generation(ticket_.load());
      return generation != seen;
    };
    if (spin_until(fresh))
      return generation;
    std::unique_lock<std::mutex> wake(wake_mutex_);
    sleepers_.fetch_add(1);
    while (!fresh())
      wake_cv_.wait(wake);
    sleepers_.fetch_sub(1);
    return generation;
  }

  std::atomic<int> configured_;
  std::mutex run_mutex_; // one job (or resize) at a time
  std::vector<std::thread> workers_;
  uint64_t generation_ = 0; // guarded by run_mutex_

  // The job; written by the caller before the ticket is published.
  Body body_ = nullptr;
  void *ctx_ = nullptr;
  int64_t n_ = 0;

  std::atomic<uint64_t> ticket_{0};
  std::atomic<int64_t> done_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int> sleepers_{0};
  std::mutex wake_mutex_;
  std::condition_variable wake_cv_;

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
