// The device table of libkiln_rt (runtime/lib/device.h): the host CPU is
// there, unknown kinds are not, and its entries do what the model driver
// relies on (zeroed aligned memory, copies both ways, a launch that runs
// the kernel on its arguments).
#include "runtime/lib/device.h"

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

TEST(RuntimeDevice, CpuIsTheOnlyDevice) {
  EXPECT_EQ(cpu().kind, KILN_DEVICE_CPU);
  EXPECT_STREQ(cpu().name, "cpu");
  EXPECT_EQ(kiln::rt::find_device(1), nullptr);
  EXPECT_EQ(kiln::rt::find_device(-1), nullptr);
  EXPECT_EQ(kiln::rt::device_names(), "cpu");
}

TEST(RuntimeDevice, AllocReturnsZeroedAlignedDistinctMemory) {
  const Device &d = cpu();
  std::vector<void *> blocks;
  for (size_t bytes : {size_t(0), size_t(0), size_t(1), size_t(100), size_t(1) << 20}) {
    void *p = d.alloc(d.ctx, bytes);
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
    d.free(d.ctx, p);
  d.free(d.ctx, nullptr);
}

TEST(RuntimeDevice, CopiesRoundTrip) {
  const Device &d = cpu();
  const std::vector<float> host = {1.5f, -2.0f, 3.25f, 0.0f};
  const size_t bytes = host.size() * sizeof(float);
  void *dev = d.alloc(d.ctx, bytes);
  ASSERT_NE(dev, nullptr);
  EXPECT_EQ(d.copy_to_device(d.ctx, dev, host.data(), bytes), KILN_OK);
  std::vector<float> back(host.size());
  EXPECT_EQ(d.copy_to_host(d.ctx, back.data(), dev, bytes), KILN_OK);
  EXPECT_EQ(back, host);
  EXPECT_EQ(d.copy_to_host(d.ctx, back.data(), dev, 0), KILN_OK);
  d.free(d.ctx, dev);
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
  EXPECT_EQ(d.launch(d.ctx, add_one, args), KILN_OK);
  EXPECT_EQ(out, 42);
}

} // namespace
