/* kiln/comm_nccl.h: a kiln_comm over NCCL. Built against the toolkit's
 * nccl.h (for its types and NCCL_CONFIG_INITIALIZER), linked against
 * nothing: libnccl.so.2 is loaded at run time, like the driver and cuBLAS
 * (cuda_driver.cpp).
 *
 * Why non-blocking communicators: a blocking ncclCommInitRank or a
 * collective whose peer died waits forever. Created with blocking = 0,
 * every NCCL call returns at once and the communicator's state is polled
 * (ncclCommGetAsyncError) until it settles, and the stream's work is
 * waited for with a deadline (Context::wait_within); past the timeout the
 * communicator is aborted and the collective fails with a message. */
#include <kiln/comm_nccl.h>

#include "comm.h"
#include "cuda_device.h"
#include "error.h"

#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

static_assert(sizeof(kiln_nccl_id) == sizeof(ncclUniqueId), "kiln_nccl_id is ncclUniqueId");

namespace kiln::rt::nccl {
namespace {

using cuda::CUstream;

/* The runtime's CUstream (cuda_driver.h) as the CUDA runtime's type: the
 * same handle. */
cudaStream_t runtime_stream(CUstream s) { return reinterpret_cast<cudaStream_t>(s); }

/* The NCCL entry points, resolved from the library. */
struct Library {
  decltype(&ncclGetUniqueId) GetUniqueId = nullptr;
  decltype(&ncclCommInitRankConfig) CommInitRankConfig = nullptr;
  decltype(&ncclCommGetAsyncError) CommGetAsyncError = nullptr;
  decltype(&ncclCommAbort) CommAbort = nullptr;
  decltype(&ncclAllReduce) AllReduce = nullptr;
  decltype(&ncclBroadcast) Broadcast = nullptr;
  decltype(&ncclGetErrorString) GetErrorString = nullptr;
};

/* Loaded once per process; the failure is remembered like the success. */
Error load(const Library **out) {
  static Library library;
  static const Error loaded = [] {
    const char *env = std::getenv("KILN_NCCL_PATH");
    const std::string name = env && *env ? env : "libnccl.so.2";
    void *handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char *why = dlerror();
      return fail(KILN_ERROR_UNSUPPORTED,
                  "NCCL " + name + " not found: " + (why ? why : "dlopen failed"));
    }
    std::string missing;
    auto resolve = [&](auto &slot, const char *symbol) {
      slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(dlsym(handle, symbol));
      if (!slot)
        missing += std::string(missing.empty() ? "" : ", ") + symbol;
    };
    resolve(library.GetUniqueId, "ncclGetUniqueId");
    resolve(library.CommInitRankConfig, "ncclCommInitRankConfig");
    resolve(library.CommGetAsyncError, "ncclCommGetAsyncError");
    resolve(library.CommAbort, "ncclCommAbort");
    resolve(library.AllReduce, "ncclAllReduce");
    resolve(library.Broadcast, "ncclBroadcast");
    resolve(library.GetErrorString, "ncclGetErrorString");
    if (!missing.empty())
      return fail(KILN_ERROR_UNSUPPORTED, "NCCL " + name + " lacks " + missing +
                                              " (NCCL 2.14 or newer is needed)");
    return Error{};
  }();
  *out = loaded ? nullptr : &library;
  return loaded;
}

Error nccl_error(const Library &lib, ncclResult_t r, const std::string &what) {
  return fail(KILN_ERROR_COMMUNICATION,
              what + ": NCCL error " + std::to_string(static_cast<int>(r)) + " (" +
                  lib.GetErrorString(r) + ")");
}

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", seconds);
  return text;
}

/* One process's communicator: its GPU's context, the NCCL communicator, a
 * device buffer for the host-memory operations. */
struct Comm {
  const Library *lib = nullptr;
  std::unique_ptr<cuda::Context> ctx;
  ncclComm_t comm = nullptr;
  int rank = 0, size = 1;
  double timeout = 300;
  bool broken = false; // aborted after a failure: nothing is tried again
  void *scratch = nullptr;
  size_t scratch_bytes = 0;
  // Gradient buckets queued on ctx's stream by all_reduce_start and not
  // finished yet, by bucket (event slot `bucket` marks each one's end).
  std::vector<bool> started;
  bool pending = false;

  ~Comm() {
    abort();
    if (scratch)
      (void)ctx->free(scratch);
  }

  /* Frees this process's part of the communicator and ends what it still
   * runs (a collective whose peer died), so that the streams waiting for
   * it go on; nothing is tried on it again. */
  void abort() {
    if (comm)
      (void)ctx->with_current([&] {
        lib->CommAbort(comm);
        return Error{};
      });
    comm = nullptr;
    broken = true;
  }

  /* Polls the communicator until its last call settles, at most the
   * timeout; aborts it past that. Call with the context current. */
  Error settle(const std::string &what) {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      ncclResult_t state = ncclSuccess;
      ncclResult_t r = lib->CommGetAsyncError(comm, &state);
      if (r != ncclSuccess)
        return nccl_error(*lib, r, what);
      if (state == ncclSuccess)
        return Error{};
      if (state != ncclInProgress)
        return nccl_error(*lib, state, what);
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >
          timeout)
        return fail(KILN_ERROR_COMMUNICATION,
                    what + " did not complete within " + seconds_text(timeout) + " s");
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  /* One collective: `enqueue` (an NCCL call on `stream`), then its
   * settling and the stream's work, within the timeout. A failure breaks
   * the communicator for good. */
  template <typename Enqueue>
  Error collective(const std::string &what, CUstream stream, Enqueue enqueue) {
    if (broken)
      return fail(KILN_ERROR_COMMUNICATION, what + ": not tried, an earlier NCCL collective failed");
    Error e = ctx->with_current([&] {
      ncclResult_t r = enqueue();
      if (r != ncclSuccess && r != ncclInProgress)
        return nccl_error(*lib, r, what);
      return settle(what);
    });
    if (!e)
      e = ctx->wait_within(stream, timeout, what.c_str());
    if (e)
      broken = true;
    return e;
  }

  Error ensure_scratch(size_t bytes) {
    if (bytes <= scratch_bytes)
      return Error{};
    if (scratch)
      if (Error e = ctx->free(scratch))
        return e;
    scratch = nullptr;
    scratch_bytes = 0;
    if (Error e = ctx->alloc(bytes, &scratch))
      return e;
    scratch_bytes = bytes;
    return Error{};
  }

  std::string where() const {
    return " (NCCL, rank " + std::to_string(rank) + " of " + std::to_string(size) + ")";
  }
};

int report(const Error &e, char *error, size_t error_size) {
  if (!e)
    return 0;
  if (error && error_size)
    std::snprintf(error, error_size, "%s", e.message.c_str());
  return 1;
}

int all_reduce_sum(void *impl, const float *in, float *out, int64_t n, char *error,
                   size_t error_size) {
  Comm &c = *static_cast<Comm *>(impl);
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  Error e = c.ensure_scratch(bytes);
  if (!e)
    e = c.ctx->copy_to_device(c.scratch, in, bytes);
  if (!e)
    e = c.collective("NCCL all-reduce (ncclAllReduce) of host values" + c.where(),
                     c.ctx->stream(), [&] {
                       return c.lib->AllReduce(c.scratch, c.scratch, static_cast<size_t>(n),
                                               ncclFloat32, ncclSum, c.comm,
                                               runtime_stream(c.ctx->stream()));
                     });
  if (!e)
    e = c.ctx->copy_to_host(out, c.scratch, bytes);
  return report(e, error, error_size);
}

int broadcast(void *impl, void *data, int64_t bytes, int root, char *error, size_t error_size) {
  Comm &c = *static_cast<Comm *>(impl);
  const size_t size = static_cast<size_t>(bytes);
  Error e = c.ensure_scratch(size);
  if (!e)
    e = c.ctx->copy_to_device(c.scratch, data, size);
  if (!e)
    e = c.collective("NCCL broadcast (ncclBroadcast)" + c.where(), c.ctx->stream(), [&] {
      return c.lib->Broadcast(c.scratch, c.scratch, size, ncclInt8, root, c.comm,
                              runtime_stream(c.ctx->stream()));
    });
  if (!e)
    e = c.ctx->copy_to_host(data, c.scratch, size);
  return report(e, error, error_size);
}

/* Every NCCL call of a communicator goes on its own stream (ctx's), in
 * call order, so that two of them never run at once whatever the
 * instance's stream does: this one after the instance's work so far (and
 * after any bucket still in flight), then waited for on the host. */
int all_reduce_device(void *impl, const float *in, float *out, int64_t n, int average,
                      void *stream, char *error, size_t error_size) {
  Comm &c = *static_cast<Comm *>(impl);
  auto s = static_cast<CUstream>(stream);
  Error e = c.ctx->wait_for(s);
  if (!e)
    e = c.collective("NCCL all-reduce (ncclAllReduce)" + c.where(), c.ctx->stream(), [&] {
      return c.lib->AllReduce(in, out, static_cast<size_t>(n), ncclFloat32,
                              average ? ncclAvg : ncclSum, c.comm,
                              runtime_stream(c.ctx->stream()));
    });
  return report(e, error, error_size);
}

/* The asynchronous bucket all-reduce (comm.h, DeviceAsyncOps): ctx's
 * stream, which the host-memory operations also use, is the communicator's
 * own; the instance's stream is the caller's. The caller keeps `in` and
 * `out` untouched until the bucket's wait (cuda_model.cpp passes in ==
 * out). */
int all_reduce_start(void *impl, const float *in, float *out, int64_t n, int64_t bucket,
                     void *stream, char *error, size_t error_size) {
  Comm &c = *static_cast<Comm *>(impl);
  auto s = static_cast<CUstream>(stream);
  const size_t k = static_cast<size_t>(bucket);
  const std::string what =
      "NCCL all-reduce (ncclAllReduce) of gradient bucket " + std::to_string(bucket) + c.where();
  if (c.broken)
    return report(fail(KILN_ERROR_COMMUNICATION,
                       what + ": not tried, an earlier NCCL collective failed"),
                  error, error_size);
  // After the bucket's gradients (the instance's work so far), beside
  // whatever the instance queues next.
  Error e = c.ctx->wait_for(s);
  if (!e)
    e = c.ctx->with_current([&] {
      ncclResult_t r = c.lib->AllReduce(in, out, static_cast<size_t>(n), ncclFloat32, ncclAvg,
                                        c.comm, runtime_stream(c.ctx->stream()));
      if (r != ncclSuccess && r != ncclInProgress)
        return nccl_error(*c.lib, r, what);
      return c.settle(what); // the call queued; the sum itself runs on
    });
  if (!e)
    e = c.ctx->record(k, c.ctx->stream());
  if (e) {
    c.broken = true;
    return report(e, error, error_size);
  }
  if (c.started.size() <= k)
    c.started.resize(k + 1, false);
  c.started[k] = true;
  c.pending = true;
  return 0;
}

int all_reduce_wait(void *impl, int64_t bucket, void *stream, char *error, size_t error_size) {
  Comm &c = *static_cast<Comm *>(impl);
  const size_t k = static_cast<size_t>(bucket);
  if (k >= c.started.size() || !c.started[k])
    return 0;
  return report(c.ctx->wait_event(static_cast<CUstream>(stream), k), error, error_size);
}

/* Every started bucket done, within the timeout; past it the communicator
 * is aborted, which ends the stuck all-reduce, so the instance's stream
 * that waits for it goes on. */
int all_reduce_finish(void *impl, char *error, size_t error_size) {
  Comm &c = *static_cast<Comm *>(impl);
  if (!c.pending)
    return 0;
  c.pending = false;
  std::fill(c.started.begin(), c.started.end(), false);
  const std::string what = "NCCL all-reduce (ncclAllReduce) of the gradient buckets" + c.where();
  Error e = c.ctx->wait_within(c.ctx->stream(), c.timeout, what.c_str());
  if (e)
    c.abort();
  return report(e, error, error_size);
}

void destroy(void *impl) { delete static_cast<Comm *>(impl); }

} // namespace
} // namespace kiln::rt::nccl

using namespace kiln::rt;

extern "C" kiln_status kiln_nccl_id_create(kiln_nccl_id *id) {
  KILN_API_GUARD_BEGIN
  if (!id)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT, "kiln_nccl_id_create: id is NULL");
  const nccl::Library *lib = nullptr;
  if (Error e = nccl::load(&lib))
    return set_thread_error(fail(e.status, "kiln_nccl_id_create: " + e.message));
  if (ncclResult_t r = lib->GetUniqueId(reinterpret_cast<ncclUniqueId *>(id)); r != ncclSuccess)
    return set_thread_error(nccl::nccl_error(*lib, r, "kiln_nccl_id_create: ncclGetUniqueId"));
  return KILN_OK;
  KILN_API_GUARD_END(set_thread_error)
}

extern "C" kiln_status kiln_comm_create_nccl(const kiln_nccl_id *id, int rank, int size,
                                             int device, double timeout_seconds,
                                             kiln_comm **out) {
  KILN_API_GUARD_BEGIN
  const std::string function = "kiln_comm_create_nccl";
  if (!out)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT, function + ": out is NULL");
  *out = nullptr;
  if (!id)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT, function + ": id is NULL");
  if (size < 1 || rank < 0 || rank >= size)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            function + ": rank " + std::to_string(rank) + " is not in [0, size " +
                                std::to_string(size) + ")");
  if (!(timeout_seconds > 0))
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            function + ": timeout_seconds must be > 0");
  auto c = std::make_unique<nccl::Comm>();
  // The device first: without one, NCCL is not even loaded.
  if (Error e = cuda::Context::create(device, &c->ctx))
    return set_thread_error(fail(e.status, function + ": " + e.message));
  if (Error e = nccl::load(&c->lib))
    return set_thread_error(fail(e.status, function + ": " + e.message));
  c->rank = rank;
  c->size = size;
  c->timeout = timeout_seconds;
  const std::string what = function + ": joining the group" + c->where();
  Error e = c->ctx->with_current([&] {
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    ncclUniqueId unique;
    std::memcpy(&unique, id, sizeof unique);
    ncclResult_t r = c->lib->CommInitRankConfig(&c->comm, size, unique, rank, &config);
    if (r != ncclSuccess && r != ncclInProgress)
      return nccl::nccl_error(*c->lib, r, what);
    return c->settle(what);
  });
  if (e)
    return set_thread_error(e); // ~Comm aborts what was made
  static const kiln_comm_ops ops = {nccl::all_reduce_sum, nccl::broadcast, nccl::destroy,
                                    /*background=*/0, nccl::all_reduce_device};
  nccl::Comm *impl = c.release();
  kiln_status status = kiln_comm_create(&ops, impl, rank, size, out);
  if (status != KILN_OK)
    nccl::destroy(impl);
  else {
    kiln::rt::set_comm_device(*out, device);
    kiln::rt::DeviceAsyncOps async;
    async.start = nccl::all_reduce_start;
    async.wait = nccl::all_reduce_wait;
    async.finish = nccl::all_reduce_finish;
    kiln::rt::set_comm_device_async(*out, async);
  }
  return status;
  KILN_API_GUARD_END(set_thread_error)
}
