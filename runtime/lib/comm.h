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
