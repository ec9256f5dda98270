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
#include "workers.h"

#include "kiln/runtime.h"

#include <algorithm>
#include <atomic>
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
  /* The next task to take (take_tasks). */
  std::atomic<int64_t> next{0};
  /* The epilogue (kiln_sgemm_fused): bias[j] added in the first K block,
   * act[i * act_row + j] = activation(C[i, j]) written in the last (the
   * ReLU backward reads gate[i * gate_row + j]). */
  const float *bias = nullptr;
  int32_t activation = 0;
  float *act = nullptr;
  int64_t act_row = 0;
  const float *gate = nullptr;
  int64_t gate_row = 0;
  /* a_sums[i] += sum over p of A(i, p), by the task of each row block that
   * holds its first column block (null: none). */
  float *a_sums = nullptr;
  /* Batched products (kiln_sgemm_batched): `batch` independent m x n x k
   * products, item i's operands at a + i * a_batch, b + i * b_batch and
   * c + i * c_batch; task numbers run over the items' task grids one item
   * after the other. The epilogue fields above are for batch == 1 only. */
  int64_t batch = 1, a_batch = 0, b_batch = 0, c_batch = 0;
};

/* One register tile's operands. A's element (i, p) is a[i * a_i + p * a_p]
 * (a packed panel: a_i = 1, a_p = kMr); B's (p, j) is b[p * b_p + j] for
 * j < cols (a packed panel: b_p = kNr, zero padded past cols). All kMr rows
 * of A are readable (edge panels are packed); B past cols is not read
 * unless it is a packed panel. Rows >= rows and columns >= cols of C are
 * neither read nor written. */
struct Tile {
  const float *a;
  int64_t a_i, a_p;
  const float *b;
  int64_t b_p;
  float *c;
  int64_t c_row, rows, cols;
  bool load_c;
  /* Epilogue: bias[j] added to column j of the tile (after C when
   * load_c); null for none. */
  const float *bias;
  /* After the store of C: act[i * act_row + j] = relu(C[i, j]), or with a
   * gate the ReLU backward gate[i * gate_row + j] > 0 ? C[i, j] : 0; null
   * for none (set on the last K block only). */
  float *act;
  int64_t act_row;
  const float *gate;
  int64_t gate_row;
};

/* ReLU as arith.maximumf(x, 0) computes it, which generated code would
 * otherwise have run: x where x > 0 or x is NaN, else +0 (so -0 -> +0). */
inline float relu(float x) { return (x > 0.0f || x != x) ? x : 0.0f; }

/* The ReLU backward as threshold_backward lowers (arith.cmpf ogt, then
 * arith.select): the gradient where the gate is > 0, else +0 (a NaN gate
 * gives 0). */
inline float relu_backward(float grad, float gate) {
  return gate > 0.0f ? grad : 0.0f;
}

using MicroKernel = void (*)(int64_t kc, const Tile &t);

/* Portable micro-kernel: the same tile in plain arrays; clang and gcc
 * vectorize the j loops with whatever vector ISA the runtime was built for. */
void micro_portable(int64_t kc, const Tile &t) {
  float acc[kMr][kNr] = {};
  float bk[kNr] = {};
  for (int64_t p = 0; p < kc; ++p) {
    for (int64_t j = 0; j < t.cols; ++j)
      bk[j] = t.b[p * t.b_p + j];
    for (int64_t i = 0; i < kMr; ++i) {
      float a = t.a[i * t.a_i + p * t.a_p];
      for (int64_t j = 0; j < kNr; ++j)
        acc[i][j] += a * bk[j];
    }
  }
  for (int64_t i = 0; i < t.rows; ++i)
    for (int64_t j = 0; j < t.cols; ++j) {
      float *at = t.c + i * t.c_row + j;
      float out = acc[i][j];
      if (t.load_c)
        out += *at;
      if (t.bias)
        out += t.bias[j];
      *at = out;
      if (t.act)
        t.act[i * t.act_row + j] =
            t.gate ? relu_backward(out, t.gate[i * t.gate_row + j])
                   : relu(out);
    }
}

#if KILN_GEMM_X86
/* kUnitRowStride: a_i == 1 (a packed panel, or a column-major A read in
 * place), so the kMr values of one k are adjacent; otherwise A is row-major
 * (a_p == 1) and each row is its own stream. kMaskB: fewer than kNr columns
 * of an unpacked B, loaded under a mask. kVecs: 16-lane vectors per row, 2
 * (kNr columns) or 1 for a tile of at most 16 columns (LeNet's 6 and 16
 * output channels would otherwise spend 81 % and 50 % of the FMAs on
 * padding). */
template <bool kUnitRowStride, bool kMaskB, int64_t kVecs>
__attribute__((target("avx512f"))) void micro_avx512(int64_t kc,
                                                    const Tile &t) {
  __m512 acc[kMr][kVecs];
  KILN_UNROLL
  for (int64_t i = 0; i < kMr; ++i)
    KILN_UNROLL
    for (int64_t v = 0; v < kVecs; ++v)
      acc[i][v] = _mm512_setzero_ps();
  __mmask16 mask[kVecs];
  KILN_UNROLL
  for (int64_t v = 0; v < kVecs; ++v) {
    int64_t lanes = std::clamp<int64_t>(t.cols - 16 * v, 0, 16);
    mask[v] = static_cast<__mmask16>((uint32_t{1} << lanes) - 1);
  }
  const float *a = t.a, *b = t.b;
  const int64_t a_i = t.a_i, a_p = t.a_p, b_p = t.b_p;
  for (int64_t p = 0; p < kc; ++p) {
    __m512 bv[kVecs];
    KILN_UNROLL
    for (int64_t v = 0; v < kVecs; ++v)
      bv[v] = kMaskB ? _mm512_maskz_loadu_ps(mask[v], b + p * b_p + 16 * v)
                     : _mm512_loadu_ps(b + p * b_p + 16 * v);
    KILN_UNROLL
    for (int64_t i = 0; i < kMr; ++i) {
      __m512 ai = _mm512_set1_ps(kUnitRowStride ? a[p * a_p + i]
                                                : a[i * a_i + p]);
      KILN_UNROLL
      for (int64_t v = 0; v < kVecs; ++v)
        acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
  }
  KILN_UNROLL
  for (int64_t i = 0; i < kMr; ++i) {
    KILN_UNROLL
    for (int64_t v = 0; v < kVecs; ++v) {
      if (i >= t.rows || !mask[v])
        continue;
      float *at = t.c + i * t.c_row + 16 * v;
      __m512 out = acc[i][v];
      if (t.load_c)
        out = _mm512_add_ps(out, _mm512_maskz_loadu_ps(mask[v], at));
      if (t.bias)
        out = _mm512_add_ps(out,
                            _mm512_maskz_loadu_ps(mask[v], t.bias + 16 * v));
      _mm512_mask_storeu_ps(at, mask[v], out);
      if (t.act) {
        /* relu(): keep x > 0 and NaN (not-less-or-equal, unordered);
         * relu_backward(): keep where the gate is > 0 (ordered). */
        __mmask16 keep =
            t.gate ? _mm512_cmp_ps_mask(
                         _mm512_maskz_loadu_ps(
                             mask[v], t.gate + i * t.gate_row + 16 * v),
                         _mm512_setzero_ps(), _CMP_GT_OQ)
                   : _mm512_cmp_ps_mask(out, _mm512_setzero_ps(),
                                        _CMP_NLE_UQ);
        _mm512_mask_storeu_ps(t.act + i * t.act_row + 16 * v, mask[v],
                              _mm512_maskz_mov_ps(keep, out));
      }
    }
  }
}

/* AVX2 + FMA without AVX-512 (the 2-CPU AMD EPYC of these sessions since
 * 2026-12-04 evening, which had been running every GEMM on the portable
 * kernel's SSE2 code). Its 16 256-bit registers hold a 6 x 16 block of C (12
 * accumulators, two B vectors, one broadcast), so the kMr x kNr tile (same
 * packing, same Tile contract) is computed as up to four 6 x 16 blocks,
 * each over the whole kc; a block wholly past rows or cols is skipped.
 * Each C element is still one FMA chain in increasing k. */
template <bool kUnitRowStride, bool kMaskB>
__attribute__((target("avx2,fma"))) void micro_avx2(int64_t kc,
                                                  const Tile &t) {
  constexpr int64_t kRows = 6, kCols = 16;
  const int64_t a_i = t.a_i, a_p = t.a_p, b_p = t.b_p;
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int64_t r0 = 0; r0 < kMr && r0 < t.rows; r0 += kRows)
    for (int64_t c0 = 0; c0 < kNr && c0 < t.cols; c0 += kCols) {
      __m256i mask[2];
      KILN_UNROLL
      for (int64_t v = 0; v < 2; ++v)
        mask[v] = _mm256_cmpgt_epi32(
            _mm256_set1_epi32(static_cast<int>(
                std::clamp<int64_t>(t.cols - c0 - 8 * v, 0, 8))),
            lane);
      __m256 acc[kRows][2];
      KILN_UNROLL
      for (int64_t i = 0; i < kRows; ++i)
        KILN_UNROLL
        for (int64_t v = 0; v < 2; ++v)
          acc[i][v] = _mm256_setzero_ps();
      const float *a = kUnitRowStride ? t.a + r0 : t.a + r0 * a_i;
      const float *b = t.b + c0;
      for (int64_t p = 0; p < kc; ++p) {
        __m256 bv[2];
        KILN_UNROLL
        for (int64_t v = 0; v < 2; ++v)
          bv[v] = kMaskB ? _mm256_maskload_ps(b + p * b_p + 8 * v, mask[v])
                         : _mm256_loadu_ps(b + p * b_p + 8 * v);
        KILN_UNROLL
        for (int64_t i = 0; i < kRows; ++i) {
          __m256 ai = _mm256_broadcast_ss(kUnitRowStride ? a + p * a_p + i
                                                         : a + i * a_i + p);
          KILN_UNROLL
          for (int64_t v = 0; v < 2; ++v)
            acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
        }
      }
      KILN_UNROLL
      for (int64_t i = 0; i < kRows; ++i) {
        if (r0 + i >= t.rows)
          break;
        KILN_UNROLL
        for (int64_t v = 0; v < 2; ++v) {
          if (c0 + 8 * v >= t.cols)
            break;
          float *at = t.c + (r0 + i) * t.c_row + c0 + 8 * v;
          __m256 out = acc[i][v];
          if (t.load_c)
            out = _mm256_add_ps(out, _mm256_maskload_ps(at, mask[v]));
          if (t.bias)
            out = _mm256_add_ps(
                out, _mm256_maskload_ps(t.bias + c0 + 8 * v, mask[v]));
          _mm256_maskstore_ps(at, mask[v], out);
          if (t.act) {
            /* relu(): keep x > 0 and NaN (not-less-or-equal, unordered);
             * relu_backward(): keep where the gate is > 0 (ordered). */
            __m256 keep =
                t.gate ? _mm256_cmp_ps(
                             _mm256_maskload_ps(t.gate + (r0 + i) * t.gate_row +
                                                    c0 + 8 * v,
                                                mask[v]),
                             _mm256_setzero_ps(), _CMP_GT_OQ)
                       : _mm256_cmp_ps(out, _mm256_setzero_ps(), _CMP_NLE_UQ);
            _mm256_maskstore_ps(t.act + (r0 + i) * t.act_row + c0 + 8 * v,
                                mask[v], _mm256_and_ps(keep, out));
          }
        }
      }
    }
}
#endif

/* The micro-kernels by [unit row stride of A][masked B][at most 16
 * columns]. */
struct Kernels {
  MicroKernel k[2][2][2];
};

bool g_force_portable = false;
/* Tests: the AVX2 micro-kernels on an AVX-512 machine. */
bool g_force_avx2 = false;

#if KILN_GEMM_X86
bool cpu_has_avx512() {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  return avx512;
}

bool cpu_has_avx2_fma() {
  static const bool avx2 =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return avx2;
}
#endif

Kernels pick_kernels() {
#if KILN_GEMM_X86
  if (cpu_has_avx512() && !g_force_portable && !g_force_avx2)
    return {{{{micro_avx512<false, false, 2>, micro_avx512<false, false, 1>},
              {micro_avx512<false, true, 2>, micro_avx512<false, true, 1>}},
             {{micro_avx512<true, false, 2>, micro_avx512<true, false, 1>},
              {micro_avx512<true, true, 2>, micro_avx512<true, true, 1>}}}};
  if (cpu_has_avx2_fma() && !g_force_portable)
    return {{{{micro_avx2<false, false>, micro_avx2<false, false>},
              {micro_avx2<false, true>, micro_avx2<false, true>}},
             {{micro_avx2<true, false>, micro_avx2<true, false>},
              {micro_avx2<true, true>, micro_avx2<true, true>}}}};
#endif
  Kernels portable;
  for (auto &unit : portable.k)
    for (auto &mask : unit)
      for (MicroKernel &narrow : mask)
        narrow = micro_portable;
  return portable;
}

#if KILN_GEMM_X86
/* r[i] := column i of the 16 x 16 matrix whose rows were r[0..15]: 32-bit
 * then 64-bit interleaves within 128-bit lanes, then two rounds of 128-bit
 * lane shuffles. */
__attribute__((target("avx512f"))) inline void transpose16x16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
    __m512d c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
  }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
  }
}

/* panel[p * width + w] = src[w * line_stride + p] for w < lines and
 * p < depth, both multiples of 16. */
__attribute__((target("avx512f"))) void
pack_transposed_blocks_avx512(const float *src, int64_t line_stride,
                              int64_t lines, int64_t depth, float *panel,
                              int64_t width) {
  for (int64_t w = 0; w < lines; w += 16)
    for (int64_t p = 0; p < depth; p += 16) {
      __m512 r[16];
      for (int64_t i = 0; i < 16; ++i)
        r[i] = _mm512_loadu_ps(src + (w + i) * line_stride + p);
      transpose16x16(r);
      for (int64_t i = 0; i < 16; ++i)
        _mm512_storeu_ps(panel + (p + i) * width + w, r[i]);
    }
}

/* panel[p * width + w] = w < lines ? src[w * line_stride + p] : 0 for
 * w < width and p < depth, where lines <= width <= 16 and depth is a
 * multiple of 16: an A panel of kMr = 12 rows, with its zero padding. Each
 * 16 x 16 block is transposed in registers (rows past `lines` are zero
 * vectors) and its first `width` lanes stored: the scalar copy, a strided
 * gather per element, was 18 % of W1's single-threaded forward. */
__attribute__((target("avx512f"))) void
pack_narrow_transposed_avx512(const float *src, int64_t line_stride,
                              int64_t lines, int64_t depth, float *panel,
                              int64_t width) {
  const __mmask16 keep = static_cast<__mmask16>((1u << width) - 1);
  for (int64_t p = 0; p < depth; p += 16) {
    __m512 r[16];
    for (int64_t i = 0; i < 16; ++i)
      r[i] = i < lines ? _mm512_loadu_ps(src + i * line_stride + p)
                       : _mm512_setzero_ps();
    transpose16x16(r);
    for (int64_t i = 0; i < 16; ++i)
      _mm512_mask_storeu_ps(panel + (p + i) * width, keep, r[i]);
  }
}
#endif

} // namespace

/* Declared in gemm.h. */
void pack_panels(const float *src, int64_t line_stride, int64_t depth_stride,
                 int64_t lines, int64_t depth, int64_t width, float *out) {
  for (int64_t l0 = 0; l0 < lines; l0 += width) {
    int64_t live = std::min(width, lines - l0);
    float *panel = out + l0 * depth;
    const float *first = src + l0 * line_stride;
    if (line_stride == 1) {
      /* A column-major A, a row-major B: each k is `live` adjacent floats. */
      for (int64_t p = 0; p < depth; ++p) {
        const float *at = first + p * depth_stride;
        float *dst = panel + p * width;
        int64_t w = 0;
        for (; w < live; ++w)
          dst[w] = at[w];
        for (; w < width; ++w)
          dst[w] = 0.0f;
      }
      continue;
    }
    /* Each line is contiguous in k (a row-major A, a weight read as W^T):
     * whole 16 x 16 blocks are transposed in registers where the CPU can
     * (scalar, W^T's copy was ~0.4 ms of W1's 128 x 784 x 512 forward).
     * Lines [0, done_w) are packed for k in [0, done_p), and the rest below;
     * a narrow panel (A's 12 rows) is packed whole, padding included. */
    int64_t done_w = 0, done_p = 0;
#if KILN_GEMM_X86
    if (depth_stride == 1 && gemm_uses_avx512()) {
      done_p = depth / 16 * 16;
      if (width % 16 == 0) {
        done_w = live / 16 * 16;
        pack_transposed_blocks_avx512(first, line_stride, done_w, done_p,
                                      panel, width);
      } else if (width < 16) {
        done_w = width;
        pack_narrow_transposed_avx512(first, line_stride, live, done_p, panel,
                                      width);
      }
    }
#endif
    for (int64_t w = 0; w < live; ++w) {
      const float *line = first + w * line_stride;
      for (int64_t p = w < done_w ? done_p : 0; p < depth; ++p)
        panel[p * width + w] = line[p * depth_stride];
    }
    for (int64_t w = live; w < width; ++w)
      for (int64_t p = w < done_w ? done_p : 0; p < depth; ++p)
        panel[p * width + w] = 0.0f;
  }
}

namespace {

/* A[rows, kc] starting at (i0, p0) -> panels of kMr rows (`a`: this
 * item's A, laid out with g's strides). */
void pack_a(const Problem &g, const float *a, int64_t i0, int64_t rows,
            int64_t p0, int64_t kc, float *ap) {
  pack_panels(a + i0 * g.a_row + p0 * g.a_col, g.a_row, g.a_col, rows, kc,
              kMr, ap);
}

/* B[kc, cols] starting at (p0, j0) -> panels of kNr columns. */
void pack_b(const Problem &g, const float *b, int64_t p0, int64_t kc,
            int64_t j0, int64_t cols, float *bp) {
  pack_panels(b + p0 * g.b_row + j0 * g.b_col, g.b_col, g.b_row, cols, kc,
              kNr, bp);
}

/* First panel of block `b` of `blocks` over `panels` panels. */
int64_t block_start(int64_t b, int64_t blocks, int64_t panels) {
  return b * panels / blocks;
}

struct PackBuffers {
  float *a = nullptr;
  float *b = nullptr;
  float *edge = nullptr;
  PackBuffers() {
    a = static_cast<float *>(kiln_alloc(sizeof(float) * kMcMax * kKc));
    b = static_cast<float *>(kiln_alloc(sizeof(float) * kNcMax * kKc));
    edge = static_cast<float *>(kiln_alloc(sizeof(float) * kMr * kKc));
    if (!a || !b || !edge)
      std::abort(); /* 716 KiB per thread; out of memory here is fatal. */
  }
  ~PackBuffers() {
    kiln_free(a);
    kiln_free(b);
    kiln_free(edge);
  }
};

/* a_sums[i] += A(i, 0) + A(i, 1) + ... for rows [i0, i1), one addition at
 * a time in increasing p as the loop that this replaces did (bit-identical;
 * the rows are independent, so the compiler vectorizes across them). */
void add_row_sums_of_a(const Problem &g, int64_t i0, int64_t i1) {
  float sums[kMcMax];
  int64_t rows = i1 - i0;
  for (int64_t i = 0; i < rows; ++i)
    sums[i] = g.a_sums[i0 + i];
  for (int64_t p = 0; p < g.k; ++p) {
    const float *column = g.a + i0 * g.a_row + p * g.a_col;
    for (int64_t i = 0; i < rows; ++i)
      sums[i] += column[i * g.a_row];
  }
  for (int64_t i = 0; i < rows; ++i)
    g.a_sums[i0 + i] = sums[i];
}

void run_task(const Problem &g, int64_t task) {
  thread_local PackBuffers buffers;
  int64_t item = task / (g.row_blocks * g.col_blocks);
  task %= g.row_blocks * g.col_blocks;
  const float *a = g.a + item * g.a_batch;
  const float *b = g.b + item * g.b_batch;
  float *c = g.c + item * g.c_batch;
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
  if (g.a_sums && cb == 0)
    add_row_sums_of_a(g, i0, i1);
  /* Packing copies a panel once per K block so that the micro-kernel reads
   * it contiguously; that pays only when the panel feeds many tiles. A
   * column-major A (a_row == 1: the dY^T of a weight gradient) already has
   * a panel's rows adjacent for each k: read in place. A row-major A that
   * meets at most two column panels (a narrow N: a convolution's output
   * channels) and a row-major B that meets at most four row panels (a small
   * M: a weight gradient's rows) are read in place too: in W3's profile
   * their copies cost more than the FMAs they fed. */
  int64_t task_row_panels = (rows + kMr - 1) / kMr;
  int64_t task_col_panels = (cols + kNr - 1) / kNr;
  bool direct_a = g.a_row == 1 || (g.a_col == 1 && task_col_panels <= 2);
  bool direct_b = g.b_col == 1 && task_row_panels <= 4;
  int64_t full_rows = rows / kMr * kMr; // the edge panel is always packed
  Kernels kernels = pick_kernels();
  for (int64_t p0 = 0; p0 < g.k; p0 += kKc) {
    int64_t kc = std::min(kKc, g.k - p0);
    if (!direct_b)
      pack_b(g, b, p0, kc, j0, cols, buffers.b);
    if (!direct_a)
      pack_a(g, a, i0, rows, p0, kc, buffers.a);
    else if (full_rows < rows)
      pack_a(g, a, i0 + full_rows, rows - full_rows, p0, kc, buffers.edge);
    for (int64_t c0 = 0; c0 < cols; c0 += kNr) {
      Tile t;
      t.cols = std::min(kNr, cols - c0);
      t.c_row = g.c_row;
      t.load_c = g.accumulate || p0 > 0;
      t.bias = g.bias && p0 == 0 ? g.bias + j0 + c0 : nullptr;
      bool last_block = p0 + kc == g.k;
      t.act_row = g.act_row;
      t.gate_row = g.gate_row;
      if (direct_b) {
        t.b = b + p0 * g.b_row + j0 + c0;
        t.b_p = g.b_row;
      } else {
        t.b = buffers.b + c0 * kc;
        t.b_p = kNr;
      }
      bool mask_b = direct_b && t.cols < kNr;
      for (int64_t r0 = 0; r0 < rows; r0 += kMr) {
        t.rows = std::min(kMr, rows - r0);
        t.c = c + (i0 + r0) * g.c_row + j0 + c0;
        t.act = g.activation && last_block
                    ? g.act + (i0 + r0) * g.act_row + j0 + c0
                    : nullptr;
        t.gate = t.act && g.activation == KILN_GEMM_RELU_BACKWARD
                     ? g.gate + (i0 + r0) * g.gate_row + j0 + c0
                     : nullptr;
        if (!direct_a || r0 >= full_rows) {
          t.a = direct_a ? buffers.edge : buffers.a + r0 * kc;
          t.a_i = 1;
          t.a_p = kMr;
        } else {
          t.a = a + (i0 + r0) * g.a_row + p0 * g.a_col;
          t.a_i = g.a_row;
          t.a_p = g.a_col;
        }
        kernels.k[t.a_i == 1][mask_b][t.cols <= 16](kc, t);
      }
    }
  }
}

/* One worker's share: tasks taken one at a time from a shared counter
 * rather than a fixed slice, so a thread that the OS preempts (a shared
 * machine) does not leave the others waiting at the join with its slice
 * undone. Which thread runs a task does not change its result. */
void take_tasks(int64_t, int64_t, void *ctx) {
  Problem &g = *static_cast<Problem *>(ctx);
  int64_t tasks = g.batch * g.row_blocks * g.col_blocks;
  for (int64_t t = g.next.fetch_add(1); t < tasks; t = g.next.fetch_add(1))
    run_task(g, t);
}

/* Splits the output into row and column blocks: each at most kMcMax rows and
 * kNcMax columns (cache), then more blocks while there are fewer than four
 * tasks per thread (a batched product's items count: each is a task grid of
 * its own) and each keeps at least kMinTaskFlops. Every task packs its own
 * operand slices, so another row block packs B (K x N) once more and another
 * column block packs A (M x K) once more: the dimension whose split
 * replicates the smaller operand goes first (columns when M <= N). For W1's
 * 128 x 784 x 512 forward that keeps W^T packed once and leaves each task
 * two column panels, with x read in place; splitting rows first had tripled
 * the transposing copy of W. */
void choose_grid(Problem &g, int threads) {
  int64_t row_panels = (g.m + kMr - 1) / kMr;
  int64_t col_panels = (g.n + kNr - 1) / kNr;
  g.row_blocks = (row_panels + kMcMax / kMr - 1) / (kMcMax / kMr);
  g.col_blocks = (col_panels + kNcMax / kNr - 1) / (kNcMax / kNr);
  double flops = 2.0 * g.m * g.n * g.k;
  bool prefer_rows = g.m > g.n;
  while (g.batch * g.row_blocks * g.col_blocks < 4 * int64_t{threads}) {
    bool rows_left = g.row_blocks < row_panels;
    bool cols_left = g.col_blocks < col_panels;
    if (!rows_left && !cols_left)
      break;
    bool split_rows = prefer_rows ? rows_left : !cols_left;
    int64_t next_rows = g.row_blocks + (split_rows ? 1 : 0);
    int64_t next_cols = g.col_blocks + (split_rows ? 0 : 1);
    if (flops / double(next_rows * next_cols) < kMinTaskFlops)
      break;
    g.row_blocks = next_rows;
    g.col_blocks = next_cols;
  }
}

/* Splits `g` into its task grid for the pool's threads and runs the tasks
 * (every item's, for a batched product) on the pool. */
void run_on_pool(Problem &g) {
  choose_grid(g, kiln_get_num_threads());
  run_workers(g.batch * g.row_blocks * g.col_blocks, take_tasks, &g);
}

/* Handles the products with nothing to multiply (an empty C, or k = 0: C
 * cleared, or kept when accumulating); false when there is work. */
bool trivial_product(int64_t m, int64_t n, int64_t k, float *c, int64_t c_row,
                     bool accumulate) {
  if (m > 0 && n > 0 && k > 0)
    return false;
  if (m > 0 && n > 0 && !accumulate)
    for (int64_t i = 0; i < m; ++i)
      std::memset(c + i * c_row, 0, sizeof(float) * n);
  return true;
}

} // namespace

bool gemm_uses_avx512() {
#if KILN_GEMM_X86
  return cpu_has_avx512() && !g_force_portable && !g_force_avx2;
#else
  return false;
#endif
}

void force_gemm_kernel_for_testing(GemmKernel kernel) {
  g_force_portable = kernel == GemmKernel::Portable;
  g_force_avx2 = kernel == GemmKernel::Avx2;
}

void sgemm_on_this_thread(int64_t m, int64_t n, int64_t k, const float *a,
                          int64_t a_row, int64_t a_col, const float *b,
                          int64_t b_row, int64_t b_col, float *c,
                          int64_t c_row, bool accumulate) {
  if (trivial_product(m, n, k, c, c_row, accumulate))
    return;
  Problem g{m, n, k, a, a_row, a_col, b, b_row, b_col, c, c_row, accumulate,
            1, 1};
  choose_grid(g, 0); // blocks for the caches only: no split for threads
  take_tasks(0, 1, &g);
}

} // namespace kiln::rt

using kiln::rt::Problem;

/* Preconditions (guaranteed by kiln-cpu-gemm-to-runtime): m, n, k >= 0; the
 * strided views are in bounds; C does not overlap A or B. */
extern "C" void kiln_sgemm(int64_t m, int64_t n, int64_t k, const float *a,
                           int64_t a_row, int64_t a_col, const float *b,
                           int64_t b_row, int64_t b_col, float *c,
                           int64_t c_row, int32_t accumulate) {
  if (kiln::rt::trivial_product(m, n, k, c, c_row, accumulate != 0))
    return;
  Problem g{m, n, k, a, a_row, a_col, b, b_row, b_col, c, c_row,
            accumulate != 0, 1, 1};
  kiln::rt::run_on_pool(g);
}

/* Preconditions (guaranteed by kiln-cpu-gemm-to-runtime): kiln_sgemm's for
 * every item; no item's C overlaps any item's A or B, nor another item's C. */
extern "C" void kiln_sgemm_batched(int64_t batch, int64_t m, int64_t n,
                                   int64_t k, const float *a, int64_t a_batch,
                                   int64_t a_row, int64_t a_col,
                                   const float *b, int64_t b_batch,
                                   int64_t b_row, int64_t b_col, float *c,
                                   int64_t c_batch, int64_t c_row,
                                   int32_t accumulate) {
  if (batch <= 0)
    return;
  if (m <= 0 || n <= 0 || k <= 0) {
    for (int64_t i = 0; i < batch; ++i)
      kiln::rt::trivial_product(m, n, k, c + i * c_batch, c_row, accumulate != 0);
    return;
  }
  Problem g{m, n, k, a, a_row, a_col, b, b_row, b_col, c, c_row,
            accumulate != 0, 1, 1};
  g.batch = batch;
  g.a_batch = a_batch;
  g.b_batch = b_batch;
  g.c_batch = c_batch;
  kiln::rt::run_on_pool(g);
}

/* Preconditions (guaranteed by kiln-cpu-gemm-to-runtime): kiln_sgemm's;
 * a_sums overlaps no other operand; bias, act and gate overlap neither A
 * nor B, bias and gate not C nor act; act is C itself (act_row == c_row) or
 * overlaps it not. */
extern "C" void kiln_sgemm_fused(int64_t m, int64_t n, int64_t k,
                                 const float *a, int64_t a_row, int64_t a_col,
                                 const float *b, int64_t b_row, int64_t b_col,
                                 float *c, int64_t c_row, int32_t accumulate,
                                 const float *bias, int32_t activation,
                                 float *act, int64_t act_row,
                                 const float *gate, int64_t gate_row,
                                 float *a_sums) {
  if (activation != KILN_GEMM_RELU && activation != KILN_GEMM_RELU_BACKWARD)
    activation = 0; // the header's contract: unknown codes apply none
  if (m <= 0)
    return;
  if (n <= 0 || k <= 0) {
    /* No tile to run: the row sums of A on this thread (none when k = 0),
     * and C is the bias (or zero, or kept when accumulating), then the
     * epilogue. */
    Problem rows{m, 0, k, a, a_row, a_col, b, b_row, b_col, c, c_row, false,
                 1, 1};
    rows.a_sums = a_sums;
    for (int64_t i0 = 0; a_sums && k > 0 && i0 < m; i0 += kiln::rt::kMcMax)
      kiln::rt::add_row_sums_of_a(rows, i0, std::min(m, i0 + kiln::rt::kMcMax));
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        float &at = c[i * c_row + j];
        if (!accumulate)
          at = 0.0f;
        if (bias)
          at += bias[j];
        if (activation == KILN_GEMM_RELU)
          act[i * act_row + j] = kiln::rt::relu(at);
        else if (activation)
          act[i * act_row + j] =
              kiln::rt::relu_backward(at, gate[i * gate_row + j]);
      }
    return;
  }
  Problem g{m, n, k, a, a_row, a_col, b, b_row, b_col, c, c_row,
            accumulate != 0, 1, 1};
  g.bias = bias;
  g.activation = activation;
  g.act = act;
  g.act_row = act_row;
  g.gate = gate;
  g.gate_row = gate_row;
  g.a_sums = a_sums;
  kiln::rt::run_on_pool(g);
}
