// kiln_comm over MPI (kiln/comm_mpi.h): nonblocking collectives polled
// against a deadline, so that a dead or stalled rank is an error message on
// the others instead of a hang.
#include <kiln/comm_mpi.h>

#include "error.h"

#include <chrono>
#include <cstdio>
#include <new>
#include <string>
#include <algorithm>
#include <thread>

namespace {

struct MpiComm {
  MPI_Comm comm = MPI_COMM_NULL;
  double timeout_seconds = 300;
  int rank = 0;
  int size = 1;
};

/* Waits for `request` until the deadline; nonzero with a message on an MPI
 * error or a timeout. */
int wait(MpiComm *c, MPI_Request *request, const char *what, char *error, size_t error_size) {
  using clock = std::chrono::steady_clock;
  const auto deadline =
      clock::now() + std::chrono::duration_cast<clock::duration>(
                         std::chrono::duration<double>(c->timeout_seconds));
  for (int spins = 0;; ++spins) {
    int done = 0;
    int rc = MPI_Test(request, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) {
      char text[MPI_MAX_ERROR_STRING];
      int length = 0;
      MPI_Error_string(rc, text, &length);
      std::snprintf(error, error_size, "MPI %s failed: %s", what, text);
      return 1;
    }
    if (done)
      return 0;
    if (clock::now() > deadline) {
      std::snprintf(error, error_size,
                    "MPI %s did not complete within %g s (timeout): another rank "
                    "died or stopped calling the same steps",
                    what, c->timeout_seconds);
      return 1;
    }
    // Spin briefly (a step's collective usually completes in microseconds),
    // then yield the core to the other ranks' work.
    if (spins > 1000)
      std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

/* Runs a nonblocking collective over `total` elements in chunks below 2^31
 * (MPI counts are int): `start(done, count, &request)` starts the chunk at
 * element `done`; each is waited for before the next. */
template <typename Start>
int chunked(MpiComm *c, int64_t total, const char *what, const char *call, Start start,
            char *error, size_t error_size) {
  for (int64_t done = 0; done < total;) {
    int count = static_cast<int>(std::min<int64_t>(total - done, int64_t(1) << 30));
    MPI_Request request;
    int rc = start(done, count, &request);
    if (rc != MPI_SUCCESS) {
      std::snprintf(error, error_size, "%s could not start (error %d)", call, rc);
      return 1;
    }
    if (wait(c, &request, what, error, error_size))
      return 1;
    done += count;
  }
  return 0;
}

int all_reduce_sum(void *impl, const float *in, float *out, int64_t n, char *error,
                   size_t error_size) {
  auto *c = static_cast<MpiComm *>(impl);
  return chunked(
      c, n, "all-reduce (MPI_Iallreduce)", "MPI_Iallreduce",
      [&](int64_t done, int count, MPI_Request *request) {
        const void *send = in == out ? MPI_IN_PLACE : static_cast<const void *>(in + done);
        return MPI_Iallreduce(send, out + done, count, MPI_FLOAT, MPI_SUM, c->comm, request);
      },
      error, error_size);
}

int broadcast(void *impl, void *data, int64_t bytes, int root, char *error, size_t error_size) {
  auto *c = static_cast<MpiComm *>(impl);
  auto *p = static_cast<char *>(data);
  return chunked(
      c, bytes, "broadcast (MPI_Ibcast)", "MPI_Ibcast",
      [&](int64_t done, int count, MPI_Request *request) {
        return MPI_Ibcast(p + done, count, MPI_BYTE, root, c->comm, request);
      },
      error, error_size);
}

void destroy(void *impl) {
  auto *c = static_cast<MpiComm *>(impl);
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && c->comm != MPI_COMM_NULL)
    MPI_Comm_free(&c->comm);
  delete c;
}

} // namespace

extern "C" kiln_status kiln_comm_create_mpi(MPI_Comm comm, double timeout_seconds,
                                            kiln_comm **out) {
  using kiln::rt::set_thread_error;
  if (!out)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT, "kiln_comm_create_mpi: out is NULL");
  *out = nullptr;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            "kiln_comm_create_mpi: MPI is not initialized (call MPI_Init first)");
  if (!(timeout_seconds > 0))
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            "kiln_comm_create_mpi: timeout_seconds must be > 0, got " +
                                std::to_string(timeout_seconds));
  auto *c = new (std::nothrow) MpiComm;
  if (!c)
    return set_thread_error(KILN_ERROR_OUT_OF_MEMORY, "kiln_comm_create_mpi: out of memory");
  c->timeout_seconds = timeout_seconds;
  // Errors come back as codes (MPI's default handler would abort).
  if (MPI_Comm_dup(comm, &c->comm) != MPI_SUCCESS) {
    delete c;
    return set_thread_error(KILN_ERROR_COMMUNICATION, "kiln_comm_create_mpi: MPI_Comm_dup failed");
  }
  MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(c->comm, &c->rank);
  MPI_Comm_size(c->comm, &c->size);
  // The communication thread needs MPI to accept calls from a thread other
  // than the main one (one at a time): MPI_Init_thread with
  // MPI_THREAD_SERIALIZED or more. With plain MPI_Init, collectives run on
  // the calling thread.
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  const kiln_comm_ops ops = {all_reduce_sum, broadcast, destroy,
                             provided >= MPI_THREAD_SERIALIZED ? 1 : 0,
                             nullptr}; // host memory only
  kiln_status status = kiln_comm_create(&ops, c, c->rank, c->size, out);
  if (status != KILN_OK)
    destroy(c);
  return status;
}
