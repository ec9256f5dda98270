// Communicators (kiln/comm.h) and the collective the compiled step calls,
// kiln_all_reduce_mean (lowered from nn.all_reduce, passes/LowerDistributed.cpp).
#include "comm.h"

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

namespace kiln::rt {

/* One all-reduce (sum, in place) for the communication thread. */
struct Job {
  float *data = nullptr;
  int64_t n = 0;
  bool queued = false, done = false, failed = false;
  char message[400] = {0};
};

} // namespace kiln::rt

struct kiln_comm {
  kiln_comm_ops ops{};
  void *impl = nullptr;
  int rank = 0;
  int size = 1;
  int device = -1; /* kiln::rt::set_comm_device */
  kiln::rt::DeviceAsyncOps async; /* kiln::rt::set_comm_device_async */

  /* The communication thread (ops.background): runs the queued jobs in
   * order, the only caller of the transport while a step runs. */
  std::thread worker;
  std::mutex mutex;
  std::condition_variable wake, finished;
  std::deque<kiln::rt::Job *> queue;
  bool stop = false;
  bool broken = false; // a collective failed: the transport is unusable

  void run() {
    for (;;) {
      kiln::rt::Job *job;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return stop || !queue.empty(); });
        if (queue.empty())
          return;
        job = queue.front();
        queue.pop_front();
      }
      // After a failure (a timeout: a rank is gone) the transport is not
      // tried again: the jobs still queued fail at once, so a step ends
      // within one timeout, not one per bucket.
      char message[400] = {0};
      int rc = 1;
      if (broken)
        std::snprintf(message, sizeof message, "not tried: an earlier all-reduce failed");
      else
        rc = ops.all_reduce_sum_f32(impl, job->data, job->data, job->n, message, sizeof message);
      std::lock_guard<std::mutex> lock(mutex);
      broken |= rc != 0;
      job->failed = rc != 0;
      std::memcpy(job->message, message, sizeof message);
      job->done = true;
      finished.notify_all();
    }
  }

  /* Queues `job` (the thread starts with the first). */
  void submit(kiln::rt::Job *job) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!worker.joinable())
      worker = std::thread([this] { run(); });
    job->queued = true;
    job->done = false;
    queue.push_back(job);
    wake.notify_one();
  }

  void wait(kiln::rt::Job *job) {
    std::unique_lock<std::mutex> lock(mutex);
    finished.wait(lock, [&] { return job->done; });
    job->queued = false;
  }

  ~kiln_comm() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
      wake.notify_all();
    }
    if (worker.joinable())
      worker.join();
  }
};

namespace kiln::rt {
namespace {

struct ScopeState {
  kiln_comm *comm = nullptr;
  bool failed = false;
  int all_reduces = 0;
  // Device buckets started asynchronously and not finished yet: how many
  // floats (for a failure's message).
  int64_t device_pending = 0;
  char message[512] = {0};
  // By bucket id: the in-flight all-reduces. A deque: growing it for a
  // later bucket must not move a job the communication thread holds.
  std::deque<Job> buckets;
};
thread_local ScopeState *current_scope = nullptr;

/* Records the first failure of the call. */
void record_failure(ScopeState *scope, const char *what, int64_t n, const char *message) {
  if (scope->failed)
    return;
  scope->failed = true;
  std::snprintf(scope->message, sizeof scope->message,
                "all-reduce of %lld %s failed on rank %d of %d: %s", static_cast<long long>(n),
                what, scope->comm->rank, scope->comm->size, message);
}

/* Sums `data` (n floats) over the group, in place, before returning:
 * through the communication thread when there is one (it then stays the
 * only caller of the transport), else here. */
bool sum_now(ScopeState *scope, float *data, int64_t n, const char *what) {
  kiln_comm *comm = scope->comm;
  if (comm->ops.background) {
    Job job;
    job.data = data;
    job.n = n;
    comm->submit(&job);
    comm->wait(&job);
    if (job.failed)
      record_failure(scope, what, n, job.message);
    return !job.failed;
  }
  char message[400] = {0};
  if (comm->ops.all_reduce_sum_f32(comm->impl, data, data, n, message, sizeof message) != 0) {
    record_failure(scope, what, n, message);
    return false;
  }
  return true;
}

/* The start of a gradient average: out = in / world size, as DDP's
 * default reducer divides each bucket before its all-reduce (the same
 * rounding as torch); returns the scope whose group sums it. Alone (no
 * communicator, one process) or after a failed collective of this call:
 * out = in, and null. */
ScopeState *share_of_group(const float *in, float *out, int64_t n) {
  ScopeState *scope = current_scope;
  if (scope)
    ++scope->all_reduces;
  kiln_comm *comm = scope ? scope->comm : nullptr;
  if (!comm || comm->size == 1 || scope->failed) {
    if (in != out)
      std::memmove(out, in, static_cast<size_t>(n) * sizeof(float));
    return nullptr;
  }
  const float size = static_cast<float>(comm->size);
  for (int64_t i = 0; i < n; ++i)
    out[i] = in[i] / size;
  return scope;
}

} // namespace

CollectiveScope::CollectiveScope(kiln_comm *comm) {
  // One scope per kernel call on this thread: no nesting (kernels do not
  // call kernels), so a fresh state each time.
  static thread_local ScopeState state;
  state.comm = comm;
  state.failed = false;
  state.all_reduces = 0;
  state.device_pending = 0;
  state.message[0] = 0;
  current_scope = &state;
}

CollectiveScope::~CollectiveScope() {
  // Every bucket a kernel starts it waits for; should one still be in
  // flight, its buffer must outlive the thread's use of it. (Device
  // buckets: the CUDA model's launch finishes them; this is the backstop.)
  finish_device_collectives();
  if (current_scope && current_scope->comm)
    for (Job &job : current_scope->buckets)
      if (job.queued)
        current_scope->comm->wait(&job);
  current_scope = nullptr;
}

int CollectiveScope::all_reduces() const {
  return current_scope ? current_scope->all_reduces : 0;
}

void set_comm_device(kiln_comm *comm, int device) { comm->device = device; }
void set_comm_device_async(kiln_comm *comm, const DeviceAsyncOps &ops) { comm->async = ops; }
int comm_device(const kiln_comm *comm) { return comm ? comm->device : -1; }

Error CollectiveScope::result() const {
  if (!current_scope || !current_scope->failed)
    return {};
  return fail(KILN_ERROR_COMMUNICATION, current_scope->message);
}

DeviceCollective all_reduce_on_device(const float *in, float *out, int64_t n, bool average,
                                      const char *what, void *stream) {
  ScopeState *scope = current_scope;
  if (scope)
    ++scope->all_reduces;
  kiln_comm *comm = scope ? scope->comm : nullptr;
  if (!comm || scope->failed)
    return DeviceCollective::Alone;
  // A device transport runs even for one process (an NCCL group of one
  // GPU): the path a larger group takes, at the cost of one call.
  if (!comm->ops.all_reduce_f32_device)
    return comm->size == 1 ? DeviceCollective::Alone : DeviceCollective::HostOnly;
  char message[400] = {0};
  if (comm->ops.all_reduce_f32_device(comm->impl, in, out, n, average ? 1 : 0, stream, message,
                                      sizeof message) != 0)
    record_failure(scope, what, n, message);
  return DeviceCollective::Done;
}

DeviceCollective all_reduce_start_on_device(const float *in, float *out, int64_t n,
                                            int64_t bucket, const char *what, void *stream) {
  ScopeState *scope = current_scope;
  kiln_comm *comm = scope ? scope->comm : nullptr;
  if (!comm || scope->failed || !comm->async.start)
    return all_reduce_on_device(in, out, n, /*average=*/true, what, stream);
  ++scope->all_reduces;
  char message[400] = {0};
  if (comm->async.start(comm->impl, in, out, n, bucket, stream, message, sizeof message) != 0)
    record_failure(scope, what, n, message);
  else
    scope->device_pending += n;
  return DeviceCollective::Done;
}

bool device_start_is_asynchronous() {
  ScopeState *scope = current_scope;
  return scope && scope->comm && !scope->failed && scope->comm->async.start;
}

void all_reduce_wait_on_device(int64_t bucket, void *stream) {
  ScopeState *scope = current_scope;
  if (!scope || !scope->comm || !scope->device_pending || !scope->comm->async.wait)
    return;
  char message[400] = {0};
  if (scope->comm->async.wait(scope->comm->impl, bucket, stream, message, sizeof message) != 0)
    record_failure(scope, "gradient values", scope->device_pending, message);
}

void finish_device_collectives() {
  ScopeState *scope = current_scope;
  if (!scope || !scope->comm || !scope->device_pending || !scope->comm->async.finish)
    return;
  const int64_t n = scope->device_pending;
  scope->device_pending = 0;
  char message[400] = {0};
  if (scope->comm->async.finish(scope->comm->impl, message, sizeof message) != 0)
    record_failure(scope, "gradient values", n, message);
}

Error comm_average(kiln_comm *comm, float *data, int64_t n, const std::string &what) {
  if (!comm || comm->size == 1 || n == 0)
    return {};
  CollectiveScope scope(comm);
  std::vector<float> local(data, data + n);
  if (ScopeState *state = share_of_group(data, data, n))
    if (!sum_now(state, data, n, what.c_str()))
      std::memcpy(data, local.data(), static_cast<size_t>(n) * sizeof(float));
  return scope.result();
}

Error comm_broadcast(kiln_comm *comm, void *data, int64_t bytes, const std::string &what) {
  if (!comm || comm->size == 1 || bytes == 0)
    return {};
  char message[512] = {0};
  if (comm->ops.broadcast(comm->impl, data, bytes, 0, message, sizeof message) != 0)
    return fail(KILN_ERROR_COMMUNICATION,
                "broadcast of " + what + " from rank 0 failed on rank " +
                    std::to_string(comm->rank) + ": " + message);
  return {};
}

} // namespace kiln::rt

using namespace kiln::rt;

extern "C" {

kiln_status kiln_comm_create(const kiln_comm_ops *ops, void *impl, int rank, int size,
                             kiln_comm **out) {
  if (!out)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT, "kiln_comm_create: out is NULL");
  *out = nullptr;
  if (!ops || !ops->all_reduce_sum_f32 || !ops->broadcast || !ops->destroy)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            "kiln_comm_create: ops or one of its functions is NULL");
  if (size < 1 || rank < 0 || rank >= size)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            "kiln_comm_create: rank " + std::to_string(rank) +
                                " is not in [0, size " + std::to_string(size) + ")");
  auto *comm = new (std::nothrow) kiln_comm;
  if (!comm)
    return set_thread_error(KILN_ERROR_OUT_OF_MEMORY, "kiln_comm_create: out of memory");
  comm->ops = *ops;
  comm->impl = impl;
  comm->rank = rank;
  comm->size = size;
  *out = comm;
  return KILN_OK;
}

kiln_status kiln_comm_create_single(kiln_comm **out) {
  static const kiln_comm_ops single = {
      [](void *, const float *in, float *out, int64_t n, char *, size_t) {
        if (in != out)
          std::memmove(out, in, static_cast<size_t>(n) * sizeof(float));
        return 0;
      },
      [](void *, void *, int64_t, int, char *, size_t) { return 0; },
      [](void *) {}, 0, nullptr};
  return kiln_comm_create(&single, nullptr, 0, 1, out);
}

void kiln_comm_destroy(kiln_comm *comm) {
  if (!comm)
    return;
  const kiln_comm_ops ops = comm->ops;
  void *impl = comm->impl;
  delete comm; // joins the communication thread first
  ops.destroy(impl);
}

int kiln_comm_rank(const kiln_comm *comm) { return comm ? comm->rank : 0; }
int kiln_comm_size(const kiln_comm *comm) { return comm ? comm->size : 1; }

/* nn.all_reduce (mean) as the compiled step calls it: out = the average
 * over the processes of `in` (`params[0]` floats). Without a communicator
 * the average of one process, a copy. A failure is recorded for the
 * caller (CollectiveScope::result); `out` then holds the local values, so
 * the step goes on with finite numbers. */
void kiln_all_reduce_mean(const int64_t *params, const float *in, float *out) {
  const int64_t n = params[0];
  if (ScopeState *scope = share_of_group(in, out, n))
    if (!sum_now(scope, out, n, "gradient values"))
      std::memmove(out, in, static_cast<size_t>(n) * sizeof(float));
}

/* A synchronised batch norm's per-process sums (nn.batch_norm `sync`):
 * out = the sum over the processes of `in` (`params[0]` floats); alone a
 * copy. A failure is recorded like kiln_all_reduce_mean's. */
void kiln_all_reduce_sum(const int64_t *params, const float *in, float *out) {
  const int64_t n = params[0];
  ScopeState *scope = current_scope;
  if (scope)
    ++scope->all_reduces;
  kiln_comm *comm = scope ? scope->comm : nullptr;
  if (in != out)
    std::memmove(out, in, static_cast<size_t>(n) * sizeof(float));
  if (!comm || comm->size == 1 || scope->failed)
    return;
  if (!sum_now(scope, out, n, "batch-norm statistics"))
    std::memmove(out, in, static_cast<size_t>(n) * sizeof(float));
}

/* A gradient bucket's start (nn.all_reduce_start, params = [n, bucket]):
 * out = in / world size, then its sum over the group is handed to the
 * communication thread (or done here without one); the kernel goes on
 * and kiln_all_reduce_wait completes it. */
void kiln_all_reduce_start(const int64_t *params, const float *in, float *out) {
  const int64_t n = params[0], bucket = params[1];
  ScopeState *scope = share_of_group(in, out, n);
  if (!scope)
    return;
  kiln_comm *comm = scope->comm;
  if (!comm->ops.background) {
    if (!sum_now(scope, out, n, "gradient values"))
      std::memmove(out, in, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  if (scope->buckets.size() <= static_cast<size_t>(bucket))
    scope->buckets.resize(static_cast<size_t>(bucket) + 1);
  Job &job = scope->buckets[static_cast<size_t>(bucket)];
  job.data = out;
  job.n = n;
  comm->submit(&job);
}

/* A gradient bucket's wait (nn.all_reduce_wait, params = [n, bucket]):
 * returns once `out` (the start's buffer) holds the bucket's average.
 * Waits may come in another order than the starts (each stands before the
 * first reader of its bucket); the thread runs the buckets in start order,
 * so when this one failed, the first failed bucket started before it (its
 * job done too) is the cause to report, not "not tried". */
void kiln_all_reduce_wait(const int64_t *params, float *out) {
  const int64_t bucket = params[1];
  ScopeState *scope = current_scope;
  if (!scope || !scope->comm || static_cast<size_t>(bucket) >= scope->buckets.size())
    return; // alone, or the start completed it already
  Job &job = scope->buckets[static_cast<size_t>(bucket)];
  if (!job.queued)
    return;
  scope->comm->wait(&job);
  if (job.failed) {
    const Job *cause = &job;
    for (int64_t b = 0; b < bucket; ++b) {
      Job &earlier = scope->buckets[static_cast<size_t>(b)];
      if (!earlier.queued)
        continue;
      scope->comm->wait(&earlier); // done already: queued before this one
      if (earlier.failed) {
        cause = &earlier;
        break;
      }
    }
    record_failure(scope, "gradient values", cause->n, cause->message);
  }
  if (job.data != out) // never: kiln-cpu-library-calls-to-runtime checks
    std::memcpy(out, job.data, static_cast<size_t>(job.n) * sizeof(float));
}

/* nn.world_size: the running instance's group size, 1 alone. */
void kiln_world_size(const int64_t *, float *out) {
  ScopeState *scope = current_scope;
  out[0] = static_cast<float>(scope && scope->comm ? scope->comm->size : 1);
}

} // extern "C"
