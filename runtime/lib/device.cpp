#include "device.h"

#include <cstring>

namespace {

/* The host CPU: device memory is host memory, so copies are memcpy and a
 * launch is a plain call (the kernel parallelises itself through
 * kiln_parallel_for). */
void *cpu_alloc(void *, size_t bytes) {
  void *ptr = kiln_alloc(bytes);
  if (ptr)
    std::memset(ptr, 0, bytes); // also maps the pages before the first kernel
  return ptr;
}

void cpu_free(void *, void *ptr) { kiln_free(ptr); }

kiln_status cpu_copy(void *, void *dst, const void *src, size_t bytes) {
  if (bytes)
    std::memcpy(dst, src, bytes);
  return KILN_OK;
}

kiln_status cpu_launch(void *, kiln_kernel_fn fn, void **args) {
  fn(args);
  return KILN_OK;
}

const kiln::rt::Device kDevices[] = {
    {KILN_DEVICE_CPU, "cpu", nullptr, cpu_alloc, cpu_free, cpu_copy, cpu_copy,
     cpu_launch},
};

} // namespace

namespace kiln::rt {

const Device *find_device(int32_t kind) {
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

} // namespace kiln::rt
