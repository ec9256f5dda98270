/* kiln_sconv_*: convolutions (forward, input gradient, weight gradient) that
 * generated code calls instead of materialising an im2col matrix of the
 * whole batch (passes/LowerConvLibrary.cpp emits the nn.library_call,
 * kiln-cpu-library-calls-to-runtime turns it into the call).
 *
 * Why here and not as generated im2col + GEMM: the tensor-level lowering had
 * to build the column matrix of the whole batch (P x C K floats, 231 MB for a
 * 56 x 56 x 64 layer of batch 32) and copy every operand between NCHW and a
 * pixel-major layout around each GEMM; in W3 those gathers took more time
 * than the GEMMs. Here each thread builds the columns of one block of output
 * pixels of one image and one group (C/G K rows x `chunk` pixels, <= 256 KiB,
 * so they stay in L2) and multiplies them right away, with NCHW in and out:
 *   forward       y[n][group's F/G, block] = W_g[F/G, C/G K] x cols + bias
 *   weight grad   dW_g[F/G, C/G K]        += dy[n][group's F/G, block] x cols^T
 *   input grad    dcols[C/G K, block] = W_g^T x dy[n][group's F/G, block],
 *                 then added into dx[n] where im2col read them (col2im)
 * With groups == 1 that is one GEMM per block; with groups > 1 one per group
 * on the group's channel slices (W's rows of a group are contiguous: w is
 * [F, C/G, *kernel]). Depthwise convolutions (C/G == 1) take direct loops
 * instead (conv_depthwise.cpp): their K is the kernel volume, too small for
 * a GEMM to pay for its packing.
 * The GEMMs are libkiln_rt's packed kernel (gemm.cpp), run on the calling
 * pool thread; the blocks are the parallel tasks.
 *
 * Results do not depend on the number of threads: a forward or input-gradient
 * block is computed by one thread in a fixed order, and the weight gradient
 * sums a fixed number of partial sums (chosen from the shape alone, each over a
 * fixed range of blocks) in a fixed order. */
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

namespace kiln::rt {
namespace {

/* Floats of one block of columns (C K rows x chunk pixels): 256 KiB, a
 * quarter of L2, beside the GEMM's packed panels. */
constexpr int64_t kColumnFloats = 64 * 1024;
/* The weight gradient's partial sums: at most this many, and at most this
 * many floats in all (beyond it, fewer partials and less parallelism). */
constexpr int64_t kMaxPartials = 16;
constexpr int64_t kMaxPartialFloats = int64_t{16} << 20;

using Geometry = ConvGeometry;

/* A thread's scratch block (columns; the depthwise weight gradient's row
 * sums), grown on demand and kept for the next call. */
struct Scratch {
  float *data = nullptr;
  int64_t capacity = 0;
  float *get(int64_t floats) {
    if (floats > capacity) {
      kiln_free(data);
      data = static_cast<float *>(kiln_alloc(sizeof(float) * floats));
      if (!data)
        std::abort(); /* a few hundred KiB; out of memory here is fatal */
      capacity = floats;
    }
    return data;
  }
  ~Scratch() { kiln_free(data); }
};
thread_local Scratch t_scratch;

/* The columns of output pixels [p0, p0 + count) of one image and group `x`
 * [C/G, *in] (the group's first channel), rows (c, k0, k1, k2) as a group's
 * rows of the weight [F, C/G, *kernel] flatten: for each row
 * and each run of pixels along the innermost output dimension, calls
 * run(col, line, begin, end, first, last, s2): the run is output pixels
 * [begin, end) of one line of the output (innermost index o); col[o] is the
 * row's column entry of pixel o, line[o * s2] the input element it reads
 * (line is nullptr when the whole run lies in the padding), and [first, last)
 * the run's pixels whose input element lies inside the image (the others
 * read padding).
 * Runs are visited per (c, k0, k1), then per output line, then per k2: the
 * k2 rows of one line read the same input line, so its position and bounds
 * are computed once for all of them, and each k2's valid range [lo, hi) once
 * per call (row-by-row visiting recomputed both for every ~32-float run;
 * this order took 8-12 % off the res_32 forward and weight gradient on
 * one thread, docs/performance.md). */
template <class Column, class Image, class Run>
void for_each_run(const Geometry &g, int64_t p0, int64_t count, Column *cols,
                  Image *x, Run run) {
  /* Per k2: the input offset of o2 = 0 and the o2 with
   * 0 <= o2 * s2 + shift2 < in2. */
  constexpr int64_t kInline = 16;
  int64_t inline_bounds[3 * kInline];
  std::vector<int64_t> heap_bounds;
  int64_t *shift = inline_bounds;
  if (g.k[2] > kInline) {
    heap_bounds.resize(3 * g.k[2]);
    shift = heap_bounds.data();
  }
  int64_t *lo = shift + g.k[2], *hi = lo + g.k[2];
  for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
    shift[k2] = k2 * g.d[2] - g.pad[2];
    Span span = inside(g.out[2], g.in[2], g.s[2], shift[k2]);
    lo[k2] = span.lo;
    hi[k2] = span.hi;
  }
  int64_t start2 = p0 % g.out[2], start1 = p0 / g.out[2] % g.out[1],
          start0 = p0 / g.out[2] / g.out[1];
  Column *row_cols = cols;
  for (int64_t c = 0; c < g.cg; ++c)
    for (int64_t k0 = 0; k0 < g.k[0]; ++k0)
      for (int64_t k1 = 0; k1 < g.k[1]; ++k1, row_cols += g.k[2] * count) {
        int64_t o2 = start2, o1 = start1, o0 = start0;
        for (int64_t done = 0; done < count;) {
          int64_t len = std::min(g.out[2] - o2, count - done);
          int64_t i0 = o0 * g.s[0] + k0 * g.d[0] - g.pad[0];
          int64_t i1 = o1 * g.s[1] + k1 * g.d[1] - g.pad[1];
          Image *line = nullptr;
          if (i0 >= 0 && i0 < g.in[0] && i1 >= 0 && i1 < g.in[1])
            line = x + ((c * g.in[0] + i0) * g.in[1] + i1) * g.in[2];
          Column *dst = row_cols + done - o2;
          for (int64_t k2 = 0; k2 < g.k[2]; ++k2, dst += count) {
            int64_t first = std::clamp(lo[k2], o2, o2 + len);
            int64_t last = std::clamp(hi[k2], first, o2 + len);
            run(dst, line ? line + shift[k2] : nullptr, o2, o2 + len, first,
                last, g.s[2]);
          }
          done += len;
          o2 = 0;
          if (++o1 == g.out[1]) {
            o1 = 0;
            ++o0;
          }
        }
      }
}

/* im2col of pixels [p0, p0 + count) of image and group x into cols
 * [C/G K, count]. */
void im2col(const Geometry &g, const float *x, int64_t p0, int64_t count,
            float *cols) {
  /* Plain loops, not memcpy/memset: the runs are short (an output row, 32
   * floats in W3) and a libc call per run cost more than the copy. */
  for_each_run(g, p0, count, cols, x,
               [](float *dst, const float *line, int64_t begin, int64_t end,
                  int64_t first, int64_t last, int64_t s) {
                 if (!line)
                   first = last = end;
                 for (int64_t o = begin; o < first; ++o)
                   dst[o] = 0.0f;
                 if (s == 1)
                   for (int64_t o = first; o < last; ++o)
                     dst[o] = line[o];
                 else
                   for (int64_t o = first; o < last; ++o)
                     dst[o] = line[o * s];
                 for (int64_t o = last; o < end; ++o)
                   dst[o] = 0.0f;
               });
}

/* The adjoint of im2col: adds cols [C/G K, count] into image and group dx at
 * the positions im2col reads. */
void col2im_add(const Geometry &g, const float *cols, int64_t p0,
                int64_t count, float *dx) {
  for_each_run(g, p0, count, cols, dx,
               [](const float *src, float *out, int64_t, int64_t,
                  int64_t first, int64_t last, int64_t s) {
                 if (!out)
                   return;
                 if (s == 1)
                   for (int64_t o = first; o < last; ++o)
                     out[o] += src[o];
                 else
                   for (int64_t o = first; o < last; ++o)
                     out[o * s] += src[o];
               });
}

struct Call {
  Geometry g;
  const float *x = nullptr, *w = nullptr, *bias = nullptr, *dy = nullptr;
  float *out = nullptr;
  float *partials = nullptr;
  int64_t partial_count = 1;
  bool transposed = false; /* weight-gradient partials hold dW_g^T */
  std::atomic<int64_t> next{0};
};

/* Task i: block i % chunks of group i / chunks % G of image i / (chunks G). */
void forward_blocks(int64_t, int64_t, void *ctx) {
  Call &t = *static_cast<Call *>(ctx);
  const Geometry &g = t.g;
  float *cols = conv_scratch(g.ck * g.chunk);
  for (int64_t i = t.next.fetch_add(1); i < g.n * g.groups * g.chunks;
       i = t.next.fetch_add(1)) {
    int64_t image = i / g.chunks, p0 = i % g.chunks * g.chunk;
    int64_t n = image / g.groups, grp = image % g.groups;
    int64_t count = std::min(g.chunk, g.out_size - p0);
    im2col(g, t.x + (n * g.c + grp * g.cg) * g.in_size, p0, count, cols);
    float *y = t.out + (n * g.f + grp * g.fg) * g.out_size + p0;
    if (t.bias)
      for (int64_t f = 0; f < g.fg; ++f)
        std::fill(y + f * g.out_size, y + f * g.out_size + count,
                  t.bias[grp * g.fg + f]);
    sgemm_on_this_thread(g.fg, count, g.ck, t.w + grp * g.fg * g.ck, g.ck, 1,
                         cols, count, 1, y, g.out_size, t.bias != nullptr);
  }
}

/* Task i: group i % G of image i / G (the groups' dx slices are disjoint). */
void input_gradient_images(int64_t, int64_t, void *ctx) {
  Call &t = *static_cast<Call *>(ctx);
  const Geometry &g = t.g;
  float *cols = conv_scratch(g.ck * g.chunk);
  for (int64_t i = t.next.fetch_add(1); i < g.n * g.groups;
       i = t.next.fetch_add(1)) {
    int64_t n = i / g.groups, grp = i % g.groups;
    float *dx = t.out + (n * g.c + grp * g.cg) * g.in_size;
    const float *dy = t.dy + (n * g.f + grp * g.fg) * g.out_size;
    std::memset(dx, 0, sizeof(float) * g.cg * g.in_size);
    for (int64_t p0 = 0; p0 < g.out_size; p0 += g.chunk) {
      int64_t count = std::min(g.chunk, g.out_size - p0);
      sgemm_on_this_thread(g.ck, count, g.fg, t.w + grp * g.fg * g.ck, 1, g.ck,
                           dy + p0, g.out_size, 1, cols, count, false);
      col2im_add(g, cols, p0, count, dx);
    }
  }
}

/* Partial sum `p` covers blocks [p B / P, (p + 1) B / P) of the B = N x
 * chunks blocks, in order, every group of each block. With t.transposed a
 * partial holds each group's dW_g transposed ([C/G K, F/G]): the GEMM then
 * takes the columns as its A, read in place (F/G <= 64 output channels meet
 * at most two column panels), and packs only dy's F/G rows transposed
 * instead of all C/G K rows of the columns (r56's weight gradient: 15-20 %
 * less time, docs/performance.md). With few output channels per group the
 * 32-column tile would be mostly padding: those keep dW_g[F/G, C/G K] =
 * dy x cols^T. */
void weight_gradient_partials(int64_t, int64_t, void *ctx) {
  Call &t = *static_cast<Call *>(ctx);
  const Geometry &g = t.g;
  float *cols = conv_scratch(g.ck * g.chunk);
  int64_t blocks = g.n * g.chunks, size = g.f * g.ck;
  for (int64_t p = t.next.fetch_add(1); p < t.partial_count;
       p = t.next.fetch_add(1)) {
    float *dw = t.partials + p * size;
    std::memset(dw, 0, sizeof(float) * size);
    for (int64_t i = p * blocks / t.partial_count;
         i < (p + 1) * blocks / t.partial_count; ++i) {
      int64_t n = i / g.chunks, p0 = i % g.chunks * g.chunk;
      int64_t count = std::min(g.chunk, g.out_size - p0);
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        im2col(g, t.x + (n * g.c + grp * g.cg) * g.in_size, p0, count, cols);
        const float *dy = t.dy + (n * g.f + grp * g.fg) * g.out_size + p0;
        if (t.transposed)
          sgemm_on_this_thread(g.ck, g.fg, count, cols, count, 1, dy, 1,
                               g.out_size, dw + grp * g.fg * g.ck, g.fg, true);
        else
          sgemm_on_this_thread(g.fg, g.ck, count, dy, g.out_size, 1, cols, 1,
                               count, dw + grp * g.fg * g.ck, g.ck, true);
      }
    }
  }
}

} // namespace

float *conv_scratch(int64_t floats) { return t_scratch.get(floats); }

ConvGeometry parse_conv_geometry(const int64_t *v) {
  ConvGeometry g;
  g.n = v[0];
  g.c = v[1];
  g.f = v[2];
  for (int i = 0; i < 3; ++i) {
    g.in[i] = v[3 + i];
    g.out[i] = v[6 + i];
    g.k[i] = v[9 + i];
    g.s[i] = v[12 + i];
    g.pad[i] = v[15 + i];
    g.d[i] = v[18 + i];
  }
  g.groups = v[21];
  g.cg = g.c / g.groups;
  g.fg = g.f / g.groups;
  g.in_size = g.in[0] * g.in[1] * g.in[2];
  g.out_size = g.out[0] * g.out[1] * g.out[2];
  g.kernel_size = g.k[0] * g.k[1] * g.k[2];
  g.ck = g.cg * g.kernel_size;
  /* A multiple of 16 pixels (one vector) unless the image is smaller. */
  int64_t chunk = std::max<int64_t>(16, kColumnFloats / std::max<int64_t>(g.ck, 1) / 16 * 16);
  g.chunk = std::min(chunk, std::max<int64_t>(g.out_size, 1));
  g.chunks = (g.out_size + g.chunk - 1) / g.chunk;
  return g;
}

} // namespace kiln::rt

using namespace kiln::rt;

/* Preconditions (guaranteed by kiln-cpu-library-calls-to-runtime): the
 * geometry is a verified convolution's (KILN_CONV_GEOMETRY_SIZE values, sizes
 * and groups >= 1, padding >= 0, groups dividing C and F), every tensor has
 * the sizes it implies and the output overlaps no input. Depthwise
 * convolutions (groups > 1, one input channel per group) take the direct
 * kernels; a single-channel convolution with groups == 1 keeps the GEMM. */
extern "C" void kiln_sconv_forward(const int64_t *geometry, const float *x,
                                   const float *w, const float *bias,
                                   float *y) {
  Call t;
  t.g = parse_conv_geometry(geometry);
  if (t.g.groups > 1 && t.g.cg == 1)
    return depthwise_forward(t.g, x, w, bias, y);
  if (implicit_forward_applies(t.g))
    return implicit_forward(t.g, x, w, bias, y);
  t.x = x;
  t.w = w;
  t.bias = bias;
  t.out = y;
  run_workers(t.g.n * t.g.groups * t.g.chunks, forward_blocks, &t);
}

extern "C" void kiln_sconv_backward_input(const int64_t *geometry,
                                          const float *dy, const float *w,
                                          float *dx) {
  Call t;
  t.g = parse_conv_geometry(geometry);
  if (t.g.groups > 1 && t.g.cg == 1)
    return depthwise_backward_input(t.g, dy, w, dx);
  if (implicit_backward_input_applies(t.g))
    return implicit_backward_input(t.g, dy, w, dx);
  t.dy = dy;
  t.w = w;
  t.out = dx;
  run_workers(t.g.n * t.g.groups, input_gradient_images, &t);
}

extern "C" void kiln_sconv_backward_weight(const int64_t *geometry,
                                           const float *x, const float *dy,
                                           float *dw) {
  Call t;
  t.g = parse_conv_geometry(geometry);
  if (t.g.groups > 1 && t.g.cg == 1)
    return depthwise_backward_weight(t.g, x, dy, dw);
  if (implicit_weight_gradient_applies(t.g))
    return implicit_weight_gradient(t.g, x, dy, dw);
  t.x = x;
  t.dy = dy;
  int64_t size = t.g.f * t.g.ck, blocks = t.g.n * t.g.chunks;
  t.partial_count = std::max<int64_t>(
      1, std::min({kMaxPartials, blocks, kMaxPartialFloats / std::max<int64_t>(size, 1)}));
  t.transposed = t.g.fg >= 32;
  if (t.partial_count == 1 && !t.transposed) {
    t.partials = dw; /* one partial: the result itself */
    weight_gradient_partials(0, 1, &t);
    return;
  }
  t.partials = static_cast<float *>(kiln_alloc(sizeof(float) * size * t.partial_count));
  if (!t.partials)
    std::abort();
  run_workers(t.partial_count, weight_gradient_partials, &t);
  /* The partials summed in order (and transposed back: dw_g[f][r] from
   * partial_g[r][f]). */
  const Geometry &g = t.g;
  for (int64_t grp = 0; grp < g.groups; ++grp)
    for (int64_t f = 0; f < g.fg; ++f) {
      float *out = dw + (grp * g.fg + f) * g.ck;
      for (int64_t r = 0; r < g.ck; ++r) {
        int64_t at = grp * g.fg * g.ck + (t.transposed ? r * g.fg + f : f * g.ck + r);
        float sum = t.partials[at];
        for (int64_t p = 1; p < t.partial_count; ++p)
          sum += t.partials[p * size + at];
        out[r] = sum;
      }
    }
  kiln_free(t.partials);
}
