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

Tensor DropoutVariantImpl::forward(const Tensor& input, SourceLoc loc) {
  // The ranks the compiler accepts (frontend/import/Dropout.cpp), checked
  // here so that the model program fails where the call is.
  std::string type = type_name();
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
  return detail::elementwise_module(*this, input, loc);
}

std::optional<OptionList> DropoutVariantImpl::layer_options() const {
  return OptionList{{"p", options_.p()}, {"inplace", options_.inplace()}};
}

}  // namespace kiln::nn
