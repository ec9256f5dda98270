// Fixed-work A/B driver for a wide classification head (bench/ab/
// wide_ce.json: Linear 32 -> 8192, batch 128, CrossEntropyLoss with label
// smoothing), where the loss and its gradient, not the GEMM, are most of
// the train step (docs/performance.md, "Cross entropy in one pass"). The
// same batch, 20 warm-up then N timed train_step calls; prints the median
// and 10th-percentile call time in ms. Build it against each tree's own
// object and runtime:
//   kilnc bench/ab/wide_ce.json -o wide_ce.o
//   clang++-19 -O2 -std=c++17 -I . -I <src>/runtime/include \
//     bench/ab/fixed_work_wide_ce.cpp wide_ce.o <build>/lib/libkiln_rt.a -ldl -lpthread
// usage: fixed_work_wide_ce [N=200]; alternate the binaries of the two trees.
#include "wide_ce.h"
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>
int main(int argc, char **argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 200;
  wide_ce_model *m = nullptr;
  if (wide_ce_create(&m) || wide_ce_init_parameters(m, 0)) return 1;
  std::mt19937_64 rng(0);
  std::normal_distribution<float> normal;
  std::vector<float> x(WIDE_CE_INPUT0_NUMEL);
  for (float &v : x) v = normal(rng);
  std::vector<int64_t> y(WIDE_CE_TARGET_NUMEL);
  for (auto &v : y) v = int64_t(rng() % 8192);
  const void *in[] = {x.data()};
  float loss = 0;
  wide_ce_set_training(m, 1);
  for (int i = 0; i < 20; ++i)
    if (wide_ce_train_step(m, in, y.data(), &loss)) return 2;
  std::vector<double> per;
  for (int i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    if (wide_ce_train_step(m, in, y.data(), &loss)) return 2;
    per.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(per.begin(), per.end());
  std::printf("%.4f %.4f\n", per[per.size() / 2], per[per.size() / 10]);
  wide_ce_destroy(m);
}
