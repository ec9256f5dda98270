// kiln_sgemm against a double-precision reference: every transposition of A
// and B (as strides), padded leading dimensions, accumulate on and off, edge
// sizes around the 12 x 32 register tile and the 256-wide K block, both
// micro-kernels, one and two threads (bit-identical). kiln_sgemm_fused
// against the ops it replaces (bias broadcast, kiln_sgemm, ReLU pass),
// bit for bit.
#include "kiln/runtime.h"
#include "../../runtime/lib/gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
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

TEST(RuntimeGemm, Avx2KernelMatchesReference) {
  kiln::rt::force_gemm_kernel_for_testing(kiln::rt::GemmKernel::Avx2);
  uint32_t seed = 200;
  for (const Case &t : cases())
    check(t, seed++);
  kiln::rt::force_gemm_kernel_for_testing(kiln::rt::GemmKernel::Automatic);
}

TEST(RuntimeGemm, RandomShapes) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> dim(1, 300); // issue 11: M, N, K in 1..300
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

/* Checks that `run()` (a GEMM call returning what it wrote) gives the same
 * bits on 1, 2 and 3 pool threads; the thread count is restored after. */
template <typename Run> void expectSameOnEveryThreadCount(Run run) {
  int before = kiln_get_num_threads();
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2, 3}) {
    ASSERT_EQ(kiln_set_num_threads(threads), KILN_OK);
    results.push_back(run());
  }
  ASSERT_EQ(kiln_set_num_threads(before), KILN_OK);
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
}

TEST(RuntimeGemm, ThreadCountDoesNotChangeBits) {
  std::mt19937 rng(3);
  Case t{333, 257, 1000, false, true, false, 0};
  Operands o = make(t, rng);
  expectSameOnEveryThreadCount([&] {
    std::vector<float> c = o.c;
    kiln_sgemm(t.m, t.n, t.k, o.a.data(), o.a_row, o.a_col, o.b.data(),
               o.b_row, o.b_col, c.data(), o.c_row, 0);
    return c;
  });
}

/* kiln_sgemm_batched: every item equal, bit for bit, to kiln_sgemm on that
 * item alone (the same summation order), on 1, 2 and 3 threads; items laid
 * out one after the other with a gap, or interleaved (attention's heads:
 * item i's rows i * row_len apart from item 0's, a_batch < a_row). */
struct BatchedCase {
  int64_t batch, m, n, k;
  bool trans_a, trans_b, accumulate, interleaved;
};

void checkBatched(const BatchedCase &t, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  // One item's matrix of `rows` x `cols` (row-major, as stored): item i's
  // element (r, q) at i * item + r * row + q.
  struct Layout {
    int64_t item, row, size;
  };
  auto layout = [&](int64_t rows, int64_t cols) {
    Layout l;
    if (t.interleaved) {
      l.item = cols;
      l.row = cols * t.batch;
      l.size = rows * l.row;
    } else {
      l.row = cols;
      l.item = rows * cols + 3;
      l.size = t.batch * l.item;
    }
    return l;
  };
  Layout la = t.trans_a ? layout(t.k, t.m) : layout(t.m, t.k);
  Layout lb = t.trans_b ? layout(t.n, t.k) : layout(t.k, t.n);
  Layout lc = layout(t.m, t.n);
  std::vector<float> a(la.size), b(lb.size), c0(lc.size);
  for (float &x : a) x = u(rng);
  for (float &x : b) x = u(rng);
  for (float &x : c0) x = u(rng);
  int64_t a_row = t.trans_a ? 1 : la.row, a_col = t.trans_a ? la.row : 1;
  int64_t b_row = t.trans_b ? 1 : lb.row, b_col = t.trans_b ? lb.row : 1;
  std::vector<float> want = c0;
  for (int64_t i = 0; i < t.batch; ++i)
    kiln_sgemm(t.m, t.n, t.k, a.data() + i * la.item, a_row, a_col,
               b.data() + i * lb.item, b_row, b_col, want.data() + i * lc.item,
               lc.row, t.accumulate);
  expectSameOnEveryThreadCount([&] {
    std::vector<float> c = c0;
    kiln_sgemm_batched(t.batch, t.m, t.n, t.k, a.data(), la.item, a_row, a_col,
                       b.data(), lb.item, b_row, b_col, c.data(), lc.item,
                       lc.row, t.accumulate);
    for (size_t i = 0; i < c.size(); ++i)
      EXPECT_EQ(std::memcmp(&c[i], &want[i], sizeof(float)), 0)
          << "batch=" << t.batch << " m=" << t.m << " n=" << t.n
          << " k=" << t.k << " ta=" << t.trans_a << " tb=" << t.trans_b
          << " acc=" << t.accumulate << " interleaved=" << t.interleaved
          << ": C[" << i << "] " << c[i] << " vs " << want[i];
    return c;
  });
}

TEST(RuntimeGemmBatched, EachItemIsItsOwnGemm) {
  std::mt19937 rng(17);
  std::uniform_int_distribution<int64_t> dim(1, 140), items(1, 40);
  for (int i = 0; i < 48; ++i) {
    BatchedCase t{items(rng), dim(rng), dim(rng), dim(rng) * (i % 6 == 0 ? 3 : 1),
                  bool(i & 1), bool(i & 2), bool(i & 4), bool(i & 8)};
    checkBatched(t, 3000 + i);
  }
  // Attention's shapes (W4: 32 heads x 128 x 128 x 64, both products).
  checkBatched({32, 128, 128, 64, false, true, false, false}, 1);
  checkBatched({32, 128, 64, 128, false, false, false, true}, 2);
}

TEST(RuntimeGemmBatched, EmptyProductsClearOrKeep) {
  std::vector<float> c = {1, 2, 3, 4};
  kiln_sgemm_batched(2, 1, 2, 0, nullptr, 0, 0, 1, nullptr, 0, 2, 1, c.data(), 2, 2, 1);
  EXPECT_EQ(c, (std::vector<float>{1, 2, 3, 4}));
  kiln_sgemm_batched(2, 1, 2, 0, nullptr, 0, 0, 1, nullptr, 0, 2, 1, c.data(), 2, 2, 0);
  EXPECT_EQ(c, (std::vector<float>{0, 0, 0, 0}));
  kiln_sgemm_batched(0, 5, 5, 5, nullptr, 0, 0, 1, nullptr, 0, 2, 1, nullptr, 2, 2, 0);
}

/* What generated code computed before the epilogue existed: the bias
 * broadcast into C (or C kept when accumulating, the bias added after),
 * kiln_sgemm, then a ReLU pass as arith.maximumf(x, 0). */
void unfused(const Case &t, Operands &o, const float *bias, bool relu,
             std::vector<float> &act, int64_t act_row) {
  if (bias && !t.accumulate)
    for (int64_t i = 0; i < t.m; ++i)
      for (int64_t j = 0; j < t.n; ++j)
        o.c[i * o.c_row + j] = bias[j];
  kiln_sgemm(t.m, t.n, t.k, o.a.data(), o.a_row, o.a_col, o.b.data(),
             o.b_row, o.b_col, o.c.data(), o.c_row, t.accumulate || bias);
  if (!relu)
    return;
  for (int64_t i = 0; i < t.m; ++i)
    for (int64_t j = 0; j < t.n; ++j) {
      float x = o.c[i * o.c_row + j];
      act[i * act_row + j] = std::isnan(x) ? x : (x > 0.0f ? x : 0.0f);
    }
}

void checkFused(const Case &t, bool with_bias, bool relu, bool in_place,
                uint32_t seed) {
  std::mt19937 rng(seed);
  Operands o = make(t, rng);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> bias(t.n);
  for (float &x : bias)
    x = u(rng);
  int64_t act_row = in_place ? o.c_row : t.n + 1;
  std::vector<float> act(t.m * act_row + 1, 7.0f);
  // accumulate with a bias is not what the compiler emits (it folds the
  // broadcast that made C the bias): no unfused sequence to compare with.
  if (with_bias && t.accumulate)
    return;
  Operands want = o;
  std::vector<float> want_act = act;
  unfused(t, want, with_bias ? bias.data() : nullptr, relu,
          in_place ? want.c : want_act, act_row);
  kiln_sgemm_fused(t.m, t.n, t.k, o.a.data(), o.a_row, o.a_col, o.b.data(),
                   o.b_row, o.b_col, o.c.data(), o.c_row, t.accumulate,
                   with_bias ? bias.data() : nullptr,
                   relu ? KILN_GEMM_RELU : KILN_GEMM_NONE,
                   in_place ? o.c.data() : act.data(), act_row, nullptr, 0,
                   nullptr);
  std::string what = "m=" + std::to_string(t.m) + " n=" +
                     std::to_string(t.n) + " k=" + std::to_string(t.k) +
                     " ta=" + std::to_string(t.trans_a) +
                     " tb=" + std::to_string(t.trans_b) +
                     " acc=" + std::to_string(t.accumulate) +
                     " bias=" + std::to_string(with_bias) +
                     " relu=" + std::to_string(relu) +
                     " in_place=" + std::to_string(in_place);
  for (size_t i = 0; i < o.c.size(); ++i)
    ASSERT_EQ(std::memcmp(&o.c[i], &want.c[i], sizeof(float)), 0)
        << what << ": C[" << i << "] " << o.c[i] << " vs " << want.c[i];
  if (!in_place)
    for (size_t i = 0; i < act.size(); ++i)
      ASSERT_EQ(std::memcmp(&act[i], &want_act[i], sizeof(float)), 0)
          << what << ": act[" << i << "] " << act[i] << " vs "
          << want_act[i];
}

TEST(RuntimeGemmFused, BitIdenticalToTheOpsItReplaces) {
  uint32_t seed = 500;
  for (auto kernel : {kiln::rt::GemmKernel::Automatic,
                      kiln::rt::GemmKernel::Avx2,
                      kiln::rt::GemmKernel::Portable}) {
    kiln::rt::force_gemm_kernel_for_testing(kernel);
    for (const Case &t : cases())
      for (int variant = 0; variant < 4; ++variant)
        checkFused(t, /*with_bias=*/variant != 1, /*relu=*/variant != 0,
                   /*in_place=*/variant == 3, seed++);
  }
  kiln::rt::force_gemm_kernel_for_testing(kiln::rt::GemmKernel::Automatic);
}

TEST(RuntimeGemmFused, RandomShapes) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int64_t> dim(1, 300);
  for (int i = 0; i < 40; ++i) {
    Case t{dim(rng), dim(rng), dim(rng), bool(rng() % 2), bool(rng() % 2),
           false, int64_t(rng() % 3)};
    checkFused(t, rng() % 2, true, rng() % 2, 2000 + i);
  }
}

TEST(RuntimeGemmFused, ReluKeepsNaNAndClearsNegativeZero) {
  // 1 x 4 x 1: C = a * b + bias with b = 1.
  std::vector<float> a = {1.0f}, b = {1.0f, 1.0f, 1.0f, 1.0f};
  std::vector<float> bias = {-0.0f - 1.0f, std::nanf(""), -2.0f, 3.0f};
  std::vector<float> c(4), act(4);
  kiln_sgemm_fused(1, 4, 1, a.data(), 1, 1, b.data(), 4, 1, c.data(), 4, 0,
                   bias.data(), KILN_GEMM_RELU, act.data(), 4, nullptr, 0,
                   nullptr);
  EXPECT_FALSE(std::signbit(act[0])); // 1 - 1 = +0, stays +0
  EXPECT_TRUE(std::isnan(act[1]));
  EXPECT_EQ(act[2], 0.0f);
  EXPECT_FALSE(std::signbit(act[2]));
  EXPECT_EQ(act[3], 4.0f);
  // A -0 in C (kept: k = 0 and accumulating) comes out +0.
  std::vector<float> minus_zero = {-0.0f}, act1 = {7.0f};
  kiln_sgemm_fused(1, 1, 0, nullptr, 1, 1, nullptr, 1, 1, minus_zero.data(),
                   1, 1, nullptr, KILN_GEMM_RELU, act1.data(), 1, nullptr, 0,
                   nullptr);
  EXPECT_TRUE(std::signbit(minus_zero[0]));
  EXPECT_EQ(act1[0], 0.0f);
  EXPECT_FALSE(std::signbit(act1[0]));
}

TEST(RuntimeGemmFused, ZeroKIsTheBiasThenTheActivation) {
  std::vector<float> bias = {1.0f, -2.0f}, c(4, 9.0f), act(4, 9.0f);
  kiln_sgemm_fused(2, 2, 0, nullptr, 0, 1, nullptr, 2, 1, c.data(), 2, 0,
                   bias.data(), KILN_GEMM_RELU, act.data(), 2, nullptr, 0,
                   nullptr);
  EXPECT_EQ(c, (std::vector<float>{1, -2, 1, -2}));
  EXPECT_EQ(act, (std::vector<float>{1, 0, 1, 0}));
}

/* The ReLU backward epilogue against kiln_sgemm followed by the mask as
 * threshold_backward lowers (cmpf ogt, select), bit for bit: a gate with
 * positive, negative, zero, -0 and NaN entries and a padded row stride,
 * over every layout and all three micro-kernels. */
void checkReluBackward(const Case &t, uint32_t seed) {
  std::mt19937 rng(seed);
  Operands o = make(t, rng);
  int64_t gate_row = t.n + 2, act_row = t.n + 1;
  std::vector<float> gate(t.m * gate_row);
  const float specials[] = {0.0f, -0.0f, std::nanf(""), 1e-30f, -1e-30f};
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (size_t i = 0; i < gate.size(); ++i)
    gate[i] = rng() % 4 == 0 ? specials[rng() % 5] : u(rng);
  std::vector<float> act(t.m * act_row, 7.0f), want_act = act;
  Operands want = o;
  kiln_sgemm(t.m, t.n, t.k, want.a.data(), want.a_row, want.a_col,
             want.b.data(), want.b_row, want.b_col, want.c.data(),
             want.c_row, t.accumulate);
  for (int64_t i = 0; i < t.m; ++i)
    for (int64_t j = 0; j < t.n; ++j)
      want_act[i * act_row + j] =
          gate[i * gate_row + j] > 0.0f ? want.c[i * want.c_row + j] : 0.0f;
  kiln_sgemm_fused(t.m, t.n, t.k, o.a.data(), o.a_row, o.a_col, o.b.data(),
                   o.b_row, o.b_col, o.c.data(), o.c_row, t.accumulate,
                   nullptr, KILN_GEMM_RELU_BACKWARD, act.data(), act_row,
                   gate.data(), gate_row, nullptr);
  ASSERT_EQ(std::memcmp(o.c.data(), want.c.data(), sizeof(float) * o.c.size()),
            0);
  for (size_t i = 0; i < act.size(); ++i)
    ASSERT_EQ(std::memcmp(&act[i], &want_act[i], sizeof(float)), 0)
        << "m=" << t.m << " n=" << t.n << " k=" << t.k << ": act[" << i
        << "] " << act[i] << " vs " << want_act[i];
}

TEST(RuntimeGemmFused, ReluBackwardIsTheMasksBits) {
  uint32_t seed = 4000;
  for (auto kernel : {kiln::rt::GemmKernel::Automatic,
                      kiln::rt::GemmKernel::Avx2,
                      kiln::rt::GemmKernel::Portable}) {
    kiln::rt::force_gemm_kernel_for_testing(kernel);
    for (const Case &t : cases())
      checkReluBackward(t, seed++);
  }
  kiln::rt::force_gemm_kernel_for_testing(kiln::rt::GemmKernel::Automatic);
  checkReluBackward({5, 7, 0, false, false, false, 0}, seed++); // k = 0
}

/* a_sums against the loop it replaces (sums[i] += A(i, p) for p in
 * order, from whatever sums held), bit for bit, with C the plain product;
 * n = 0 and k = 0 included. */
void checkRowSums(const Case &t, uint32_t seed) {
  std::mt19937 rng(seed);
  Operands o = make(t, rng);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> sums(t.m + 1);
  for (float &x : sums)
    x = u(rng);
  std::vector<float> want = sums;
  for (int64_t p = 0; p < t.k; ++p)
    for (int64_t i = 0; i < t.m; ++i)
      want[i] += o.a[i * o.a_row + p * o.a_col];
  Operands plain = o;
  kiln_sgemm(t.m, t.n, t.k, plain.a.data(), plain.a_row, plain.a_col,
             plain.b.data(), plain.b_row, plain.b_col, plain.c.data(),
             plain.c_row, t.accumulate);
  kiln_sgemm_fused(t.m, t.n, t.k, o.a.data(), o.a_row, o.a_col, o.b.data(),
                   o.b_row, o.b_col, o.c.data(), o.c_row, t.accumulate,
                   nullptr, KILN_GEMM_NONE, nullptr, 0, nullptr, 0,
                   sums.data());
  for (size_t i = 0; i < sums.size(); ++i)
    ASSERT_EQ(std::memcmp(&sums[i], &want[i], sizeof(float)), 0)
        << "m=" << t.m << " n=" << t.n << " k=" << t.k
        << " ta=" << t.trans_a << ": sums[" << i << "] " << sums[i]
        << " vs " << want[i];
  ASSERT_EQ(std::memcmp(o.c.data(), plain.c.data(),
                        sizeof(float) * o.c.size()),
            0);
}

TEST(RuntimeGemmFused, RowSumsOfAAreTheLoopsBits) {
  uint32_t seed = 3000;
  for (const Case &t : cases())
    checkRowSums(t, seed++);
  std::mt19937 rng(13);
  std::uniform_int_distribution<int64_t> dim(1, 600);
  for (int i = 0; i < 30; ++i)
    checkRowSums({dim(rng), dim(rng) / 4, dim(rng), bool(rng() % 2),
                  bool(rng() % 2), bool(rng() % 2), int64_t(rng() % 3)},
                 seed++);
  checkRowSums({300, 0, 20, true, false, false, 0}, seed++);  // no columns
  checkRowSums({300, 5, 0, true, false, false, 0}, seed++);   // nothing to add
}

TEST(RuntimeGemmFused, RowSumsDoNotDependOnThreads) {
  std::mt19937 rng(17);
  Case t{700, 300, 128, true, false, false, 0};
  Operands o = make(t, rng);
  expectSameOnEveryThreadCount([&] {
    std::vector<float> c = o.c, sums(t.m, 0.5f);
    kiln_sgemm_fused(t.m, t.n, t.k, o.a.data(), o.a_row, o.a_col, o.b.data(),
                     o.b_row, o.b_col, c.data(), o.c_row, 0, nullptr,
                     KILN_GEMM_NONE, nullptr, 0, nullptr, 0, sums.data());
    return sums;
  });
}

} // namespace
