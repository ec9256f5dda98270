// The convolution benchmark's per-op Kiln side: times the runtime routines
// themselves (kiln_sconv_forward / _backward_input / _backward_weight, what
// generated code calls) on every shape of shapes.def, as conv_torch.py times
// aten's ops alone, so that no figure has to be derived from whole-model
// calls (which add the loss, the bias gradient and the subtraction's noise).
// Prints `KERNEL <shape> <fwd_ms> <input_grad_ms> <weight_grad_ms>`.
//
// usage: conv_kernels [--threads N] [--quick] [--only <shape>[,<shape>...]]
#include <kiln/runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

struct Shape {
  const char *name;
  int64_t n, c, f, h, w, k, s, p, g;
};

const Shape kShapes[] = {
#define SHAPE(name, n, c, f, h, w, k, s, p, g) {#name, n, c, f, h, w, k, s, p, g},
#include "shapes.def"
#undef SHAPE
};

template <class F> double medianMs(F fn, int runs, double minRunS) {
  using clock = std::chrono::steady_clock;
  auto secs = [](clock::time_point a, clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  fn();
  auto t0 = clock::now();
  fn();
  double one = std::max(secs(t0, clock::now()), 1e-7);
  long k = std::max(1L, std::min(10000L, long(minRunS / one)));
  std::vector<double> per;
  for (int r = 0; r < runs; ++r) {
    t0 = clock::now();
    for (long i = 0; i < k; ++i)
      fn();
    per.push_back(secs(t0, clock::now()) / double(k));
  }
  std::sort(per.begin(), per.end());
  return per[per.size() / 2] * 1e3;
}

std::vector<float> randomData(std::mt19937_64 &rng, int64_t size) {
  std::normal_distribution<float> normal;
  std::vector<float> v(size);
  for (float &x : v)
    x = normal(rng);
  return v;
}

} // namespace

int main(int argc, char **argv) {
  int runs = 5;
  double minRunS = 0.2;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      if (kiln_set_num_threads(std::atoi(argv[++i])) != KILN_OK)
        return 2;
    } else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) {
      only = std::string(",") + argv[++i] + ",";
    } else if (!std::strcmp(argv[i], "--quick")) {
      runs = 1;
      minRunS = 0;
    } else {
      std::fprintf(stderr, "usage: conv_kernels [--threads N] [--quick] [--only <shape>[,<shape>...]]\n");
      return 2;
    }
  }
  std::mt19937_64 rng(0);
  for (const Shape &s : kShapes) {
    if (!only.empty() && only.find(std::string(",") + s.name + ",") == std::string::npos)
      continue;
    int64_t oh = (s.h + 2 * s.p - s.k) / s.s + 1, ow = (s.w + 2 * s.p - s.k) / s.s + 1;
    const std::vector<int64_t> geometry = {
        s.n, s.c, s.f, 1, s.h, s.w, 1, oh, ow, 1, s.k, s.k,
        1,   s.s, s.s, 0, s.p, s.p, 1, 1,  1,  s.g};
    if (geometry.size() != KILN_CONV_GEOMETRY_SIZE)
      return 2;
    std::vector<float> x = randomData(rng, s.n * s.c * s.h * s.w);
    std::vector<float> w = randomData(rng, s.f * (s.c / s.g) * s.k * s.k);
    std::vector<float> b = randomData(rng, s.f);
    std::vector<float> dy = randomData(rng, s.n * s.f * oh * ow);
    std::vector<float> y(dy.size()), dx(x.size()), dw(w.size());
    const int64_t *g = geometry.data();
    double fwd = medianMs([&] { kiln_sconv_forward(g, x.data(), w.data(), b.data(), y.data()); },
                          runs, minRunS);
    double dgrad = medianMs([&] { kiln_sconv_backward_input(g, dy.data(), w.data(), dx.data()); },
                            runs, minRunS);
    double wgrad = medianMs([&] { kiln_sconv_backward_weight(g, x.data(), dy.data(), dw.data()); },
                            runs, minRunS);
    std::printf("KERNEL %s %.3f %.3f %.3f\n", s.name, fwd, dgrad, wgrad);
    std::fflush(stdout);
  }
  return 0;
}
