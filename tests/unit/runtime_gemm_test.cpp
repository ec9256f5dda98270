// kiln_sgemm against a double-precision reference: every transposition of A
// and B (as strides), padded leading dimensions, accumulate on and off, edge
// sizes around the 12 x 32 register tile and the 256-wide K block, both
// micro-kernels, one and two threads (bit-identical).
#include "kiln/runtime.h"
#include "../../runtime/lib/gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace {

struct Case {
  int64_t m, n, k;
  bool trans_a, trans_b, accumulate;
  int64_t pad; // extra elements per leading dimension
};

struct Operands {
  std::vector<float> a, b, c;
  int64_t a_row, a_col, b_row, b_col, c_row;
};

Operands make(const Case &t, std::mt19937 &rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Operands o;
  int64_t lda = (t.trans_a ? t.m : t.k) + t.pad;
  int64_t ldb = (t.trans_b ? t.k : t.n) + t.pad;
  o.c_row = t.n + t.pad;
  o.a.resize((t.trans_a ? t.k : t.m) * lda + 1);
  o.b.resize((t.trans_b ? t.n : t.k) * ldb + 1);
  o.c.resize(t.m * o.c_row + 1);
  for (float &x : o.a) x = u(rng);
  for (float &x : o.b) x = u(rng);
  for (float &x : o.c) x = u(rng);
  o.a_row = t.trans_a ? 1 : lda;
  o.a_col = t.trans_a ? lda : 1;
  o.b_row = t.trans_b ? 1 : ldb;
  o.b_col = t.trans_b ? ldb : 1;
  return o;
}

void check(const Case &t, uint32_t seed) {
  std::mt19937 rng(seed);
  Operands o = make(t, rng);
  std::vector<float> c = o.c;
  kiln_sgemm(t.m, t.n, t.k, o.a.data(), o.a_row, o.a_col, o.b.data(), o.b_row,
             o.b_col, c.data(), o.c_row, t.accumulate);
  for (int64_t i = 0; i < t.m; ++i)
    for (int64_t j = 0; j < t.n; ++j) {
      double want = t.accumulate ? o.c[i * o.c_row + j] : 0.0, mag = 0.0;
      for (int64_t p = 0; p < t.k; ++p) {
        double x = double(o.a[i * o.a_row + p * o.a_col]) *
                   o.b[p * o.b_row + j * o.b_col];
        want += x;
        mag += std::fabs(x);
      }
      ASSERT_NEAR(c[i * o.c_row + j], want, 1e-6 * (mag + 1.0) * 4)
          << "m=" << t.m << " n=" << t.n << " k=" << t.k << " ta=" << t.trans_a
          << " tb=" << t.trans_b << " acc=" << t.accumulate << " at " << i
          << "," << j;
    }
  // Padding between rows of C is never written.
  for (int64_t i = 0; i < t.m; ++i)
    for (int64_t j = t.n; j < o.c_row && i * o.c_row + j < int64_t(c.size()); ++j)
      ASSERT_EQ(c[i * o.c_row + j], o.c[i * o.c_row + j]);
}

std::vector<Case> cases() {
  std::vector<Case> out;
  const int64_t sizes[][3] = {{1, 1, 1},    {1, 10, 784}, {12, 32, 256},
                              {13, 33, 257}, {11, 31, 255}, {128, 10, 512},
                              {10, 512, 128}, {64, 576, 700}, {200, 64, 576},
                              {37, 100, 3},  {5, 1, 40},    {300, 520, 20}};
  int variant = 0;
  for (auto &s : sizes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        out.push_back({s[0], s[1], s[2], bool(ta), bool(tb),
                       bool(variant++ % 2), int64_t(variant % 3)});
  return out;
}

TEST(RuntimeGemm, MatchesReferenceEveryLayout) {
  uint32_t seed = 1;
  for (const Case &t : cases())
    check(t, seed++);
}

TEST(RuntimeGemm, PortableKernelMatchesReference) {
  kiln::rt::force_gemm_kernel_for_testing(kiln::rt::GemmKernel::Portable);
  uint32_t seed = 100;
  for (const Case &t : cases())
    check(t, seed++);
  kiln::rt::force_gemm_kernel_for_testing(kiln::rt::GemmKernel::Automatic);
}

TEST(RuntimeGemm, RandomShapes) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> dim(1, 150);
  for (int i = 0; i < 40; ++i) {
    Case t{dim(rng), dim(rng), dim(rng) * (i % 4 == 0 ? 4 : 1),
           bool(rng() % 2), bool(rng() % 2), bool(rng() % 2),
           int64_t(rng() % 3)};
    check(t, 1000 + i);
  }
}

TEST(RuntimeGemm, ZeroKClearsOrKeeps) {
  std::vector<float> c = {1, 2, 3, 4};
  kiln_sgemm(2, 2, 0, nullptr, 0, 1, nullptr, 2, 1, c.data(), 2, 1);
  EXPECT_EQ(c, (std::vector<float>{1, 2, 3, 4}));
  kiln_sgemm(2, 2, 0, nullptr, 0, 1, nullptr, 2, 1, c.data(), 2, 0);
  EXPECT_EQ(c, (std::vector<float>{0, 0, 0, 0}));
}

TEST(RuntimeGemm, ThreadCountDoesNotChangeBits) {
  std::mt19937 rng(3);
  Case t{333, 257, 1000, false, true, false, 0};
  Operands o = make(t, rng);
  int before = kiln_get_num_threads();
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2, 3}) {
    ASSERT_EQ(kiln_set_num_threads(threads), KILN_OK);
    std::vector<float> c = o.c;
    kiln_sgemm(t.m, t.n, t.k, o.a.data(), o.a_row, o.a_col, o.b.data(),
               o.b_row, o.b_col, c.data(), o.c_row, 0);
    results.push_back(c);
  }
  ASSERT_EQ(kiln_set_num_threads(before), KILN_OK);
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
}

} // namespace
