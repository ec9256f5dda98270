// One benchmark workload (shared/bench/workloads.py) on Kiln: a model compiled
// by kilnc, timed the way shared/bench/common.py times PyTorch: warm-up, then
// the median over `runs` timed runs of the per-call time, each run `k`
// back-to-back calls with k chosen so that a run lasts >= min_run_s. Random
// inputs (N(0, 1)) and targets, like workloads.py. Prints one `RESULT {json}`
// line. Compiled once per workload (bench/CMakeLists.txt) with
//   -DKILN_PREFIX=<model> -DKILN_PREFIX_UPPER=<MODEL> -DKILN_HEADER="<model>.h"
//   -DKILN_WORKLOAD=W<n> -DKILN_GFLOP_FWD=<forward GFLOP per batch, the
//   formula of workloads.py>
//
// usage: w<n>_<model> [--threads N]   (default: KILN_NUM_THREADS, else all cores)
#include KILN_HEADER

#include <kiln/runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <sys/resource.h>
#include <vector>

#define KILN_CAT_(a, b) a##b
#define KILN_CAT(a, b) KILN_CAT_(a, b)
#define KFN(suffix) KILN_CAT(KILN_PREFIX, suffix)
#define KCONST(suffix) KILN_CAT(KILN_PREFIX_UPPER, suffix)
#define KSTR_(x) #x
#define KSTR(x) KSTR_(x)

namespace {

typedef KFN(_model) model_t;
const char *const kProgram = "bench " KSTR(KILN_WORKLOAD);

struct Timing {
  double median, min, max; // seconds per call
};

template <class F>
Timing bench(F fn, int warmup, int runs, double min_run_s) {
  using clock = std::chrono::steady_clock;
  auto secs = [](clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  for (int i = 0; i < warmup; ++i)
    fn();
  auto t0 = clock::now();
  fn();
  double one = std::max(secs(t0, clock::now()), 1e-7);
  long k = std::max(1L, std::min(10000L, long(min_run_s / one)));
  std::vector<double> per;
  for (int r = 0; r < runs; ++r) {
    t0 = clock::now();
    for (long i = 0; i < k; ++i)
      fn();
    per.push_back(secs(t0, clock::now()) / double(k));
  }
  std::sort(per.begin(), per.end());
  return {per[per.size() / 2], per.front(), per.back()};
}

// Peak resident set in MiB: ru_maxrss (what common.py reports) and VmHWM.
double maxrss_mib() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_maxrss) / 1024.0;
}

double vmhwm_mib() {
  FILE *f = std::fopen("/proc/self/status", "r");
  if (!f)
    return -1;
  char line[256];
  double kib = -1;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "VmHWM:", 6) == 0)
      kib = std::atof(line + 6);
  std::fclose(f);
  return kib / 1024.0;
}

void check(int status, const model_t *model, const char *what) {
  if (status != KILN_OK) {
    std::fprintf(stderr, "%s: %s failed (status %d): %s\n", kProgram, what, status,
                 KFN(_last_error)(model));
    std::exit(1);
  }
}

} // namespace

int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      if (kiln_set_num_threads(std::atoi(argv[++i])) != KILN_OK) {
        std::fprintf(stderr, "%s: %s\n", kProgram, kiln_last_error());
        return 2;
      }
    } else {
      std::fprintf(stderr, "usage: %s [--threads N]\n", argv[0]);
      return 2;
    }
  }
  double rss_start = maxrss_mib();
  model_t *model = nullptr;
  check(KFN(_create)(&model), nullptr, KSTR(KILN_PREFIX) "_create");
  check(KFN(_init_parameters)(model, 0), model, KSTR(KILN_PREFIX) "_init_parameters");
  int64_t params = 0;
  for (int i = 0; i < KFN(_num_parameters)(model); ++i) {
    const char *name;
    float *data;
    int64_t numel;
    check(KFN(_parameter)(model, i, &name, &data, &numel), model, KSTR(KILN_PREFIX) "_parameter");
    params += numel;
  }

  std::mt19937_64 rng(0);
  std::normal_distribution<float> normal;
  std::vector<float> x(KCONST(_INPUT0_NUMEL)), logits(KCONST(_OUTPUT0_NUMEL));
  for (float &v : x)
    v = normal(rng);
  const int64_t classes = KCONST(_OUTPUT0_NUMEL) / KCONST(_BATCH_SIZE);
  std::vector<int64_t> y(KCONST(_TARGET_NUMEL));
  for (int64_t &v : y)
    v = int64_t(rng() % uint64_t(classes));
  const void *inputs[] = {x.data()};
  void *outputs[] = {logits.data()};
  double rss_build = maxrss_mib();

  check(KFN(_set_training)(model, 0), model, KSTR(KILN_PREFIX) "_set_training(0)");
  Timing inf = bench([&] { check(KFN(_forward)(model, inputs, outputs), model, KSTR(KILN_PREFIX) "_forward"); },
                     10, 9, 0.25);
  double rss_infer = maxrss_mib();

  check(KFN(_set_training)(model, 1), model, KSTR(KILN_PREFIX) "_set_training(1)");
  float loss = 0, first_loss = -1;
  check(KFN(_train_step)(model, inputs, y.data(), &first_loss), model, KSTR(KILN_PREFIX) "_train_step");
  Timing tr = bench([&] { check(KFN(_train_step)(model, inputs, y.data(), &loss), model, KSTR(KILN_PREFIX) "_train_step"); },
                    10, 9, 0.25);
  double rss_train = maxrss_mib();
  // Sanity: the same batch over and over must be learnt.
  if (!std::isfinite(loss) || !(loss < first_loss)) {
    std::fprintf(stderr, "%s: loss did not decrease (%g -> %g)\n", kProgram, first_loss, loss);
    return 1;
  }

  const double B = KCONST(_BATCH_SIZE);
  const double gflop_fwd = (KILN_GFLOP_FWD);
  std::printf("RESULT {\"kind\": \"workload\", \"impl\": \"kiln\", \"model\": \"" KSTR(KILN_WORKLOAD) "\", "
              "\"threads\": %d, \"params\": %lld, \"gflop_fwd\": %.6f, "
              "\"infer_ms\": %.4f, \"infer_ms_min\": %.4f, \"infer_ms_max\": %.4f, "
              "\"train_ms\": %.4f, \"train_ms_min\": %.4f, \"train_ms_max\": %.4f, "
              "\"infer_gflops\": %.2f, \"train_gflops\": %.2f, "
              "\"first_loss\": %.5f, \"last_loss\": %.5f, "
              "\"rss_start_mib\": %.1f, \"rss_build_mib\": %.1f, \"rss_infer_mib\": %.1f, "
              "\"rss_peak_mib\": %.1f, \"vmhwm_mib\": %.1f}\n",
              kiln_get_num_threads(), (long long)params, gflop_fwd,
              inf.median * 1e3, inf.min * 1e3, inf.max * 1e3,
              tr.median * 1e3, tr.min * 1e3, tr.max * 1e3,
              gflop_fwd / inf.median, 3 * gflop_fwd / tr.median,
              first_loss, loss, rss_start, rss_build, rss_infer, rss_train,
              vmhwm_mib());
  KFN(_destroy)(model);
  return 0;
}
