// The GEMM benchmark (issue 11 item 1): times libkiln_rt's kiln_sgemm, the
// kernel every 2-D contraction of generated code calls
// (kiln-cpu-gemm-to-runtime), on the shapes of shapes.def, in the layouts the
// compiler passes (transposes as strides). Prints one RESULT line per shape:
//   RESULT <name> <M> <K> <N> <layout> <median ms> <min ms> <max ms> <GFLOP/s>
// usage: gemm_bench <shapes.def> [--quick]
#include "kiln/runtime.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: gemm_bench <shapes.def> [--quick]\n");
    return 2;
  }
  bool quick = argc > 2 && std::strcmp(argv[2], "--quick") == 0;
  std::ifstream in(argv[1]);
  if (!in) {
    std::fprintf(stderr, "gemm_bench: cannot read %s\n", argv[1]);
    return 1;
  }
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    std::istringstream fields(line);
    std::string name, layout;
    int64_t m, k, n;
    if (!(fields >> name >> m >> k >> n >> layout)) {
      std::fprintf(stderr, "gemm_bench: bad line: %s\n", line.c_str());
      return 1;
    }
    std::vector<float> a(m * k), b(k * n), c(m * n);
    for (float &x : a) x = u(rng);
    for (float &x : b) x = u(rng);
    bool ta = layout[0] == 't', tb = layout[1] == 't';
    int64_t a_row = ta ? 1 : k, a_col = ta ? m : 1;
    int64_t b_row = tb ? 1 : n, b_col = tb ? k : 1;
    double flop = 2.0 * m * n * k;
    int reps = std::clamp<int>(int(2e9 / flop), 3, quick ? 20 : 200);
    int rounds = quick ? 3 : 9;
    std::vector<double> ms;
    kiln_sgemm(m, n, k, a.data(), a_row, a_col, b.data(), b_row, b_col,
               c.data(), n, 0); // warm-up: pack buffers, pool threads
    for (int r = 0; r < rounds; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < reps; ++i)
        kiln_sgemm(m, n, k, a.data(), a_row, a_col, b.data(), b_row, b_col,
                   c.data(), n, 0);
      auto t1 = std::chrono::steady_clock::now();
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count() /
                   reps);
    }
    std::sort(ms.begin(), ms.end());
    double med = ms[ms.size() / 2];
    std::printf("RESULT %s %lld %lld %lld %s %.4f %.4f %.4f %.1f\n",
                name.c_str(), (long long)m, (long long)k, (long long)n,
                layout.c_str(), med, ms.front(), ms.back(), flop / med / 1e6);
    std::fflush(stdout);
  }
  return 0;
}
