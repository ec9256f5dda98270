/* kiln_sgemm: the packed, blocked, threaded single-precision GEMM that
 * generated code calls for its 2-D contractions (kiln-cpu-gemm-to-runtime).
 *
 * Why a runtime kernel and not generated loops: the register-tiled loops that
 * MLIR 19's vectorizer produced read their operands in place (no packing), so
 * long K and strided operands (a convolution's im2col columns, a transposed
 * weight) ran at 35-45 GFLOP/s of the ~137 one core can do. A GEMM near peak
 * needs operand packing, cache blocking and a register tile written for the
 * FMA units; that is a few hundred lines of C++ here, the way IREE keeps its
 * CPU "ukernels" in a runtime library, instead of thousands in a transform
 * schedule. Shape specialisation is not lost: the blocking below is chosen
 * per call from the (static) shape.
 *
 * Structure (BLIS's): the output is cut into tasks of whole register-tile
 * panels (rows x columns), run on the process pool. Each task walks K in
 * blocks of kKc: it packs its B block (kKc x its columns) into kNr-column
 * panels and its A block into kMr-row panels, both zero-padded to whole
 * tiles, then runs the micro-kernel over every (row panel, column panel)
 * pair. A panel of B (kKc x kNr floats, 32 KiB) stays in L1 while the A
 * panels stream from L2. Edge tiles compute padded lanes and store under
 * masks, so a 10-column head or a single row is still vectorized.
 *
 * The AVX-512 micro-kernel is chosen at run time (cpuid); other machines get a
 * portable one with the same blocking that the compiler vectorizes. Summation
 * order over k is sequential per output element (blocks accumulate into C in
 * increasing k), like a naive loop, so results do not depend on the thread
 * count. */
#include "gemm.h"

#include "kiln/runtime.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#if defined(__x86_64__)
#include <immintrin.h>
#define KILN_GEMM_X86 1
#endif

/* The register tile stays in registers only when its loops are unrolled
 * completely (at -O2 clang kept the 24 accumulators in memory). */
#if defined(__clang__)
#define KILN_UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define KILN_UNROLL _Pragma("GCC unroll 16")
#else
#define KILN_UNROLL
#endif

namespace kiln::rt {
namespace {

/* Register tile: kMr rows x kNr columns of C held in 24 AVX-512 registers
 * (12 x two 16-lane vectors); per k, two loads of B and twelve broadcasts of A
 * feed 24 FMAs, enough independent chains to cover the FMA latency on two
 * pipes. */
constexpr int64_t kMr = 12;
constexpr int64_t kNv = 2;
constexpr int64_t kNr = 16 * kNv;
/* K block: one packed B panel (kKc x kNr floats) is 32 KiB, under L1. */
constexpr int64_t kKc = 256;
/* Rows and columns of one task at most: its packed A (kMcMax x kKc, 192 KiB)
 * and B (kNcMax x kKc, 512 KiB) blocks fit a 1 MiB L2 together. */
constexpr int64_t kMcMax = 16 * kMr;
constexpr int64_t kNcMax = 16 * kNr;
/* Below this many flops per task, another task costs more than it saves. */
constexpr double kMinTaskFlops = 2.0e6;

struct Problem {
  int64_t m, n, k;
  const float *a;
  int64_t a_row, a_col;
  const float *b;
  int64_t b_row, b_col;
  float *c;
  int64_t c_row;
  bool accumulate;
  /* Task grid: row blocks x column blocks, each a contiguous range of
   * panels, as even as integer division allows. */
  int64_t row_blocks, col_blocks;
};

using MicroKernel = void (*)(int64_t kc, const float *ap, const float *bp,
                             float *c, int64_t c_row, int64_t rows,
                             int64_t cols, bool load_c);

/* Portable micro-kernel: the same tile in plain arrays; clang and gcc
 * vectorize the j loops with whatever vector ISA the runtime was built for. */
void micro_portable(int64_t kc, const float *ap, const float *bp, float *c,
                    int64_t c_row, int64_t rows, int64_t cols, bool load_c) {
  float acc[kMr][kNr] = {};
  for (int64_t p = 0; p < kc; ++p) {
    const float *bk = bp + p * kNr;
    const float *ak = ap + p * kMr;
    for (int64_t i = 0; i < kMr; ++i)
      for (int64_t j = 0; j < kNr; ++j)
        acc[i][j] += ak[i] * bk[j];
  }
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      c[i * c_row + j] = load_c ? c[i * c_row + j] + acc[i][j] : acc[i][j];
}

#if KILN_GEMM_X86
__attribute__((target("avx512f"))) void
micro_avx512(int64_t kc, const float *ap, const float *bp, float *c,
             int64_t c_row, int64_t rows, int64_t cols, bool load_c) {
  __m512 acc[kMr][kNv];
  KILN_UNROLL
  for (int64_t i = 0; i < kMr; ++i)
    KILN_UNROLL
    for (int64_t v = 0; v < kNv; ++v)
      acc[i][v] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    __m512 bv[kNv];
    KILN_UNROLL
    for (int64_t v = 0; v < kNv; ++v)
      bv[v] = _mm512_load_ps(bp + p * kNr + 16 * v);
    KILN_UNROLL
    for (int64_t i = 0; i < kMr; ++i) {
      __m512 ai = _mm512_set1_ps(ap[p * kMr + i]);
      KILN_UNROLL
      for (int64_t v = 0; v < kNv; ++v)
        acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
  }
  __mmask16 mask[kNv];
  KILN_UNROLL
  for (int64_t v = 0; v < kNv; ++v) {
    int64_t lanes = std::clamp<int64_t>(cols - 16 * v, 0, 16);
    mask[v] = static_cast<__mmask16>((uint32_t{1} << lanes) - 1);
  }
  KILN_UNROLL
  for (int64_t i = 0; i < kMr; ++i) {
    KILN_UNROLL
    for (int64_t v = 0; v < kNv; ++v) {
      if (i >= rows || !mask[v])
        continue;
      float *at = c + i * c_row + 16 * v;
      __m512 out = acc[i][v];
      if (load_c)
        out = _mm512_add_ps(out, _mm512_maskz_loadu_ps(mask[v], at));
      _mm512_mask_storeu_ps(at, mask[v], out);
    }
  }
}
#endif

MicroKernel g_forced_kernel = nullptr;

MicroKernel pick_kernel() {
  if (g_forced_kernel)
    return g_forced_kernel;
#if KILN_GEMM_X86
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (avx512)
    return micro_avx512;
#endif
  return micro_portable;
}

/* A[rows, kc] starting at (i0, p0) -> panels of kMr rows, k-major within a
 * panel (ap[panel][p][r]), rows past the end zero. */
void pack_a(const Problem &g, int64_t i0, int64_t rows, int64_t p0,
            int64_t kc, float *ap) {
  for (int64_t r0 = 0; r0 < rows; r0 += kMr) {
    int64_t live = std::min(kMr, rows - r0);
    float *panel = ap + r0 * kc;
    const float *src = g.a + (i0 + r0) * g.a_row + p0 * g.a_col;
    if (g.a_row == 1) {
      /* Column-major A (A^T stored): each k is kMr consecutive floats. */
      for (int64_t p = 0; p < kc; ++p) {
        const float *col = src + p * g.a_col;
        float *dst = panel + p * kMr;
        int64_t r = 0;
        for (; r < live; ++r)
          dst[r] = col[r];
        for (; r < kMr; ++r)
          dst[r] = 0.0f;
      }
      continue;
    }
    for (int64_t r = 0; r < live; ++r) {
      const float *row = src + r * g.a_row;
      for (int64_t p = 0; p < kc; ++p)
        panel[p * kMr + r] = row[p * g.a_col];
    }
    for (int64_t r = live; r < kMr; ++r)
      for (int64_t p = 0; p < kc; ++p)
        panel[p * kMr + r] = 0.0f;
  }
}

/* B[kc, cols] starting at (p0, j0) -> panels of kNr columns, k-major within a
 * panel (bp[panel][p][j]), columns past the end zero. */
void pack_b(const Problem &g, int64_t p0, int64_t kc, int64_t j0,
            int64_t cols, float *bp) {
  for (int64_t c0 = 0; c0 < cols; c0 += kNr) {
    int64_t live = std::min(kNr, cols - c0);
    float *panel = bp + c0 * kc;
    const float *src = g.b + p0 * g.b_row + (j0 + c0) * g.b_col;
    if (g.b_col == 1) {
      for (int64_t p = 0; p < kc; ++p) {
        const float *row = src + p * g.b_row;
        float *dst = panel + p * kNr;
        int64_t j = 0;
        for (; j < live; ++j)
          dst[j] = row[j];
        for (; j < kNr; ++j)
          dst[j] = 0.0f;
      }
      continue;
    }
    /* Transposed B (a weight read as W^T): column j is contiguous in k. */
    for (int64_t j = 0; j < live; ++j) {
      const float *col = src + j * g.b_col;
      for (int64_t p = 0; p < kc; ++p)
        panel[p * kNr + j] = col[p * g.b_row];
    }
    for (int64_t j = live; j < kNr; ++j)
      for (int64_t p = 0; p < kc; ++p)
        panel[p * kNr + j] = 0.0f;
  }
}

/* First panel of block `b` of `blocks` over `panels` panels. */
int64_t block_start(int64_t b, int64_t blocks, int64_t panels) {
  return b * panels / blocks;
}

struct PackBuffers {
  float *a = nullptr;
  float *b = nullptr;
  PackBuffers() {
    a = static_cast<float *>(kiln_alloc(sizeof(float) * kMcMax * kKc));
    b = static_cast<float *>(kiln_alloc(sizeof(float) * kNcMax * kKc));
    if (!a || !b)
      std::abort(); /* 704 KiB per thread; out of memory here is fatal. */
  }
  ~PackBuffers() {
    kiln_free(a);
    kiln_free(b);
  }
};

void run_task(const Problem &g, int64_t task) {
  thread_local PackBuffers buffers;
  int64_t rb = task / g.col_blocks, cb = task % g.col_blocks;
  int64_t row_panels = (g.m + kMr - 1) / kMr;
  int64_t col_panels = (g.n + kNr - 1) / kNr;
  int64_t i0 = block_start(rb, g.row_blocks, row_panels) * kMr;
  int64_t i1 = std::min(g.m, block_start(rb + 1, g.row_blocks, row_panels) * kMr);
  int64_t j0 = block_start(cb, g.col_blocks, col_panels) * kNr;
  int64_t j1 = std::min(g.n, block_start(cb + 1, g.col_blocks, col_panels) * kNr);
  int64_t rows = i1 - i0, cols = j1 - j0;
  if (rows <= 0 || cols <= 0)
    return;
  MicroKernel micro = pick_kernel();
  for (int64_t p0 = 0; p0 < g.k; p0 += kKc) {
    int64_t kc = std::min(kKc, g.k - p0);
    bool load_c = g.accumulate || p0 > 0;
    pack_b(g, p0, kc, j0, cols, buffers.b);
    pack_a(g, i0, rows, p0, kc, buffers.a);
    for (int64_t c0 = 0; c0 < cols; c0 += kNr) {
      const float *bp = buffers.b + c0 * kc;
      for (int64_t r0 = 0; r0 < rows; r0 += kMr)
        micro(kc, buffers.a + r0 * kc, bp, g.c + (i0 + r0) * g.c_row + j0 + c0,
              g.c_row, std::min(kMr, rows - r0), std::min(kNr, cols - c0),
              load_c);
    }
  }
}

void task_range(int64_t begin, int64_t end, void *ctx) {
  const Problem &g = *static_cast<const Problem *>(ctx);
  for (int64_t t = begin; t < end; ++t)
    run_task(g, t);
}

/* Splits the output into row and column blocks: each at most kMcMax rows and
 * kNcMax columns (cache), then more blocks while there are fewer than four
 * per thread and each keeps at least kMinTaskFlops; the dimension with the
 * larger blocks is split first. */
void choose_grid(Problem &g, int threads) {
  int64_t row_panels = (g.m + kMr - 1) / kMr;
  int64_t col_panels = (g.n + kNr - 1) / kNr;
  g.row_blocks = (row_panels + kMcMax / kMr - 1) / (kMcMax / kMr);
  g.col_blocks = (col_panels + kNcMax / kNr - 1) / (kNcMax / kNr);
  double flops = 2.0 * g.m * g.n * g.k;
  while (g.row_blocks * g.col_blocks < 4 * int64_t{threads}) {
    double rows_per = double(row_panels) / g.row_blocks;
    double cols_per = double(col_panels) / g.col_blocks;
    bool split_rows = rows_per >= cols_per ? g.row_blocks < row_panels
                                           : g.col_blocks >= col_panels;
    int64_t next_rows = g.row_blocks + (split_rows ? 1 : 0);
    int64_t next_cols = g.col_blocks + (split_rows ? 0 : 1);
    if (next_rows > row_panels || next_cols > col_panels)
      break;
    if (flops / double(next_rows * next_cols) < kMinTaskFlops)
      break;
    g.row_blocks = next_rows;
    g.col_blocks = next_cols;
  }
}

} // namespace

void force_gemm_kernel_for_testing(GemmKernel kernel) {
  switch (kernel) {
  case GemmKernel::Automatic:
    g_forced_kernel = nullptr;
    break;
  case GemmKernel::Portable:
    g_forced_kernel = micro_portable;
    break;
  }
}

} // namespace kiln::rt

using kiln::rt::Problem;

/* Preconditions (guaranteed by kiln-cpu-gemm-to-runtime): m, n, k >= 0; the
 * strided views are in bounds; C does not overlap A or B. */
extern "C" void kiln_sgemm(int64_t m, int64_t n, int64_t k, const float *a,
                           int64_t a_row, int64_t a_col, const float *b,
                           int64_t b_row, int64_t b_col, float *c,
                           int64_t c_row, int32_t accumulate) {
  if (m <= 0 || n <= 0)
    return;
  if (k <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < m; ++i)
        std::memset(c + i * c_row, 0, sizeof(float) * n);
    return;
  }
  Problem g{m, n, k, a, a_row, a_col, b, b_row, b_col, c, c_row,
            accumulate != 0, 1, 1};
  kiln::rt::choose_grid(g, kiln_get_num_threads());
  int64_t tasks = g.row_blocks * g.col_blocks;
  if (tasks == 1)
    kiln::rt::task_range(0, 1, &g);
  else
    kiln_parallel_for(tasks, kiln::rt::task_range, &g);
}
