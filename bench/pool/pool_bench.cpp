// The thread pool's fork/join cost (issue 11 item 3): what one
// kiln_parallel_for costs beyond its work, which is what the compiler's
// threading thresholds (kGenericGrain in codegen/cpu/TileAndVectorize.cpp,
// kMinTaskFlops in runtime/lib/gemm.cpp) must outweigh. Prints
//   POOL <case> <threads> <median ns> <min ns> <max ns>
// for: an empty loop called back to back (the pool's workers still
// spinning: the common case inside a train step), the same after an idle
// gap past the workers' spin time (they sleep: a futex wake-up), and a
// ReLU over n floats sequential vs on the pool (where threading starts to
// pay), at KILN_NUM_THREADS / --threads threads.
//
// usage: pool_bench [--threads N]
#include <kiln/runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

void nothing(int64_t, int64_t, void *) {}

struct Relu {
  const float *x;
  float *y;
  int64_t n;
};

void relu_chunk(int64_t begin, int64_t end, void *ctx) {
  // Chunks of the worker index space map to element ranges.
  auto &r = *static_cast<Relu *>(ctx);
  int64_t workers = kiln_get_num_threads();
  int64_t lo = begin * r.n / workers, hi = end * r.n / workers;
  for (int64_t i = lo; i < hi; ++i)
    r.y[i] = r.x[i] > 0.0f ? r.x[i] : 0.0f;
}

void relu_all(int64_t, int64_t, void *ctx) {
  auto &r = *static_cast<Relu *>(ctx);
  for (int64_t i = 0; i < r.n; ++i)
    r.y[i] = r.x[i] > 0.0f ? r.x[i] : 0.0f;
}

/* Median, min and max of `runs` timings (ns per call) of `calls` calls of
 * fn each, with `gap` of idle time before every call. */
template <class F>
void report(const char *name, F fn, int runs, int calls, std::chrono::microseconds gap) {
  std::vector<double> per;
  for (int r = 0; r < runs; ++r) {
    double total = 0;
    for (int c = 0; c < calls; ++c) {
      if (gap.count() > 0)
        std::this_thread::sleep_for(gap);
      auto t0 = Clock::now();
      fn();
      total += std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    }
    per.push_back(total / calls);
  }
  std::sort(per.begin(), per.end());
  std::printf("POOL %s %d %.0f %.0f %.0f\n", name, kiln_get_num_threads(), per[per.size() / 2],
              per.front(), per.back());
}

} // namespace

int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      if (kiln_set_num_threads(std::atoi(argv[++i])) != KILN_OK)
        return 2;
    } else {
      std::fprintf(stderr, "usage: pool_bench [--threads N]\n");
      return 2;
    }
  }
  const int64_t workers = kiln_get_num_threads();
  kiln_parallel_for(workers, nothing, nullptr); // start the pool
  report("empty_hot", [&] { kiln_parallel_for(workers, nothing, nullptr); }, 21, 2000,
         std::chrono::microseconds(0));
  report("empty_after_1ms_idle", [&] { kiln_parallel_for(workers, nothing, nullptr); }, 11, 50,
         std::chrono::microseconds(1000));
  for (int64_t n : {1024, 4096, 16384, 65536, 262144}) {
    std::vector<float> x(n), y(n);
    for (int64_t i = 0; i < n; ++i)
      x[i] = static_cast<float>(i % 7) - 3.0f;
    Relu r{x.data(), y.data(), n};
    char name[64];
    std::snprintf(name, sizeof name, "relu_%lld_sequential", static_cast<long long>(n));
    report(name, [&] { relu_all(0, 1, &r); }, 21, 200, std::chrono::microseconds(0));
    std::snprintf(name, sizeof name, "relu_%lld_pool", static_cast<long long>(n));
    report(name, [&] { kiln_parallel_for(workers, relu_chunk, &r); }, 21, 200,
           std::chrono::microseconds(0));
  }
  return 0;
}
