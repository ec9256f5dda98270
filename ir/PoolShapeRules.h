// Shape rules of torch's pooling layers (MaxPool, AvgPool, LPPool and their
// adaptive forms), shared like ShapeRules.h by the DSL's tracer, the
// importer and the nn.max_pool / nn.sum_pool ops, so that all three reject
// the same models with torch's words. Standard library only.
#ifndef KILN_IR_POOLSHAPERULES_H
#define KILN_IR_POOLSHAPERULES_H

#include "ir/ShapeRules.h"

namespace kiln::shape_rules {

/// The windows of a pooling layer over its r spatial dimensions: window o
/// of dimension i reads positions o * stride - padding + k * dilation for
/// k < kernel, those outside the input excluded (max) or zero (sum).
struct PoolGeometry {
  Shape kernel, stride, padding, dilation;
  bool ceilMode = false;
};

/// floor(a / b) for b > 0 (torch's div_rtn).
inline int64_t floorDiv(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/// torch's pooling_output_shape: in ceil mode the last window must start
/// inside the input or its left padding.
inline int64_t poolOutputSize(int64_t in, int64_t kernel, int64_t stride,
                              int64_t pad, int64_t dilation, bool ceilMode) {
  int64_t out = floorDiv(in + 2 * pad - dilation * (kernel - 1) - 1 +
                             (ceilMode ? stride - 1 : 0),
                         stride) +
                1;
  if (ceilMode && (out - 1) * stride >= in + pad)
    --out;
  return out;
}

/// [N, C, *in] -> [N, C, *out] with torch's checks (pool2d_shape_check).
inline Inferred pool(const Shape &input, const PoolGeometry &g) {
  size_t r = g.kernel.size();
  auto num = [](int64_t v) { return std::to_string(v); };
  if (r < 1 || r > 3 || g.stride.size() != r || g.padding.size() != r ||
      g.dilation.size() != r)
    return failure("kernel_size, stride, padding and dilation need one value "
                   "per spatial dimension (1 to 3)");
  if (input.size() != r + 2)
    return failure("expected a " + num(r + 2) + "-D input [N, C, " +
                   "*spatial], got " + str(input));
  Shape out{input[0], input[1]};
  std::string inText = num(input[1]), outText = num(input[1]);
  for (size_t i = 0; i < r; ++i) {
    int64_t k = g.kernel[i], s = g.stride[i], p = g.padding[i],
            d = g.dilation[i], n = input[i + 2];
    if (k < 1)
      return failure("kernel size should be greater than zero, but got " +
                     str(g.kernel));
    if (s < 1)
      return failure("stride should be greater than zero, but got " +
                     str(g.stride));
    if (d < 1)
      return failure("dilation should be greater than zero, but got " +
                     str(g.dilation));
    if (p < 0)
      return failure("pad should be non-negative, but got " + str(g.padding));
    if (p > k / 2)
      return failure("pad should be at most half of kernel size, but got pad=" +
                     num(p) + " and kernel_size=" + num(k));
    if (n < 1)
      return failure("expected a non-empty input, got " + str(input));
    int64_t o = poolOutputSize(n, k, s, p, d, g.ceilMode);
    inText += "x" + num(n);
    outText += "x" + num(o);
    out.push_back(o);
  }
  for (size_t i = 0; i < r; ++i)
    if (out[i + 2] < 1)
      return failure("Given input size: (" + inText +
                     "). Calculated output size: (" + outText +
                     "). Output size is too small");
  return {out, ""};
}

/// Adaptive pooling [N, C, *in] -> [N, C, *outputSize]; window o of a
/// dimension of size n covers [adaptiveStart, adaptiveEnd).
inline Inferred adaptivePool(const Shape &input, const Shape &outputSize) {
  size_t r = outputSize.size();
  if (r < 1 || r > 3)
    return failure("output_size needs 1 to 3 values, got " + str(outputSize));
  if (input.size() != r + 2)
    return failure("expected a " + std::to_string(r + 2) +
                   "-D input [N, C, *spatial], got " + str(input));
  Shape out{input[0], input[1]};
  for (size_t i = 0; i < r; ++i) {
    if (input[i + 2] < 1)
      return failure("expected a non-empty input, got " + str(input));
    if (outputSize[i] < 1)
      return failure("output_size must be >= 1, got " + str(outputSize));
    out.push_back(outputSize[i]);
  }
  return {out, ""};
}

/// The windows of a pooling op: torch's fixed windows (`geometry`) or, when
/// `adaptive`, the adaptive windows for `outputSize`.
struct PoolWindows {
  bool adaptive = false;
  PoolGeometry geometry;
  Shape outputSize;
};

/// The pooled shape of `input` under either kind of windows.
inline Inferred poolWindows(const Shape &input, const PoolWindows &w) {
  return w.adaptive ? adaptivePool(input, w.outputSize) : pool(input, w.geometry);
}

/// torch's adaptive windows: start = floor(o * in / out),
/// end = ceil((o + 1) * in / out).
inline int64_t adaptiveStart(int64_t o, int64_t in, int64_t out) {
  return o * in / out;
}
inline int64_t adaptiveEnd(int64_t o, int64_t in, int64_t out) {
  return ((o + 1) * in + out - 1) / out;
}

/// torch's name of spatial dimension i of r (its fractional pooling
/// messages): time, height, width.
inline const char *spatialName(size_t i, size_t r) {
  static const char *names[] = {"time", "height", "width"};
  return names[3 - r + i];
}

/// Fractional max pooling [N, C, *in] with samples [N, C, r] ->
/// [N, C, *outputSize], r = 2 or 3. Every window of `kernel` positions
/// must fit in the input with room for `out` distinct starts:
/// out + kernel - 1 <= in (torch's fractional_max_pool2d check; its 3-d
/// form is stricter, checked by the importer).
inline Inferred fractionalPool(const Shape &input, const Shape &samples,
                               const Shape &kernel, const Shape &outputSize) {
  size_t r = kernel.size();
  auto num = [](int64_t v) { return std::to_string(v); };
  if ((r != 2 && r != 3) || outputSize.size() != r)
    return failure("kernel_size and output_size need one value per spatial "
                   "dimension (2 or 3), got " + str(kernel) + " and " +
                   str(outputSize));
  if (input.size() != r + 2)
    return failure("expected a " + num(r + 2) + "-D input [N, C, *spatial], got " +
                   str(input));
  Shape expected{input[0], input[1], static_cast<int64_t>(r)};
  if (samples != expected)
    return failure("samples " + str(samples) + " must be [N, C, " + num(r) +
                   "] = " + str(expected) + " for the input " + str(input));
  Shape out{input[0], input[1]};
  for (size_t i = 0; i < r; ++i) {
    int64_t k = kernel[i], o = outputSize[i], n = input[i + 2];
    if (k < 1)
      return failure("kernel size should be greater than zero, but got " +
                     str(kernel));
    if (o < 1)
      return failure("output_size must be >= 1, got " + str(outputSize));
    if (o + k - 1 > n)
      return failure(std::string("pool ") + spatialName(i, r) + " " + num(k) +
                     " too large relative to input " + spatialName(i, r) + " " +
                     num(n) + " (output_size " + num(o) +
                     " + kernel_size - 1 must be at most the input size)");
    out.push_back(o);
  }
  return {out, ""};
}

} // namespace kiln::shape_rules

#endif // KILN_IR_POOLSHAPERULES_H
