#ifndef KILN_RUNTIME_LIB_CUDA_DEVICE_H
#define KILN_RUNTIME_LIB_CUDA_DEVICE_H

/* The CUDA device layer of libkiln_rt: what the CUDA backend's host code and
 * the model driver need from a GPU (issue 12, item 4). Internal; the public
 * part is kiln/cuda.h. Everything goes through the driver API and cuBLAS
 * loaded at run time (cuda_driver.h), so nothing here needs CUDA to build,
 * and without a driver or device every entry point fails with a status and
 * a message instead of crashing.
 *
 * Device pointers are `void *` (a CUdeviceptr's bits), so they fit the
 * Device table (device.h) and kernel argument lists. */

#include "cuda_driver.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kiln::rt::cuda {

/* Devices the driver reports; 0 with a reason when there is no driver or
 * no device (the Error then is KILN_ERROR_UNSUPPORTED). */
Error device_count(int *count);

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};

/* A row-major single-precision GEMM, C = alpha op(A) op(B) + beta C, batched
 * over `batch` matrices `stride_*` floats apart. op(A) is m x k: A is stored
 * m x k (lda >= k) or, when trans_a, k x m (lda >= m); op(B) is k x n: B is
 * stored k x n (ldb >= n) or, when trans_b, n x k (ldb >= k); C is m x n
 * (ldc >= n). These cover the backward's products: A B (forward), A Bᵀ
 * (input gradient of x Wᵀ) and Aᵀ B (weight gradient). All pointers are
 * device memory; C overlaps neither A nor B. */
struct Sgemm {
  bool trans_a = false, trans_b = false;
  int m = 0, n = 0, k = 0;
  float alpha = 1, beta = 0;
  const void *a = nullptr;
  int lda = 0;
  const void *b = nullptr;
  int ldb = 0;
  void *c = nullptr;
  int ldc = 0;
  int batch = 1;
  long long stride_a = 0, stride_b = 0, stride_c = 0;
};

/* One user's (one model instance's) view of a GPU: the device's primary
 * context (shared with the CUDA runtime, so cudaMalloc'd pointers and
 * cudaStream_t work with it), its own non-blocking stream, the memory and
 * modules it made, and a cuBLAS handle bound to the stream, created on the
 * first GEMM. Every call makes the context current for its duration and
 * restores the caller's. Like a model instance, one context is used by one
 * thread at a time; distinct contexts may be used from any threads at once.
 *
 * Work is ordered on the stream. Copies to the host, synchronize() and the
 * destructor wait for it; kernel launches and GEMMs return once queued, so
 * an error inside a kernel shows at the next synchronising call. */
class Context {
public:
  /* The context for device `ordinal` (0-based). KILN_ERROR_UNSUPPORTED
   * without a driver or device, KILN_ERROR_INVALID_ARGUMENT for an ordinal
   * out of range ("CUDA device 3 does not exist (1 device)"). */
  static Error create(int ordinal, std::unique_ptr<Context> *out);
  ~Context(); // frees what is left, unloads modules, waits for the stream
  Context(const Context &) = delete;
  Context &operator=(const Context &) = delete;

  int ordinal() const { return ordinal_; }
  const std::string &name() const { return name_; } /* "NVIDIA H200" */
  int compute_capability() const { return cc_; }    /* 90 for sm_90 */
  size_t total_memory() const { return total_memory_; }
  CUstream stream() const { return stream_; }

  /* `bytes` of zero-filled device memory (256-byte aligned), distinct even
   * for 0 bytes. */
  Error alloc(size_t bytes, void **ptr);
  /* Frees memory from alloc; NULL is ignored. A pointer this context did
   * not allocate is KILN_ERROR_INVALID_ARGUMENT. Waits for the stream. */
  Error free(void *ptr);
  /* Zeroes [ptr, ptr + bytes) (stream-ordered). */
  Error zero(void *ptr, size_t bytes);
  /* Copies between host memory and device memory; both return when the
   * copy is done. A range inside an allocation of this context must end
   * inside it (KILN_ERROR_INVALID_ARGUMENT otherwise); other device
   * pointers (the caller's own memory) are left to the driver to check. */
  Error copy_to_device(void *dst, const void *src, size_t bytes);
  Error copy_to_host(void *dst, const void *src, size_t bytes);
  Error copy_on_device(void *dst, const void *src, size_t bytes); /* stream-ordered */

  /* Loads a module from NUL-terminated PTX text (or a cubin/fatbin image),
   * JIT-compiling it for this device; KILN_ERROR_FORMAT with the JIT's
   * error log when it does not compile. The module lives as long as the
   * context. */
  Error load_module(const char *image, CUmodule *module);
  /* The kernel `name` of `module`; KILN_ERROR_INVALID_ARGUMENT naming it
   * when the module has none. */
  Error kernel(CUmodule module, const char *name, CUfunction *fn);
  /* Queues `fn` on the stream over `grid` x `block` threads; `args[i]`
   * points to the value of the kernel's i-th parameter (cuLaunchKernel's
   * kernelParams). */
  Error launch(CUfunction fn, Dim3 grid, Dim3 block, unsigned shared_bytes,
               void **args);
  /* kernel() then launch(). */
  Error launch(CUmodule module, const char *name, Dim3 grid, Dim3 block,
               unsigned shared_bytes, void **args);

  /* Queues a GEMM on the stream through cuBLAS (loaded on first use; fp32
   * math, no TF32). KILN_ERROR_INVALID_ARGUMENT for sizes, leading
   * dimensions or strides that do not describe the operands. */
  Error sgemm(const Sgemm &gemm);

  /* Waits for the stream; reports any error of the work queued on it. */
  Error synchronize();

  /* Ordering with a caller's stream `other` (a cudaStream_t of this device;
   * NULL: its default stream), through an event, without blocking the
   * host. wait_for: what this context queues from now on runs after what
   * `other` holds now. make_wait: what `other` is given from now on runs
   * after what this context's stream holds now. */
  Error wait_for(CUstream other);
  Error make_wait(CUstream other);

  /* Event `slot` of this context (created on first use, destroyed with
   * it) recorded on `stream` (this context's, or another stream of this
   * device): record; then what `waiter` is given from now on runs after
   * what `stream` held at that record: wait_event. Neither blocks the
   * host. */
  Error record(size_t slot, CUstream stream);
  Error wait_event(CUstream waiter, size_t slot);

  /* Runs `fn` with this context current on the thread (for libraries that
   * work on the current device, NCCL) and returns its Error. */
  Error with_current(const std::function<Error()> &fn);
  /* Waits for the work queued on `stream` (this context's stream, or one
   * of the caller's on this device), at most `seconds`: KILN_ERROR_
   * COMMUNICATION "... did not complete within <seconds> s" after that,
   * naming `what`. */
  Error wait_within(CUstream stream, double seconds, const char *what);

private:
  Context() = default;
  Error check_range(const void *ptr, size_t bytes, const char *what) const;
  /* `event_` (created on first use) recorded on `stream`, then waited for
   * by `waiter`. */
  Error order(CUstream stream, CUstream waiter);

  const Driver *driver_ = nullptr;
  const Cublas *cublas_ = nullptr;
  int ordinal_ = -1;
  CUdevice device_ = 0;
  CUcontext context_ = nullptr;
  CUstream stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  CUevent event_ = nullptr; /* wait_for / make_wait */
  std::vector<CUevent> events_; /* record / wait_event, by slot */
  std::string name_;
  int cc_ = 0;
  size_t total_memory_ = 0;
  std::map<uintptr_t, size_t> allocations_; /* start -> bytes asked for */
  std::vector<CUmodule> modules_;

  friend class Current;
};

} // namespace kiln::rt::cuda

#endif
