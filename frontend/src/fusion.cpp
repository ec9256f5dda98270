// torch.nn.utils.fuse_conv_bn_weights / fuse_linear_bn_weights in the DSL:
// the shape checks, and the graph function each records (kilnc's
// frontend/import/Fusion.cpp builds the math).
#include "kiln/nn/utils/fusion.h"

#include "ir/ShapeRules.h"
#include "shapes.h"

namespace kiln::nn::utils {
namespace {

using detail::fail;

/// Whether an optional tensor is given: not nullopt and not an undefined
/// Tensor (a Linear's `bias` handle without a bias is torch's None too).
bool given(const std::optional<Tensor>& t) { return t && t->defined(); }

/// Checks every given per-channel tensor is [channels] float32 and returns
/// the inputs in torch's order, the absent ones left out.
std::vector<Tensor> channel_inputs(detail::Trace& trace, const Tensor& weight,
                                   const std::vector<std::pair<const char*, const std::optional<Tensor>*>>& named,
                                   int64_t channels, const std::string& what, SourceLoc loc) {
  std::vector<Tensor> inputs{weight};
  for (const auto& [name, value] : named) {
    if (!given(*value)) continue;
    const Tensor& t = **value;
    trace.check_value(t, what, loc);
    detail::require_float32(t, what, loc);
    if (t.sizes() != Shape{channels})
      fail(loc, what + ": " + name + " " + shape_rules::str(t.sizes()) + " must be [" + std::to_string(channels) +
                    "], the weight's channels (weight " + shape_rules::str(weight.sizes()) + ")");
    inputs.push_back(t);
  }
  return inputs;
}

}  // namespace

std::tuple<Tensor, Tensor> fuse_conv_bn_weights(const Tensor& conv_w, const std::optional<Tensor>& conv_b,
                                                const Tensor& bn_rm, const Tensor& bn_rv, double bn_eps,
                                                const std::optional<Tensor>& bn_w,
                                                const std::optional<Tensor>& bn_b, bool transpose,
                                                SourceLoc loc) {
  const std::string what = "fuse_conv_bn_weights()";
  auto& trace = detail::Trace::active(what, loc);
  trace.check_value(conv_w, what, loc);
  detail::require_float32(conv_w, what, loc);
  if (conv_w.dim() < 3 || conv_w.dim() > 5)
    fail(loc, what + ": the convolution's weight " + shape_rules::str(conv_w.sizes()) +
                  " must have 3 to 5 dimensions");
  int64_t channels = conv_w.size(transpose ? 1 : 0);
  if (!bn_rm.defined() || !bn_rv.defined())
    fail(loc, what + ": needs the running statistics bn_rm and bn_rv");
  std::optional<Tensor> rm = bn_rm, rv = bn_rv;
  auto inputs = channel_inputs(
      trace, conv_w, {{"conv_b", &conv_b}, {"bn_rm", &rm}, {"bn_rv", &rv}, {"bn_w", &bn_w}, {"bn_b", &bn_b}},
      channels, what, loc);
  Shape bias{channels};
  auto values = detail::record_function(
      trace, "fuse_conv_bn_weights",
      {{"eps", bn_eps},
       {"transpose", transpose},
       {"conv_bias", given(conv_b)},
       {"bn_weight", given(bn_w)},
       {"bn_bias", given(bn_b)}},
      inputs, {{conv_w.sizes(), Dtype::Float32}, {bias, Dtype::Float32}}, loc);
  return {values[0], values[1]};
}

std::tuple<Tensor, Tensor> fuse_linear_bn_weights(const Tensor& linear_w, const std::optional<Tensor>& linear_b,
                                                  const Tensor& bn_rm, const Tensor& bn_rv, double bn_eps,
                                                  const Tensor& bn_w, const Tensor& bn_b, SourceLoc loc) {
  const std::string what = "fuse_linear_bn_weights()";
  auto& trace = detail::Trace::active(what, loc);
  trace.check_value(linear_w, what, loc);
  detail::require_float32(linear_w, what, loc);
  if (linear_w.dim() != 2)
    fail(loc, what + ": the linear layer's weight " + shape_rules::str(linear_w.sizes()) +
                  " must be [out_features, in_features]");
  int64_t channels = linear_w.size(0);
  if (!bn_w.defined() || !bn_b.defined())
    fail(loc, what + ": needs the batch norm's weight and bias (an affine batch norm), as torch 1.13's does");
  if (!bn_rm.defined() || !bn_rv.defined())
    fail(loc, what + ": needs the running statistics bn_rm and bn_rv");
  std::optional<Tensor> rm = bn_rm, rv = bn_rv, w = bn_w, b = bn_b;
  auto inputs = channel_inputs(
      trace, linear_w, {{"linear_b", &linear_b}, {"bn_rm", &rm}, {"bn_rv", &rv}, {"bn_w", &w}, {"bn_b", &b}},
      channels, what, loc);
  auto values = detail::record_function(
      trace, "fuse_linear_bn_weights", {{"eps", bn_eps}, {"linear_bias", given(linear_b)}}, inputs,
      {{linear_w.sizes(), Dtype::Float32}, {Shape{channels}, Dtype::Float32}}, loc);
  return {values[0], values[1]};
}

}  // namespace kiln::nn::utils
