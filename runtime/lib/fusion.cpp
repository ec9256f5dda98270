/* torch.nn.utils.fuse_conv_bn_eval / fuse_linear_bn_eval between model
 * instances (kiln/fusion.h says what each computes): read the layer and
 * its batch norm from one instance to the host, fold them in float32 in
 * torch's order of operations, write the fused weight and bias into the
 * other. A deployment step, run once, on the host like torch's. */
#include "state_tensor.h"

#include <kiln/fusion.h>

#include <cmath>
#include <string>
#include <vector>

using namespace kiln::rt;

namespace {

/* The layer and batch norm of a fusion, read from `from`. */
struct Pair {
  StateTensor weight, bias, mean, var, bnWeight, bnBias;
};

Error readPair(const kiln_model *from, const std::string &layer, const std::string &bn,
               const std::string &what, Pair &p) {
  if (Error e = read_state_tensor(from, layer + ".weight", true, what, p.weight))
    return e;
  if (Error e = read_state_tensor(from, layer + ".bias", false, what, p.bias))
    return e;
  if (Error e = read_state_tensor(from, bn + ".running_mean", false, what, p.mean))
    return e;
  if (Error e = read_state_tensor(from, bn + ".running_var", false, what, p.var))
    return e;
  if (!p.mean.found() || !p.var.found())
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                what + ": " + quoted(bn) +
                    " has no running statistics (running_mean and running_var): the batch norm "
                    "must track them (track_running_stats=True)");
  if (Error e = read_state_tensor(from, bn + ".weight", false, what, p.bnWeight))
    return e;
  return read_state_tensor(from, bn + ".bias", false, what, p.bnBias);
}

/* Checks that every per-channel tensor of `p` is [channels]. */
Error checkChannels(const Pair &p, int64_t channels, const std::string &layer,
                    const std::string &bn, const std::string &what) {
  const std::vector<int64_t> expected{channels};
  const std::pair<const StateTensor *, std::string> named[] = {
      {&p.bias, layer + ".bias"},       {&p.mean, bn + ".running_mean"},
      {&p.var, bn + ".running_var"},    {&p.bnWeight, bn + ".weight"},
      {&p.bnBias, bn + ".bias"}};
  for (const auto &[t, name] : named)
    if (t->found() && t->shape != expected)
      return fail(KILN_ERROR_MISMATCH, what + ": " + quoted(name) + " has shape " +
                                           shape_string(t->shape) + ", expected " +
                                           shape_string(expected) + " (the channels of " +
                                           quoted(layer + ".weight") + " " +
                                           shape_string(p.weight.shape) + ")");
  return Error();
}

/* Writes the fused weight and bias into `to`'s `<fused>.weight` / `.bias`
 * (both must exist with the fused shapes). */
Error writeFused(kiln_model *to, const std::string &fused, const std::vector<int64_t> &weightShape,
                 const std::vector<float> &weight, const std::vector<float> &bias,
                 const std::string &what) {
  return write_state_tensors(to, {fused + ".weight", fused + ".bias"},
                             {weightShape, {static_cast<int64_t>(bias.size())}}, {&weight, &bias},
                             what);
}

/* A call's checks (no NULL, `from` in eval mode) and its pair read. */
Error startCall(kiln_model *from, const char *layer, const char *bn, kiln_model *to,
                const char *fused, const std::string &what, Pair &p) {
  if (!from || !to || !layer || !bn || !fused)
    return fail(KILN_ERROR_INVALID_ARGUMENT, what + ": a model or a name is NULL");
  int training = 0;
  if (kiln_model_get_training(from, &training) != KILN_OK || training)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                what + ": Fusion only for eval! (the source instance is in training mode: "
                       "kiln_model_set_training(model, 0) first, torch's .eval())");
  return readPair(from, layer, bn, what, p);
}

/* rsqrt(running_var + eps) per channel, in float32 as torch. */
std::vector<float> inverseStd(const StateTensor &var, double eps) {
  std::vector<float> r(var.values.size());
  const float e = static_cast<float>(eps);
  for (size_t c = 0; c < r.size(); ++c)
    r[c] = 1.0f / std::sqrt(var.values[c] + e);
  return r;
}

float valueOr(const StateTensor &t, size_t c, float missing) {
  return t.found() ? t.values[c] : missing;
}

} // namespace

extern "C" kiln_status kiln_fuse_conv_bn_eval(kiln_model *from, const char *conv, const char *bn,
                                              double bn_eps, int transpose, kiln_model *to,
                                              const char *fused) {
  KILN_API_GUARD_BEGIN
  const std::string what = std::string("kiln_fuse_conv_bn_eval(") + (conv ? conv : "NULL") + ", " +
                           (bn ? bn : "NULL") + ")";
  Pair p;
  if (Error e = startCall(from, conv, bn, to, fused, what, p))
    return set_thread_error(e);
  const std::vector<int64_t> &shape = p.weight.shape;
  if (shape.size() < 3 || shape.size() > 5)
    return set_thread_error(fail(KILN_ERROR_MISMATCH,
                                 what + ": " + quoted(std::string(conv) + ".weight") + " " +
                                     shape_string(shape) +
                                     " is not a convolution's weight (3 to 5 dimensions)"));
  const size_t dim = transpose ? 1 : 0;
  const int64_t channels = shape[dim];
  if (Error e = checkChannels(p, channels, conv, bn, what))
    return set_thread_error(e);
  // torch: conv_w * (bn_w * rsqrt).reshape(...); (conv_b - rm) * rsqrt * bn_w + bn_b.
  std::vector<float> rsqrt = inverseStd(p.var, bn_eps), scale(channels), bias(channels);
  for (int64_t c = 0; c < channels; ++c) {
    scale[c] = valueOr(p.bnWeight, c, 1.0f) * rsqrt[c];
    float b = (valueOr(p.bias, c, 0.0f) - p.mean.values[c]) * rsqrt[c];
    if (p.bnWeight.found())
      b *= p.bnWeight.values[c];
    bias[c] = p.bnBias.found() ? b + p.bnBias.values[c] : b;
  }
  // The weight as [outer, channels, inner] around the channel dimension.
  const auto [outer, size, inner] = around_dim(shape, static_cast<int64_t>(dim));
  std::vector<float> weight(p.weight.values.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < inner; ++i) {
        size_t k = (o * channels + c) * inner + i;
        weight[k] = p.weight.values[k] * scale[c];
      }
  return set_thread_error(writeFused(to, fused, shape, weight, bias, what));
  KILN_API_GUARD_END(set_thread_error)
}

extern "C" kiln_status kiln_fuse_linear_bn_eval(kiln_model *from, const char *linear,
                                                const char *bn, double bn_eps, kiln_model *to,
                                                const char *fused) {
  KILN_API_GUARD_BEGIN
  const std::string what = std::string("kiln_fuse_linear_bn_eval(") + (linear ? linear : "NULL") +
                           ", " + (bn ? bn : "NULL") + ")";
  Pair p;
  if (Error e = startCall(from, linear, bn, to, fused, what, p))
    return set_thread_error(e);
  const std::vector<int64_t> &shape = p.weight.shape;
  if (shape.size() != 2)
    return set_thread_error(fail(KILN_ERROR_MISMATCH,
                                 what + ": " + quoted(std::string(linear) + ".weight") + " " +
                                     shape_string(shape) + " is not a Linear's weight [out, in]"));
  if (!p.bnWeight.found() || !p.bnBias.found())
    return set_thread_error(fail(KILN_ERROR_INVALID_ARGUMENT,
                                 what + ": " + quoted(bn) +
                                     " has no weight and bias: torch 1.13's fuse_linear_bn_eval "
                                     "needs an affine batch norm"));
  const int64_t rows = shape[0], cols = shape[1];
  if (Error e = checkChannels(p, rows, linear, bn, what))
    return set_thread_error(e);
  // torch: scale = bn_w * rsqrt; w * scale.unsqueeze(-1); (b - rm) * scale + bn_b.
  std::vector<float> rsqrt = inverseStd(p.var, bn_eps), weight(rows * cols), bias(rows);
  for (int64_t r = 0; r < rows; ++r) {
    float scale = p.bnWeight.values[r] * rsqrt[r];
    for (int64_t k = 0; k < cols; ++k)
      weight[r * cols + k] = p.weight.values[r * cols + k] * scale;
    bias[r] = (valueOr(p.bias, r, 0.0f) - p.mean.values[r]) * scale + p.bnBias.values[r];
  }
  return set_thread_error(writeFused(to, fused, shape, weight, bias, what));
  KILN_API_GUARD_END(set_thread_error)
}
