/* Internal to libkiln_rt: how the runtime's own routines (GEMM,
 * convolutions, CTC) go onto the pool. Each splits its work into tasks that
 * workers take from a shared counter (a preempted thread then holds up no
 * one's slice), so it needs as many workers as there are tasks, up to the
 * pool's size, and none at all for one task: a fork/join costs 0.5-2.5 us
 * (docs/performance.md "Thread pool fork/join"). */
#pragma once

#include "kiln/runtime.h"

#include <algorithm>
#include <cstdint>

namespace kiln::rt {

/* Calls body(w, w + 1, ctx) for w in [0, min(tasks, threads)) on the pool,
 * or body(0, 1, ctx) on the calling thread when that is at most one worker
 * (tasks <= 1, or one thread). body takes the tasks itself. */
inline void run_workers(int64_t tasks, void (*body)(int64_t, int64_t, void *), void *ctx) {
  int64_t workers = std::min<int64_t>(tasks, kiln_get_num_threads());
  if (workers <= 1)
    body(0, 1, ctx);
  else
    kiln_parallel_for(workers, body, ctx);
}

} // namespace kiln::rt
