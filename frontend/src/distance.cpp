// The distance family and the two-input linear layers of the DSL
// (kiln/nn/distance.h, Bilinear and LazyLinear of kiln/nn/linear.h); shape
// rules shared with the compiler (ir/TwoInputShapeRules.h).
#include "kiln/nn/distance.h"

#include <cmath>
#include <functional>

#include "ir/FormatNumber.h"
#include "ir/TwoInputShapeRules.h"
#include "kiln/nn/linear.h"
#include "shapes.h"

namespace kiln::nn {
namespace {

/// Records a call of the two-input layer `m` with result shape `shape`
/// (or the rule's error).
Tensor record_pair(const Module& m, const Tensor& a, const Tensor& b,
                   const std::function<shape_rules::Inferred(const Shape&, const Shape&)>& rule, SourceLoc loc) {
  auto& trace = detail::Trace::active(m.type_name(), loc);
  const std::string& path = trace.path_of(m, loc);
  std::string what = detail::describe(m, path);
  for (const Tensor* t : {&a, &b}) {
    trace.check_value(*t, what, loc);
    detail::require_float32(*t, what, loc);
  }
  shape_rules::Inferred r = rule(a.sizes(), b.sizes());
  if (!r.ok()) detail::fail(loc, what + ": " + r.error + " ('" + a.name() + "', '" + b.name() + "')");
  return detail::record_module(trace, path, {a, b}, r.shape, Dtype::Float32, loc);
}

Tensor record_pair_function(const char* function, OptionList options, const std::vector<Tensor>& inputs,
                            const shape_rules::Inferred& r, SourceLoc loc) {
  std::string what = std::string(function) + "()";
  auto& trace = detail::Trace::active(what, loc);
  for (const Tensor& t : inputs) {
    trace.check_value(t, what, loc);
    detail::require_float32(t, what, loc);
  }
  if (!r.ok()) detail::fail(loc, what + ": " + r.error);
  return detail::record_function(trace, function, std::move(options), inputs, r.shape, Dtype::Float32, loc);
}

void check_p(double p) {
  if (std::isnan(p)) detail::fail("PairwiseDistance(p=nan): p must be a number or +-infinity");
}

/// p as the model file writes it: a number, or "inf" / "-inf" (JSON has no
/// infinity).
OptionValue p_value(double p) {
  if (std::isinf(p)) return std::string(p > 0 ? "inf" : "-inf");
  return p;
}

}  // namespace

CosineSimilarityImpl::CosineSimilarityImpl(const CosineSimilarityOptions& options)
    : Module("CosineSimilarity"), options_(options) {}
Tensor CosineSimilarityImpl::forward(const Tensor& x1, const Tensor& x2, SourceLoc loc) {
  int64_t dim = options_.dim();
  return record_pair(
      *this, x1, x2, [dim](const Shape& a, const Shape& b) { return shape_rules::cosineSimilarity(a, b, dim); },
      loc);
}
std::optional<OptionList> CosineSimilarityImpl::layer_options() const {
  return OptionList{{"dim", options_.dim()}, {"eps", options_.eps()}};
}

PairwiseDistanceImpl::PairwiseDistanceImpl(const PairwiseDistanceOptions& options)
    : Module("PairwiseDistance"), options_(options) {
  check_p(options.p());
}
Tensor PairwiseDistanceImpl::forward(const Tensor& x1, const Tensor& x2, SourceLoc loc) {
  bool keepdim = options_.keepdim();
  return record_pair(
      *this, x1, x2,
      [keepdim](const Shape& a, const Shape& b) { return shape_rules::pairwiseDistance(a, b, keepdim); }, loc);
}
std::optional<OptionList> PairwiseDistanceImpl::layer_options() const {
  return OptionList{{"p", p_value(options_.p())}, {"eps", options_.eps()}, {"keepdim", options_.keepdim()}};
}

BilinearImpl::BilinearImpl(const BilinearOptions& options) : Module("Bilinear"), options_(options) {
  if (options.in1_features() < 1 || options.in2_features() < 1 || options.out_features() < 1)
    detail::fail("Bilinear(" + std::to_string(options.in1_features()) + ", " +
                 std::to_string(options.in2_features()) + ", " + std::to_string(options.out_features()) +
                 "): in1_features, in2_features and out_features must be >= 1");
  register_parameter("weight", {options.out_features(), options.in1_features(), options.in2_features()},
                     Init::KaimingUniform);
  if (options.bias()) register_parameter("bias", {options.out_features()}, Init::FanInUniform);
}
Tensor BilinearImpl::forward(const Tensor& input1, const Tensor& input2, SourceLoc loc) {
  Shape weight{options_.out_features(), options_.in1_features(), options_.in2_features()};
  return record_pair(
      *this, input1, input2,
      [&weight](const Shape& a, const Shape& b) { return shape_rules::bilinear(a, b, weight); }, loc);
}
std::optional<OptionList> BilinearImpl::layer_options() const {
  return OptionList{{"in1_features", options_.in1_features()},
                    {"in2_features", options_.in2_features()},
                    {"out_features", options_.out_features()},
                    {"bias", options_.bias()}};
}

LazyLinearImpl::LazyLinearImpl(const LazyLinearOptions& options) : Module("LazyLinear"), options_(options) {
  if (options.out_features() < 1)
    detail::fail("LazyLinear(" + std::to_string(options.out_features()) + "): out_features must be >= 1");
}
Tensor LazyLinearImpl::forward(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active("LazyLinear", loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  if (in_features_ == 0) {
    // The first call fixes in_features (torch's initialize_parameters).
    if (input.dim() < 1 || input.sizes().back() < 1)
      detail::fail(loc, what + ": expected an input [*, in_features] with in_features >= 1, got " +
                            shape_rules::str(input.sizes()) + " ('" + input.name() + "')");
    in_features_ = input.sizes().back();
    register_parameter("weight", {options_.out_features(), in_features_}, Init::KaimingUniform);
    if (options_.bias()) register_parameter("bias", {options_.out_features()}, Init::FanInUniform);
  }
  shape_rules::Inferred r = shape_rules::linear(input.sizes(), in_features_, options_.out_features());
  if (!r.ok()) detail::fail(loc, what + " " + r.error + " ('" + input.name() + "')");
  return detail::record_module(trace, path, {input}, r.shape, Dtype::Float32, loc);
}
std::optional<OptionList> LazyLinearImpl::layer_options() const {
  return OptionList{{"in_features", in_features_},
                    {"out_features", options_.out_features()},
                    {"bias", options_.bias()}};
}

namespace functional {
Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int64_t dim, double eps, SourceLoc loc) {
  return record_pair_function("cosine_similarity", {{"dim", dim}, {"eps", eps}}, {x1, x2},
                              shape_rules::cosineSimilarity(x1.sizes(), x2.sizes(), dim), loc);
}
Tensor pairwise_distance(const Tensor& x1, const Tensor& x2, double p, double eps, bool keepdim, SourceLoc loc) {
  check_p(p);
  return record_pair_function("pairwise_distance", {{"p", p_value(p)}, {"eps", eps}, {"keepdim", keepdim}}, {x1, x2},
                              shape_rules::pairwiseDistance(x1.sizes(), x2.sizes(), keepdim), loc);
}
Tensor bilinear(const Tensor& input1, const Tensor& input2, const Tensor& weight, SourceLoc loc) {
  return record_pair_function("bilinear", {}, {input1, input2, weight},
                              shape_rules::bilinear(input1.sizes(), input2.sizes(), weight.sizes()), loc);
}
Tensor bilinear(const Tensor& input1, const Tensor& input2, const Tensor& weight, const Tensor& bias,
                SourceLoc loc) {
  shape_rules::Inferred shape = shape_rules::bilinear(input1.sizes(), input2.sizes(), weight.sizes());
  if (shape.ok() && (bias.sizes().size() != 1 || bias.sizes()[0] != weight.sizes()[0]))
    shape = shape_rules::failure("bias " + shape_rules::str(bias.sizes()) + " must be [out_features] = [" +
                                 std::to_string(weight.sizes()[0]) + "]");
  return record_pair_function("bilinear", {}, {input1, input2, weight, bias}, shape, loc);
}

namespace {
shape_rules::Inferred linear_shape(const Tensor& input, const Tensor& weight, const Tensor* bias) {
  const Shape& w = weight.sizes();
  if (w.size() != 2) return shape_rules::failure("weight " + shape_rules::str(w) + " must be [out_features, in_features]");
  if (bias && (bias->sizes().size() != 1 || bias->sizes()[0] != w[0]))
    return shape_rules::failure("bias " + shape_rules::str(bias->sizes()) + " must be [out_features] = [" +
                                std::to_string(w[0]) + "]");
  return shape_rules::linear(input.sizes(), w[1], w[0]);
}
}  // namespace

Tensor linear(const Tensor& input, const Tensor& weight, SourceLoc loc) {
  return record_pair_function("linear", {}, {input, weight}, linear_shape(input, weight, nullptr), loc);
}
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias, SourceLoc loc) {
  return record_pair_function("linear", {}, {input, weight, bias}, linear_shape(input, weight, &bias), loc);
}
}  // namespace functional

}  // namespace kiln::nn
