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

/* ---- Called by the host code of CUDA models (kilnc --target=cuda) --------
 * Only while the runtime runs one of the model's kernels on this thread
 * (kiln_model_train_step, ...): they queue work on the instance's stream,
 * and the first failure of a kernel call becomes that call's status. Called
 * at any other time they do nothing. Pointers travel as int64_t. */

/* Launches kernel `kernel` of the model's PTX module (its number in
 * kiln_model_metadata.device_kernels) over `blocks` x `threads` threads;
 * args[i] holds the kernel's i-th parameter (a device pointer, an integer,
 * or a float's bits in the low half). No blocks: nothing to do. */
void kiln_cuda_launch(int32_t kernel, int64_t blocks, int64_t threads,
                      const int64_t *args, int32_t num_args);

/* Row-major C = op(A) op(B) + beta C on the instance's stream through
 * cuBLAS, fp32 (no TF32), `batch` times with the given element strides
 * (kiln::rt::cuda::Context::sgemm). */
void kiln_cuda_sgemm(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n,
                     int64_t k, int64_t a, int64_t lda, int64_t b, int64_t ldb,
                     float beta, int64_t c, int64_t ldc, int64_t batch,
                     int64_t stride_a, int64_t stride_b, int64_t stride_c);

/* The data-parallel collectives of a model compiled with --data-parallel
 * (passes/LowerDistributed.cpp; the CPU versions in docs/distributed.md),
 * on device pointers: `params` (host memory) as the CPU versions take it,
 * `in` and `out` `params[0]` floats of the instance's device memory. A
 * communicator that reduces device memory (NCCL) reduces them on the GPU;
 * with kiln's NCCL communicator a bucket's start queues its all-reduce on
 * the communicator's stream and returns, and its wait makes the instance's
 * stream wait for it (the runtime waits for every bucket, within the
 * timeout, when the step's host code returns). Any other communicator
 * (MPI): they wait for the instance's stream, reduce host copies and copy
 * the result back; a bucket's start reduces at once, its wait has nothing
 * left to do. Failures: as the CPU versions' (the call's status,
 * KILN_ERROR_COMMUNICATION). */
void kiln_cuda_all_reduce_mean(const int64_t *params, const void *in, void *out);
void kiln_cuda_all_reduce_sum(const int64_t *params, const void *in, void *out);
void kiln_cuda_all_reduce_start(const int64_t *params, const void *in, void *out);
void kiln_cuda_all_reduce_wait(const int64_t *params, void *out);
/* One float, the communicator's size (1 without one), into `out`. */
void kiln_cuda_world_size(const int64_t *params, void *out);

#ifdef __cplusplus
}
#endif

#endif
