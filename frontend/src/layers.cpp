#include "kiln/nn/activation.h"
#include "kiln/nn/flatten.h"
#include "kiln/nn/linear.h"
#include "ir/ShapeRules.h"
#include "ir/VisionShapeRules.h"
#include "shapes.h"

namespace kiln::nn {

LinearImpl::LinearImpl(const LinearOptions& options) : Module("Linear"), options_(options) {
  if (options.in_features() < 1 || options.out_features() < 1) {
    detail::fail("Linear(in_features=" + std::to_string(options.in_features()) +
                 ", out_features=" + std::to_string(options.out_features()) +
                 "): in_features and out_features must be >= 1");
  }
  weight = register_parameter("weight", {options.out_features(), options.in_features()}, Init::KaimingUniform);
  if (options.bias()) bias = register_parameter("bias", {options.out_features()}, Init::FanInUniform);
}

Tensor LinearImpl::forward(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active("Linear", loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  shape_rules::Inferred r =
      shape_rules::linear(input.sizes(), options_.in_features(), options_.out_features());
  if (!r.ok()) detail::fail(loc, what + " " + r.error + " ('" + input.name() + "')");
  Shape shape = r.shape;
  return detail::record_module(trace, path, {input}, std::move(shape), Dtype::Float32, loc);
}

std::optional<OptionList> LinearImpl::layer_options() const {
  return OptionList{{"in_features", options_.in_features()},
                    {"out_features", options_.out_features()},
                    {"bias", options_.bias()}};
}

using detail::elementwise_module;

ReLUImpl::ReLUImpl() : Module("ReLU") {}

Tensor ReLUImpl::forward(const Tensor& input, SourceLoc loc) { return elementwise_module(*this, input, loc); }

std::optional<OptionList> ReLUImpl::layer_options() const { return OptionList{}; }

TanhImpl::TanhImpl() : Module("Tanh") {}
Tensor TanhImpl::forward(const Tensor& input, SourceLoc loc) { return elementwise_module(*this, input, loc); }
std::optional<OptionList> TanhImpl::layer_options() const { return OptionList{}; }

SigmoidImpl::SigmoidImpl() : Module("Sigmoid") {}
Tensor SigmoidImpl::forward(const Tensor& input, SourceLoc loc) { return elementwise_module(*this, input, loc); }
std::optional<OptionList> SigmoidImpl::layer_options() const { return OptionList{}; }

SiLUImpl::SiLUImpl() : Module("SiLU") {}
Tensor SiLUImpl::forward(const Tensor& input, SourceLoc loc) { return elementwise_module(*this, input, loc); }
std::optional<OptionList> SiLUImpl::layer_options() const { return OptionList{}; }

GELUImpl::GELUImpl(const GELUOptions& options) : Module("GELU"), options_(options) {
  if (options.approximate() != "none" && options.approximate() != "tanh") {
    detail::fail("GELU(approximate='" + options.approximate() + "'): approximate must be 'none' or 'tanh'");
  }
}
Tensor GELUImpl::forward(const Tensor& input, SourceLoc loc) { return elementwise_module(*this, input, loc); }
std::optional<OptionList> GELUImpl::layer_options() const {
  return OptionList{{"approximate", options_.approximate()}};
}

FlattenImpl::FlattenImpl(const FlattenOptions& options) : Module("Flatten"), options_(options) {}

Tensor FlattenImpl::forward(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active("Flatten", loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  Shape shape = detail::flatten_shape(input.sizes(), options_.start_dim(), options_.end_dim(), what, loc);
  return detail::record_module(trace, path, {input}, std::move(shape), input.dtype(), loc);
}

std::optional<OptionList> FlattenImpl::layer_options() const {
  return OptionList{{"start_dim", options_.start_dim()}, {"end_dim", options_.end_dim()}};
}

UnflattenImpl::UnflattenImpl(const UnflattenOptions& options) : Module("Unflatten"), options_(options) {}

Tensor UnflattenImpl::forward(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active("Unflatten", loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  shape_rules::Inferred r = shape_rules::unflatten(input.sizes(), options_.dim(), options_.sizes());
  if (!r.ok()) detail::fail(loc, what + ": " + r.error + " ('" + input.name() + "')");
  return detail::record_module(trace, path, {input}, r.shape, input.dtype(), loc);
}

std::optional<OptionList> UnflattenImpl::layer_options() const {
  return OptionList{{"dim", options_.dim()}, {"unflattened_size", options_.sizes()}};
}

namespace functional {
Tensor unflatten(const Tensor& input, int64_t dim, std::vector<int64_t> sizes, SourceLoc loc) {
  auto& trace = detail::Trace::active("unflatten()", loc);
  trace.check_value(input, "unflatten()", loc);
  detail::require_float32(input, "unflatten()", loc);
  shape_rules::Inferred r = shape_rules::unflatten(input.sizes(), dim, sizes);
  if (!r.ok()) detail::fail(loc, "unflatten(): " + r.error);
  return detail::record_function(trace, "unflatten", {{"dim", dim}, {"sizes", sizes}}, {input}, r.shape,
                                 input.dtype(), loc);
}
}  // namespace functional

}  // namespace kiln::nn
