// The device table of libkiln_rt (runtime/lib/device.h): the host CPU and
// CUDA are there, unknown kinds are not, and the CPU's entries do what the
// model driver relies on (zeroed aligned memory, copies both ways, a launch
// that runs the kernel on its arguments). CUDA's open fails with a reason
// where there is no GPU.
#include "runtime/lib/device.h"
#include "runtime/lib/metadata.h"

#include <kiln/cuda.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace {

using kiln::rt::Device;

const Device &cpu() {
  const Device *d = kiln::rt::find_device(KILN_DEVICE_CPU);
  EXPECT_NE(d, nullptr);
  return *d;
}

TEST(RuntimeDevice, CpuAndCudaAreTheDevices) {
  EXPECT_EQ(cpu().kind, KILN_DEVICE_CPU);
  EXPECT_STREQ(cpu().name, "cpu");
  EXPECT_TRUE(cpu().host_memory);
  const Device *cuda = kiln::rt::find_device(KILN_DEVICE_CUDA);
  ASSERT_NE(cuda, nullptr);
  EXPECT_STREQ(cuda->name, "cuda");
  EXPECT_FALSE(cuda->host_memory);
  EXPECT_EQ(kiln::rt::find_device(2), nullptr);
  EXPECT_EQ(kiln::rt::find_device(-1), nullptr);
  EXPECT_EQ(kiln::rt::device_names(), "cpu, cuda");
}

TEST(RuntimeDevice, CpuOpensDeviceZeroOnly) {
  kiln::rt::ModelSpec spec;
  void *ctx = &spec;
  EXPECT_FALSE(cpu().open(spec, 0, &ctx));
  EXPECT_EQ(ctx, nullptr);
  kiln::rt::Error e = cpu().open(spec, 1, &ctx);
  EXPECT_EQ(e.status, KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(e.message, "a CPU model runs on device 0 (the host), not 1");
  cpu().close(nullptr);
}

TEST(RuntimeDevice, CudaOpenWithoutAGpuFailsWithTheReason) {
  int count = 0;
  if (kiln_cuda_device_count(&count) == KILN_OK && count > 0)
    GTEST_SKIP() << "a CUDA device is present";
  const Device *cuda = kiln::rt::find_device(KILN_DEVICE_CUDA);
  ASSERT_NE(cuda, nullptr);
  kiln::rt::ModelSpec spec;
  void *ctx = &spec;
  kiln::rt::Error e = cuda->open(spec, 0, &ctx);
  EXPECT_EQ(e.status, KILN_ERROR_UNSUPPORTED);
  EXPECT_EQ(ctx, nullptr);
  EXPECT_TRUE(e.message.find("libcuda.so.1") != std::string::npos ||
              e.message.find("no CUDA device") != std::string::npos)
      << e.message;
  cuda->close(nullptr);
}

TEST(RuntimeDevice, CudaCallsOutsideAKernelDoNothing) {
  // The generated host code's entry points, with no instance running.
  const int64_t args[] = {0};
  kiln_cuda_launch(0, 1, 32, args, 1);
  kiln_cuda_sgemm(0, 0, 2, 2, 2, 0, 2, 0, 2, 0.0f, 0, 2, 1, 0, 0, 0);
  SUCCEED();
}

TEST(RuntimeDevice, AllocReturnsZeroedAlignedDistinctMemory) {
  const Device &d = cpu();
  std::vector<void *> blocks;
  for (size_t bytes : {size_t(0), size_t(0), size_t(1), size_t(100), size_t(1) << 20}) {
    void *p = d.alloc(nullptr, bytes);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
    const auto *bytes_of = static_cast<const unsigned char *>(p);
    for (size_t i = 0; i < bytes; ++i)
      ASSERT_EQ(bytes_of[i], 0) << "byte " << i << " of " << bytes;
    for (void *q : blocks)
      EXPECT_NE(p, q);
    blocks.push_back(p);
  }
  for (void *p : blocks)
    d.free(nullptr, p);
  d.free(nullptr, nullptr);
}

TEST(RuntimeDevice, CopiesRoundTrip) {
  const Device &d = cpu();
  const std::vector<float> host = {1.5f, -2.0f, 3.25f, 0.0f};
  const size_t bytes = host.size() * sizeof(float);
  void *dev = d.alloc(nullptr, bytes);
  ASSERT_NE(dev, nullptr);
  EXPECT_FALSE(d.copy_to_device(nullptr, dev, host.data(), bytes));
  std::vector<float> back(host.size());
  EXPECT_FALSE(d.copy_to_host(nullptr, back.data(), dev, bytes));
  EXPECT_EQ(back, host);
  EXPECT_FALSE(d.copy_to_host(nullptr, back.data(), dev, 0));
  d.free(nullptr, dev);
}

void add_one(void **args) {
  const float *in = static_cast<const float *>(args[0]);
  float *out = static_cast<float *>(args[1]);
  out[0] = in[0] + 1;
}

TEST(RuntimeDevice, LaunchRunsTheKernelOnItsArguments) {
  const Device &d = cpu();
  float in = 41, out = 0;
  void *args[] = {&in, &out};
  EXPECT_FALSE(d.launch(nullptr, add_one, args));
  EXPECT_EQ(out, 42);
}

} // namespace
