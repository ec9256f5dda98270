// Communicators (kiln/comm.h) and the collective the compiled step calls,
// kiln_all_reduce_mean (lowered from nn.all_reduce, passes/LowerDistributed.cpp).
#include "comm.h"

#include <cstdio>
#include <cstring>
#include <new>
#include <string>

struct kiln_comm {
  kiln_comm_ops ops{};
  void *impl = nullptr;
  int rank = 0;
  int size = 1;
};

namespace kiln::rt {
namespace {

struct ScopeState {
  kiln_comm *comm = nullptr;
  bool failed = false;
  char message[512] = {0};
};
thread_local ScopeState *current_scope = nullptr;

} // namespace

CollectiveScope::CollectiveScope(kiln_comm *comm) {
  // One scope per kernel call on this thread: no nesting (kernels do not
  // call kernels), so a fresh state each time.
  static thread_local ScopeState state;
  state = ScopeState{};
  state.comm = comm;
  current_scope = &state;
}

CollectiveScope::~CollectiveScope() { current_scope = nullptr; }

Error CollectiveScope::result() const {
  if (!current_scope || !current_scope->failed)
    return {};
  return fail(KILN_ERROR_COMMUNICATION, current_scope->message);
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
      [](void *) {}};
  return kiln_comm_create(&single, nullptr, 0, 1, out);
}

void kiln_comm_destroy(kiln_comm *comm) {
  if (!comm)
    return;
  comm->ops.destroy(comm->impl);
  delete comm;
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
  ScopeState *scope = current_scope;
  kiln_comm *comm = scope ? scope->comm : nullptr;
  if (!comm || comm->size == 1) {
    if (in != out)
      std::memmove(out, in, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  if (scope->failed) { // an earlier collective of this call failed: stay local
    std::memmove(out, in, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  // Divided before the sum, as DDP's default reducer divides each bucket by
  // the world size before its all-reduce (the same rounding as torch).
  const float size = static_cast<float>(comm->size);
  for (int64_t i = 0; i < n; ++i)
    out[i] = in[i] / size;
  char message[400] = {0};
  if (comm->ops.all_reduce_sum_f32(comm->impl, out, out, n, message, sizeof message) != 0) {
    scope->failed = true;
    std::snprintf(scope->message, sizeof scope->message,
                  "all-reduce of %lld gradient values failed on rank %d of %d: %s",
                  static_cast<long long>(n), comm->rank, comm->size, message);
    std::memmove(out, in, static_cast<size_t>(n) * sizeof(float));
  }
}

/* A synchronised batch norm's per-process sums (nn.batch_norm `sync`):
 * out = the sum over the processes of `in` (`params[0]` floats); alone a
 * copy. A failure is recorded like kiln_all_reduce_mean's. */
void kiln_all_reduce_sum(const int64_t *params, const float *in, float *out) {
  const int64_t n = params[0];
  ScopeState *scope = current_scope;
  kiln_comm *comm = scope ? scope->comm : nullptr;
  if (in != out)
    std::memmove(out, in, static_cast<size_t>(n) * sizeof(float));
  if (!comm || comm->size == 1 || scope->failed)
    return;
  char message[400] = {0};
  if (comm->ops.all_reduce_sum_f32(comm->impl, out, out, n, message, sizeof message) != 0) {
    scope->failed = true;
    std::snprintf(scope->message, sizeof scope->message,
                  "all-reduce of %lld batch-norm statistics failed on rank %d of %d: %s",
                  static_cast<long long>(n), comm->rank, comm->size, message);
    std::memmove(out, in, static_cast<size_t>(n) * sizeof(float));
  }
}

/* nn.world_size: the running instance's group size, 1 alone. */
void kiln_world_size(const int64_t *, float *out) {
  ScopeState *scope = current_scope;
  out[0] = static_cast<float>(scope && scope->comm ? scope->comm->size : 1);
}

} // extern "C"
