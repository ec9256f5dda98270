// A model compiled with kilnc --target=cuda (gemm_folds_cuda: the
// 37x29-70-45-9 ReLU MLP of model_gemm_epilogues_test.cpp, every kind of
// GEMM and kernel) links with libkiln_rt like a CPU model. Without a GPU,
// creating it fails with the reason and nothing leaks; with one, it trains
// like the CPU build within float rounding (cuBLAS sums in another order).
// Label gpu: scripts/gpu-check.sh runs these on a GPU machine.
#include "gemm_folds.h"
#include "gemm_folds_cuda.h"
#include "random_inputs.h"

#include "runtime/lib/cuda_device.h" // device memory and a stream of the test's own

#include <kiln/cuda.h>
#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace {

bool have_gpu() {
  int count = 0;
  return kiln_cuda_device_count(&count) == KILN_OK && count > 0;
}

TEST(ModelCuda, MetadataNamesTheDeviceAndItsKernels) {
  EXPECT_EQ(gemm_folds_cuda__metadata.device, KILN_DEVICE_CUDA);
  const char *code = gemm_folds_cuda__metadata.device_code;
  const int64_t bytes = gemm_folds_cuda__metadata.device_code_bytes;
  ASSERT_NE(code, nullptr);
  ASSERT_GT(bytes, 16);
  EXPECT_EQ(code[bytes], '\0');
  // A fatbin (cubin + PTX) where kilnc had the CUDA toolkit, else PTX.
  const bool fatbin = static_cast<unsigned char>(code[0]) == 0x50 &&
                      static_cast<unsigned char>(code[1]) == 0xed &&
                      static_cast<unsigned char>(code[2]) == 0x55 &&
                      static_cast<unsigned char>(code[3]) == 0xba;
  EXPECT_TRUE(fatbin || std::string(code, bytes).find(".target sm_90") != std::string::npos);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(code) % 64, 0u);
  EXPECT_GT(gemm_folds_cuda__metadata.num_device_kernels, 0);
  EXPECT_EQ(gemm_folds__metadata.device_code, nullptr);
  EXPECT_EQ(gemm_folds__metadata.device_code_bytes, 0);
  EXPECT_EQ(gemm_folds__metadata.num_device_kernels, 0);
}

TEST(ModelCuda, CreateWithoutAGpuFailsWithTheReason) {
  if (have_gpu())
    GTEST_SKIP() << "a CUDA device is present";
  gemm_folds_cuda_model *m = nullptr;
  EXPECT_EQ(gemm_folds_cuda_create(&m), KILN_ERROR_UNSUPPORTED);
  EXPECT_EQ(m, nullptr);
  std::string message = gemm_folds_cuda_last_error(nullptr);
  EXPECT_EQ(message.rfind("kiln_model_create: model 'gemm_folds_cuda' for cuda device 0: ", 0),
            0u)
      << message;
  EXPECT_TRUE(message.find("libcuda.so.1") != std::string::npos ||
              message.find("no CUDA device") != std::string::npos)
      << message;
  EXPECT_EQ(gemm_folds_cuda_create_on_device(3, &m), KILN_ERROR_UNSUPPORTED);
}

TEST(ModelCuda, TrainsLikeTheCpuBuild) {
  if (!have_gpu())
    GTEST_SKIP() << "no CUDA device: " << kiln_last_error();
  gemm_folds_model *cpu = nullptr;
  gemm_folds_cuda_model *gpu = nullptr;
  ASSERT_EQ(gemm_folds_create(&cpu), KILN_OK) << kiln_last_error();
  ASSERT_EQ(gemm_folds_cuda_create(&gpu), KILN_OK) << kiln_last_error();
  auto *a = reinterpret_cast<kiln_model *>(cpu);
  auto *b = reinterpret_cast<kiln_model *>(gpu);
  ASSERT_EQ(kiln_model_init_parameters(a, 5), KILN_OK);
  ASSERT_EQ(kiln_model_init_parameters(b, 5), KILN_OK) << kiln_model_last_error(b);
  auto close = [](float x, float y) {
    return std::fabs(x - y) <= 1e-4f * std::max(1.0f, std::fabs(y));
  };
  for (unsigned seed = 1; seed <= 6; ++seed) {
    ClassificationBatch batch(GEMM_FOLDS_INPUT0_NUMEL, GEMM_FOLDS_TARGET_NUMEL,
                              GEMM_FOLDS_OUTPUT0_SHAPE[1], seed);
    std::vector<float> ya(GEMM_FOLDS_OUTPUT0_NUMEL), yb(GEMM_FOLDS_OUTPUT0_NUMEL);
    void *oa[] = {ya.data()}, *ob[] = {yb.data()};
    ASSERT_EQ(kiln_model_forward(a, batch.inputs(), oa), KILN_OK);
    ASSERT_EQ(kiln_model_forward(b, batch.inputs(), ob), KILN_OK) << kiln_model_last_error(b);
    for (size_t i = 0; i < ya.size(); ++i)
      ASSERT_TRUE(close(yb[i], ya[i])) << "forward " << seed << " [" << i << "]: " << yb[i]
                                       << " vs " << ya[i];
    float la = 0, lb = 0;
    ASSERT_EQ(kiln_model_train_step(a, batch.inputs(), batch.target.data(), &la), KILN_OK);
    ASSERT_EQ(kiln_model_train_step(b, batch.inputs(), batch.target.data(), &lb), KILN_OK)
        << kiln_model_last_error(b);
    EXPECT_TRUE(close(lb, la)) << "loss " << seed << ": " << lb << " vs " << la;
  }
  kiln_model_destroy(a);
  kiln_model_destroy(b);
}

/* The _device entry points with the data in device memory of the test's
 * own and the test's own stream: nothing is copied by the runtime, the
 * work is ordered on that stream both ways (the copies back on it see the
 * results without any other synchronisation), and the results are the
 * host entry points'. */
TEST(ModelCuda, DevicePointersOnTheCallersStreamTrainLikeHostPointers) {
  if (!have_gpu())
    GTEST_SKIP() << "no CUDA device: " << kiln_last_error();
  std::unique_ptr<kiln::rt::cuda::Context> ctx;
  ASSERT_FALSE(kiln::rt::cuda::Context::create(0, &ctx));
  gemm_folds_cuda_model *host = nullptr, *device = nullptr;
  ASSERT_EQ(gemm_folds_cuda_create(&host), KILN_OK) << kiln_last_error();
  ASSERT_EQ(gemm_folds_cuda_create(&device), KILN_OK) << kiln_last_error();
  auto *a = reinterpret_cast<kiln_model *>(host);
  auto *b = reinterpret_cast<kiln_model *>(device);
  ASSERT_EQ(kiln_model_init_parameters(a, 5), KILN_OK);
  ASSERT_EQ(kiln_model_init_parameters(b, 5), KILN_OK);
  void *x = nullptr, *target = nullptr, *y = nullptr, *loss = nullptr;
  ASSERT_FALSE(ctx->alloc(GEMM_FOLDS_CUDA_INPUT0_NUMEL * sizeof(float), &x));
  ASSERT_FALSE(ctx->alloc(GEMM_FOLDS_CUDA_TARGET_NUMEL * sizeof(int64_t), &target));
  ASSERT_FALSE(ctx->alloc(GEMM_FOLDS_CUDA_OUTPUT0_NUMEL * sizeof(float), &y));
  ASSERT_FALSE(ctx->alloc(sizeof(float), &loss));
  void *stream = ctx->stream();
  const void *inputs[] = {x};
  void *outputs[] = {y};
  auto close = [](float p, float q) {
    return std::fabs(p - q) <= 1e-4f * std::max(1.0f, std::fabs(q));
  };
  for (unsigned seed = 1; seed <= 4; ++seed) {
    ClassificationBatch batch(GEMM_FOLDS_CUDA_INPUT0_NUMEL, GEMM_FOLDS_CUDA_TARGET_NUMEL,
                              GEMM_FOLDS_CUDA_OUTPUT0_SHAPE[1], seed);
    ASSERT_FALSE(ctx->copy_to_device(x, batch.x.data(), batch.x.size() * sizeof(float)));
    ASSERT_FALSE(ctx->copy_to_device(target, batch.target.data(),
                                     batch.target.size() * sizeof(int64_t)));
    std::vector<float> ya(GEMM_FOLDS_CUDA_OUTPUT0_NUMEL), yb(GEMM_FOLDS_CUDA_OUTPUT0_NUMEL);
    void *oa[] = {ya.data()};
    ASSERT_EQ(kiln_model_forward(a, batch.inputs(), oa), KILN_OK) << kiln_model_last_error(a);
    ASSERT_EQ(kiln_model_forward_device(b, inputs, outputs, stream), KILN_OK)
        << kiln_model_last_error(b);
    ASSERT_FALSE(ctx->copy_to_host(yb.data(), y, yb.size() * sizeof(float)));
    for (size_t i = 0; i < ya.size(); ++i)
      ASSERT_TRUE(close(yb[i], ya[i])) << "forward " << seed << " [" << i << "]";
    float la = 0, lb = 0;
    ASSERT_EQ(kiln_model_train_step(a, batch.inputs(), batch.target.data(), &la), KILN_OK);
    ASSERT_EQ(kiln_model_train_step_device(b, inputs, target, static_cast<float *>(loss),
                                           stream),
              KILN_OK)
        << kiln_model_last_error(b);
    ASSERT_FALSE(ctx->copy_to_host(&lb, loss, sizeof lb));
    EXPECT_TRUE(close(lb, la)) << "loss " << seed << ": " << lb << " vs " << la;
  }
  // A class index out of range in device memory is refused before any kernel.
  const int64_t bad = GEMM_FOLDS_CUDA_OUTPUT0_SHAPE[1];
  ASSERT_FALSE(ctx->copy_to_device(target, &bad, sizeof bad));
  EXPECT_EQ(kiln_model_train_step_device(b, inputs, target, nullptr, stream),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_model_last_error(b)).find("element 0 is 9"), std::string::npos)
      << kiln_model_last_error(b);
  for (int i = 0; i < kiln_model_num_parameters(a); ++i) {
    float *pa = nullptr, *pb = nullptr;
    int64_t numel = 0;
    ASSERT_EQ(kiln_model_parameter(a, i, nullptr, &pa, &numel), KILN_OK);
    std::vector<float> copy(pa, pa + numel);
    ASSERT_EQ(kiln_model_parameter(b, i, nullptr, &pb, &numel), KILN_OK);
    for (int64_t j = 0; j < numel; ++j)
      ASSERT_TRUE(close(pb[j], copy[j])) << "parameter " << i << " [" << j << "]";
  }
  kiln_model_destroy(a);
  kiln_model_destroy(b);
  EXPECT_FALSE(ctx->free(x));
  EXPECT_FALSE(ctx->free(target));
  EXPECT_FALSE(ctx->free(y));
  EXPECT_FALSE(ctx->free(loss));
}

} // namespace
