/* Internal to libkiln_rt: test hooks of kiln_sgemm (gemm.cpp). The function
 * itself is declared in kiln/runtime.h: generated code calls it. */
#pragma once

namespace kiln::rt {

enum class GemmKernel { Automatic, Portable };

/* Makes every later kiln_sgemm use `kernel` (Automatic: the best one the CPU
 * supports), so tests can check the portable micro-kernel on an AVX-512
 * machine. Not thread-safe: call it while no GEMM runs. */
void force_gemm_kernel_for_testing(GemmKernel kernel);

} // namespace kiln::rt
