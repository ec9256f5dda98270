/* Internal to libkiln_rt: what the convolution routines (conv.cpp) share with
 * the depthwise kernels (conv_depthwise.cpp). */
#pragma once

#include <cstdint>

namespace kiln::rt {

/* A parsed KILN_CONV_GEOMETRY_SIZE geometry (kiln/runtime.h) plus the sizes
 * derived from it. */
struct ConvGeometry {
  int64_t n, c, f, groups;
  int64_t in[3], out[3], k[3], s[3], pad[3], d[3];
  int64_t cg, fg;                       /* channels per group: in, out */
  int64_t in_size, out_size, kernel_size;
  int64_t ck;     /* columns per output pixel of one group: cg x kernel */
  int64_t chunk;  /* output pixels per block (im2col path) */
  int64_t chunks; /* blocks per image */
};

ConvGeometry parse_conv_geometry(const int64_t *v);

/* Output positions o in [lo, hi) of a line of `out` whose input position
 * o * s + shift lies in [0, in) (s > 0); empty when lo == hi. */
struct Span {
  int64_t lo, hi;
};
inline Span inside(int64_t out, int64_t in, int64_t s, int64_t shift) {
  auto floor_div = [](int64_t a, int64_t b) { // b > 0
    return a >= 0 ? a / b : -((-a + b - 1) / b);
  };
  int64_t lo = floor_div(-shift + s - 1, s), hi = floor_div(in - 1 - shift, s) + 1;
  lo = lo < 0 ? 0 : lo;
  hi = hi > out ? out : hi;
  return {lo, hi > lo ? hi : lo};
}

/* The calling thread's scratch block of at least `floats` floats, kept for
 * its next call (one per thread: a convolution routine never runs another). */
float *conv_scratch(int64_t floats);

/* Depthwise convolutions (cg == 1: every output channel f reads input
 * channel f / fg alone), direct loops instead of im2col + GEMM. Same
 * preconditions and results contract as the kiln_sconv_* routines. */
void depthwise_forward(const ConvGeometry &g, const float *x, const float *w,
                       const float *bias, float *y);
void depthwise_backward_input(const ConvGeometry &g, const float *dy,
                              const float *w, float *dx);
void depthwise_backward_weight(const ConvGeometry &g, const float *x,
                               const float *dy, float *dw);
bool implicit_forward_applies(const ConvGeometry &g);
void implicit_forward(const ConvGeometry &g, const float *x, const float *w,
                      const float *bias, float *y);
bool implicit_backward_input_applies(const ConvGeometry &g);
void implicit_backward_input(const ConvGeometry &g, const float *dy,
                             const float *w, float *dx);

/* Convolutions that read their image operand in place instead of through
 * im2col columns (conv_implicit.cpp), on AVX-512 CPUs: each *_applies says
 * for which geometries the routine beside it is used. */
bool implicit_weight_gradient_applies(const ConvGeometry &g);
void implicit_weight_gradient(const ConvGeometry &g, const float *x,
                              const float *dy, float *dw);
bool implicit_forward_applies(const ConvGeometry &g);
void implicit_forward(const ConvGeometry &g, const float *x, const float *w,
                      const float *bias, float *y);
bool implicit_backward_input_applies(const ConvGeometry &g);
void implicit_backward_input(const ConvGeometry &g, const float *dy,
                             const float *w, float *dx);

} // namespace kiln::rt
