/* Internal to libkiln_rt: test hooks of kiln_sgemm (gemm.cpp). The function
 * itself is declared in kiln/runtime.h: generated code calls it. */
#pragma once

#include <cstdint>

namespace kiln::rt {

enum class GemmKernel { Automatic, Portable };

/* Makes every later kiln_sgemm use `kernel` (Automatic: the best one the CPU
 * supports), so tests can check the portable micro-kernel on an AVX-512
 * machine. Not thread-safe: call it while no GEMM runs. */
void force_gemm_kernel_for_testing(GemmKernel kernel);

/* kiln_sgemm's product computed on the calling thread only, blocked as for
 * one thread (same preconditions, same results). For callers that already
 * run on the pool and split their own work (runtime/lib/conv.cpp). */
void sgemm_on_this_thread(int64_t m, int64_t n, int64_t k, const float *a,
                          int64_t a_row, int64_t a_col, const float *b,
                          int64_t b_row, int64_t b_col, float *c,
                          int64_t c_row, bool accumulate);

} // namespace kiln::rt
