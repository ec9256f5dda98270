#ifndef KILN_RUNTIME_LIB_DEVICE_H
#define KILN_RUNTIME_LIB_DEVICE_H

#include "error.h"

#include <kiln/runtime.h>

#include <cstddef>
#include <string>

namespace kiln::rt {

struct ModelSpec;

/* A device a model instance runs on, as a table of function pointers. The
 * model driver (model.cpp) allocates its buffers, moves data between the
 * host and those buffers, and launches kernels only through one, so a new
 * device is a new table, not new paths through the driver. Every entry but
 * open takes the instance's context (from open) first. */
struct Device {
  kiln_device_kind kind; /* the metadata's `device` */
  const char *name;      /* for messages: "cpu", "cuda" */
  /* Whether kernels read and write host memory: then the caller's inputs,
   * target and outputs and the random state reach them as given. Otherwise
   * the driver stages those in device memory around every launch. */
  bool host_memory;
  /* One instance's context on device `ordinal` (0-based) for model `spec`
   * (a CUDA model's module is loaded here, so a device or module problem
   * surfaces at kiln_model_create). */
  Error (*open)(const ModelSpec &spec, int ordinal, void **ctx);
  void (*close)(void *ctx); /* NULL ctx is ignored */
  /* `bytes` of zero-filled device memory, at least 64-byte aligned; a
   * distinct pointer even for 0 bytes. NULL when out of memory. */
  void *(*alloc)(void *ctx, size_t bytes);
  void (*free)(void *ctx, void *ptr); /* NULL is ignored */
  /* `dst` is device memory from alloc, `src` host memory (and the reverse
   * for copy_to_host); both ranges are valid for `bytes`. They return when
   * the copy is done, after every kernel launched before. */
  Error (*copy_to_device)(void *ctx, void *dst, const void *src, size_t bytes);
  Error (*copy_to_host)(void *ctx, void *dst, const void *src, size_t bytes);
  /* Between two ranges of device memory (from alloc, or the caller's),
   * ordered after every kernel launched before; it may return once queued. */
  Error (*copy_on_device)(void *ctx, void *dst, const void *src, size_t bytes);
  /* Runs a compiled kernel on `args` (kiln_kernel_info's argument list, as
   * device pointers). The CPU returns when it is done; a GPU may return
   * once its work is queued (copies wait for it). */
  Error (*launch)(void *ctx, kiln_kernel_fn fn, void **args);
  /* Devices with streams (NULL entries otherwise: the caller's stream must
   * then be NULL): the instance's work from now on after what the caller's
   * `stream` holds now, and what `stream` is given from now on after the
   * instance's work (the _device entry points, kiln/runtime.h). */
  Error (*wait_for_stream)(void *ctx, void *stream);
  Error (*make_stream_wait)(void *ctx, void *stream);
};

/* The device for a metadata `device` value, or NULL when this runtime has
 * none for it. */
const Device *find_device(int32_t kind);

/* The names of the devices this runtime has ("cpu, cuda"), for messages. */
std::string device_names();

namespace testing {

/* While one is alive, CPU models created (kiln_model_create) run on the
 * staged CPU: host memory presented as a device's (host_memory false), so
 * that tests without a GPU take the driver's paths for one (staging, host
 * copies for introspection, device pointers, the stream calls, which it
 * counts and which accept any stream). For tests, one at a time, while no
 * other thread creates models. */
class StageCpuModels {
public:
  StageCpuModels();
  ~StageCpuModels();
  StageCpuModels(const StageCpuModels &) = delete;
  StageCpuModels &operator=(const StageCpuModels &) = delete;
  /* wait_for_stream and make_stream_wait calls so far, all instances. */
  static int stream_calls();
};

} // namespace testing

} // namespace kiln::rt

#endif
