/* libkiln_rt's CUDA part, as far as applications see it (docs/runtime-abi.md,
 * "CUDA device layer"). The runtime loads the NVIDIA driver (libcuda.so.1)
 * and cuBLAS at run time, so an application that links libkiln_rt builds
 * and runs without either; on a machine without them these functions fail
 * with a status and a message (kiln_last_error) instead of crashing.
 * Statuses that come from the GPU or its driver are KILN_ERROR_DEVICE and
 * carry the CUDA error name and description. */
#ifndef KILN_CUDA_H
#define KILN_CUDA_H

#include <kiln/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The number of CUDA devices, ordinals 0 to *count - 1. KILN_OK when the
 * driver is there (the count may then still be 0); without a driver
 * ("CUDA driver libcuda.so.1 not found: ...") or without a device ("no CUDA
 * device: ...") *count is 0 and the status KILN_ERROR_UNSUPPORTED, with the
 * reason in kiln_last_error(). NULL count: KILN_ERROR_INVALID_ARGUMENT. The
 * driver is loaded and initialised once per process; thread safe. */
kiln_status kiln_cuda_device_count(int *count);

#ifdef __cplusplus
}
#endif

#endif
