// Fixed-work A/B driver for W1 (docs/performance.md, "W1 across issue 6"):
// the same batch, 20 warm-up calls, then N timed train_step (or forward)
// calls; prints the median and 10th-percentile call time in ms. Unlike
// w1_mlp it does the same work in every build, so two builds of Kiln can be
// compared call for call. Build it against a tree's own model and runtime:
//   clang++-19 -O2 -std=c++17 -I <build>/examples/mlp/mlp.kiln \
//     -I <src>/runtime/include bench/ab/fixed_work_mlp.cpp \
//     <build>/examples/mlp/mlp.kiln/mlp.o <build>/lib/libkiln_rt.a -lpthread
// usage: fixed_work_mlp train|infer [N=300]; alternate the two binaries.
#include "mlp.h"
#include <chrono>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>
int main(int argc, char **argv) {
  bool train = argc > 1 && !std::strcmp(argv[1], "train");
  int n = argc > 2 ? std::atoi(argv[2]) : 300;
  mlp_model *m = nullptr;
  if (mlp_create(&m) || mlp_init_parameters(m, 0)) return 1;
  std::mt19937_64 rng(0);
  std::normal_distribution<float> normal;
  std::vector<float> x(MLP_INPUT0_NUMEL), logits(MLP_OUTPUT0_NUMEL);
  for (float &v : x) v = normal(rng);
  std::vector<int64_t> y(MLP_TARGET_NUMEL);
  for (auto &v : y) v = int64_t(rng() % 10);
  const void *in[] = {x.data()};
  void *out[] = {logits.data()};
  float loss = 0;
  mlp_set_training(m, train ? 1 : 0);
  for (int i = 0; i < 20; ++i)
    if (train ? mlp_train_step(m, in, y.data(), &loss) : mlp_forward(m, in, out)) return 2;
  std::vector<double> per;
  for (int i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    if (train ? mlp_train_step(m, in, y.data(), &loss) : mlp_forward(m, in, out)) return 2;
    per.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(per.begin(), per.end());
  std::printf("%.4f %.4f\n", per[per.size() / 2], per[per.size() / 10]);
  mlp_destroy(m);
}
