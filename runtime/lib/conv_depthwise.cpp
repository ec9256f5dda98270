/* Depthwise convolutions (groups > 1 with one input channel per group: every
 * output channel f reads input channel f / fg alone, fg = F / C being the
 * channel multiplier), forward, input gradient and weight gradient, as
 * direct loops over output rows.
 *
 * Why not the im2col + GEMM of conv.cpp: a depthwise GEMM has K = the kernel
 * volume (9 for 3x3) and M = the multiplier (1 or 2), so packing the
 * operands costs as much as the product and the 12 x 32 register tile is
 * mostly padding. Here each kernel tap is one multiply-add of a whole output
 * row (row[o] += w * line[o * stride + shift] over the o whose input lies
 * inside the image): a simple loop over contiguous floats that the compiler
 * vectorises. The kernels are compiled twice, for AVX-512 (chosen at run
 * time, as gemm.cpp does) and for the baseline ISA.
 *
 * Parallel tasks are whole planes, and every output element is summed by
 * one thread in an order fixed by the shape (taps in kernel order; the
 * weight gradient: per tap one partial sum per output column, over images
 * and rows in order, then the columns in order), so results do not depend on
 * the number of threads. */
#include "conv.h"

#include "kiln/runtime.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace kiln::rt {
namespace {

#define KILN_ALWAYS_INLINE inline __attribute__((always_inline))

struct Task {
  const ConvGeometry *g;
  const Span *spans; /* spans_of(*g) */
  const float *x, *w, *bias, *dy;
  float *out;
};
/* y[o] += a * x[o * s] for o in [0, n). */
KILN_ALWAYS_INLINE void axpy(float *__restrict y, const float *__restrict x,
                             float a, int64_t n, int64_t s) {
  if (s == 1)
    for (int64_t o = 0; o < n; ++o)
      y[o] += a * x[o];
  else
    for (int64_t o = 0; o < n; ++o)
      y[o] += a * x[o * s];
}

/* y[o * s] += a * x[o] for o in [0, n). */
KILN_ALWAYS_INLINE void scatter_axpy(float *__restrict y,
                                     const float *__restrict x, float a,
                                     int64_t n, int64_t s) {
  if (s == 1)
    for (int64_t o = 0; o < n; ++o)
      y[o] += a * x[o];
  else
    for (int64_t o = 0; o < n; ++o)
      y[o * s] += a * x[o];
}

/* acc[o] += a[o] * b[o * s] for o in [0, n). */
KILN_ALWAYS_INLINE void multiply_add(float *__restrict acc,
                                     const float *__restrict a,
                                     const float *__restrict b, int64_t n,
                                     int64_t s) {
  if (s == 1)
    for (int64_t o = 0; o < n; ++o)
      acc[o] += a[o] * b[o];
  else
    for (int64_t o = 0; o < n; ++o)
      acc[o] += a[o] * b[o * s];
}

/* Calls tap(row, line, span, kk) for every output row (o0, o1) of a plane
 * and every kernel tap kk = (k0, k1, k2) whose input line (i0, i1) lies in
 * the image, taps in kernel order: `row` is the output row's offset in the
 * plane, `line` + span.lo * s2 + shift the offset in the input plane of the
 * element output span.lo reads (span non-empty). `spans` holds the span of
 * each k2 (spans_of): they depend on k2 alone, and computing them per row
 * (two divisions each) cost more than the row's multiply-adds. */
template <class Tap>
KILN_ALWAYS_INLINE void for_each_tap(const ConvGeometry &g, const Span *spans,
                                     Tap tap) {
  for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
    for (int64_t o1 = 0; o1 < g.out[1]; ++o1) {
      int64_t row = (o0 * g.out[1] + o1) * g.out[2];
      for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
        int64_t i0 = o0 * g.s[0] + k0 * g.d[0] - g.pad[0];
        if (i0 < 0 || i0 >= g.in[0])
          continue;
        for (int64_t k1 = 0; k1 < g.k[1]; ++k1) {
          int64_t i1 = o1 * g.s[1] + k1 * g.d[1] - g.pad[1];
          if (i1 < 0 || i1 >= g.in[1])
            continue;
          int64_t line = (i0 * g.in[1] + i1) * g.in[2];
          for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
            Span span = spans[k2];
            if (span.lo < span.hi)
              tap(row, line + span.lo * g.s[2] + k2 * g.d[2] - g.pad[2], span,
                  (k0 * g.k[1] + k1) * g.k[2] + k2);
          }
        }
      }
    }
}

/* The span of each k2 along the innermost dimension. */
std::vector<Span> spans_of(const ConvGeometry &g) {
  std::vector<Span> spans(g.k[2]);
  for (int64_t k2 = 0; k2 < g.k[2]; ++k2)
    spans[k2] = inside(g.out[2], g.in[2], g.s[2], k2 * g.d[2] - g.pad[2]);
  return spans;
}

/* Planes [begin, end) of y, plane i = (n, f). */
KILN_ALWAYS_INLINE void forward_planes(const Task &t, int64_t begin,
                                       int64_t end) {
  const ConvGeometry &g = *t.g;
  for (int64_t i = begin; i < end; ++i) {
    int64_t n = i / g.f, f = i % g.f;
    const float *x = t.x + (n * g.c + f / g.fg) * g.in_size;
    const float *w = t.w + f * g.kernel_size;
    float *y = t.out + i * g.out_size;
    std::fill(y, y + g.out_size, t.bias ? t.bias[f] : 0.0f);
    for_each_tap(g, t.spans, [&](int64_t row, int64_t at, Span span, int64_t kk) {
      axpy(y + row + span.lo, x + at, w[kk], span.hi - span.lo, g.s[2]);
    });
  }
}

/* Planes [begin, end) of dx, plane i = (n, c): the adjoint of the forward,
 * every output channel of group c in order. */
KILN_ALWAYS_INLINE void input_gradient_planes(const Task &t, int64_t begin,
                                              int64_t end) {
  const ConvGeometry &g = *t.g;
  for (int64_t i = begin; i < end; ++i) {
    int64_t n = i / g.c, c = i % g.c;
    float *dx = t.out + i * g.in_size;
    std::fill(dx, dx + g.in_size, 0.0f);
    for (int64_t f = c * g.fg; f < (c + 1) * g.fg; ++f) {
      const float *dy = t.dy + (n * g.f + f) * g.out_size;
      const float *w = t.w + f * g.kernel_size;
      for_each_tap(g, t.spans, [&](int64_t row, int64_t at, Span span, int64_t kk) {
        scatter_axpy(dx + at, dy + row + span.lo, w[kk], span.hi - span.lo,
                     g.s[2]);
      });
    }
  }
}

/* Weights [begin, end) of dw's output channels: per tap, a row of partial
 * sums over images and output rows, then the row summed in order. */
KILN_ALWAYS_INLINE void weight_gradient_channels(const Task &t, int64_t begin,
                                                 int64_t end) {
  const ConvGeometry &g = *t.g;
  int64_t width = g.out[2];
  float *acc = conv_scratch(g.kernel_size * width);
  for (int64_t f = begin; f < end; ++f) {
    std::fill(acc, acc + g.kernel_size * width, 0.0f);
    for (int64_t n = 0; n < g.n; ++n) {
      const float *x = t.x + (n * g.c + f / g.fg) * g.in_size;
      const float *dy = t.dy + (n * g.f + f) * g.out_size;
      for_each_tap(g, t.spans, [&](int64_t row, int64_t at, Span span, int64_t kk) {
        multiply_add(acc + kk * width + span.lo, dy + row + span.lo, x + at,
                     span.hi - span.lo, g.s[2]);
      });
    }
    float *dw = t.out + f * g.kernel_size;
    for (int64_t kk = 0; kk < g.kernel_size; ++kk) {
      float sum = 0.0f;
      for (int64_t o = 0; o < width; ++o)
        sum += acc[kk * width + o];
      dw[kk] = sum;
    }
  }
}

using Range = void (*)(const Task &, int64_t, int64_t);

template <Range R>
__attribute__((target("avx512f"))) void avx512_body(int64_t begin, int64_t end,
                                                    void *ctx) {
  R(*static_cast<const Task *>(ctx), begin, end);
}

template <Range R> void portable_body(int64_t begin, int64_t end, void *ctx) {
  R(*static_cast<const Task *>(ctx), begin, end);
}

/* R over [0, tasks) on the pool, in its AVX-512 build where the CPU has it
 * (R is always inlined, so each body is a build of R for its target). */
template <Range R> void run(Task t, int64_t tasks) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  kiln_parallel_for(tasks, avx512 ? avx512_body<R> : portable_body<R>, &t);
}

} // namespace

void depthwise_forward(const ConvGeometry &g, const float *x, const float *w,
                       const float *bias, float *y) {
  std::vector<Span> spans = spans_of(g);
  run<forward_planes>({&g, spans.data(), x, w, bias, nullptr, y}, g.n * g.f);
}

void depthwise_backward_input(const ConvGeometry &g, const float *dy,
                              const float *w, float *dx) {
  std::vector<Span> spans = spans_of(g);
  run<input_gradient_planes>({&g, spans.data(), nullptr, w, nullptr, dy, dx},
                             g.n * g.c);
}

void depthwise_backward_weight(const ConvGeometry &g, const float *x,
                               const float *dy, float *dw) {
  std::vector<Span> spans = spans_of(g);
  run<weight_gradient_channels>({&g, spans.data(), x, nullptr, nullptr, dy, dw},
                                g.f);
}

} // namespace kiln::rt
