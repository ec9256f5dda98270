#ifndef KILN_RUNTIME_LIB_CUDA_MODEL_H
#define KILN_RUNTIME_LIB_CUDA_MODEL_H

/* The CUDA row of the device table (device.h): one model instance's
 * context, PTX module and kernels, and the calls its host code makes
 * (kiln_cuda_launch, kiln_cuda_sgemm in <kiln/cuda.h>) while the runtime
 * runs one of its kernels. */

#include "device.h"

namespace kiln::rt::cuda {

/* Creates a Context for device `ordinal`, loads the model's PTX and looks
 * up every kernel it names: "no CUDA device", a module that does not load
 * or a missing kernel fail here, at kiln_model_create. */
Error model_open(const ModelSpec &spec, int ordinal, void **ctx);
void model_close(void *ctx);
void *model_alloc(void *ctx, size_t bytes);
void model_free(void *ctx, void *ptr);
Error model_copy_to_device(void *ctx, void *dst, const void *src, size_t bytes);
Error model_copy_to_host(void *ctx, void *dst, const void *src, size_t bytes);
Error model_copy_on_device(void *ctx, void *dst, const void *src, size_t bytes);
/* Context::wait_for and make_wait with the caller's stream (a CUstream). */
Error model_wait_for_stream(void *ctx, void *stream);
Error model_make_stream_wait(void *ctx, void *stream);
/* Calls the kernel's host code with this instance current on the thread;
 * returns the first failure of its launches and GEMMs (errors inside a
 * kernel show at the next copy). */
Error model_launch(void *ctx, kiln_kernel_fn fn, void **args);

} // namespace kiln::rt::cuda

#endif
