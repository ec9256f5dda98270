/* The communicator the running kernel's collectives use (comm.cpp). */
#ifndef KILN_RUNTIME_LIB_COMM_H
#define KILN_RUNTIME_LIB_COMM_H

#include "error.h"

#include <kiln/comm.h>

/* The collectives the compiled step calls (comm.cpp; host memory). The
 * CUDA versions (cuda_model.cpp) run them on host copies. */
extern "C" {
void kiln_all_reduce_mean(const int64_t *params, const float *in, float *out);
void kiln_all_reduce_sum(const int64_t *params, const float *in, float *out);
void kiln_all_reduce_start(const int64_t *params, const float *in, float *out);
void kiln_all_reduce_wait(const int64_t *params, float *out);
void kiln_world_size(const int64_t *params, float *out);
}

namespace kiln::rt {

/* While a kernel of an instance runs on this thread: that instance's
 * communicator (NULL: none attached), and the first failure of a
 * collective the kernel called, which the caller turns into the call's
 * status. */
class CollectiveScope {
public:
  explicit CollectiveScope(kiln_comm *comm);
  ~CollectiveScope();
  /* The first collective failure during the scope, or no error. */
  Error result() const;
  /* The all-reduces the kernel called (alone too): none in a train step
   * means the model was not compiled with --data-parallel. */
  int all_reduces() const;
};

/* A CUDA model's collective on device memory, `n` floats (cuda_model.cpp):
 * Alone (no communicator, one process of a host transport, or a
 * collective of this call failed already: `out` should be `in`, the caller
 * copies); Done (the
 * communicator's device operation ran on `stream`, its failure recorded
 * for the call like the CPU versions'); HostOnly (the transport reduces
 * host memory only: the caller goes through host copies). */
enum class DeviceCollective { Alone, Done, HostOnly };
DeviceCollective all_reduce_on_device(const float *in, float *out, int64_t n, bool average,
                                      const char *what, void *stream);

/* A gradient bucket's all-reduce on device memory that overlaps the rest
 * of the step (kiln_cuda_all_reduce_start / _wait): with a transport that
 * has the asynchronous device operations below (NCCL), `start` queues the
 * bucket's average on the transport's own stream after the work `stream`
 * holds now and returns (Done); other transports take
 * all_reduce_on_device's path, completing it at once. `wait` makes
 * `stream` wait for that bucket; `finish_device_collectives`, once a
 * kernel has queued all its work, waits on the host for every bucket the
 * kernel started, within the transport's timeout, so a dead peer fails
 * the call instead of hanging the stream. Failures are recorded for the
 * call like the others. */
DeviceCollective all_reduce_start_on_device(const float *in, float *out, int64_t n,
                                            int64_t bucket, const char *what, void *stream);
/* Whether all_reduce_start_on_device would queue the bucket and return
 * before it is done. Then `in` must stay untouched until the bucket's
 * wait, which the step's memory plan does not promise (its last use is
 * the start): the caller copies it into `out` first, on its stream. */
bool device_start_is_asynchronous();
void all_reduce_wait_on_device(int64_t bucket, void *stream);
void finish_device_collectives();

/* What a transport with asynchronous device operations provides (internal:
 * kiln_comm_create_nccl sets it; a user's kiln_comm_ops has none, so its
 * buckets complete at their start). Each returns 0, or nonzero with a
 * message. start: out = the average over the processes of in (n floats of
 * device memory), queued after the work on `stream`, bucket `bucket`
 * remembered; wait: `stream`'s later work after that bucket (nothing for a
 * bucket not started); finish: returns once every started bucket is done,
 * within the timeout. */
struct DeviceAsyncOps {
  int (*start)(void *impl, const float *in, float *out, int64_t n, int64_t bucket,
               void *stream, char *error, size_t error_size) = nullptr;
  int (*wait)(void *impl, int64_t bucket, void *stream, char *error, size_t error_size) = nullptr;
  int (*finish)(void *impl, char *error, size_t error_size) = nullptr;
};
void set_comm_device_async(kiln_comm *comm, const DeviceAsyncOps &ops);

/* The CUDA device whose memory `comm`'s device operation reduces
 * (kiln_comm_create_nccl records it), so that attaching a model on
 * another device is refused; -1 (the default): no such device. */
void set_comm_device(kiln_comm *comm, int device);
int comm_device(const kiln_comm *comm);

/* Averages `n` floats of host memory in place over `comm`'s processes, as
 * the compiled step's kiln_all_reduce_mean does (each process's share
 * first, then their sum), outside any kernel: the LBFGS driver's closure
 * values. Alone (no communicator, one process) a no-op. A failure (a
 * timed-out rank) names `what`; `data` then holds this process's values. */
Error comm_average(kiln_comm *comm, float *data, int64_t n, const std::string &what);

/* Broadcasts `bytes` of `data` from rank 0 over `comm`. */
Error comm_broadcast(kiln_comm *comm, void *data, int64_t bytes, const std::string &what);

} // namespace kiln::rt

#endif
