// The transposed convolutions of the DSL (kiln/nn/conv_transpose.h): torch's
// constructor and forward checks, the output size rule of
// frontend/import/ConvTranspose.cpp, so the DSL and kilnc reject the same
// models.
#include "kiln/nn/conv_transpose.h"

#include "ir/ShapeRules.h"
#include "shapes.h"

namespace kiln::nn {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

std::string list(const std::vector<int64_t>& values) { return shape_rules::str(values); }

}  // namespace

template <size_t D>
ConvTransposeNdImpl<D>::ConvTransposeNdImpl(const ConvTransposeOptions<D>& options, bool lazy)
    : Module((lazy ? "LazyConvTranspose" : "ConvTranspose") + std::to_string(D) + "d"),
      options_(options),
      lazy_(lazy) {
  if (lazy_) options_.in_channels(0);
  std::string what = type_name() + "(" + (lazy_ ? std::string() : str(options.in_channels()) + ", ") +
                     str(options.out_channels()) + ", kernel_size=" + list(options.kernel_size().vec()) + ")";
  auto check = [&](const char* name, const std::vector<int64_t>& v, int64_t min) {
    if (v.size() != D) detail::fail(what + ": " + name + " needs 1 or " + str(D) + " values, got " + list(v));
    for (int64_t x : v)
      if (x < min) detail::fail(what + ": " + name + " must be >= " + str(min) + ", got " + list(v));
  };
  if ((!lazy_ && options.in_channels() < 1) || options.out_channels() < 1)
    detail::fail(what + ": in_channels and out_channels must be >= 1");
  check("kernel_size", options.kernel_size().vec(), 1);
  check("stride", options.stride().vec(), 1);
  check("dilation", options.dilation().vec(), 1);
  check("padding", options.padding().vec(), 0);
  check("output_padding", options.output_padding().vec(), 0);
  if (options.groups() < 1) detail::fail(what + ": groups must be >= 1, got " + str(options.groups()));
  if (!lazy_ && options.in_channels() % options.groups() != 0)
    detail::fail(what + ": in_channels must be divisible by groups " + str(options.groups()));
  if (options.out_channels() % options.groups() != 0)
    detail::fail(what + ": out_channels must be divisible by groups " + str(options.groups()));
  if (options.padding_mode().name() != "zeros")
    detail::fail(what + ": only padding_mode zeros is supported for transposed convolutions (as torch)");
  for (size_t i = 0; i < D; ++i) {
    int64_t op = options.output_padding().vec()[i];
    if (op >= options.stride().vec()[i] && op >= options.dilation().vec()[i])
      detail::fail(what + ": output padding must be smaller than either stride or dilation, got output_padding " +
                   list(options.output_padding().vec()));
  }
  if (!lazy_) declare_parameters();
}

template <size_t D>
void ConvTransposeNdImpl<D>::declare_parameters() {
  Shape weight{options_.in_channels(), options_.out_channels() / options_.groups()};
  for (int64_t k : options_.kernel_size().vec()) weight.push_back(k);
  register_parameter("weight", weight, Init::KaimingUniform);
  if (options_.bias()) register_parameter("bias", {options_.out_channels()}, Init::FanInUniform);
}

template <size_t D>
Tensor ConvTransposeNdImpl<D>::forward(const Tensor& input, SourceLoc loc) {
  return forward_impl(input, options_.output_padding().vec(), loc);
}

/// torch's ConvTranspose{D}d._output_padding: output_size (D values, or with
/// the input's leading batch / channel dimensions) gives
/// output_padding = output_size - min_size per dimension, with
/// min_size = (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + 1
/// and output_size in [min_size, min_size + stride - 1].
template <size_t D>
Tensor ConvTransposeNdImpl<D>::forward(const Tensor& input, std::vector<int64_t> output_size, SourceLoc loc) {
  const Shape& in = input.sizes();
  std::string what = type_name() + ".forward(output_size=" + list(output_size) + ")";
  if (in.size() != D + 1 && in.size() != D + 2)
    detail::fail(loc, what + " expected a " + str(D + 1) + "-D (unbatched) or " + str(D + 2) +
                          "-D (batched) input, got " + shape_rules::str(in) + " ('" + input.name() + "')");
  size_t lead = in.size() - D;
  if (output_size.size() == lead + D) output_size.erase(output_size.begin(), output_size.begin() + lead);
  if (output_size.size() != D)
    detail::fail(loc, what + ": output_size must have " + str(D) + " or " + str(D + lead) + " elements");
  std::vector<int64_t> padding;
  for (size_t d = 0; d < D; ++d) {
    int64_t stride = options_.stride().vec()[d];
    int64_t min = (in[lead + d] - 1) * stride - 2 * options_.padding().vec()[d] +
                  options_.dilation().vec()[d] * (options_.kernel_size().vec()[d] - 1) + 1;
    if (output_size[d] < min || output_size[d] > min + stride - 1)
      detail::fail(loc, what + ": requested an output size of " + list(output_size) + ", but valid sizes for " +
                            "dimension " + str(d) + " range from " + str(min) + " to " + str(min + stride - 1) +
                            " (for an input of " + shape_rules::str(in) + ")");
    padding.push_back(output_size[d] - min);
  }
  return forward_impl(input, padding, loc);
}

template <size_t D>
Tensor ConvTransposeNdImpl<D>::forward_impl(const Tensor& input, const std::vector<int64_t>& output_padding,
                                            SourceLoc loc) {
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
  size_t channel = unbatched ? 0 : 1;
  if (lazy_ && options_.in_channels() == 0) {
    // The first call fixes in_channels (torch's initialize_parameters).
    if (in[channel] % options_.groups() != 0)
      detail::fail(loc, what + " input " + shape_rules::str(in) + " has " + str(in[channel]) +
                            " channels, not divisible by groups " + str(options_.groups()) + " ('" +
                            input.name() + "')");
    options_.in_channels(in[channel]);
    declare_parameters();
  }
  if (in[channel] != options_.in_channels())
    detail::fail(loc, what + " expected " + str(options_.in_channels()) + " input channels, got input of shape " +
                          shape_rules::str(in) + " ('" + input.name() + "')");
  // The model file records one output_padding per layer: every call must
  // use the same (the options', or what an output_size argument gives).
  if (call_padding_ && *call_padding_ != output_padding)
    detail::fail(loc, what + " is called with output_padding " + list(output_padding) + " after " +
                          list(*call_padding_) + " (forward's output_size picks it); the model file records one "
                          "per layer: use two modules");
  call_padding_ = output_padding;
  Shape shape(in.begin(), in.begin() + channel);
  shape.push_back(options_.out_channels());
  for (size_t i = 0; i < D; ++i) {
    int64_t size = (in[channel + 1 + i] - 1) * options_.stride().vec()[i] - 2 * options_.padding().vec()[i] +
                   options_.dilation().vec()[i] * (options_.kernel_size().vec()[i] - 1) +
                   output_padding[i] + 1;
    if (size < 1)
      detail::fail(loc, what + " output size " + str(size) + " of spatial dimension " + str(i) +
                            " is too small for input " + shape_rules::str(in) + " ('" + input.name() + "')");
    shape.push_back(size);
  }
  return detail::record_module(trace, path, {input}, std::move(shape), Dtype::Float32, loc);
}

template <size_t D>
std::optional<OptionList> ConvTransposeNdImpl<D>::layer_options() const {
  return OptionList{{"in_channels", options_.in_channels()},
                    {"out_channels", options_.out_channels()},
                    {"kernel_size", options_.kernel_size().vec()},
                    {"stride", options_.stride().vec()},
                    {"padding", options_.padding().vec()},
                    {"output_padding", call_padding_.value_or(options_.output_padding().vec())},
                    {"groups", options_.groups()},
                    {"bias", options_.bias()},
                    {"dilation", options_.dilation().vec()},
                    {"padding_mode", options_.padding_mode().name()}};
}

template class ConvTransposeNdImpl<1>;
template class ConvTransposeNdImpl<2>;
template class ConvTransposeNdImpl<3>;

}  // namespace kiln::nn
