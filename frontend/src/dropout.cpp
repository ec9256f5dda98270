// The dropout family of the DSL (kiln/nn/dropout.h). Tracing records the
// layer and its options; the mode and the random mask are the compiled
// model's (frontend/import/Dropout.cpp).
#include "kiln/nn/dropout.h"

#include <cmath>

#include "ir/FormatNumber.h"
#include "shapes.h"

namespace kiln::nn {

DropoutImpl::DropoutImpl(const DropoutOptions& options) : Module("Dropout"), options_(options) {
  // torch: "dropout probability has to be between 0 and 1".
  if (!(options.p() >= 0.0 && options.p() <= 1.0)) {
    detail::fail("Dropout(p=" + formatExact(options.p()) +
                 "): dropout probability has to be between 0 and 1");
  }
}

Tensor DropoutImpl::forward(const Tensor& input, SourceLoc loc) {
  return detail::elementwise_module(*this, input, loc);
}

std::optional<OptionList> DropoutImpl::layer_options() const {
  return OptionList{{"p", options_.p()}, {"inplace", options_.inplace()}};
}

}  // namespace kiln::nn
