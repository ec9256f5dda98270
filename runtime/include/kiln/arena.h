/* How kiln_model_create sizes one model instance: a single allocation (the
 * arena) holding every tensor the runtime owns, in this order:
 *   1. every tensor that is not the caller's (not an input, target or
 *      output), each rounded up to KILN_ARENA_LINE bytes;
 *   2. a second copy of the double-buffered ones (kernels write the next
 *      value of a parameter, state, step, grad sum or buffer beside the
 *      current one; the runtime flips them after a successful call);
 *   3. a gradient per parameter (trainable models);
 *   4. the workspace: the largest of the kernels' planned temporaries.
 * The runtime (runtime/lib/model.cpp) allocates by these rules and kilnc
 * (codegen/ModelInterface.cpp) writes their total into the generated header
 * as <PREFIX>_ARENA_BYTES, so that an application can budget an instance
 * before it creates one; kiln_model_arena_bytes reports what was allocated.
 * Inputs, targets and outputs are the caller's memory and not counted. */
#ifndef KILN_ARENA_H
#define KILN_ARENA_H

#include "kiln/runtime.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every arena slot starts on a cache line. */
#define KILN_ARENA_LINE 64

/* The bytes of a slot of `numel` elements of `elem_size` bytes: at least one
 * line, so that every tensor has an address of its own even when empty.
 * Precondition: the product does not overflow (the runtime checks shapes). */
static inline uint64_t kiln_arena_slot_bytes(int64_t numel, uint64_t elem_size) {
  uint64_t bytes = (uint64_t)numel * elem_size;
  return bytes == 0 ? KILN_ARENA_LINE
                    : (bytes + KILN_ARENA_LINE - 1) / KILN_ARENA_LINE * KILN_ARENA_LINE;
}

/* Whether the caller provides a tensor of this role on every call. */
static inline int kiln_arena_caller_owned(kiln_tensor_role role) {
  return role == KILN_ROLE_INPUT || role == KILN_ROLE_TARGET || role == KILN_ROLE_OUTPUT;
}

/* Whether the arena keeps a second copy of a tensor of this role. Buffers
 * always (a train-mode forward may update them); parameters, optimizer
 * state, step, grad sums and rows sums of trainable models, except that an optimizer
 * the runtime drives (LBFGS: `optimizer` != KILN_OPTIMIZER_COMPILED) writes
 * its state and the step in place. */
static inline int kiln_arena_double_buffered(kiln_tensor_role role, int trainable,
                                             int32_t optimizer) {
  if (role == KILN_ROLE_BUFFER)
    return 1;
  if (optimizer != KILN_OPTIMIZER_COMPILED &&
      (role == KILN_ROLE_OPTIMIZER_STATE || role == KILN_ROLE_STEP))
    return 0;
  return trainable && (role == KILN_ROLE_PARAMETER || role == KILN_ROLE_OPTIMIZER_STATE ||
                       role == KILN_ROLE_STEP || role == KILN_ROLE_GRAD_SUM ||
                       role == KILN_ROLE_ROWS_SUM);
}

#ifdef __cplusplus
}
#endif

#endif /* KILN_ARENA_H */
