// W1 on Kiln: the MLP 784-512-512-10 (batch 128, CrossEntropy, SGD lr 0.01
// momentum 0.9) compiled by kilnc from examples/mlp/mlp_model.cpp, timed the
// way shared/bench/common.py times PyTorch: warm-up, then the median over
// `runs` timed runs of the per-call time, each run `k` back-to-back calls
// with k chosen so that a run lasts >= min_run_s. Random inputs (N(0, 1)) and
// targets, like workloads.py. Prints one `RESULT {json}` line.
//
// usage: w1_mlp [--threads N]   (default: KILN_NUM_THREADS, else all cores)
#include "mlp.h"

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

namespace {

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

void check(int status, const mlp_model *model, const char *what) {
  if (status != KILN_OK) {
    std::fprintf(stderr, "w1_mlp: %s failed (status %d): %s\n", what, status,
                 mlp_last_error(model));
    std::exit(1);
  }
}

} // namespace

int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      if (kiln_set_num_threads(std::atoi(argv[++i])) != KILN_OK) {
        std::fprintf(stderr, "w1_mlp: %s\n", kiln_last_error());
        return 2;
      }
    } else {
      std::fprintf(stderr, "usage: w1_mlp [--threads N]\n");
      return 2;
    }
  }
  double rss_start = maxrss_mib();
  mlp_model *model = nullptr;
  check(mlp_create(&model), nullptr, "mlp_create");
  check(mlp_init_parameters(model, 0), model, "mlp_init_parameters");
  int64_t params = 0;
  for (int i = 0; i < mlp_num_parameters(model); ++i) {
    const char *name;
    float *data;
    int64_t numel;
    check(mlp_parameter(model, i, &name, &data, &numel), model, "mlp_parameter");
    params += numel;
  }

  std::mt19937_64 rng(0);
  std::normal_distribution<float> normal;
  std::vector<float> x(MLP_INPUT0_NUMEL), logits(MLP_OUTPUT0_NUMEL);
  for (float &v : x)
    v = normal(rng);
  const int64_t classes = MLP_OUTPUT0_NUMEL / MLP_BATCH_SIZE;
  std::vector<int64_t> y(MLP_TARGET_NUMEL);
  for (int64_t &v : y)
    v = int64_t(rng() % uint64_t(classes));
  const void *inputs[] = {x.data()};
  void *outputs[] = {logits.data()};
  double rss_build = maxrss_mib();

  check(mlp_set_training(model, 0), model, "mlp_set_training(0)");
  Timing inf = bench([&] { check(mlp_forward(model, inputs, outputs), model, "mlp_forward"); },
                     10, 9, 0.25);
  double rss_infer = maxrss_mib();

  check(mlp_set_training(model, 1), model, "mlp_set_training(1)");
  float loss = 0, first_loss = -1;
  check(mlp_train_step(model, inputs, y.data(), &first_loss), model, "mlp_train_step");
  Timing tr = bench([&] { check(mlp_train_step(model, inputs, y.data(), &loss), model, "mlp_train_step"); },
                    10, 9, 0.25);
  double rss_train = maxrss_mib();
  // Sanity: the same batch over and over must be learnt.
  if (!std::isfinite(loss) || !(loss < first_loss)) {
    std::fprintf(stderr, "w1_mlp: loss did not decrease (%g -> %g)\n", first_loss, loss);
    return 1;
  }

  const double B = MLP_BATCH_SIZE;
  const double gflop_fwd = 2 * B * (784 * 512 + 512 * 512 + 512 * 10) / 1e9;
  std::printf("RESULT {\"kind\": \"workload\", \"impl\": \"kiln\", \"model\": \"W1\", "
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
  mlp_destroy(model);
  return 0;
}
