// The CUDA device layer of libkiln_rt (runtime/lib/cuda_device.h,
// kiln/cuda.h). Without a driver or a device every test that needs one
// skips with the reason, and RuntimeCuda.NoDeviceIsAClearStatus checks that
// asking for one then fails with a status and a message. With a device:
// memory, copies, a hand-written PTX kernel, cuBLAS GEMMs in the layouts the
// backward needs against a CPU reference, and the error paths.
#include "runtime/lib/cuda_device.h"

#include <kiln/cuda.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using kiln::rt::Error;
using kiln::rt::cuda::Context;
using kiln::rt::cuda::Dim3;
using kiln::rt::cuda::Sgemm;

/* Why this process has no CUDA device to test on; empty when it has one. */
std::string no_device_reason() {
  int count = 0;
  if (Error e = kiln::rt::cuda::device_count(&count))
    return e.message;
  return count > 0 ? "" : "the CUDA driver reports no device";
}

#define REQUIRE_CUDA_DEVICE()                                                  \
  do {                                                                         \
    std::string why_ = no_device_reason();                                     \
    if (!why_.empty())                                                         \
      GTEST_SKIP() << why_;                           \
  } while (0)

std::unique_ptr<Context> open_device0() {
  std::unique_ptr<Context> c;
  Error e = Context::create(0, &c);
  EXPECT_FALSE(e) << e.message;
  return c;
}

#define ASSERT_OK(expr)                                                        \
  do {                                                                         \
    Error e_ = (expr);                                                         \
    ASSERT_FALSE(e_) << #expr << ": " << e_.message;                           \
  } while (0)

// y[i] = a * x[i] + y[i] for i < n, one thread per element, threads past n
// do nothing. Checked with `ptxas -arch=sm_90` (and sm_80); .target sm_80
// so the driver JIT-compiles it for any newer device.
const char kSaxpyPtx[] = R"(
.version 7.0
.target sm_80
.address_size 64

.visible .entry saxpy(
  .param .u32 saxpy_n,
  .param .f32 saxpy_a,
  .param .u64 saxpy_x,
  .param .u64 saxpy_y)
{
  .reg .pred %p<2>;
  .reg .b32 %r<6>;
  .reg .f32 %f<5>;
  .reg .b64 %rd<8>;

  ld.param.u32 %r1, [saxpy_n];
  ld.param.f32 %f1, [saxpy_a];
  ld.param.u64 %rd1, [saxpy_x];
  ld.param.u64 %rd2, [saxpy_y];
  mov.u32 %r2, %ctaid.x;
  mov.u32 %r3, %ntid.x;
  mov.u32 %r4, %tid.x;
  mad.lo.s32 %r5, %r2, %r3, %r4;
  setp.ge.u32 %p1, %r5, %r1;
  @%p1 bra DONE;
  cvta.to.global.u64 %rd3, %rd1;
  cvta.to.global.u64 %rd4, %rd2;
  mul.wide.u32 %rd5, %r5, 4;
  add.s64 %rd6, %rd3, %rd5;
  add.s64 %rd7, %rd4, %rd5;
  ld.global.f32 %f2, [%rd6];
  ld.global.f32 %f3, [%rd7];
  fma.rn.f32 %f4, %f1, %f2, %f3;
  st.global.f32 [%rd7], %f4;
DONE:
  ret;
}
)";

TEST(RuntimeCuda, NoDeviceIsAClearStatus) {
  int count = -1;
  kiln_status status = kiln_cuda_device_count(&count);
  std::unique_ptr<Context> c;
  Error e = Context::create(0, &c);
  if (status != KILN_OK || count == 0) {
    // No driver (or a stub, or one that does not start) or no device: both
    // calls fail cleanly, saying which.
    EXPECT_EQ(status, KILN_ERROR_UNSUPPORTED);
    EXPECT_EQ(count, 0);
    std::string message = kiln_last_error();
    EXPECT_TRUE(message.rfind("CUDA driver libcuda.so.1 not found: ", 0) == 0 ||
                message.rfind("CUDA driver libcuda.so.1 failed to initialise: ", 0) == 0 ||
                message.rfind("no CUDA device: ", 0) == 0)
        << message;
    EXPECT_EQ(e.status, KILN_ERROR_UNSUPPORTED);
    EXPECT_EQ(c, nullptr);
    EXPECT_EQ(e.message, message);
    std::printf("no CUDA device here: %s\n", message.c_str());
  } else {
    EXPECT_GE(count, 1);
    ASSERT_FALSE(e) << e.message;
    ASSERT_NE(c, nullptr);
    EXPECT_FALSE(c->name().empty());
    EXPECT_GE(c->compute_capability(), 35);
    EXPECT_GT(c->total_memory(), 0u);
    EXPECT_NE(c->stream(), nullptr);
    std::printf("CUDA devices: %d; device 0: %s, sm_%d, %.1f GiB\n", count, c->name().c_str(),
                c->compute_capability(), c->total_memory() / 1073741824.0);
  }
  EXPECT_EQ(kiln_cuda_device_count(nullptr), KILN_ERROR_INVALID_ARGUMENT);
}

TEST(RuntimeCuda, OrdinalOutOfRange) {
  REQUIRE_CUDA_DEVICE();
  int count = 0;
  ASSERT_EQ(kiln_cuda_device_count(&count), KILN_OK);
  for (int ordinal : {count, count + 7, -1}) {
    std::unique_ptr<Context> c;
    Error e = Context::create(ordinal, &c);
    EXPECT_EQ(e.status, KILN_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(e.message.find("CUDA device " + std::to_string(ordinal) + " does not exist"),
              std::string::npos)
        << e.message;
    EXPECT_EQ(c, nullptr);
  }
}

TEST(RuntimeCuda, AllocCopyRoundTrip) {
  REQUIRE_CUDA_DEVICE();
  auto c = open_device0();
  ASSERT_NE(c, nullptr);

  // Zero-filled, aligned, distinct, 0 bytes included.
  std::vector<void *> blocks;
  for (size_t bytes : {size_t(0), size_t(0), size_t(1), size_t(4000), size_t(1) << 20}) {
    void *p = nullptr;
    ASSERT_OK(c->alloc(bytes, &p));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 256, 0u);
    std::vector<unsigned char> back(bytes, 0xAB);
    ASSERT_OK(c->copy_to_host(back.data(), p, bytes));
    for (size_t i = 0; i < bytes; ++i)
      ASSERT_EQ(back[i], 0) << "byte " << i << " of " << bytes;
    for (void *q : blocks)
      EXPECT_NE(p, q);
    blocks.push_back(p);
  }

  // Round trip, a copy into the middle, zeroing a range, a device copy.
  const size_t n = 1000;
  std::vector<float> host(n);
  for (size_t i = 0; i < n; ++i)
    host[i] = 0.25f * static_cast<float>(i) - 100.0f;
  void *dev = blocks[3]; // 4000 bytes
  ASSERT_OK(c->copy_to_device(dev, host.data(), n * sizeof(float)));
  std::vector<float> back(n);
  ASSERT_OK(c->copy_to_host(back.data(), dev, n * sizeof(float)));
  EXPECT_EQ(back, host);

  const float patch[3] = {7, 8, 9};
  ASSERT_OK(c->copy_to_device(static_cast<float *>(dev) + 500, patch, sizeof patch));
  ASSERT_OK(c->zero(static_cast<float *>(dev) + 10, 5 * sizeof(float)));
  void *other = blocks[4];
  ASSERT_OK(c->copy_on_device(other, dev, n * sizeof(float)));
  ASSERT_OK(c->copy_to_host(back.data(), other, n * sizeof(float)));
  std::vector<float> expected = host;
  std::copy(patch, patch + 3, expected.begin() + 500);
  std::fill(expected.begin() + 10, expected.begin() + 15, 0.0f);
  EXPECT_EQ(back, expected);

  // A copy that runs past the end of an allocation of this context is
  // refused before the driver sees it.
  Error e = c->copy_to_device(static_cast<float *>(dev) + 999, patch, sizeof patch);
  EXPECT_EQ(e.status, KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(e.message.find("overrun an allocation of 4000 bytes"), std::string::npos)
      << e.message;
  EXPECT_EQ(c->copy_to_host(back.data(), dev, 4001).status, KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(c->zero(dev, 4001).status, KILN_ERROR_INVALID_ARGUMENT);

  for (void *p : blocks)
    ASSERT_OK(c->free(p));
  ASSERT_OK(c->free(nullptr));
  // Freed twice, or never ours: a status, not a driver crash.
  EXPECT_EQ(c->free(blocks[0]).status, KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(c->free(&host[0]).status, KILN_ERROR_INVALID_ARGUMENT);
}

TEST(RuntimeCuda, TwoContextsOnOneDevice) {
  REQUIRE_CUDA_DEVICE();
  auto a = open_device0(), b = open_device0();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->stream(), b->stream());
  void *pa = nullptr, *pb = nullptr;
  ASSERT_OK(a->alloc(64, &pa));
  ASSERT_OK(b->alloc(64, &pb));
  EXPECT_EQ(a->free(pb).status, KILN_ERROR_INVALID_ARGUMENT); // not a's
  a.reset(); // frees pa; b is unaffected
  const int value = 42;
  int back = 0;
  ASSERT_OK(b->copy_to_device(pb, &value, sizeof value));
  ASSERT_OK(b->copy_to_host(&back, pb, sizeof back));
  EXPECT_EQ(back, 42);
}

TEST(RuntimeCuda, PtxKernelRunsWithBoundsCheck) {
  REQUIRE_CUDA_DEVICE();
  auto c = open_device0();
  ASSERT_NE(c, nullptr);
  kiln::rt::cuda::CUmodule module = nullptr;
  ASSERT_OK(c->load_module(kSaxpyPtx, &module));

  // 8 blocks of 128 threads cover 1024 elements; only n = 1000 are in the
  // problem. y has 1024 elements, so a thread that ignored the bound would
  // change the last 24 (and stay inside the buffer).
  const unsigned n = 1000, block = 128, padded = 1024;
  std::vector<float> x(padded), y(padded);
  std::mt19937 rng(12);
  std::uniform_real_distribution<float> dist(-2, 2);
  for (unsigned i = 0; i < padded; ++i) {
    x[i] = dist(rng);
    y[i] = dist(rng);
  }
  void *dx = nullptr, *dy = nullptr;
  ASSERT_OK(c->alloc(padded * sizeof(float), &dx));
  ASSERT_OK(c->alloc(padded * sizeof(float), &dy));
  ASSERT_OK(c->copy_to_device(dx, x.data(), padded * sizeof(float)));
  ASSERT_OK(c->copy_to_device(dy, y.data(), padded * sizeof(float)));
  unsigned n_arg = n;
  float a = 1.75f;
  void *args[] = {&n_arg, &a, &dx, &dy};
  ASSERT_OK(c->launch(module, "saxpy", Dim3{(n + block - 1) / block}, Dim3{block}, 0, args));
  ASSERT_OK(c->synchronize());
  std::vector<float> out(padded);
  ASSERT_OK(c->copy_to_host(out.data(), dy, padded * sizeof(float)));
  for (unsigned i = 0; i < n; ++i)
    ASSERT_EQ(out[i], std::fma(a, x[i], y[i])) << "element " << i;
  for (unsigned i = n; i < padded; ++i)
    ASSERT_EQ(out[i], y[i]) << "element " << i << " is past n but was written";

  // The same kernel looked up once and launched again: y += a x twice.
  kiln::rt::cuda::CUfunction fn = nullptr;
  ASSERT_OK(c->kernel(module, "saxpy", &fn));
  ASSERT_OK(c->launch(fn, Dim3{(n + block - 1) / block}, Dim3{block}, 0, args));
  ASSERT_OK(c->copy_to_host(out.data(), dy, padded * sizeof(float)));
  for (unsigned i = 0; i < n; ++i)
    ASSERT_EQ(out[i], std::fma(a, x[i], std::fma(a, x[i], y[i]))) << "element " << i;
}

TEST(RuntimeCuda, BadPtxGivesTheJitLog) {
  REQUIRE_CUDA_DEVICE();
  auto c = open_device0();
  ASSERT_NE(c, nullptr);
  const char bad[] = ".version 7.0\n.target sm_80\n.address_size 64\n\n"
                     ".visible .entry broken(.param .u64 broken_p)\n{\n"
                     "  .reg .f32 %f<2>;\n  bogus.f32 %f1, %f0;\n  ret;\n}\n";
  kiln::rt::cuda::CUmodule module = nullptr;
  Error e = c->load_module(bad, &module);
  EXPECT_EQ(e.status, KILN_ERROR_FORMAT) << e.message;
  EXPECT_EQ(module, nullptr);
  EXPECT_NE(e.message.find("cuModuleLoadDataEx (cuda_device.cpp:"), std::string::npos)
      << e.message;
  EXPECT_NE(e.message.find("CUDA_ERROR_INVALID_PTX"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("JIT log: "), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("bogus"), std::string::npos) << e.message;
  std::printf("bad PTX: %s\n", e.message.c_str());
  EXPECT_EQ(c->load_module(nullptr, &module).status, KILN_ERROR_INVALID_ARGUMENT);
  // The context is still usable after a failed load.
  ASSERT_OK(c->load_module(kSaxpyPtx, &module));
}

TEST(RuntimeCuda, MissingKernelAndBadLaunchAreNamed) {
  REQUIRE_CUDA_DEVICE();
  auto c = open_device0();
  ASSERT_NE(c, nullptr);
  kiln::rt::cuda::CUmodule module = nullptr;
  ASSERT_OK(c->load_module(kSaxpyPtx, &module));
  kiln::rt::cuda::CUfunction fn = nullptr;
  Error e = c->kernel(module, "no_such_kernel", &fn);
  EXPECT_EQ(e.status, KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(e.message.find("'no_such_kernel'"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("CUDA_ERROR_NOT_FOUND"), std::string::npos) << e.message;
  std::printf("missing kernel: %s\n", e.message.c_str());
  EXPECT_EQ(fn, nullptr);
  void *args[] = {nullptr};
  EXPECT_EQ(c->launch(module, "no_such_kernel", Dim3{1}, Dim3{1}, 0, args).status,
            KILN_ERROR_INVALID_ARGUMENT);

  // A block over the device's limit (1024 threads): the driver's error
  // with the call site; nothing runs, so the context stays usable.
  ASSERT_OK(c->kernel(module, "saxpy", &fn));
  unsigned n = 0;
  float a = 0;
  void *dummy = nullptr;
  void *saxpy_args[] = {&n, &a, &dummy, &dummy};
  e = c->launch(fn, Dim3{1}, Dim3{4096}, 0, saxpy_args);
  EXPECT_EQ(e.status, KILN_ERROR_INVALID_ARGUMENT) << e.message;
  EXPECT_NE(e.message.find("cuLaunchKernel (cuda_device.cpp:"), std::string::npos)
      << e.message;
  std::printf("oversized block: %s\n", e.message.c_str());
  EXPECT_EQ(c->launch(fn, Dim3{0}, Dim3{1}, 0, saxpy_args).status,
            KILN_ERROR_INVALID_ARGUMENT);
  ASSERT_OK(c->launch(fn, Dim3{1}, Dim3{32}, 0, saxpy_args)); // n = 0: no-op
  ASSERT_OK(c->synchronize());
}

/* Row-major op(A) op(B) in double, the reference for one batch entry. */
void reference_gemm(const Sgemm &g, const float *a, const float *b, const float *c0,
                    std::vector<double> *c, std::vector<double> *scale) {
  c->assign(size_t(g.m) * g.n, 0);
  scale->assign(size_t(g.m) * g.n, 0);
  for (int i = 0; i < g.m; ++i)
    for (int j = 0; j < g.n; ++j) {
      double sum = 0, abs_sum = 0;
      for (int p = 0; p < g.k; ++p) {
        double av = g.trans_a ? a[size_t(p) * g.lda + i] : a[size_t(i) * g.lda + p];
        double bv = g.trans_b ? b[size_t(j) * g.ldb + p] : b[size_t(p) * g.ldb + j];
        sum += av * bv;
        abs_sum += std::fabs(av * bv);
      }
      double cv = g.beta == 0 ? 0.0 : c0[size_t(i) * g.ldc + j];
      (*c)[size_t(i) * g.n + j] = g.alpha * sum + g.beta * cv;
      (*scale)[size_t(i) * g.n + j] = std::fabs(g.alpha) * abs_sum + std::fabs(g.beta * cv);
    }
}

/* Runs `g` (operands filled at random, host layout as described) on the
 * device and compares every element of C, padding included, against the
 * reference; returns the largest error relative to the sum of magnitudes. */
double check_gemm(Context &ctx, Sgemm g, unsigned seed) {
  const size_t a_rows = g.trans_a ? g.k : g.m, b_rows = g.trans_b ? g.n : g.k;
  const size_t a_size = (g.batch - 1) * size_t(g.stride_a) + a_rows * g.lda;
  const size_t b_size = (g.batch - 1) * size_t(g.stride_b) + b_rows * g.ldb;
  const size_t c_size = (g.batch - 1) * size_t(g.stride_c) + size_t(g.m) * g.ldc;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> a(a_size), b(b_size), c(c_size);
  for (float &v : a)
    v = dist(rng);
  for (float &v : b)
    v = dist(rng);
  for (float &v : c) // beta = 0 must not read C: NaN there would show
    v = g.beta == 0 ? std::nanf("") : dist(rng);
  void *da = nullptr, *db = nullptr, *dc = nullptr;
  EXPECT_FALSE(ctx.alloc(a_size * 4, &da));
  EXPECT_FALSE(ctx.alloc(b_size * 4, &db));
  EXPECT_FALSE(ctx.alloc(c_size * 4, &dc));
  EXPECT_FALSE(ctx.copy_to_device(da, a.data(), a_size * 4));
  EXPECT_FALSE(ctx.copy_to_device(db, b.data(), b_size * 4));
  EXPECT_FALSE(ctx.copy_to_device(dc, c.data(), c_size * 4));
  g.a = da;
  g.b = db;
  g.c = dc;
  Error e = ctx.sgemm(g);
  EXPECT_FALSE(e) << e.message;
  std::vector<float> out(c_size);
  EXPECT_FALSE(ctx.copy_to_host(out.data(), dc, c_size * 4));
  EXPECT_FALSE(ctx.free(da));
  EXPECT_FALSE(ctx.free(db));
  EXPECT_FALSE(ctx.free(dc));

  // C's padding (columns n..ldc, gaps between batch entries) is untouched.
  std::vector<bool> in_c(c_size, false);
  double worst = 0;
  std::vector<double> ref, scale;
  for (int batch = 0; batch < g.batch; ++batch) {
    const float *ab = a.data() + batch * g.stride_a, *bb = b.data() + batch * g.stride_b;
    const size_t c_off = batch * size_t(g.stride_c);
    reference_gemm(g, ab, bb, c.data() + c_off, &ref, &scale);
    for (int i = 0; i < g.m; ++i)
      for (int j = 0; j < g.n; ++j) {
        const size_t at = c_off + size_t(i) * g.ldc + j;
        in_c[at] = true;
        const double err = std::fabs(out[at] - ref[size_t(i) * g.n + j]);
        const double rel = err / (scale[size_t(i) * g.n + j] + 1e-30);
        worst = std::max(worst, rel);
        // fp32 accumulation over k terms: far below 1e-5 of the magnitude
        // sum; TF32 (10-bit mantissa) would be around 1e-3.
        EXPECT_LE(rel, 1e-5) << "batch " << batch << " C(" << i << ", " << j << ") = "
                             << out[at] << ", reference " << ref[size_t(i) * g.n + j];
      }
  }
  for (size_t at = 0; at < c_size; ++at)
    if (!in_c[at])
      EXPECT_EQ(std::memcmp(&out[at], &c[at], sizeof(float)), 0)
          << "padding element " << at << " of C was written";
  return worst;
}

TEST(RuntimeCuda, SgemmAllLayoutsMatchCpu) {
  REQUIRE_CUDA_DEVICE();
  auto c = open_device0();
  ASSERT_NE(c, nullptr);
  const int m = 37, n = 53, k = 29;
  unsigned seed = 1;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Sgemm g;
      g.trans_a = ta;
      g.trans_b = tb;
      g.m = m;
      g.n = n;
      g.k = k;
      g.alpha = 1.5f;
      g.beta = -0.5f;
      g.lda = (ta ? m : k) + 3; // padded rows: ld is honoured
      g.ldb = (tb ? k : n) + 5;
      g.ldc = n + 2;
      double worst = check_gemm(*c, g, seed++);
      std::printf("sgemm %s: %dx%dx%d, worst error / magnitude %.3g\n",
                  ta ? (tb ? "At*Bt" : "At*B") : (tb ? "A*Bt" : "A*B"), m, n, k, worst);
      g.beta = 0; // C is NaN: cuBLAS must not read it
      check_gemm(*c, g, seed++);
    }
}

TEST(RuntimeCuda, SgemmStridedBatched) {
  REQUIRE_CUDA_DEVICE();
  auto c = open_device0();
  ASSERT_NE(c, nullptr);
  for (bool ta : {false, true}) {
    Sgemm g;
    g.trans_a = ta;
    g.trans_b = !ta;
    g.m = 19;
    g.n = 23;
    g.k = 17;
    g.alpha = 0.75f;
    g.beta = 1.0f; // accumulate, as a batched weight gradient would
    g.lda = (ta ? g.m : g.k) + 1;
    g.ldb = (g.trans_b ? g.k : g.n);
    g.ldc = g.n;
    g.batch = 3;
    g.stride_a = (ta ? g.k : g.m) * g.lda + 7;
    g.stride_b = (g.trans_b ? g.n : g.k) * g.ldb;
    g.stride_c = g.m * g.ldc + 11;
    double worst = check_gemm(*c, g, 100 + ta);
    std::printf("sgemm strided batched x3 (%s): worst error / magnitude %.3g\n",
                ta ? "At*B" : "A*Bt", worst);
  }
}

TEST(RuntimeCuda, SgemmRejectsBadDescriptions) {
  REQUIRE_CUDA_DEVICE();
  auto c = open_device0();
  ASSERT_NE(c, nullptr);
  void *buf = nullptr;
  ASSERT_OK(c->alloc(4096, &buf));
  Sgemm g;
  g.m = 4;
  g.n = 5;
  g.k = 6;
  g.a = g.b = g.c = buf;
  g.lda = 6;
  g.ldb = 5;
  g.ldc = 5;
  Sgemm bad = g;
  bad.lda = 5; // A is 4 x 6
  Error e = c->sgemm(bad);
  EXPECT_EQ(e.status, KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(e.message.find("leading dimension"), std::string::npos) << e.message;
  bad = g;
  bad.trans_b = true; // B is then 5 x 6: ldb 5 is too small
  EXPECT_EQ(c->sgemm(bad).status, KILN_ERROR_INVALID_ARGUMENT);
  bad = g;
  bad.k = -1;
  EXPECT_EQ(c->sgemm(bad).status, KILN_ERROR_INVALID_ARGUMENT);
  bad = g;
  bad.a = nullptr;
  EXPECT_EQ(c->sgemm(bad).status, KILN_ERROR_INVALID_ARGUMENT);
  bad = g;
  bad.m = 0; // nothing to do
  EXPECT_FALSE(c->sgemm(bad));
  ASSERT_OK(c->free(buf));
}

TEST(RuntimeCuda, SgemmLargeSpotCheckAndRate) {
  REQUIRE_CUDA_DEVICE();
  auto c = open_device0();
  ASSERT_NE(c, nullptr);
  const int n = 4096;
  const size_t count = size_t(n) * n;
  std::vector<float> a(count), b(count);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (float &v : a)
    v = dist(rng);
  for (float &v : b)
    v = dist(rng);
  void *da = nullptr, *db = nullptr, *dc = nullptr;
  ASSERT_OK(c->alloc(count * 4, &da));
  ASSERT_OK(c->alloc(count * 4, &db));
  ASSERT_OK(c->alloc(count * 4, &dc));
  ASSERT_OK(c->copy_to_device(da, a.data(), count * 4));
  ASSERT_OK(c->copy_to_device(db, b.data(), count * 4));
  Sgemm g;
  g.trans_b = true; // x Wᵀ, the forward of nn.linear
  g.m = g.n = g.k = n;
  g.a = da;
  g.b = db;
  g.c = dc;
  g.lda = g.ldb = g.ldc = n;
  ASSERT_OK(c->sgemm(g)); // warm-up (cuBLAS loads its kernels)
  ASSERT_OK(c->synchronize());
  const int reps = 10;
  auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r)
    ASSERT_OK(c->sgemm(g));
  ASSERT_OK(c->synchronize());
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<float> out(count);
  ASSERT_OK(c->copy_to_host(out.data(), dc, count * 4));
  double worst = 0;
  for (int s = 0; s < 64; ++s) {
    const int i = (s * 977) % n, j = (s * 1237 + 5) % n;
    double sum = 0, abs_sum = 0;
    for (int p = 0; p < n; ++p) {
      const double prod = double(a[size_t(i) * n + p]) * b[size_t(j) * n + p];
      sum += prod;
      abs_sum += std::fabs(prod);
    }
    const double rel = std::fabs(out[size_t(i) * n + j] - sum) / abs_sum;
    worst = std::max(worst, rel);
    // fp32 gives ~1e-7 here, TF32 ~1e-5.
    EXPECT_LE(rel, 2e-6) << "C(" << i << ", " << j << ")";
  }
  std::printf("sgemm %d^3 (A*Bt): %.1f TFLOP/s fp32 over %d calls, spot-check worst "
              "error / magnitude %.3g\n",
              n, 2.0 * n * n * double(n) * reps / seconds / 1e12, reps, worst);
}

} // namespace
