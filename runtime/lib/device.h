#ifndef KILN_RUNTIME_LIB_DEVICE_H
#define KILN_RUNTIME_LIB_DEVICE_H

#include <kiln/runtime.h>

#include <cstddef>
#include <string>

namespace kiln::rt {

/* A device a model instance runs on, as a table of function pointers. The
 * model driver (model.cpp) allocates its buffers, moves data between the
 * host and those buffers, and launches kernels only through one, so a new
 * device (CUDA) is a new table, not new paths through the driver. Every
 * entry takes the device's own context first. */
struct Device {
  kiln_device_kind kind; /* the metadata's `device` */
  const char *name;      /* for messages: "cpu" */
  void *ctx;
  /* `bytes` of zero-filled device memory, 64-byte aligned; a distinct
   * pointer even for 0 bytes. NULL when out of memory. */
  void *(*alloc)(void *ctx, size_t bytes);
  void (*free)(void *ctx, void *ptr); /* NULL is ignored */
  /* `dst` is device memory from alloc, `src` host memory (and the reverse
   * for copy_to_host); both ranges are valid for `bytes`. */
  kiln_status (*copy_to_device)(void *ctx, void *dst, const void *src, size_t bytes);
  kiln_status (*copy_to_host)(void *ctx, void *dst, const void *src, size_t bytes);
  /* Runs a compiled kernel on `args` (kiln_kernel_info's argument list, as
   * device pointers) and returns when it is done. */
  kiln_status (*launch)(void *ctx, kiln_kernel_fn fn, void **args);
};

/* The device for a metadata `device` value, or NULL when this runtime has
 * none for it. */
const Device *find_device(int32_t kind);

/* The names of the devices this runtime has ("cpu"), for messages. */
std::string device_names();

} // namespace kiln::rt

#endif
