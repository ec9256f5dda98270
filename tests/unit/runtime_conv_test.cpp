// kiln_sconv_forward / _backward_input / _backward_weight against direct
// double-precision loops: random geometries over 1, 2 and 3 spatial
// dimensions (stride, dilation, padding up to past the kernel, batch 1,
// pixel counts around the column block size, images smaller than a vector),
// plain, grouped and depthwise (channel multiplier 1 to 3), with and without
// bias; and bit-identical results for 1, 2 and 3 threads.
#include "kiln/runtime.h"
#include "../../runtime/lib/gemm.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace {

struct Conv {
  int64_t n, c, f;
  std::array<int64_t, 3> in, out, k, s, pad, d;
  int64_t groups = 1;
  std::vector<int64_t> geometry() const {
    std::vector<int64_t> g = {n, c, f};
    for (const auto *v : {&in, &out, &k, &s, &pad, &d})
      g.insert(g.end(), v->begin(), v->end());
    g.push_back(groups);
    return g;
  }
  int64_t cg() const { return c / groups; } /* input channels per group */
  int64_t inSize() const { return in[0] * in[1] * in[2]; }
  int64_t outSize() const { return out[0] * out[1] * out[2]; }
  int64_t kSize() const { return k[0] * k[1] * k[2]; }
};

/// A random valid convolution over `rank` spatial dims (the others 1):
/// plain, grouped or depthwise.
Conv randomConv(std::mt19937 &rng, int rank) {
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  Conv v;
  v.n = pick(1, 3);
  switch (pick(0, 2)) {
  case 0: /* plain */
    v.c = pick(1, 9);
    v.f = pick(1, 20);
    break;
  case 1: /* grouped: C/G and F/G from 1 to 4 */
    v.groups = pick(2, 6);
    v.c = v.groups * pick(1, 4);
    v.f = v.groups * pick(1, 4);
    break;
  default: /* depthwise, channel multiplier 1 to 3 */
    v.groups = v.c = pick(2, 12);
    v.f = v.c * pick(1, 3);
    break;
  }
  for (int i = 0; i < 3; ++i) {
    bool used = i >= 3 - rank;
    v.k[i] = used ? pick(1, 4) : 1;
    v.s[i] = used ? pick(1, 3) : 1;
    v.d[i] = used ? pick(1, 2) : 1;
    v.pad[i] = used ? pick(0, 3) : 0;
    int64_t span = v.d[i] * (v.k[i] - 1) + 1;
    v.in[i] = used ? std::max<int64_t>(pick(1, rank == 1 ? 300 : 24),
                                       span - 2 * v.pad[i])
                   : 1;
    v.out[i] = (v.in[i] + 2 * v.pad[i] - span) / v.s[i] + 1;
  }
  return v;
}

std::vector<float> randomData(std::mt19937 &rng, int64_t size) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(size);
  for (float &x : v)
    x = u(rng);
  return v;
}

/// Calls visit(x index, w index, y index) for every product of the forward.
template <class Visit> void forEachProduct(const Conv &v, Visit visit) {
  for (int64_t n = 0; n < v.n; ++n)
    for (int64_t f = 0; f < v.f; ++f)
      for (int64_t o = 0; o < v.outSize(); ++o) {
        int64_t o2 = o % v.out[2], o1 = o / v.out[2] % v.out[1],
                o0 = o / v.out[2] / v.out[1];
        // Output channel f reads the input channels of its group.
        int64_t first = f / (v.f / v.groups) * v.cg();
        for (int64_t c = first; c < first + v.cg(); ++c)
          for (int64_t kk = 0; kk < v.kSize(); ++kk) {
            int64_t k2 = kk % v.k[2], k1 = kk / v.k[2] % v.k[1],
                    k0 = kk / v.k[2] / v.k[1];
            int64_t i0 = o0 * v.s[0] + k0 * v.d[0] - v.pad[0];
            int64_t i1 = o1 * v.s[1] + k1 * v.d[1] - v.pad[1];
            int64_t i2 = o2 * v.s[2] + k2 * v.d[2] - v.pad[2];
            if (i0 < 0 || i0 >= v.in[0] || i1 < 0 || i1 >= v.in[1] || i2 < 0 ||
                i2 >= v.in[2])
              continue;
            visit(((n * v.c + c) * v.in[0] + i0) * v.in[1] * v.in[2] +
                      i1 * v.in[2] + i2,
                  (f * v.cg() + c - first) * v.kSize() + kk,
                  (n * v.f + f) * v.outSize() + o);
          }
      }
}

void expectClose(const std::vector<float> &got, const std::vector<double> &want,
                 const std::vector<double> &mag, const char *what,
                 uint32_t seed) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 4e-6 * (mag[i] + 1.0))
        << what << " element " << i << " (seed " << seed << ")";
}

void checkAll(const Conv &v, uint32_t seed, bool bias) {
  std::mt19937 rng(seed);
  std::vector<float> x = randomData(rng, v.n * v.c * v.inSize());
  std::vector<float> w = randomData(rng, v.f * v.cg() * v.kSize());
  std::vector<float> b = randomData(rng, v.f);
  std::vector<float> dy = randomData(rng, v.n * v.f * v.outSize());
  std::vector<int64_t> g = v.geometry();
  ASSERT_EQ(g.size(), size_t(KILN_CONV_GEOMETRY_SIZE));

  std::vector<double> y(dy.size(), 0.0), ymag(dy.size(), 0.0);
  std::vector<double> dx(x.size(), 0.0), dxmag(x.size(), 0.0);
  std::vector<double> dw(w.size(), 0.0), dwmag(w.size(), 0.0);
  if (bias)
    for (size_t i = 0; i < y.size(); ++i) {
      y[i] = b[i / v.outSize() % v.f];
      ymag[i] = std::fabs(y[i]);
    }
  forEachProduct(v, [&](int64_t xi, int64_t wi, int64_t yi) {
    y[yi] += double(x[xi]) * w[wi];
    ymag[yi] += std::fabs(double(x[xi]) * w[wi]);
    dx[xi] += double(dy[yi]) * w[wi];
    dxmag[xi] += std::fabs(double(dy[yi]) * w[wi]);
    dw[wi] += double(dy[yi]) * x[xi];
    dwmag[wi] += std::fabs(double(dy[yi]) * x[xi]);
  });

  std::vector<float> gotY(y.size(), NAN), gotDx(x.size(), NAN), gotDw(w.size(), NAN);
  kiln_sconv_forward(g.data(), x.data(), w.data(), bias ? b.data() : nullptr,
                     gotY.data());
  kiln_sconv_backward_input(g.data(), dy.data(), w.data(), gotDx.data());
  kiln_sconv_backward_weight(g.data(), x.data(), dy.data(), gotDw.data());
  expectClose(gotY, y, ymag, "forward", seed);
  expectClose(gotDx, dx, dxmag, "input gradient", seed);
  expectClose(gotDw, dw, dwmag, "weight gradient", seed);
}

TEST(RuntimeConv, RandomGeometriesMatchDirectLoops) {
  std::mt19937 rng(11);
  for (int i = 0; i < 120; ++i) {
    Conv v = randomConv(rng, 1 + i % 3);
    SCOPED_TRACE(testing::Message() << "case " << i);
    checkAll(v, 500 + i, i % 2 == 0);
  }
}

TEST(RuntimeConv, BlockEdgesAndWideColumns) {
  // Pixel counts just around the column block (64 Ki floats / C K, a
  // multiple of 16), a C K larger than one block's floats, and 1x1 kernels.
  const Conv cases[] = {
      {2, 16, 8, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}},
      {2, 64, 16, {1, 33, 33}, {1, 33, 33}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}},
      {1, 3, 32, {1, 65, 65}, {1, 33, 33}, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}, {1, 1, 1}},
      {2, 8, 4, {1, 17, 17}, {1, 17, 17}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}},
      {1, 2, 3, {1, 1, 5000}, {1, 1, 4996}, {1, 1, 5}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}},
      {1, 1100, 2, {1, 1, 70}, {1, 1, 68}, {1, 1, 3}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}},
  };
  uint32_t seed = 900;
  for (const Conv &v : cases) {
    checkAll(v, seed, seed % 2 == 0);
    ++seed;
  }
}

TEST(RuntimeConv, GroupedAndDepthwiseShapes) {
  // MobileNet-like depthwise layers (stride 1 and 2, multiplier 1 and 2,
  // rows wider than a vector), a ResNeXt-like 32-group layer, 1-d and 3-d
  // depthwise, dilation, and groups whose columns exceed one block.
  const Conv cases[] = {
      {2, 16, 16, {1, 20, 20}, {1, 20, 20}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}, 16},
      {2, 8, 16, {1, 21, 21}, {1, 11, 11}, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}, {1, 1, 1}, 8},
      {1, 64, 64, {1, 14, 14}, {1, 14, 14}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}, 32},
      {2, 6, 12, {1, 1, 100}, {1, 1, 96}, {1, 1, 5}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, 6},
      {1, 4, 4, {6, 7, 8}, {6, 7, 8}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 4},
      {2, 5, 10, {1, 17, 19}, {1, 13, 15}, {1, 3, 3}, {1, 1, 1}, {0, 0, 0}, {1, 2, 2}, 5},
      {1, 1200, 6, {1, 1, 40}, {1, 1, 38}, {1, 1, 3}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, 3},
      // 32 or more output channels per group: the weight gradient's
      // transposed partials, grouped and not, several partials.
      {3, 8, 64, {1, 9, 9}, {1, 9, 9}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}, 2},
      {4, 5, 45, {1, 40, 40}, {1, 20, 20}, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}, {1, 1, 1}},
  };
  uint32_t seed = 1300;
  for (const Conv &v : cases) {
    checkAll(v, seed, seed % 2 == 0);
    ++seed;
  }
}

TEST(RuntimeConv, StrideOneWideChannels) {
  // Stride 1 with >= 16 input and >= 32 output channels per group (the
  // ResNet layers' regime, where the random geometries above never go):
  // 2-d with padding 0, 1, 2 and past the kernel, dilation, non-square
  // kernels, channel counts off the 12-row tile, 1-d, 3-d, grouped, more
  // images than the weight gradient's partials, and one image.
  const Conv cases[] = {
      {3, 32, 32, {1, 12, 12}, {1, 12, 12}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}},
      {2, 17, 33, {1, 9, 11}, {1, 7, 9}, {1, 3, 3}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}},
      {2, 20, 40, {1, 10, 7}, {1, 10, 7}, {1, 5, 5}, {1, 1, 1}, {0, 2, 2}, {1, 1, 1}},
      {1, 16, 48, {1, 6, 6}, {1, 12, 10}, {1, 3, 1}, {1, 1, 1}, {0, 4, 2}, {1, 1, 1}},
      {2, 24, 32, {1, 13, 13}, {1, 13, 9}, {1, 3, 3}, {1, 1, 1}, {0, 2, 2}, {1, 2, 4}},
      {2, 64, 64, {1, 1, 300}, {1, 1, 300}, {1, 1, 3}, {1, 1, 1}, {0, 0, 1}, {1, 1, 1}},
      {2, 16, 32, {5, 6, 7}, {5, 6, 7}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}},
      {2, 32, 64, {1, 9, 9}, {1, 9, 9}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}, 2},
      {19, 16, 32, {1, 5, 6}, {1, 5, 6}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}},
      {1, 64, 64, {1, 30, 30}, {1, 30, 30}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}},
  };
  uint32_t seed = 1400;
  for (const Conv &v : cases) {
    checkAll(v, seed, seed % 2 == 0);
    ++seed;
  }
}

/// A random convolution in the regime of the implicit routines
/// (runtime/lib/conv_implicit.cpp: >= 8 input and output channels per group,
/// output lines of 8 to 16 pixels and more): channel counts on and off their
/// 8- and 12-row tiles and 32-column panels (8 to 70), stride 1 (half the
/// dimensions: the direct forward and input gradient) or 2 to 3 (the
/// innermost one read with a stride), dilation, padding past the kernel, 1-d
/// lines longer than the 256-pixel block, 3-d, grouped.
Conv randomImplicitConv(std::mt19937 &rng, int rank) {
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  Conv v;
  v.n = pick(1, 3);
  v.groups = pick(0, 3) == 0 ? pick(2, 3) : 1;
  v.c = v.groups * pick(8, 40);
  v.f = v.groups * pick(8, 70);
  for (int i = 0; i < 3; ++i) {
    bool used = i >= 3 - rank;
    v.k[i] = used ? pick(1, 4) : 1;
    v.s[i] = used && pick(0, 1) ? pick(2, 3) : 1;
    v.d[i] = used ? pick(1, 2) : 1;
    v.pad[i] = used ? pick(0, 4) : 0;
    int64_t span = v.d[i] * (v.k[i] - 1) + 1;
    // The innermost output line at least 8 to 16 pixels long.
    int64_t least = i == 2 ? (pick(8, 16) - 1) * v.s[i] + span - 2 * v.pad[i]
                           : span - 2 * v.pad[i];
    v.in[i] = used ? std::max<int64_t>(pick(1, rank == 1 ? 600 : 20), least) : 1;
    v.out[i] = (v.in[i] + 2 * v.pad[i] - span) / v.s[i] + 1;
  }
  return v;
}

TEST(RuntimeConv, ImplicitRoutinesGeometries) {
  std::mt19937 rng(23);
  for (int i = 0; i < 40; ++i) {
    Conv v = randomImplicitConv(rng, 1 + i % 3);
    SCOPED_TRACE(testing::Message() << "case " << i);
    checkAll(v, 2000 + i, i % 2 == 0);
  }
}

TEST(RuntimeConv, ImplicitAndColumnPathsAgree) {
  // The same convolutions through the implicit routines (AVX-512 hosts) and
  // through im2col columns (the path every other host takes: forced here by
  // the portable GEMM kernel): forward, input and weight gradient within
  // rounding of each other.
  std::mt19937 rng(29);
  for (int i = 0; i < 16; ++i) {
    Conv v = randomImplicitConv(rng, 1 + i % 3);
    std::vector<float> x = randomData(rng, v.n * v.c * v.inSize());
    std::vector<float> w = randomData(rng, v.f * v.cg() * v.kSize());
    std::vector<float> b = randomData(rng, v.f);
    std::vector<float> dy = randomData(rng, v.n * v.f * v.outSize());
    std::vector<int64_t> g = v.geometry();
    auto all = [&] {
      std::vector<float> y(dy.size()), dx(x.size()), dw(w.size());
      kiln_sconv_forward(g.data(), x.data(), w.data(), b.data(), y.data());
      kiln_sconv_backward_input(g.data(), dy.data(), w.data(), dx.data());
      kiln_sconv_backward_weight(g.data(), x.data(), dy.data(), dw.data());
      y.insert(y.end(), dx.begin(), dx.end());
      y.insert(y.end(), dw.begin(), dw.end());
      return y;
    };
    std::vector<float> implicit = all();
    kiln::rt::force_gemm_kernel_for_testing(kiln::rt::GemmKernel::Portable);
    std::vector<float> columns = all();
    kiln::rt::force_gemm_kernel_for_testing(kiln::rt::GemmKernel::Automatic);
    for (size_t j = 0; j < implicit.size(); ++j)
      ASSERT_NEAR(implicit[j], columns[j], 1e-4f * (std::fabs(columns[j]) + 1.0f))
          << "case " << i << " element " << j << " of y, dx, dw";
  }
}

/// Forward, input gradient and weight gradient of `v` concatenated, for 1,
/// 2 and 3 threads.
std::vector<std::vector<float>> resultsPerThreadCount(const Conv &v) {
  std::mt19937 rng(4);
  std::vector<float> x = randomData(rng, v.n * v.c * v.inSize());
  std::vector<float> w = randomData(rng, v.f * v.cg() * v.kSize());
  std::vector<float> b = randomData(rng, v.f);
  std::vector<float> dy = randomData(rng, v.n * v.f * v.outSize());
  std::vector<int64_t> g = v.geometry();
  int before = kiln_get_num_threads();
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2, 3}) {
    EXPECT_EQ(kiln_set_num_threads(threads), KILN_OK);
    std::vector<float> y(dy.size()), dx(x.size()), dw(w.size());
    kiln_sconv_forward(g.data(), x.data(), w.data(), b.data(), y.data());
    kiln_sconv_backward_input(g.data(), dy.data(), w.data(), dx.data());
    kiln_sconv_backward_weight(g.data(), x.data(), dy.data(), dw.data());
    y.insert(y.end(), dx.begin(), dx.end());
    y.insert(y.end(), dw.begin(), dw.end());
    results.push_back(y);
  }
  EXPECT_EQ(kiln_set_num_threads(before), KILN_OK);
  return results;
}

TEST(RuntimeConv, ThreadCountDoesNotChangeBits) {
  const Conv cases[] = {
      {5, 16, 24, {1, 30, 30}, {1, 15, 15}, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}, {1, 1, 1}},
      {5, 16, 24, {1, 30, 30}, {1, 15, 15}, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}, {1, 1, 1}, 4},
      {5, 16, 32, {1, 30, 30}, {1, 30, 30}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}, 16},
      {5, 16, 40, {1, 30, 30}, {1, 15, 15}, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}, {1, 1, 1}},
      {5, 16, 64, {1, 30, 30}, {1, 15, 15}, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}, {1, 1, 1}, 2},
      {5, 32, 32, {1, 20, 20}, {1, 20, 20}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}},
      {18, 16, 64, {1, 8, 8}, {1, 8, 8}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}, 1},
      // The implicit routines: strided, grouped, long 1-d lines.
      {6, 24, 40, {1, 21, 40}, {1, 11, 20}, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}, {1, 1, 1}},
      {5, 32, 48, {1, 12, 12}, {1, 12, 12}, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, {1, 1, 1}, 2},
      {4, 16, 16, {1, 1, 700}, {1, 1, 700}, {1, 1, 5}, {1, 1, 1}, {0, 0, 2}, {1, 1, 1}},
  };
  for (const Conv &v : cases) {
    SCOPED_TRACE(testing::Message() << "groups " << v.groups);
    std::vector<std::vector<float>> results = resultsPerThreadCount(v);
    EXPECT_EQ(results[0], results[1]);
    EXPECT_EQ(results[0], results[2]);
  }
}

} // namespace
