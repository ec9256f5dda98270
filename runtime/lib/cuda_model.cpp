#include "cuda_model.h"
#include "comm.h"
#include "cuda_device.h"
#include "metadata.h"

#include <kiln/cuda.h>

#include <climits>

namespace kiln::rt::cuda {
namespace {

struct Instance {
  std::unique_ptr<Context> context;
  CUmodule module = nullptr;
  std::vector<CUfunction> kernels; /* kiln_cuda_launch's numbering */
  std::vector<void *> params;      /* reused by every launch */
  Error error;                     /* the first failure of the running kernel */
  std::vector<float> host_in, host_out; /* the collectives' host copies */
};

/* The instance whose kernel runs on this thread (model_launch), so that
 * the generated host code needs no context argument: its entry points keep
 * the CPU's signature, void fn(void **args). */
thread_local Instance *t_running = nullptr;

Instance &instance(void *ctx) { return *static_cast<Instance *>(ctx); }

/* The running instance, when it has not failed yet. */
Instance *running() {
  Instance *inst = t_running;
  return inst && !inst->error ? inst : nullptr;
}

} // namespace

Error model_open(const ModelSpec &spec, int ordinal, void **ctx) {
  *ctx = nullptr;
  auto inst = std::make_unique<Instance>();
  if (Error e = Context::create(ordinal, &inst->context))
    return e;
  if (!spec.device_kernels.empty()) {
    if (Error e = inst->context->load_module(spec.device_code, &inst->module))
      return e;
    for (const std::string &name : spec.device_kernels) {
      CUfunction fn = nullptr;
      if (Error e = inst->context->kernel(inst->module, name.c_str(), &fn))
        return e;
      inst->kernels.push_back(fn);
    }
  }
  *ctx = inst.release();
  return {};
}

void model_close(void *ctx) { delete static_cast<Instance *>(ctx); }

void *model_alloc(void *ctx, size_t bytes) {
  void *ptr = nullptr;
  if (instance(ctx).context->alloc(bytes, &ptr))
    return nullptr;
  return ptr;
}

void model_free(void *ctx, void *ptr) {
  if (ctx)
    (void)instance(ctx).context->free(ptr);
}

Error model_copy_to_device(void *ctx, void *dst, const void *src, size_t bytes) {
  return instance(ctx).context->copy_to_device(dst, src, bytes);
}

Error model_copy_to_host(void *ctx, void *dst, const void *src, size_t bytes) {
  return instance(ctx).context->copy_to_host(dst, src, bytes);
}

Error model_copy_on_device(void *ctx, void *dst, const void *src, size_t bytes) {
  return instance(ctx).context->copy_on_device(dst, src, bytes);
}

Error model_wait_for_stream(void *ctx, void *stream) {
  return instance(ctx).context->wait_for(static_cast<CUstream>(stream));
}

Error model_make_stream_wait(void *ctx, void *stream) {
  return instance(ctx).context->make_wait(static_cast<CUstream>(stream));
}

Error model_launch(void *ctx, kiln_kernel_fn fn, void **args) {
  Instance &inst = instance(ctx);
  inst.error = {};
  t_running = &inst;
  fn(args);
  t_running = nullptr;
  // Every kernel, GEMM and bucket of the step is queued now: the buckets'
  // all-reduces ran beside the backward on the transport's stream; wait
  // for them here, within the timeout, before anything synchronises the
  // instance's stream (which waits for them).
  finish_device_collectives();
  return std::move(inst.error);
}

} // namespace kiln::rt::cuda

using kiln::rt::fail;
using kiln::rt::cuda::Instance;

extern "C" void kiln_cuda_launch(int32_t kernel, int64_t blocks, int64_t threads,
                                 const int64_t *args, int32_t num_args) {
  Instance *inst = kiln::rt::cuda::running();
  if (!inst)
    return;
  if (kernel < 0 || static_cast<size_t>(kernel) >= inst->kernels.size() || num_args < 0 ||
      (num_args > 0 && !args) || blocks < 0 || blocks > INT_MAX || threads < 1 ||
      threads > 1024) {
    inst->error = fail(KILN_ERROR_INVALID_ARGUMENT,
                       "kiln_cuda_launch: kernel " + std::to_string(kernel) + " of " +
                           std::to_string(inst->kernels.size()) + ", " +
                           std::to_string(blocks) + " blocks of " + std::to_string(threads) +
                           " threads, " + std::to_string(num_args) + " arguments");
    return;
  }
  if (blocks == 0)
    return;
  inst->params.resize(static_cast<size_t>(num_args));
  for (int32_t i = 0; i < num_args; ++i)
    inst->params[i] = const_cast<int64_t *>(&args[i]);
  kiln::rt::cuda::Dim3 grid, block;
  grid.x = static_cast<unsigned>(blocks);
  block.x = static_cast<unsigned>(threads);
  inst->error = inst->context->launch(inst->kernels[kernel], grid, block, 0,
                                      inst->params.data());
}

extern "C" void kiln_cuda_sgemm(int32_t trans_a, int32_t trans_b, int64_t m, int64_t n,
                                int64_t k, int64_t a, int64_t lda, int64_t b, int64_t ldb,
                                float beta, int64_t c, int64_t ldc, int64_t batch,
                                int64_t stride_a, int64_t stride_b, int64_t stride_c) {
  Instance *inst = kiln::rt::cuda::running();
  if (!inst)
    return;
  for (int64_t v : {m, n, k, lda, ldb, ldc, batch})
    if (v < 0 || v > INT_MAX) {
      inst->error = fail(KILN_ERROR_INVALID_ARGUMENT,
                         "kiln_cuda_sgemm: a size or leading dimension (" + std::to_string(v) +
                             ") outside cuBLAS's int range");
      return;
    }
  kiln::rt::cuda::Sgemm g;
  g.trans_a = trans_a != 0;
  g.trans_b = trans_b != 0;
  g.m = static_cast<int>(m);
  g.n = static_cast<int>(n);
  g.k = static_cast<int>(k);
  g.alpha = 1;
  g.beta = beta;
  g.a = reinterpret_cast<const void *>(static_cast<uintptr_t>(a));
  g.lda = static_cast<int>(lda);
  g.b = reinterpret_cast<const void *>(static_cast<uintptr_t>(b));
  g.ldb = static_cast<int>(ldb);
  g.c = reinterpret_cast<void *>(static_cast<uintptr_t>(c));
  g.ldc = static_cast<int>(ldc);
  g.batch = static_cast<int>(batch);
  g.stride_a = stride_a;
  g.stride_b = stride_b;
  g.stride_c = stride_c;
  inst->error = inst->context->sgemm(g);
}

namespace {

/* A collective of the running instance on host copies of `n` floats at
 * device addresses `in` (NULL: none read) and `out`: `reduce(host_in,
 * host_out)` runs the CPU version between the copies. The copy to the host
 * waits for the stream, so the kernels before have written `in`. */
template <typename Reduce>
void on_host_copies(int64_t n, const void *in, void *out, Reduce reduce) {
  Instance *inst = kiln::rt::cuda::running();
  if (!inst)
    return;
  if (n < 0 || n > (int64_t(1) << 40)) {
    inst->error = fail(KILN_ERROR_INVALID_ARGUMENT,
                       "kiln_cuda collective: " + std::to_string(n) + " values");
    return;
  }
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  inst->host_in.resize(static_cast<size_t>(n));
  inst->host_out.resize(static_cast<size_t>(n));
  if (in)
    if ((inst->error = inst->context->copy_to_host(inst->host_in.data(), in, bytes)))
      return;
  reduce(inst->host_in.data(), inst->host_out.data());
  inst->error = inst->context->copy_to_device(out, inst->host_out.data(), bytes);
}

/* Where the communicator reduces device memory itself (NCCL), on the
 * instance's stream; alone, `out` = `in` on the device. True when done so
 * (or, for a bucket's `start`, queued on the transport's stream); false:
 * through host copies. */
bool on_device(const int64_t *params, const void *in, void *out, bool average,
               const char *what, bool start = false) {
  Instance *inst = kiln::rt::cuda::running();
  if (!inst)
    return true;
  const int64_t n = params[0];
  auto *i = static_cast<const float *>(in);
  auto *o = static_cast<float *>(out);
  void *stream = inst->context->stream();
  // A bucket reduced beside the rest of the step reads its input after the
  // start returns, while the step's later kernels may reuse that input's
  // workspace bytes: reduce `out` in place, a copy of `in` made first on
  // the instance's stream (before any of those kernels).
  if (start && in != out && n > 0 && kiln::rt::device_start_is_asynchronous()) {
    if ((inst->error = inst->context->copy_on_device(out, in, static_cast<size_t>(n) * sizeof(float))))
      return true;
    i = o;
  }
  const kiln::rt::DeviceCollective how =
      start ? kiln::rt::all_reduce_start_on_device(i, o, n, params[1], what, stream)
            : kiln::rt::all_reduce_on_device(i, o, n, average, what, stream);
  switch (how) {
  case kiln::rt::DeviceCollective::Alone:
    if (in != out && n > 0)
      inst->error = inst->context->copy_on_device(out, in, static_cast<size_t>(n) * sizeof(float));
    return true;
  case kiln::rt::DeviceCollective::Done:
    return true;
  case kiln::rt::DeviceCollective::HostOnly:
    break;
  }
  return false;
}

} // namespace

extern "C" void kiln_cuda_all_reduce_mean(const int64_t *params, const void *in, void *out) {
  if (on_device(params, in, out, true, "gradient values"))
    return;
  on_host_copies(params[0], in, out, [&](const float *i, float *o) {
    kiln_all_reduce_mean(params, i, o);
  });
}

extern "C" void kiln_cuda_all_reduce_sum(const int64_t *params, const void *in, void *out) {
  if (on_device(params, in, out, false, "batch-norm statistics"))
    return;
  on_host_copies(params[0], in, out, [&](const float *i, float *o) {
    kiln_all_reduce_sum(params, i, o);
  });
}

/* A bucket (params = [n, bucket]): with NCCL its average is queued on the
 * communicator's stream after the bucket's gradients and overlaps the rest
 * of the backward; the wait makes the instance's stream wait for it.
 * Through host copies (MPI) the start completes it (the copy to the host
 * drains the stream anyway). */
extern "C" void kiln_cuda_all_reduce_start(const int64_t *params, const void *in, void *out) {
  if (on_device(params, in, out, true, "gradient values", /*start=*/true))
    return;
  on_host_copies(params[0], in, out, [&](const float *i, float *o) {
    kiln_all_reduce_start(params, i, o);
    kiln_all_reduce_wait(params, o);
  });
}

extern "C" void kiln_cuda_all_reduce_wait(const int64_t *params, void *) {
  if (Instance *inst = kiln::rt::cuda::running())
    kiln::rt::all_reduce_wait_on_device(params[1], inst->context->stream());
}

extern "C" void kiln_cuda_world_size(const int64_t *params, void *out) {
  on_host_copies(1, nullptr, out, [&](const float *, float *o) { kiln_world_size(params, o); });
}
