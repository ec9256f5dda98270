/* Internal to libkiln_rt: test hooks of kiln_sgemm (gemm.cpp). The function
 * itself is declared in kiln/runtime.h: generated code calls it. */
#pragma once

#include <cstdint>

namespace kiln::rt {

/* Avx2: the AVX2 + FMA micro-kernels where the CPU has them (else as
 * Automatic), so that an AVX-512 machine tests them too. */
enum class GemmKernel { Automatic, Portable, Avx2 };

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

/* True when kiln_sgemm runs its AVX-512 micro-kernels (the CPU has AVX-512F
 * and no test forced the portable kernel): other AVX-512 routines of the
 * runtime (conv_implicit.cpp) follow the same choice. */
bool gemm_uses_avx512();

/* Copies `lines` lines of a strided operand into panels of `width` lines,
 * k-major within a panel: out[l / width][p][l % width] = src[l * line_stride +
 * p * depth_stride] for p < depth; lines past the end are zero. This is how
 * kiln_sgemm packs A (width 12) and B (width 32). */
void pack_panels(const float *src, int64_t line_stride, int64_t depth_stride,
                 int64_t lines, int64_t depth, int64_t width, float *out);

} // namespace kiln::rt
