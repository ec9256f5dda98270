#include "device.h"
#include "cuda_model.h"

#include <atomic>
#include <cstring>

namespace {

using kiln::rt::Error;
using kiln::rt::ModelSpec;

/* The host CPU: device memory is host memory, so copies are memcpy and a
 * launch is a plain call (the kernel parallelises itself through
 * kiln_parallel_for). One device: the ordinal must be 0. */
Error cpu_open(const ModelSpec &, int ordinal, void **ctx) {
  *ctx = nullptr;
  if (ordinal != 0)
    return kiln::rt::fail(KILN_ERROR_INVALID_ARGUMENT,
                          "a CPU model runs on device 0 (the host), not " +
                              std::to_string(ordinal));
  return {};
}

void cpu_close(void *) {}

void *cpu_alloc(void *, size_t bytes) {
  void *ptr = kiln_alloc(bytes);
  if (ptr)
    std::memset(ptr, 0, bytes); // also maps the pages before the first kernel
  return ptr;
}

void cpu_free(void *, void *ptr) { kiln_free(ptr); }

Error cpu_copy(void *, void *dst, const void *src, size_t bytes) {
  if (bytes)
    std::memcpy(dst, src, bytes);
  return {};
}

Error cpu_launch(void *, kiln_kernel_fn fn, void **args) {
  fn(args);
  return {};
}

/* The staged CPU (kiln::rt::testing::StageCpuModels): host memory
 * presented as a device's, so that tests on any machine run the driver's
 * paths for GPUs (staging, host copies for introspection, device pointers,
 * stream ordering) with the CPU's kernels. Its context counts the stream
 * calls; any non-NULL stream is accepted. */
std::atomic<bool> g_stage_cpu_models{false};
std::atomic<int> g_staged_stream_calls{0};

struct StagedContext {}; // non-NULL: the driver frees staged memory only with a context

Error staged_open(const ModelSpec &spec, int ordinal, void **ctx) {
  if (Error e = cpu_open(spec, ordinal, ctx))
    return e;
  *ctx = new StagedContext;
  return {};
}

void staged_close(void *ctx) { delete static_cast<StagedContext *>(ctx); }

Error staged_stream_call(void *, void *) {
  ++g_staged_stream_calls;
  return {};
}

const kiln::rt::Device kStagedCpu = {KILN_DEVICE_CPU, "cpu-staged", false, staged_open,
                                     staged_close, cpu_alloc, cpu_free, cpu_copy, cpu_copy,
                                     cpu_copy, cpu_launch, staged_stream_call,
                                     staged_stream_call};

const kiln::rt::Device kDevices[] = {
    {KILN_DEVICE_CPU, "cpu", true, cpu_open, cpu_close, cpu_alloc, cpu_free, cpu_copy,
     cpu_copy, cpu_copy, cpu_launch, nullptr, nullptr},
    {KILN_DEVICE_CUDA, "cuda", false, kiln::rt::cuda::model_open,
     kiln::rt::cuda::model_close, kiln::rt::cuda::model_alloc, kiln::rt::cuda::model_free,
     kiln::rt::cuda::model_copy_to_device, kiln::rt::cuda::model_copy_to_host,
     kiln::rt::cuda::model_copy_on_device, kiln::rt::cuda::model_launch,
     kiln::rt::cuda::model_wait_for_stream, kiln::rt::cuda::model_make_stream_wait},
};

} // namespace

namespace kiln::rt {

const Device *find_device(int32_t kind) {
  if (kind == KILN_DEVICE_CPU && g_stage_cpu_models)
    return &kStagedCpu;
  for (const Device &device : kDevices)
    if (device.kind == kind)
      return &device;
  return nullptr;
}

std::string device_names() {
  std::string names;
  for (const Device &device : kDevices)
    names += (names.empty() ? "" : ", ") + std::string(device.name);
  return names;
}

namespace testing {

StageCpuModels::StageCpuModels() { g_stage_cpu_models = true; }
StageCpuModels::~StageCpuModels() { g_stage_cpu_models = false; }
int StageCpuModels::stream_calls() { return g_staged_stream_calls; }

} // namespace testing

} // namespace kiln::rt
