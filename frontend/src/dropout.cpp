// The dropout family of the DSL (kiln/nn/dropout.h). Tracing records the
// layer and its options; the mode and the random mask are the compiled
// model's (frontend/import/Dropout.cpp).
#include "kiln/nn/dropout.h"

#include <cmath>

#include "ir/FormatNumber.h"
#include "ir/ShapeRules.h"
#include "shapes.h"

namespace kiln::nn {

namespace {
// torch: "dropout probability has to be between 0 and 1".
void check_probability(const std::string& type, double p) {
  if (!(p >= 0.0 && p <= 1.0))
    detail::fail(type + "(p=" + formatExact(p) + "): dropout probability has to be between 0 and 1");
}
}  // namespace

DropoutImpl::DropoutImpl(const DropoutOptions& options) : Module("Dropout"), options_(options) {
  check_probability("Dropout", options.p());
}

Tensor DropoutImpl::forward(const Tensor& input, SourceLoc loc) {
  return detail::elementwise_module(*this, input, loc);
}

std::optional<OptionList> DropoutImpl::layer_options() const {
  return OptionList{{"p", options_.p()}, {"inplace", options_.inplace()}};
}

DropoutVariantImpl::DropoutVariantImpl(std::string type, const DropoutOptions& options)
    : Module(type), options_(options) {
  check_probability(type, options.p());
}

namespace {
// The ranks the compiler accepts (frontend/import/Dropout.cpp), checked
// here so that the model program fails where the call is.
void check_rank(const std::string& type, const Tensor& input, SourceLoc loc) {
  int64_t rank = input.dim();
  if (type == "Dropout1d" && rank != 2 && rank != 3)
    detail::fail(loc, "Dropout1d expected a 2-D (unbatched) or 3-D (batched) input, got " +
                          shape_rules::str(input.sizes()) + " ('" + input.name() + "')");
  if ((type == "Dropout2d" || type == "FeatureAlphaDropout") && rank < 2)
    detail::fail(loc, type + " (feature dropout) requires at least 2 dimensions in the input, got " +
                          shape_rules::str(input.sizes()) + " ('" + input.name() + "')");
  if (type == "Dropout3d" && rank < 1)
    detail::fail(loc, "Dropout3d expected a 4-D (unbatched) or 5-D (batched) input, got a scalar ('" +
                          input.name() + "')");
}
}  // namespace

Tensor DropoutVariantImpl::forward(const Tensor& input, SourceLoc loc) {
  check_rank(type_name(), input, loc);
  return detail::elementwise_module(*this, input, loc);
}

std::optional<OptionList> DropoutVariantImpl::layer_options() const {
  return OptionList{{"p", options_.p()}, {"inplace", options_.inplace()}};
}

namespace functional {
namespace {
/// F.<function>(input, p, training, inplace) recorded as a graph function;
/// `layer` names the ranks it accepts.
template <class Options>
Tensor dropout_function(const char* function, const char* layer, const Tensor& input, const Options& o,
                        SourceLoc loc) {
  check_probability(function, o.p());
  std::string what = std::string(function) + "()";
  auto& trace = detail::Trace::active(what, loc);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  check_rank(layer, input, loc);
  return detail::record_function(trace, function,
                                 {{"p", o.p()}, {"training", o.training()}, {"inplace", o.inplace()}},
                                 {input}, input.sizes(), Dtype::Float32, loc);
}
}  // namespace

Tensor dropout(const Tensor& input, const DropoutFuncOptions& options, SourceLoc loc) {
  return dropout_function("dropout", "Dropout", input, options, loc);
}
Tensor dropout1d(const Tensor& input, const Dropout1dFuncOptions& options, SourceLoc loc) {
  return dropout_function("dropout1d", "Dropout1d", input, options, loc);
}
Tensor dropout2d(const Tensor& input, const Dropout2dFuncOptions& options, SourceLoc loc) {
  return dropout_function("dropout2d", "Dropout2d", input, options, loc);
}
Tensor dropout3d(const Tensor& input, const Dropout3dFuncOptions& options, SourceLoc loc) {
  return dropout_function("dropout3d", "Dropout3d", input, options, loc);
}
Tensor alpha_dropout(const Tensor& input, const AlphaDropoutFuncOptions& options, SourceLoc loc) {
  return dropout_function("alpha_dropout", "AlphaDropout", input, options, loc);
}
Tensor feature_alpha_dropout(const Tensor& input, const FeatureAlphaDropoutFuncOptions& options, SourceLoc loc) {
  return dropout_function("feature_alpha_dropout", "FeatureAlphaDropout", input, options, loc);
}
}  // namespace functional

}  // namespace kiln::nn
