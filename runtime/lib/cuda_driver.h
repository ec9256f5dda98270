#ifndef KILN_RUNTIME_LIB_CUDA_DRIVER_H
#define KILN_RUNTIME_LIB_CUDA_DRIVER_H

/* The few parts of the CUDA driver API and of cuBLAS that libkiln_rt uses,
 * declared here (as Halide's mini_cuda.h does) and resolved at run time with
 * dlopen, so that libkiln_rt builds without CUDA headers and an application
 * links and runs without libcuda.so.1 or cuBLAS. The declarations follow the
 * ABI of CUDA 12/13's cuda.h and cublas_api.h; only the versioned symbols
 * (`_v2`) whose ABI has been stable since CUDA 4 are used. */

#include "error.h"

#include <cstddef>
#include <cstdint>

namespace kiln::rt::cuda {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUstream = struct CUstream_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUevent = struct CUevent_st *;
using CUjit_option = int;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr CUresult CUDA_ERROR_INVALID_VALUE = 1;
constexpr CUresult CUDA_ERROR_OUT_OF_MEMORY = 2;
constexpr CUresult CUDA_ERROR_STUB_LIBRARY = 34;
constexpr CUresult CUDA_ERROR_NO_DEVICE = 100;
constexpr CUresult CUDA_ERROR_INVALID_DEVICE = 101;
constexpr CUresult CUDA_ERROR_INVALID_IMAGE = 200;
constexpr CUresult CUDA_ERROR_NO_BINARY_FOR_GPU = 209;
constexpr CUresult CUDA_ERROR_INVALID_PTX = 218;
constexpr CUresult CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222;
constexpr CUresult CUDA_ERROR_NOT_FOUND = 500;
constexpr CUresult CUDA_ERROR_NOT_READY = 600;

constexpr CUjit_option CU_JIT_INFO_LOG_BUFFER = 3;
constexpr CUjit_option CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4;
constexpr CUjit_option CU_JIT_ERROR_LOG_BUFFER = 5;
constexpr CUjit_option CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr unsigned CU_STREAM_NON_BLOCKING = 0x1;
constexpr unsigned CU_EVENT_DISABLE_TIMING = 0x2;

using cublasStatus_t = int;
using cublasHandle_t = struct cublasContext *;
constexpr cublasStatus_t CUBLAS_STATUS_SUCCESS = 0;
constexpr cublasStatus_t CUBLAS_STATUS_ALLOC_FAILED = 3;
constexpr cublasStatus_t CUBLAS_STATUS_INVALID_VALUE = 7;
constexpr int CUBLAS_OP_N = 0;
constexpr int CUBLAS_OP_T = 1;
constexpr int CUBLAS_DEFAULT_MATH = 0; /* fp32 GEMMs in fp32: no TF32 */

/* The driver entry points, resolved from libcuda.so.1. */
struct Driver {
  CUresult (*cuInit)(unsigned flags);
  CUresult (*cuDriverGetVersion)(int *version);
  CUresult (*cuGetErrorName)(CUresult error, const char **str);
  CUresult (*cuGetErrorString)(CUresult error, const char **str);
  CUresult (*cuDeviceGetCount)(int *count);
  CUresult (*cuDeviceGet)(CUdevice *device, int ordinal);
  CUresult (*cuDeviceGetName)(char *name, int len, CUdevice device);
  CUresult (*cuDeviceGetAttribute)(int *value, int attribute, CUdevice device);
  CUresult (*cuDeviceTotalMem_v2)(size_t *bytes, CUdevice device);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *ctx, CUdevice device);
  CUresult (*cuDevicePrimaryCtxRelease_v2)(CUdevice device);
  CUresult (*cuCtxPushCurrent_v2)(CUcontext ctx);
  CUresult (*cuCtxPopCurrent_v2)(CUcontext *ctx);
  CUresult (*cuStreamCreate)(CUstream *stream, unsigned flags);
  CUresult (*cuStreamDestroy_v2)(CUstream stream);
  CUresult (*cuStreamSynchronize)(CUstream stream);
  CUresult (*cuStreamWaitEvent)(CUstream stream, CUevent event, unsigned flags);
  CUresult (*cuStreamQuery)(CUstream stream);
  CUresult (*cuEventCreate)(CUevent *event, unsigned flags);
  CUresult (*cuEventDestroy_v2)(CUevent event);
  CUresult (*cuEventRecord)(CUevent event, CUstream stream);
  CUresult (*cuMemAlloc_v2)(CUdeviceptr *ptr, size_t bytes);
  CUresult (*cuMemFree_v2)(CUdeviceptr ptr);
  CUresult (*cuMemsetD8Async)(CUdeviceptr dst, unsigned char value, size_t count,
                              CUstream stream);
  CUresult (*cuMemcpyHtoDAsync_v2)(CUdeviceptr dst, const void *src, size_t bytes,
                                   CUstream stream);
  CUresult (*cuMemcpyDtoHAsync_v2)(void *dst, CUdeviceptr src, size_t bytes,
                                   CUstream stream);
  CUresult (*cuMemcpyDtoDAsync_v2)(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
                                   CUstream stream);
  CUresult (*cuModuleLoadDataEx)(CUmodule *module, const void *image,
                                 unsigned num_options, CUjit_option *options,
                                 void **values);
  CUresult (*cuModuleUnload)(CUmodule module);
  CUresult (*cuModuleGetFunction)(CUfunction *fn, CUmodule module, const char *name);
  CUresult (*cuLaunchKernel)(CUfunction fn, unsigned grid_x, unsigned grid_y,
                             unsigned grid_z, unsigned block_x, unsigned block_y,
                             unsigned block_z, unsigned shared_bytes,
                             CUstream stream, void **params, void **extra);
};

/* The cuBLAS entry points, resolved from libcublas. A cudaStream_t is a
 * CUstream. */
struct Cublas {
  cublasStatus_t (*cublasCreate_v2)(cublasHandle_t *handle);
  cublasStatus_t (*cublasDestroy_v2)(cublasHandle_t handle);
  cublasStatus_t (*cublasSetStream_v2)(cublasHandle_t handle, CUstream stream);
  cublasStatus_t (*cublasSetMathMode)(cublasHandle_t handle, int mode);
  cublasStatus_t (*cublasSgemm_v2)(cublasHandle_t handle, int transa, int transb,
                                   int m, int n, int k, const float *alpha,
                                   const float *a, int lda, const float *b,
                                   int ldb, const float *beta, float *c, int ldc);
  cublasStatus_t (*cublasSgemmStridedBatched)(
      cublasHandle_t handle, int transa, int transb, int m, int n, int k,
      const float *alpha, const float *a, int lda, long long stride_a,
      const float *b, int ldb, long long stride_b, const float *beta, float *c,
      int ldc, long long stride_c, int batch);
  /* Optional (cuBLAS 11.4+); NULL when absent. */
  const char *(*cublasGetStatusName)(cublasStatus_t status);
  const char *(*cublasGetStatusString)(cublasStatus_t status);
};

/* The driver, loaded and initialised (cuInit) once per process; thread
 * safe. On failure `*driver` is NULL and the Error says why, with
 * KILN_ERROR_UNSUPPORTED: "CUDA driver libcuda.so.1 not found: <dlerror>",
 * "... lacks <symbol>" (a driver too old), "no CUDA device: cuInit (...):
 * CUDA_ERROR_NO_DEVICE 100 (...)", or "CUDA driver libcuda.so.1 failed to
 * initialise: cuInit (...): <error>" (a stub library, a driver that does not
 * match the kernel module). The failure is remembered, like the
 * success: the process does not retry. */
Error load_driver(const Driver **driver);

/* cuBLAS, loaded once per process: $KILN_CUBLAS_PATH if set, else
 * libcublas.so.13, then libcublas.so from the dynamic loader's search path.
 * KILN_ERROR_UNSUPPORTED naming every name tried when none loads. */
Error load_cublas(const Cublas **cublas);

/* Turns a driver result into an Error: KILN_OK for CUDA_SUCCESS, else a
 * status chosen by the result (out of memory, a bad image or PTX, a bad
 * value or name, anything else KILN_ERROR_DEVICE) and the message
 * "<call> (<file>:<line>): <CUDA_ERROR_NAME> (<description>)". */
Error check(const Driver &driver, CUresult result, const char *call, const char *file,
            int line);
Error check_cublas(const Cublas &cublas, cublasStatus_t status, const char *call,
                   const char *file, int line);

} // namespace kiln::rt::cuda

/* Checks a driver call made through `drv` (a Driver&) and returns its Error
 * from the enclosing function when it failed, naming the call and its site. */
#define KILN_CU(drv, fn, ...)                                                  \
  do {                                                                         \
    if (::kiln::rt::Error kiln_cu_err_ = ::kiln::rt::cuda::check(              \
            (drv), (drv).fn(__VA_ARGS__), #fn, __FILE__, __LINE__))            \
      return kiln_cu_err_;                                                     \
  } while (0)

#define KILN_CUBLAS(lib, fn, ...)                                              \
  do {                                                                         \
    if (::kiln::rt::Error kiln_cublas_err_ = ::kiln::rt::cuda::check_cublas(   \
            (lib), (lib).fn(__VA_ARGS__), #fn, __FILE__, __LINE__))            \
      return kiln_cublas_err_;                                                 \
  } while (0)

#endif
