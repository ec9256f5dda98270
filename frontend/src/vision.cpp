// The rearranging layers of the DSL (kiln/nn/vision.h): the shape rules are
// the compiler's (ir/VisionShapeRules.h), so both reject the same models.
#include "kiln/nn/vision.h"

#include <functional>

#include "ir/VisionShapeRules.h"
#include "shapes.h"

namespace kiln::nn {
namespace {

using Rule = shape_rules::Inferred (*)(const shape_rules::Shape&, int64_t);

void check_positive(const std::string& layer, const char* name, int64_t v) {
  if (v < 1) detail::fail(layer + "(" + name + "=" + std::to_string(v) + "): " + name + " must be >= 1");
}

/// Records a call of `m`, whose result shape `rule(input, factor)` gives.
Tensor rearrange(const Module& m, const Tensor& input, Rule rule, int64_t factor, SourceLoc loc) {
  auto& trace = detail::Trace::active(m.type_name(), loc);
  const std::string& path = trace.path_of(m, loc);
  std::string what = detail::describe(m, path);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  shape_rules::Inferred r = rule(input.sizes(), factor);
  if (!r.ok()) detail::fail(loc, what + ": " + r.error + " ('" + input.name() + "')");
  return detail::record_module(trace, path, {input}, r.shape, input.dtype(), loc);
}

Tensor rearrange_function(const char* function, const char* option, const Tensor& input, Rule rule,
                          int64_t factor, SourceLoc loc) {
  std::string what = std::string(function) + "()";
  auto& trace = detail::Trace::active(what, loc);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  shape_rules::Inferred r = rule(input.sizes(), factor);
  if (!r.ok()) detail::fail(loc, what + ": " + r.error);
  return detail::record_function(trace, function, {{option, factor}}, {input}, r.shape, input.dtype(), loc);
}

OptionValue optional_ints(const std::optional<std::vector<int64_t>>& v) {
  if (v) return *v;
  return nullptr;
}
OptionValue optional_floats(const std::optional<std::vector<double>>& v) {
  if (v) return *v;
  return nullptr;
}
OptionValue optional_bool(const std::optional<bool>& v) {
  if (v) return *v;
  return nullptr;
}

/// The output shape F.interpolate gives `input` (ir/VisionShapeRules.h).
Shape upsample_shape(const Shape& input, const std::optional<std::vector<int64_t>>& size,
                     const std::optional<std::vector<double>>& scale, const std::string& mode,
                     bool align_corners_given, bool recompute, const std::string& what, SourceLoc loc) {
  shape_rules::UpsampleArgs a;
  a.mode = mode;
  a.sizeGiven = a.sizeIsList = size.has_value();
  if (size) a.size = *size;
  a.scaleGiven = a.scaleIsList = scale.has_value();
  if (scale) a.scale = *scale;
  a.alignCornersGiven = align_corners_given;
  a.recomputeScaleFactor = recompute;
  shape_rules::UpsamplePlan plan = shape_rules::upsample(input, a);
  if (!plan.ok()) detail::fail(loc, what + ": " + plan.error);
  return plan.output;
}

void check_mode(const std::string& layer, const std::string& mode) {
  for (const char* m : {"nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact"})
    if (mode == m) return;
  detail::fail(layer + "(mode='" + mode +
               "'): mode must be one of nearest, linear, bilinear, bicubic, trilinear, area, nearest-exact");
}

/// Records a call of an upsampling module whose result shape `shape` gives.
Tensor record_upsample(const Module& m, const Tensor& input, const std::function<Shape(const std::string&)>& shape,
                       SourceLoc loc) {
  auto& trace = detail::Trace::active(m.type_name(), loc);
  const std::string& path = trace.path_of(m, loc);
  std::string what = detail::describe(m, path);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  return detail::record_module(trace, path, {input}, shape(what), input.dtype(), loc);
}

}  // namespace

UpsampleImpl::UpsampleImpl(const UpsampleOptions& options) : Module("Upsample"), options_(options) {
  check_mode("Upsample", options.mode());
}
Tensor UpsampleImpl::forward(const Tensor& input, SourceLoc loc) {
  return record_upsample(
      *this, input,
      [&](const std::string& what) {
        return upsample_shape(input.sizes(), options_.size(), options_.scale_factor(), options_.mode(),
                              options_.align_corners().has_value(),
                              options_.recompute_scale_factor().value_or(false), what, loc);
      },
      loc);
}
std::optional<OptionList> UpsampleImpl::layer_options() const {
  return OptionList{{"size", optional_ints(options_.size())},
                    {"scale_factor", optional_floats(options_.scale_factor())},
                    {"mode", options_.mode()},
                    {"align_corners", optional_bool(options_.align_corners())},
                    {"recompute_scale_factor", optional_bool(options_.recompute_scale_factor())}};
}

UpsamplingNearest2dImpl::UpsamplingNearest2dImpl(const UpsamplingOptions& options)
    : Module("UpsamplingNearest2d"), options_(options) {}
Tensor UpsamplingNearest2dImpl::forward(const Tensor& input, SourceLoc loc) {
  return record_upsample(
      *this, input,
      [&](const std::string& what) {
        return upsample_shape(input.sizes(), options_.size(), options_.scale_factor(), "nearest", false, false,
                              what, loc);
      },
      loc);
}
std::optional<OptionList> UpsamplingNearest2dImpl::layer_options() const {
  return OptionList{{"size", optional_ints(options_.size())},
                    {"scale_factor", optional_floats(options_.scale_factor())}};
}

UpsamplingBilinear2dImpl::UpsamplingBilinear2dImpl(const UpsamplingOptions& options)
    : Module("UpsamplingBilinear2d"), options_(options) {}
Tensor UpsamplingBilinear2dImpl::forward(const Tensor& input, SourceLoc loc) {
  return record_upsample(
      *this, input,
      [&](const std::string& what) {
        return upsample_shape(input.sizes(), options_.size(), options_.scale_factor(), "bilinear", true, false,
                              what, loc);
      },
      loc);
}
std::optional<OptionList> UpsamplingBilinear2dImpl::layer_options() const {
  return OptionList{{"size", optional_ints(options_.size())},
                    {"scale_factor", optional_floats(options_.scale_factor())}};
}

PixelShuffleImpl::PixelShuffleImpl(const PixelShuffleOptions& options) : Module("PixelShuffle"), options_(options) {
  check_positive("PixelShuffle", "upscale_factor", options.upscale_factor());
}
Tensor PixelShuffleImpl::forward(const Tensor& input, SourceLoc loc) {
  return rearrange(*this, input, shape_rules::pixelShuffle, options_.upscale_factor(), loc);
}
std::optional<OptionList> PixelShuffleImpl::layer_options() const {
  return OptionList{{"upscale_factor", options_.upscale_factor()}};
}

PixelUnshuffleImpl::PixelUnshuffleImpl(const PixelUnshuffleOptions& options)
    : Module("PixelUnshuffle"), options_(options) {
  check_positive("PixelUnshuffle", "downscale_factor", options.downscale_factor());
}
Tensor PixelUnshuffleImpl::forward(const Tensor& input, SourceLoc loc) {
  return rearrange(*this, input, shape_rules::pixelUnshuffle, options_.downscale_factor(), loc);
}
std::optional<OptionList> PixelUnshuffleImpl::layer_options() const {
  return OptionList{{"downscale_factor", options_.downscale_factor()}};
}

ChannelShuffleImpl::ChannelShuffleImpl(const ChannelShuffleOptions& options)
    : Module("ChannelShuffle"), options_(options) {
  check_positive("ChannelShuffle", "groups", options.groups());
}
Tensor ChannelShuffleImpl::forward(const Tensor& input, SourceLoc loc) {
  return rearrange(*this, input, shape_rules::channelShuffle, options_.groups(), loc);
}
std::optional<OptionList> ChannelShuffleImpl::layer_options() const {
  return OptionList{{"groups", options_.groups()}};
}

namespace functional {
Tensor interpolate(const Tensor& input, const InterpolateFuncOptions& options, SourceLoc loc) {
  auto& trace = detail::Trace::active("interpolate()", loc);
  trace.check_value(input, "interpolate()", loc);
  detail::require_float32(input, "interpolate()", loc);
  check_mode("interpolate", options.mode());
  if (options.antialias() && options.mode() != "bilinear" && options.mode() != "bicubic")
    detail::fail(loc, "interpolate(): Anti-alias option is only supported for bilinear and bicubic modes");
  Shape shape = upsample_shape(input.sizes(), options.size(), options.scale_factor(), options.mode(),
                               options.align_corners().has_value(),
                               options.recompute_scale_factor().value_or(false), "interpolate()", loc);
  OptionList list{{"size", optional_ints(options.size())},
                  {"scale_factor", optional_floats(options.scale_factor())},
                  {"mode", options.mode()},
                  {"align_corners", optional_bool(options.align_corners())},
                  {"recompute_scale_factor", optional_bool(options.recompute_scale_factor())},
                  {"antialias", options.antialias()}};
  return detail::record_function(trace, "interpolate", std::move(list), {input}, std::move(shape), input.dtype(),
                                 loc);
}

Tensor pixel_shuffle(const Tensor& input, int64_t upscale_factor, SourceLoc loc) {
  return rearrange_function("pixel_shuffle", "upscale_factor", input, shape_rules::pixelShuffle, upscale_factor,
                            loc);
}
Tensor pixel_unshuffle(const Tensor& input, int64_t downscale_factor, SourceLoc loc) {
  return rearrange_function("pixel_unshuffle", "downscale_factor", input, shape_rules::pixelUnshuffle,
                            downscale_factor, loc);
}
Tensor channel_shuffle(const Tensor& input, int64_t groups, SourceLoc loc) {
  return rearrange_function("channel_shuffle", "groups", input, shape_rules::channelShuffle, groups, loc);
}
}  // namespace functional

}  // namespace kiln::nn
