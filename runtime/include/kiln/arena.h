/* How kiln_model_create sizes one model instance: a single allocation (the
 * arena) holding every tensor the runtime owns, in this order:
 *   1. every tensor that is not the caller's (not an input, target or
 *      output), each rounded up to KILN_ARENA_LINE bytes;
 *   2. a second copy of the double-buffered ones: those some kernel writes
 *      the next value of beside the current one (KILN_ARG_TENSOR_NEXT; the
 *      runtime flips them after a successful call), in the same order;
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

/* Whether the arena keeps a second copy of a tensor: exactly when some
 * kernel writes the tensor's next value beside its current one
 * (KILN_ARG_TENSOR_NEXT, among `num_args` arguments of one kernel; call it
 * for every kernel). A tensor that kernels only read, or update in place
 * (KILN_ARG_TENSOR_UPDATE), has one copy; so do the optimizer state and
 * step of an optimizer the runtime drives (LBFGS), which no kernel writes. */
static inline int kiln_arena_writes_next(const kiln_kernel_arg *args, int32_t num_args,
                                         int32_t tensor) {
  for (int32_t i = 0; i < num_args; ++i)
    if (args[i].kind == KILN_ARG_TENSOR_NEXT && args[i].tensor == tensor)
      return 1;
  return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* KILN_ARENA_H */
