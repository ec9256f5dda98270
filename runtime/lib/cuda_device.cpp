#include "cuda_device.h"

#include <kiln/cuda.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <new>
#include <thread>

namespace kiln::rt::cuda {
namespace {

CUdeviceptr dptr(const void *ptr) { return static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(ptr)); }

std::string devices_phrase(int count) {
  return std::to_string(count) + (count == 1 ? " device" : " devices");
}

} // namespace

/* Makes a context current on this thread for one scope and restores the
 * caller's afterwards (push/pop), so the layer never disturbs an
 * application's own CUDA state. */
class Current {
public:
  explicit Current(const Context &c) : driver_(*c.driver_) {
    error_ = check(driver_, driver_.cuCtxPushCurrent_v2(c.context_), "cuCtxPushCurrent_v2",
                   __FILE__, __LINE__);
  }
  ~Current() {
    if (!error_) {
      CUcontext popped = nullptr;
      driver_.cuCtxPopCurrent_v2(&popped);
    }
  }
  Current(const Current &) = delete;
  Current &operator=(const Current &) = delete;
  const Error &error() const { return error_; }

private:
  const Driver &driver_;
  Error error_;
};

#define KILN_CURRENT(ctx)                                                      \
  Current current_(ctx);                                                       \
  if (current_.error())                                                        \
    return current_.error();

Error device_count(int *count) {
  *count = 0;
  const Driver *d = nullptr;
  if (Error e = load_driver(&d))
    return e;
  KILN_CU(*d, cuDeviceGetCount, count);
  return Error{};
}

Error Context::create(int ordinal, std::unique_ptr<Context> *out) {
  out->reset();
  const Driver *d = nullptr;
  if (Error e = load_driver(&d))
    return e;
  int count = 0;
  KILN_CU(*d, cuDeviceGetCount, &count);
  if (count <= 0)
    return fail(KILN_ERROR_UNSUPPORTED, "no CUDA device: the driver reports none");
  if (ordinal < 0 || ordinal >= count)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "CUDA device " + std::to_string(ordinal) +
                                                 " does not exist (" + devices_phrase(count) +
                                                 ")");
  std::unique_ptr<Context> c(new Context());
  c->driver_ = d;
  c->ordinal_ = ordinal;
  KILN_CU(*d, cuDeviceGet, &c->device_, ordinal);
  char name[256] = {};
  KILN_CU(*d, cuDeviceGetName, name, static_cast<int>(sizeof name - 1), c->device_);
  c->name_ = name;
  int major = 0, minor = 0;
  KILN_CU(*d, cuDeviceGetAttribute, &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
          c->device_);
  KILN_CU(*d, cuDeviceGetAttribute, &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
          c->device_);
  c->cc_ = major * 10 + minor;
  KILN_CU(*d, cuDeviceTotalMem_v2, &c->total_memory_, c->device_);
  // The primary context is the one the CUDA runtime (and so cuBLAS, and an
  // application using cudaMalloc) uses on this device: pointers and streams
  // then mean the same on both sides.
  KILN_CU(*d, cuDevicePrimaryCtxRetain, &c->context_, c->device_);
  {
    KILN_CURRENT(*c);
    KILN_CU(*d, cuStreamCreate, &c->stream_, CU_STREAM_NON_BLOCKING);
  }
  *out = std::move(c);
  return Error{};
}

Context::~Context() {
  if (!context_)
    return;
  const Driver &d = *driver_;
  {
    Current current(*this);
    if (!current.error()) {
      if (stream_)
        d.cuStreamSynchronize(stream_);
      if (blas_)
        cublas_->cublasDestroy_v2(blas_);
      if (event_)
        d.cuEventDestroy_v2(event_);
      for (CUevent event : events_)
        if (event)
          d.cuEventDestroy_v2(event);
      for (const auto &allocation : allocations_)
        d.cuMemFree_v2(static_cast<CUdeviceptr>(allocation.first));
      for (CUmodule module : modules_)
        d.cuModuleUnload(module);
      if (stream_)
        d.cuStreamDestroy_v2(stream_);
    }
  }
  d.cuDevicePrimaryCtxRelease_v2(device_);
}

Error Context::alloc(size_t bytes, void **ptr) {
  *ptr = nullptr;
  KILN_CURRENT(*this);
  CUdeviceptr p = 0;
  // cuMemAlloc refuses 0 bytes; one byte still gives a distinct pointer.
  KILN_CU(*driver_, cuMemAlloc_v2, &p, std::max<size_t>(bytes, 1));
  auto release = [&] { driver_->cuMemFree_v2(p); };
  if (Error e = check(*driver_, driver_->cuMemsetD8Async(p, 0, std::max<size_t>(bytes, 1), stream_),
                      "cuMemsetD8Async", __FILE__, __LINE__)) {
    release();
    return e;
  }
  // Zeroed before alloc returns, so work the caller queues elsewhere (its
  // own stream) sees zeros too.
  if (Error e = check(*driver_, driver_->cuStreamSynchronize(stream_), "cuStreamSynchronize",
                      __FILE__, __LINE__)) {
    release();
    return e;
  }
  try {
    allocations_.emplace(static_cast<uintptr_t>(p), bytes);
  } catch (...) {
    release();
    return fail(KILN_ERROR_OUT_OF_MEMORY, "out of memory");
  }
  *ptr = reinterpret_cast<void *>(static_cast<uintptr_t>(p));
  return Error{};
}

Error Context::free(void *ptr) {
  if (!ptr)
    return Error{};
  auto it = allocations_.find(reinterpret_cast<uintptr_t>(ptr));
  if (it == allocations_.end())
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "CUDA free: pointer was not allocated by this context (or was freed)");
  KILN_CURRENT(*this);
  KILN_CU(*driver_, cuStreamSynchronize, stream_); // queued work may still use it
  allocations_.erase(it);
  KILN_CU(*driver_, cuMemFree_v2, dptr(ptr));
  return Error{};
}

Error Context::check_range(const void *ptr, size_t bytes, const char *what) const {
  const uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  auto it = allocations_.upper_bound(p);
  if (it == allocations_.begin())
    return Error{};
  --it;
  const uintptr_t start = it->first, size = it->second;
  if (p - start >= std::max<size_t>(size, 1))
    return Error{}; // not ours: the caller's own device memory
  if (bytes > size - (p - start))
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                std::string(what) + ": " + std::to_string(bytes) + " bytes at offset " +
                    std::to_string(p - start) + " overrun an allocation of " +
                    std::to_string(size) + " bytes");
  return Error{};
}

Error Context::zero(void *ptr, size_t bytes) {
  if (bytes == 0)
    return Error{};
  if (Error e = check_range(ptr, bytes, "CUDA zero"))
    return e;
  KILN_CURRENT(*this);
  KILN_CU(*driver_, cuMemsetD8Async, dptr(ptr), 0, bytes, stream_);
  return Error{};
}

Error Context::copy_to_device(void *dst, const void *src, size_t bytes) {
  if (bytes == 0)
    return Error{};
  if (Error e = check_range(dst, bytes, "CUDA copy to the device"))
    return e;
  KILN_CURRENT(*this);
  KILN_CU(*driver_, cuMemcpyHtoDAsync_v2, dptr(dst), src, bytes, stream_);
  KILN_CU(*driver_, cuStreamSynchronize, stream_); // the caller may reuse src
  return Error{};
}

Error Context::copy_to_host(void *dst, const void *src, size_t bytes) {
  if (bytes == 0)
    return Error{};
  if (Error e = check_range(src, bytes, "CUDA copy to the host"))
    return e;
  KILN_CURRENT(*this);
  KILN_CU(*driver_, cuMemcpyDtoHAsync_v2, dst, dptr(src), bytes, stream_);
  KILN_CU(*driver_, cuStreamSynchronize, stream_);
  return Error{};
}

Error Context::copy_on_device(void *dst, const void *src, size_t bytes) {
  if (bytes == 0)
    return Error{};
  if (Error e = check_range(dst, bytes, "CUDA copy on the device"))
    return e;
  if (Error e = check_range(src, bytes, "CUDA copy on the device"))
    return e;
  KILN_CURRENT(*this);
  KILN_CU(*driver_, cuMemcpyDtoDAsync_v2, dptr(dst), dptr(src), bytes, stream_);
  return Error{};
}

Error Context::load_module(const char *image, CUmodule *module) {
  *module = nullptr;
  if (!image)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "CUDA module: image is NULL");
  modules_.reserve(modules_.size() + 1); // so recording it below cannot throw
  KILN_CURRENT(*this);
  // The JIT writes its diagnostics into these buffers; on failure the error
  // log (ptxas's messages with line numbers) goes into the message.
  std::vector<char> error_log(16384, '\0'), info_log(4096, '\0');
  CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                            CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {error_log.data(),
                    reinterpret_cast<void *>(static_cast<uintptr_t>(error_log.size() - 1)),
                    info_log.data(),
                    reinterpret_cast<void *>(static_cast<uintptr_t>(info_log.size() - 1))};
  CUmodule loaded = nullptr;
  CUresult result = driver_->cuModuleLoadDataEx(&loaded, image, 4, options, values);
  if (result != CUDA_SUCCESS) {
    Error e = check(*driver_, result, "cuModuleLoadDataEx", __FILE__, __LINE__);
    std::string log(error_log.data(), strnlen(error_log.data(), error_log.size()));
    while (!log.empty() && (log.back() == '\n' || log.back() == ' '))
      log.pop_back();
    e.message = "CUDA module does not load: " + e.message +
                (log.empty() ? std::string("; no JIT log") : "; JIT log: " + log);
    return e;
  }
  modules_.push_back(loaded);
  *module = loaded;
  return Error{};
}

Error Context::kernel(CUmodule module, const char *name, CUfunction *fn) {
  *fn = nullptr;
  if (!module || !name)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "CUDA kernel: module or name is NULL");
  KILN_CURRENT(*this);
  if (Error e = check(*driver_, driver_->cuModuleGetFunction(fn, module, name),
                      "cuModuleGetFunction", __FILE__, __LINE__)) {
    e.message = "CUDA module has no kernel " + quoted(name) + ": " + e.message;
    return e;
  }
  return Error{};
}

Error Context::launch(CUfunction fn, Dim3 grid, Dim3 block, unsigned shared_bytes,
                      void **args) {
  if (!fn)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "CUDA launch: kernel is NULL");
  if (!grid.x || !grid.y || !grid.z || !block.x || !block.y || !block.z)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "CUDA launch: empty grid or block");
  KILN_CURRENT(*this);
  KILN_CU(*driver_, cuLaunchKernel, fn, grid.x, grid.y, grid.z, block.x, block.y, block.z,
          shared_bytes, stream_, args, nullptr);
  return Error{};
}

Error Context::launch(CUmodule module, const char *name, Dim3 grid, Dim3 block,
                      unsigned shared_bytes, void **args) {
  CUfunction fn = nullptr;
  if (Error e = kernel(module, name, &fn))
    return e;
  if (Error e = launch(fn, grid, block, shared_bytes, args)) {
    e.message = "kernel " + quoted(name) + ": " + e.message;
    return e;
  }
  return Error{};
}

Error Context::sgemm(const Sgemm &g) {
  auto bad = [](const std::string &what) {
    return fail(KILN_ERROR_INVALID_ARGUMENT, "CUDA sgemm: " + what);
  };
  if (g.m < 0 || g.n < 0 || g.k < 0 || g.batch < 0)
    return bad("negative size");
  // Row-major storage: the row length of each operand as stored.
  const int a_cols = g.trans_a ? g.m : g.k, b_cols = g.trans_b ? g.k : g.n;
  if (g.lda < std::max(1, a_cols) || g.ldb < std::max(1, b_cols) ||
      g.ldc < std::max(1, g.n))
    return bad("leading dimension below the row length (lda " + std::to_string(g.lda) +
               ", ldb " + std::to_string(g.ldb) + ", ldc " + std::to_string(g.ldc) + ")");
  if (g.batch > 1 && (g.stride_a < 0 || g.stride_b < 0 || g.stride_c < 0))
    return bad("negative batch stride");
  if (g.m == 0 || g.n == 0 || g.batch == 0)
    return Error{};
  if (!g.c || (g.k > 0 && (!g.a || !g.b)))
    return bad("operand is NULL");

  KILN_CURRENT(*this);
  if (!blas_) {
    if (Error e = load_cublas(&cublas_))
      return e;
    cublasHandle_t handle = nullptr;
    KILN_CUBLAS(*cublas_, cublasCreate_v2, &handle);
    // Bound to this context's stream, fp32 math (cuBLAS's default, set so
    // that no other setting leaks in); kept only when fully set up.
    Error e = check_cublas(*cublas_, cublas_->cublasSetStream_v2(handle, stream_),
                           "cublasSetStream_v2", __FILE__, __LINE__);
    if (!e)
      e = check_cublas(*cublas_, cublas_->cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH),
                       "cublasSetMathMode", __FILE__, __LINE__);
    if (e) {
      cublas_->cublasDestroy_v2(handle);
      return e;
    }
    blas_ = handle;
  }
  // cuBLAS is column-major: a row-major X (ld) is its column-major Xᵀ with
  // the same ld, so row-major C = op(A) op(B) is column-major
  // Cᵀ = op(B)ᵀ op(A)ᵀ, i.e. the same call with the operands swapped.
  const int op_a = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int op_b = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const float *a = static_cast<const float *>(g.a), *b = static_cast<const float *>(g.b);
  float *c = static_cast<float *>(g.c);
  if (g.batch == 1)
    KILN_CUBLAS(*cublas_, cublasSgemm_v2, blas_, op_b, op_a, g.n, g.m, g.k, &g.alpha, b, g.ldb,
                a, g.lda, &g.beta, c, g.ldc);
  else
    KILN_CUBLAS(*cublas_, cublasSgemmStridedBatched, blas_, op_b, op_a, g.n, g.m, g.k,
                &g.alpha, b, g.ldb, g.stride_b, a, g.lda, g.stride_a, &g.beta, c, g.ldc,
                g.stride_c, g.batch);
  return Error{};
}

Error Context::synchronize() {
  KILN_CURRENT(*this);
  KILN_CU(*driver_, cuStreamSynchronize, stream_);
  return Error{};
}

Error Context::order(CUstream stream, CUstream waiter) {
  KILN_CURRENT(*this);
  if (!event_)
    KILN_CU(*driver_, cuEventCreate, &event_, CU_EVENT_DISABLE_TIMING);
  KILN_CU(*driver_, cuEventRecord, event_, stream);
  KILN_CU(*driver_, cuStreamWaitEvent, waiter, event_, 0);
  return Error{};
}

Error Context::wait_for(CUstream other) { return order(other, stream_); }

Error Context::record(size_t slot, CUstream stream) {
  KILN_CURRENT(*this);
  if (events_.size() <= slot)
    events_.resize(slot + 1, nullptr);
  if (!events_[slot])
    KILN_CU(*driver_, cuEventCreate, &events_[slot], CU_EVENT_DISABLE_TIMING);
  KILN_CU(*driver_, cuEventRecord, events_[slot], stream);
  return Error{};
}

Error Context::wait_event(CUstream waiter, size_t slot) {
  KILN_CURRENT(*this);
  if (slot >= events_.size() || !events_[slot])
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "event " + std::to_string(slot) + " was never recorded");
  KILN_CU(*driver_, cuStreamWaitEvent, waiter, events_[slot], 0);
  return Error{};
}

Error Context::with_current(const std::function<Error()> &fn) {
  KILN_CURRENT(*this);
  return fn();
}

Error Context::wait_within(CUstream stream, double seconds, const char *what) {
  KILN_CURRENT(*this);
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    const CUresult r = driver_->cuStreamQuery(stream);
    if (r == CUDA_SUCCESS)
      return Error{};
    if (r != CUDA_ERROR_NOT_READY)
      return check(*driver_, r, "cuStreamQuery", __FILE__, __LINE__);
    const double waited =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (waited > seconds) {
      char limit[32];
      std::snprintf(limit, sizeof limit, "%g", seconds);
      return fail(KILN_ERROR_COMMUNICATION,
                  std::string(what) + " did not complete within " + limit + " s");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

Error Context::make_wait(CUstream other) { return order(stream_, other); }

} // namespace kiln::rt::cuda

extern "C" kiln_status kiln_cuda_device_count(int *count) {
  using namespace kiln::rt;
  KILN_API_GUARD_BEGIN
  if (!count)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT, "kiln_cuda_device_count: count is NULL");
  return set_thread_error(cuda::device_count(count));
  KILN_API_GUARD_END(set_thread_error)
}
