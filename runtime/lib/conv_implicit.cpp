/* Convolutions without im2col columns ("implicit GEMM"), on AVX-512 CPUs:
 * the weight gradient, the forward (innermost stride 1 or 2) and the input
 * gradient (stride 1), each where its *_applies test (conv.h) says.
 *
 * Why: conv.cpp builds each block's columns (C/G K rows, one per (channel,
 * kernel offset)) and multiplies them; writing the columns took 27 % (r56)
 * to 40 % (W3's 32-channel 3x3 layers) of the weight gradient's time on the
 * Xeon hosts, and as much of the forward's (perf, docs/performance.md),
 * because every input float is copied K times per block. Here the
 * micro-kernels read the image operand in place instead.
 *
 * Weight gradient:
 *   dW_g[f][c][tap] = sum over pixels o of dy[f][o] x[c][in(o, tap)]
 * For one kernel offset (tap) and one line of output pixels (fixed outer
 * output coordinates), in(o, tap) walks one input line with the stride s2,
 * so the pixels of a block split into segments (a line's run of pixels whose
 * input lies inside the image for this tap) and each segment is a GEMM
 * update with A = the input lines of a panel of channels (rows c, read in
 * place: one broadcast per channel and pixel) and B = dy^T of the segment's
 * pixels (packed once per block, 32 output channels wide). A register tile
 * of `kRows` channels x 32 output channels accumulates every segment of the
 * block before it is added to the partial sum, so the tile is loaded and
 * stored once per (block, tap, panel), as in a GEMM with K = the block.
 *
 * Partial sums are laid out [group][tap][C/G][F/G] (a tile's rows are
 * adjacent) and transposed into dw [F, C/G, *kernel] when they are summed.
 * As in conv.cpp, the number of partials and the blocks each covers depend on
 * the shape alone, so results do not depend on the thread count.
 *
 * Forward and input gradient: see "direct tiles" below; every output element
 * is computed by one tile in a fixed order.
 *
 * Preconditions: those of the kiln_sconv_* routine each replaces, plus its
 * *_applies test. */
#include "conv.h"
#include "gemm.h"
#include "workers.h"

#include "kiln/runtime.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#define KILN_CONV_IMPLICIT_X86 1
#endif

#if defined(__clang__)
#define KILN_UNROLL _Pragma("clang loop unroll(full)")
#else
#define KILN_UNROLL _Pragma("GCC unroll 16")
#endif

namespace kiln::rt {
namespace {

/* Output channels per tile: two 16-lane vectors. */
constexpr int64_t kCols = 32;
/* Output pixels per block: the GEMM's K block (gemm.cpp's kKc), so that a
 * packed dy^T panel (kBlockPixels x 32 floats, 32 KiB) stays in L1 while
 * every tap and channel panel of the block reads it. Whole output lines when
 * a line is shorter. */
constexpr int64_t kBlockPixels = 256;
/* As conv.cpp's weight gradient: at most this many partial sums, and at
 * most this many floats in all. */
constexpr int64_t kMaxPartials = 16;
constexpr int64_t kMaxPartialFloats = int64_t{16} << 20;

using Geometry = ConvGeometry;


/* One GEMM update: pixels [b, b + len) of the block, whose input for the
 * tap is x[c][a + p s2] for p < len (a: offset in a channel's image). */
struct Segment {
  int64_t a, b, len;
};

/* The block's segments, tap by tap: taps[t] .. taps[t + 1] index `all`. */
struct Segments {
  std::vector<Segment> all;
  std::vector<int64_t> taps;
};

/* Pixels [p0, p0 + count) of one image, cut into segments per tap. */
void build_segments(const Geometry &g, int64_t p0, int64_t count,
                    Segments &out) {
  out.all.clear();
  out.taps.assign(1, 0);
  for (int64_t k0 = 0; k0 < g.k[0]; ++k0)
    for (int64_t k1 = 0; k1 < g.k[1]; ++k1)
      for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
        int64_t shift = k2 * g.d[2] - g.pad[2];
        const Span valid = inside(g.out[2], g.in[2], g.s[2], shift);
        int64_t o2 = p0 % g.out[2], o1 = p0 / g.out[2] % g.out[1],
                o0 = p0 / g.out[2] / g.out[1];
        for (int64_t done = 0; done < count;) {
          int64_t len = std::min(g.out[2] - o2, count - done);
          int64_t i0 = o0 * g.s[0] + k0 * g.d[0] - g.pad[0];
          int64_t i1 = o1 * g.s[1] + k1 * g.d[1] - g.pad[1];
          int64_t first = std::max(valid.lo, o2), last = std::min(valid.hi, o2 + len);
          if (i0 >= 0 && i0 < g.in[0] && i1 >= 0 && i1 < g.in[1] &&
              first < last)
            out.all.push_back({(i0 * g.in[1] + i1) * g.in[2] +
                                   first * g.s[2] + shift,
                               done + first - o2, last - first});
          done += len;
          o2 = 0;
          if (++o1 == g.out[1]) {
            o1 = 0;
            ++o0;
          }
        }
        out.taps.push_back(static_cast<int64_t>(out.all.size()));
      }
}

#if KILN_CONV_IMPLICIT_X86
/* c[i][j] += sum over the segments of x_i[a + p s2] b[(b + p) 32 + j] for
 * rows i < rows, columns j < cols, where x_i = x + min(i, rows - 1) x_row
 * (rows past `rows` repeat the last one: they are computed, never stored,
 * and never read outside the image). b is a packed dy^T panel, zero past
 * its columns. kVecs: 16-lane vectors per row (1 when cols <= 16). */
template <int kRows, int kVecs, bool kUnitStride>
__attribute__((target("avx512f"))) void
tile(const Segment *seg, const Segment *seg_end, const float *x, int64_t x_row,
     int64_t rows, int64_t s2, const float *b, float *c, int64_t c_row,
     int64_t cols) {
  __m512 acc[kRows][kVecs];
  KILN_UNROLL
  for (int i = 0; i < kRows; ++i)
    KILN_UNROLL
    for (int v = 0; v < kVecs; ++v)
      acc[i][v] = _mm512_setzero_ps();
  const float *row[kRows];
  KILN_UNROLL
  for (int i = 0; i < kRows; ++i)
    row[i] = x + std::min<int64_t>(i, rows - 1) * x_row;
  for (; seg != seg_end; ++seg) {
    const float *bp = b + seg->b * kCols;
    const int64_t a = seg->a, len = seg->len;
    for (int64_t p = 0; p < len; ++p) {
      __m512 bv[kVecs];
      KILN_UNROLL
      for (int v = 0; v < kVecs; ++v)
        bv[v] = _mm512_loadu_ps(bp + p * kCols + 16 * v);
      const int64_t at = kUnitStride ? a + p : a + p * s2;
      KILN_UNROLL
      for (int i = 0; i < kRows; ++i) {
        __m512 xi = _mm512_set1_ps(row[i][at]);
        KILN_UNROLL
        for (int v = 0; v < kVecs; ++v)
          acc[i][v] = _mm512_fmadd_ps(xi, bv[v], acc[i][v]);
      }
    }
  }
  KILN_UNROLL
  for (int v = 0; v < kVecs; ++v) {
    int64_t lanes = std::clamp<int64_t>(cols - 16 * v, 0, 16);
    __mmask16 mask = static_cast<__mmask16>((uint32_t{1} << lanes) - 1);
    KILN_UNROLL
    for (int i = 0; i < kRows; ++i) {
      if (i >= rows || !mask)
        continue;
      float *out = c + i * c_row + 16 * v;
      _mm512_mask_storeu_ps(
          out, mask,
          _mm512_add_ps(acc[i][v], _mm512_maskz_loadu_ps(mask, out)));
    }
  }
}
#endif

using TileKernel = void (*)(const Segment *, const Segment *, const float *,
                            int64_t, int64_t, int64_t, const float *, float *,
                            int64_t, int64_t);

/* Channels per tile: 12 (24 accumulators, as gemm.cpp's tile) or 8 when that
 * pads fewer rows (16 or 32 channels per group are 2 or 4 panels of 8
 * instead of 24 or 36 rows of 12). */
int64_t tile_rows(int64_t cg) {
  int64_t pad12 = (cg + 11) / 12 * 12, pad8 = (cg + 7) / 8 * 8;
  return pad8 < pad12 ? 8 : 12;
}

TileKernel pick_tile(int64_t rows, int64_t fg, int64_t s2) {
#if KILN_CONV_IMPLICIT_X86
  bool narrow = fg <= 16, unit = s2 == 1;
  if (rows == 8)
    return narrow ? (unit ? tile<8, 1, true> : tile<8, 1, false>)
                  : (unit ? tile<8, 2, true> : tile<8, 2, false>);
  return narrow ? (unit ? tile<12, 1, true> : tile<12, 1, false>)
                : (unit ? tile<12, 2, true> : tile<12, 2, false>);
#else
  (void)rows, (void)fg, (void)s2;
  std::abort(); /* implicit_weight_gradient_applies is false off x86 */
#endif
}

struct Call {
  Geometry g;
  const float *x = nullptr, *dy = nullptr;
  float *partials = nullptr;
  int64_t partial_count = 1;
  int64_t block = 0, blocks_per_image = 0; /* pixels per block, blocks */
  int64_t rows = 12;
  TileKernel kernel = nullptr;
  std::atomic<int64_t> next{0};
};

/* Partial sum `p` covers blocks [p B / P, (p + 1) B / P) of the B = N x
 * blocks_per_image blocks, in order, every group of each block. */
void partials_task(int64_t, int64_t, void *ctx) {
  Call &t = *static_cast<Call *>(ctx);
  const Geometry &g = t.g;
  int64_t panels = (g.fg + kCols - 1) / kCols;
  float *packed = conv_scratch(panels * kCols * t.block);
  thread_local Segments segments;
  int64_t blocks = g.n * t.blocks_per_image, size = g.f * g.ck;
  for (int64_t p = t.next.fetch_add(1); p < t.partial_count;
       p = t.next.fetch_add(1)) {
    float *partial = t.partials + p * size;
    std::memset(partial, 0, sizeof(float) * size);
    for (int64_t i = p * blocks / t.partial_count;
         i < (p + 1) * blocks / t.partial_count; ++i) {
      int64_t n = i / t.blocks_per_image;
      int64_t p0 = i % t.blocks_per_image * t.block;
      int64_t count = std::min(t.block, g.out_size - p0);
      build_segments(g, p0, count, segments);
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        pack_panels(t.dy + (n * g.f + grp * g.fg) * g.out_size + p0,
                    g.out_size, 1, g.fg, count, kCols, packed);
        const float *x = t.x + (n * g.c + grp * g.cg) * g.in_size;
        float *dw = partial + grp * g.kernel_size * g.cg * g.fg;
        for (int64_t f0 = 0; f0 < g.fg; f0 += kCols)
          for (int64_t tap = 0; tap < g.kernel_size; ++tap) {
            const Segment *first = segments.all.data() + segments.taps[tap];
            const Segment *last = segments.all.data() + segments.taps[tap + 1];
            if (first == last)
              continue;
            for (int64_t c0 = 0; c0 < g.cg; c0 += t.rows)
              t.kernel(first, last, x + c0 * g.in_size, g.in_size,
                       std::min(t.rows, g.cg - c0), g.s[2],
                       packed + f0 * count,
                       dw + (tap * g.cg + c0) * g.fg + f0, g.fg,
                       std::min(kCols, g.fg - f0));
          }
      }
    }
  }
}


/* ---- Forward and input gradient: direct tiles over output pixels. ----
 *
 * out[r][pixel] = sum over taps t and inputs c of wp[t][c][r] in[c][pixel's
 * input for t], for a tile of `kRows` outputs r (a panel of the packed
 * weight) x two 16-pixel slots. A slot is up to 16 consecutive pixels of one
 * output line; for each tap its input is 16 consecutive floats of one input
 * line (unit innermost stride), loaded under a mask that drops the lanes
 * reading padding or past the slot. The per-(slot, tap) offsets and masks are
 * computed once per block of slots; the kernel does not know whether it runs
 * a forward (in = x, r = output channel) or an input gradient (in = dy, r =
 * input channel, taps mirrored). */

constexpr int64_t kSlot = 16;
/* Slots per task: 256 output pixels, as the weight gradient's blocks. */
constexpr int64_t kSlotsPerBlock = 16;

struct Slot {
  int64_t out; /* first output pixel (offset in an output channel) */
  int64_t len; /* pixels, 1..16 */
};

#if KILN_CONV_IMPLICIT_X86
/* One tile: rows r < rows of out (row stride out_row) at slots 0 and 1
 * (slot 1 absent when len[1] == 0). offset[v][t] / mask[v][t]: where slot v
 * reads for tap t (mask 0: nothing). wp: this panel's packed weight,
 * [taps][inputs][kRows]. bias: per row, or nullptr. */
/* The 16 floats of a slot for one input channel: at x (unit stride) or at
 * x, x + 2, ..., x + 30 (kStride2: two loads, even lanes kept). */
template <bool kStride2>
__attribute__((target("avx512f"))) inline __m512
slot_load(const float *x, __mmask16 m, __mmask16 lo, __mmask16 hi) {
  if (!kStride2)
    return _mm512_maskz_loadu_ps(m, x);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                         20, 22, 24, 26, 28, 30);
  return _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(lo, x), even,
                                _mm512_maskz_loadu_ps(hi, x + 16));
}

/* The load masks of a stride-2 slot: lane l of the slot reads x[2 l], so
 * lane l of `m` enables lane 2 l (mod 16) of the first or second load. */
inline void stride2_masks(uint16_t m, __mmask16 *lo, __mmask16 *hi) {
  uint32_t lo_bits = 0, hi_bits = 0;
  for (int l = 0; l < 8; ++l) {
    lo_bits |= ((m >> l) & 1u) << (2 * l);
    hi_bits |= ((m >> (l + 8)) & 1u) << (2 * l);
  }
  *lo = static_cast<__mmask16>(lo_bits);
  *hi = static_cast<__mmask16>(hi_bits);
}

template <int kRows, bool kStride2>
__attribute__((target("avx512f"))) void
direct_tile(const float *wp, int64_t taps, int64_t inputs, const float *in,
            int64_t in_row, const int64_t *const offset[2],
            const uint16_t *const mask[2], const float *bias, float *out,
            int64_t out_row, const int64_t out_at[2], const int64_t len[2],
            int64_t rows) {
  __m512 acc[kRows][2];
  KILN_UNROLL
  for (int i = 0; i < kRows; ++i)
    KILN_UNROLL
    for (int v = 0; v < 2; ++v)
      acc[i][v] = _mm512_setzero_ps();
  for (int64_t t = 0; t < taps; ++t, wp += inputs * kRows) {
    __mmask16 m0 = mask[0][t], m1 = mask[1][t];
    if (!(m0 | m1))
      continue;
    __mmask16 lo0 = 0, hi0 = 0, lo1 = 0, hi1 = 0;
    if (kStride2) {
      stride2_masks(m0, &lo0, &hi0);
      stride2_masks(m1, &lo1, &hi1);
    }
    /* Masked lanes are not read (AVX-512 suppresses their faults), so a
     * slot's base may sit before its line's first input. */
    const float *x0 = in + offset[0][t], *x1 = in + offset[1][t];
    const float *w = wp;
    for (int64_t c = 0; c < inputs; ++c, w += kRows) {
      __m512 v0 = slot_load<kStride2>(x0 + c * in_row, m0, lo0, hi0);
      __m512 v1 = slot_load<kStride2>(x1 + c * in_row, m1, lo1, hi1);
      KILN_UNROLL
      for (int i = 0; i < kRows; ++i) {
        __m512 wi = _mm512_set1_ps(w[i]);
        acc[i][0] = _mm512_fmadd_ps(wi, v0, acc[i][0]);
        acc[i][1] = _mm512_fmadd_ps(wi, v1, acc[i][1]);
      }
    }
  }
  KILN_UNROLL
  for (int v = 0; v < 2; ++v) {
    __mmask16 store = static_cast<__mmask16>((uint32_t{1} << len[v]) - 1);
    if (!store)
      continue;
    KILN_UNROLL
    for (int i = 0; i < kRows; ++i) {
      if (i >= rows)
        continue;
      __m512 r = acc[i][v];
      if (bias)
        r = _mm512_add_ps(r, _mm512_set1_ps(bias[i]));
      _mm512_mask_storeu_ps(out + i * out_row + out_at[v], store, r);
    }
  }
}
#endif

using DirectKernel = void (*)(const float *, int64_t, int64_t, const float *,
                              int64_t, const int64_t *const[2],
                              const uint16_t *const[2], const float *,
                              float *, int64_t, const int64_t[2],
                              const int64_t[2], int64_t);

DirectKernel pick_direct(int64_t rows, int64_t stride) {
#if KILN_CONV_IMPLICIT_X86
  if (stride == 2)
    return rows == 8 ? direct_tile<8, true> : direct_tile<12, true>;
  return rows == 8 ? direct_tile<8, false> : direct_tile<12, false>;
#else
  (void)rows, (void)stride;
  std::abort(); /* the *_applies tests are false off x86 */
#endif
}

/* One direct convolution over images: out [N, G x rows_per_group, lines x
 * out_line] from in [N, G x inputs_per_group, ...] with the weight packed per
 * group and row panel as [taps][inputs][rows]; tap_line says where an output
 * line reads for a tap. */
struct Direct {
  const ConvGeometry *g = nullptr;
  int64_t groups = 1;
  int64_t rows_per_group = 0, inputs_per_group = 0; /* R/G, inputs/G */
  int64_t in_image = 0, in_row = 0;   /* floats per image, per input */
  int64_t out_image = 0, out_row = 0; /* floats per image, per row */
  int64_t out_line = 0, lines = 0;    /* output line length, lines/image */
  int64_t ext1 = 1; /* the output's middle extent: line = o0 ext1 + o1 */
  int64_t taps = 0;
  bool forward = true; /* false: the input gradient (stride 1) */
  int64_t stride = 1;  /* the innermost input stride: 1 or 2 (forward) */
  const float *in = nullptr, *bias = nullptr;
  float *out = nullptr;
  const float *packed = nullptr; /* [G][panels][taps][inputs][rows] */
  int64_t rows = 12, panels = 0;
  DirectKernel kernel = nullptr;
  int64_t slots_per_line = 0, slots_per_image = 0, blocks_per_image = 0;
  std::atomic<int64_t> next{0};
};

/* Where output line `line` of `d` reads for tap t: the offset of the input
 * line (-1 when the whole line reads padding), the innermost shift (output
 * index o2 reads input index o2 d.stride + shift of that line) and the input
 * line's length. */
void tap_line(const Direct &d, int64_t line, int64_t t, int64_t *line_offset,
              int64_t *shift, int64_t *in2) {
  const ConvGeometry &g = *d.g;
  int64_t k2 = t % g.k[2], k1 = t / g.k[2] % g.k[1], k0 = t / g.k[2] / g.k[1];
  int64_t o1 = line % d.ext1, o0 = line / d.ext1;
  int64_t i0, i1, extent0, extent1;
  if (d.forward) {
    i0 = o0 * g.s[0] + k0 * g.d[0] - g.pad[0];
    i1 = o1 * g.s[1] + k1 * g.d[1] - g.pad[1];
    *shift = k2 * g.d[2] - g.pad[2];
    extent0 = g.in[0];
    extent1 = g.in[1];
    *in2 = g.in[2];
  } else { /* input gradient, stride 1: dx pixel i reads dy at i + pad - k d */
    i0 = o0 + g.pad[0] - k0 * g.d[0];
    i1 = o1 + g.pad[1] - k1 * g.d[1];
    *shift = g.pad[2] - k2 * g.d[2];
    extent0 = g.out[0];
    extent1 = g.out[1];
    *in2 = g.out[2];
  }
  *line_offset = i0 >= 0 && i0 < extent0 && i1 >= 0 && i1 < extent1
                     ? (i0 * extent1 + i1) * *in2
                     : -1;
}

void direct_task(int64_t, int64_t, void *ctx) {
  Direct &d = *static_cast<Direct *>(ctx);
  /* Per slot and tap; row kSlotsPerBlock stays zero (no slot). */
  std::vector<int64_t> offsets((kSlotsPerBlock + 1) * d.taps, 0);
  std::vector<uint16_t> masks((kSlotsPerBlock + 1) * d.taps, 0);
  Slot slots[kSlotsPerBlock];
  int64_t tasks = d.g->n * d.groups * d.blocks_per_image;
  for (int64_t task = d.next.fetch_add(1); task < tasks;
       task = d.next.fetch_add(1)) {
    int64_t image = task / d.blocks_per_image;
    int64_t first = task % d.blocks_per_image * kSlotsPerBlock;
    int64_t count = std::min(kSlotsPerBlock, d.slots_per_image - first);
    int64_t n = image / d.groups, grp = image % d.groups;
    /* The block's slots and, per tap, where each reads. */
    for (int64_t s = 0; s < count; ++s) {
      int64_t line = (first + s) / d.slots_per_line;
      int64_t o2 = (first + s) % d.slots_per_line * kSlot;
      slots[s] = {line * d.out_line + o2, std::min(kSlot, d.out_line - o2)};
      for (int64_t t = 0; t < d.taps; ++t) {
        int64_t base, shift, in2;
        tap_line(d, line, t, &base, &shift, &in2);
        /* Lanes l < len with 0 <= (o2 + l) stride + shift < in2. */
        const Span valid = inside(d.out_line, in2, d.stride, shift);
        int64_t lo = std::max<int64_t>(0, valid.lo - o2);
        int64_t hi = std::min(slots[s].len, valid.hi - o2);
        uint16_t m = 0;
        if (base >= 0 && lo < hi)
          m = static_cast<uint16_t>(((uint32_t{1} << hi) - 1) &
                                     ~((uint32_t{1} << lo) - 1));
        masks[s * d.taps + t] = m;
        offsets[s * d.taps + t] = m ? base + o2 * d.stride + shift : 0;
      }
    }
    const float *in = d.in + n * d.in_image + grp * d.inputs_per_group * d.in_row;
    float *out = d.out + n * d.out_image + grp * d.rows_per_group * d.out_row;
    for (int64_t panel = 0; panel < d.panels; ++panel) {
      int64_t r0 = panel * d.rows;
      const float *wp = d.packed + (grp * d.panels + panel) * d.taps *
                                       d.inputs_per_group * d.rows;
      const float *bias =
          d.bias ? d.bias + grp * d.rows_per_group + r0 : nullptr;
      for (int64_t s = 0; s < count; s += 2) {
        bool pair = s + 1 < count;
        /* A lone last slot pairs with the all-zero mask row. */
        int64_t second = pair ? s + 1 : kSlotsPerBlock;
        const int64_t *off[2] = {&offsets[s * d.taps], &offsets[second * d.taps]};
        const uint16_t *msk[2] = {&masks[s * d.taps], &masks[second * d.taps]};
        int64_t at[2] = {slots[s].out, pair ? slots[s + 1].out : 0};
        int64_t len[2] = {slots[s].len, pair ? slots[s + 1].len : 0};
        d.kernel(wp, d.taps, d.inputs_per_group, in, d.in_row, off, msk, bias,
                 out + r0 * d.out_row, d.out_row, at, len,
                 std::min(d.rows, d.rows_per_group - r0));
      }
    }
  }
}

/* Runs d over every image, group and block of slots; d's geometry, tensors
 * and packed weight set. */
void run_direct(Direct &d) {
  d.slots_per_line = (d.out_line + kSlot - 1) / kSlot;
  d.slots_per_image = d.slots_per_line * d.lines;
  d.blocks_per_image = (d.slots_per_image + kSlotsPerBlock - 1) / kSlotsPerBlock;
  d.kernel = pick_direct(d.rows, d.stride);
  run_workers(d.g->n * d.groups * d.blocks_per_image, direct_task, &d);
}

/* packed[grp][panel][t][j][i] = weight(grp, panel rows + i, j, t), zero
 * past the group's rows; weight(grp, r, j, t) = w[index(grp, r, j, t)]. */
template <class Index>
float *pack_direct_weight(const ConvGeometry &g, int64_t rows_per_group,
                          int64_t inputs, int64_t rows, const float *w,
                          Index index) {
  int64_t panels = (rows_per_group + rows - 1) / rows;
  int64_t size = g.groups * panels * g.kernel_size * inputs * rows;
  float *packed = static_cast<float *>(kiln_alloc(sizeof(float) * size));
  if (!packed)
    std::abort();
  float *at = packed;
  for (int64_t grp = 0; grp < g.groups; ++grp)
    for (int64_t panel = 0; panel < panels; ++panel)
      for (int64_t t = 0; t < g.kernel_size; ++t)
        for (int64_t j = 0; j < inputs; ++j)
          for (int64_t i = 0; i < rows; ++i) {
            int64_t r = panel * rows + i;
            *at++ = r < rows_per_group ? w[index(grp, r, j, t)] : 0.0f;
          }
  return packed;
}

} // namespace

bool implicit_weight_gradient_applies(const ConvGeometry &g) {
  /* Few channels per group fill too little of a tile (LeNet's 1 and 6 input
   * channels: conv.cpp's columns have C/G K rows instead), and short output
   * lines make every segment's loop overhead count. */
  return gemm_uses_avx512() && g.cg >= 8 && g.fg >= 8 && g.out[2] >= 8;
}

void implicit_weight_gradient(const ConvGeometry &geometry, const float *x,
                              const float *dy, float *dw) {
  Call t;
  t.g = geometry;
  const Geometry &g = t.g;
  t.x = x;
  t.dy = dy;
  t.block = g.out[2] >= kBlockPixels
                ? kBlockPixels
                : std::min(kBlockPixels / g.out[2] * g.out[2], g.out_size);
  t.blocks_per_image = (g.out_size + t.block - 1) / t.block;
  t.rows = tile_rows(g.cg);
  t.kernel = pick_tile(t.rows, g.fg, g.s[2]);
  int64_t size = g.f * g.ck, blocks = g.n * t.blocks_per_image;
  t.partial_count = std::max<int64_t>(
      1, std::min({kMaxPartials, blocks,
                   kMaxPartialFloats / std::max<int64_t>(size, 1)}));
  t.partials = static_cast<float *>(
      kiln_alloc(sizeof(float) * size * t.partial_count));
  if (!t.partials)
    std::abort();
  run_workers(t.partial_count, partials_task, &t);
  /* dw[grp fg + f][c][tap] = the partials' [grp][tap][c][f], summed in
   * order. */
  for (int64_t grp = 0; grp < g.groups; ++grp)
    for (int64_t f = 0; f < g.fg; ++f)
      for (int64_t c = 0; c < g.cg; ++c)
        for (int64_t tap = 0; tap < g.kernel_size; ++tap) {
          int64_t at = ((grp * g.kernel_size + tap) * g.cg + c) * g.fg + f;
          float sum = t.partials[at];
          for (int64_t p = 1; p < t.partial_count; ++p)
            sum += t.partials[p * size + at];
          dw[((grp * g.fg + f) * g.cg + c) * g.kernel_size + tap] = sum;
        }
  kiln_free(t.partials);
}

} // namespace kiln::rt

namespace kiln::rt {

bool implicit_forward_applies(const ConvGeometry &g) {
  /* A slot covers 16 pixels of one output line: shorter lines waste lanes
   * (below 12, a third or more), and few output channels waste rows. An
   * innermost stride of 2 loads 32 floats per slot and keeps the even ones;
   * larger strides keep the columns. */
  return gemm_uses_avx512() && g.s[2] <= 2 && g.fg >= 8 && g.out[2] >= 12;
}

namespace {

/* The forward (in = x, out = y, rows = output channels) or the stride-1
 * input gradient (in = dy, out = dx, rows = input channels, the weight
 * transposed per group) as direct tiles. */
void direct_convolution(const ConvGeometry &g, bool forward, const float *in,
                        const float *w, const float *bias, float *out) {
  const int64_t in_channels = forward ? g.c : g.f, out_channels = forward ? g.f : g.c;
  const int64_t in_size = forward ? g.in_size : g.out_size;
  const int64_t out_size = forward ? g.out_size : g.in_size;
  const int64_t *out_extent = forward ? g.out : g.in;
  Direct d;
  d.g = &g;
  d.forward = forward;
  d.stride = forward ? g.s[2] : 1;
  d.groups = g.groups;
  d.rows_per_group = out_channels / g.groups;
  d.inputs_per_group = in_channels / g.groups;
  d.in_image = in_channels * in_size;
  d.in_row = in_size;
  d.out_image = out_channels * out_size;
  d.out_row = out_size;
  d.out_line = out_extent[2];
  d.lines = out_extent[0] * out_extent[1];
  d.ext1 = out_extent[1];
  d.taps = g.kernel_size;
  d.in = in;
  d.bias = bias;
  d.out = out;
  d.rows = tile_rows(d.rows_per_group);
  d.panels = (d.rows_per_group + d.rows - 1) / d.rows;
  /* w [F, C/G, taps]. Forward: row r of group grp is output channel
   * grp F/G + r and input j its channel grp C/G + j; the input gradient
   * swaps them. */
  float *packed = pack_direct_weight(
      g, d.rows_per_group, d.inputs_per_group, d.rows, w,
      [&](int64_t grp, int64_t r, int64_t j, int64_t t) {
        int64_t f = forward ? r : j, c = forward ? j : r;
        return ((grp * g.fg + f) * g.cg + c) * g.kernel_size + t;
      });
  d.packed = packed;
  run_direct(d);
  kiln_free(packed);
}

} // namespace

void implicit_forward(const ConvGeometry &g, const float *x, const float *w,
                      const float *bias, float *y) {
  direct_convolution(g, true, x, w, bias, y);
}

bool implicit_backward_input_applies(const ConvGeometry &g) {
  for (int i = 0; i < 3; ++i)
    if (g.s[i] != 1)
      return false;
  return gemm_uses_avx512() && g.cg >= 8 && g.in[2] >= 12;
}

void implicit_backward_input(const ConvGeometry &g, const float *dy,
                             const float *w, float *dx) {
  direct_convolution(g, false, dy, w, nullptr, dx);
}

} // namespace kiln::rt
