// The convolution family of the DSL (kiln/nn/conv.h): the constructor
// checks of torch's _ConvNd, and the shape rule shared with nn.conv
// (ir/ShapeRules.h), so the DSL and kilnc reject the same models.
#include "kiln/nn/conv.h"

#include <tuple>

#include "ir/ShapeRules.h"
#include "shapes.h"

namespace kiln::nn {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

std::string list(const std::vector<int64_t>& values) { return shape_rules::str(values); }

}  // namespace

template <size_t D>
ConvNdImpl<D>::ConvNdImpl(const ConvOptions<D>& options, bool lazy)
    : Module((lazy ? "LazyConv" : "Conv") + std::to_string(D) + "d"), options_(options), lazy_(lazy) {
  if (lazy_) options_.in_channels(0);
  std::string what = type_name() + "(" + (lazy_ ? std::string() : str(options.in_channels()) + ", ") +
                     str(options.out_channels()) + ", kernel_size=" + list(options.kernel_size().vec()) + ")";
  auto check = [&](const char* name, const std::vector<int64_t>& v, int64_t min) {
    if (v.size() != D)
      detail::fail(what + ": " + name + " needs 1 or " + str(D) + " values, got " + list(v));
    for (int64_t x : v)
      if (x < min) detail::fail(what + ": " + name + " must be >= " + str(min) + ", got " + list(v));
  };
  if ((!lazy_ && options.in_channels() < 1) || options.out_channels() < 1)
    detail::fail(what + ": in_channels and out_channels must be >= 1");
  check("kernel_size", options.kernel_size().vec(), 1);
  check("stride", options.stride().vec(), 1);
  check("dilation", options.dilation().vec(), 1);
  if (options.padding().mode().empty()) check("padding", options.padding().ints(), 0);
  if (options.groups() < 1) detail::fail(what + ": groups must be >= 1, got " + str(options.groups()));
  if (!lazy_ && options.in_channels() % options.groups() != 0)
    detail::fail(what + ": in_channels must be divisible by groups " + str(options.groups()));
  if (options.out_channels() % options.groups() != 0)
    detail::fail(what + ": out_channels must be divisible by groups " + str(options.groups()));
  if (options.padding().mode() == "same")
    for (int64_t s : options.stride().vec())
      if (s != 1) detail::fail(what + ": padding='same' is not supported for strided convolutions");
  if (!lazy_) declare_parameters();
}

template <size_t D>
void ConvNdImpl<D>::declare_parameters() {
  Shape weight{options_.out_channels(), options_.in_channels() / options_.groups()};
  for (int64_t k : options_.kernel_size().vec()) weight.push_back(k);
  register_parameter("weight", weight, Init::KaimingUniform);
  if (options_.bias()) register_parameter("bias", {options_.out_channels()}, Init::FanInUniform);
}

template <size_t D>
Tensor ConvNdImpl<D>::forward(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active(type_name(), loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  Shape in = input.sizes();
  if (in.size() != D + 1 && in.size() != D + 2)
    detail::fail(loc, what + " expected a " + str(D + 1) + "-D (unbatched) or " + str(D + 2) +
                          "-D (batched) input, got " + shape_rules::str(in) + " ('" + input.name() + "')");
  bool unbatched = in.size() == D + 1;
  if (unbatched) in.insert(in.begin(), 1);
  if (lazy_ && options_.in_channels() == 0) {
    // The first call fixes in_channels (torch's initialize_parameters).
    if (in[1] % options_.groups() != 0)
      detail::fail(loc, what + " input " + shape_rules::str(input.sizes()) + " has " + str(in[1]) +
                            " channels, not divisible by groups " + str(options_.groups()) + " ('" +
                            input.name() + "')");
    options_.in_channels(in[1]);
    declare_parameters();
  }
  shape_rules::ConvGeometry g;
  g.stride = options_.stride().vec();
  g.dilation = options_.dilation().vec();
  g.groups = options_.groups();
  for (size_t i = 0; i < D; ++i) {
    int64_t lo = 0, hi = 0;
    if (options_.padding().mode() == "same") {
      std::tie(lo, hi) = shape_rules::convSamePadding(options_.kernel_size().vec()[i], g.dilation[i]);
    } else if (options_.padding().mode().empty()) {
      lo = hi = options_.padding().ints()[i];
    }
    g.padLow.push_back(lo);
    g.padHigh.push_back(hi);
  }
  shape_rules::Inferred padded = shape_rules::padSpatial(in, g.padLow, g.padHigh, options_.padding_mode().name());
  if (!padded.ok()) detail::fail(loc, what + " " + padded.error + " ('" + input.name() + "')");
  Shape weight = own_parameters().front().second.shape;
  shape_rules::Inferred r = shape_rules::conv(in, weight, g);
  if (!r.ok()) detail::fail(loc, what + " " + r.error + " ('" + input.name() + "')");
  Shape shape = r.shape;
  if (unbatched) shape.erase(shape.begin());
  return detail::record_module(trace, path, {input}, std::move(shape), Dtype::Float32, loc);
}

template <size_t D>
std::optional<OptionList> ConvNdImpl<D>::layer_options() const {
  OptionValue padding = options_.padding().ints();
  if (!options_.padding().mode().empty()) padding = options_.padding().mode();
  return OptionList{{"in_channels", options_.in_channels()},
                    {"out_channels", options_.out_channels()},
                    {"kernel_size", options_.kernel_size().vec()},
                    {"stride", options_.stride().vec()},
                    {"padding", padding},
                    {"dilation", options_.dilation().vec()},
                    {"groups", options_.groups()},
                    {"bias", options_.bias()},
                    {"padding_mode", options_.padding_mode().name()}};
}

template class ConvNdImpl<1>;
template class ConvNdImpl<2>;
template class ConvNdImpl<3>;

namespace functional {
namespace {

/// F.conv{D}d(input, weight, bias, stride, padding, dilation, groups): the
/// graph function conv{D}d with the weight and the bias as its second and
/// third inputs; the shape rule of ir/ShapeRules.h, as the module's.
template <size_t D>
Tensor conv_function(const Tensor& input, const Tensor& weight, const ConvFuncOptions<D>& o, SourceLoc loc) {
  std::string name = "conv" + std::to_string(D) + "d";
  std::string what = name + "()";
  auto& trace = detail::Trace::active(what, loc);
  std::vector<Tensor> inputs{input, weight};
  if (o.bias()) inputs.push_back(*o.bias());
  for (const Tensor& t : inputs) {
    trace.check_value(t, what, loc);
    detail::require_float32(t, what, loc);
  }
  Shape in = input.sizes(), w = weight.sizes();
  if (in.size() != D + 1 && in.size() != D + 2)
    detail::fail(loc, what + " expected a " + str(D + 1) + "-D (unbatched) or " + str(D + 2) +
                          "-D (batched) input, got " + shape_rules::str(in) + " ('" + input.name() + "')");
  if (w.size() != D + 2)
    detail::fail(loc, what + " expected a " + str(D + 2) + "-D weight [out_channels, in_channels / groups, *kernel], got " +
                          shape_rules::str(w) + " ('" + weight.name() + "')");
  bool unbatched = in.size() == D + 1;
  if (unbatched) in.insert(in.begin(), 1);
  shape_rules::ConvGeometry g;
  g.stride = o.stride().vec();
  g.dilation = o.dilation().vec();
  g.groups = o.groups();
  for (size_t i = 0; i < D; ++i) {
    int64_t lo = 0, hi = 0;
    if (o.padding().mode() == "same") {
      if (g.stride[i] != 1) detail::fail(loc, what + " padding='same' is not supported for strided convolutions");
      std::tie(lo, hi) = shape_rules::convSamePadding(w[i + 2], g.dilation[i]);
    } else if (o.padding().mode().empty()) {
      lo = hi = o.padding().ints()[i];
    }
    g.padLow.push_back(lo);
    g.padHigh.push_back(hi);
  }
  shape_rules::Inferred r = shape_rules::conv(in, w, g);
  if (!r.ok()) detail::fail(loc, what + " " + r.error + " ('" + input.name() + "')");
  if (o.bias() && o.bias()->sizes() != Shape{w[0]})
    detail::fail(loc, what + " bias must be [" + str(w[0]) + "], got " + shape_rules::str(o.bias()->sizes()));
  Shape shape = r.shape;
  if (unbatched) shape.erase(shape.begin());
  OptionValue padding = o.padding().ints();
  if (!o.padding().mode().empty()) padding = o.padding().mode();
  return detail::record_function(trace, name,
                                 {{"stride", o.stride().vec()},
                                  {"padding", padding},
                                  {"dilation", o.dilation().vec()},
                                  {"groups", o.groups()}},
                                 inputs, std::move(shape), Dtype::Float32, loc);
}

}  // namespace

Tensor conv1d(const Tensor& input, const Tensor& weight, const Conv1dFuncOptions& options, SourceLoc loc) {
  return conv_function<1>(input, weight, options, loc);
}
Tensor conv2d(const Tensor& input, const Tensor& weight, const Conv2dFuncOptions& options, SourceLoc loc) {
  return conv_function<2>(input, weight, options, loc);
}
Tensor conv3d(const Tensor& input, const Tensor& weight, const Conv3dFuncOptions& options, SourceLoc loc) {
  return conv_function<3>(input, weight, options, loc);
}

}  // namespace functional

}  // namespace kiln::nn
