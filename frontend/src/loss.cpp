#include "kiln/nn/loss.h"

#include <cmath>

namespace kiln {

const char* reduction_name(Reduction reduction) {
  switch (reduction) {
    case Reduction::None: return "none";
    case Reduction::Mean: return "mean";
    case Reduction::Sum: return "sum";
  }
  return "?";
}

namespace nn {

Loss::~Loss() = default;

CrossEntropyLossImpl::CrossEntropyLossImpl(const CrossEntropyLossOptions& options) : options_(options) {
  double s = options.label_smoothing();
  if (!(s >= 0.0 && s <= 1.0)) {
    detail::fail("CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, got " + std::to_string(s));
  }
}

OptionList CrossEntropyLossImpl::option_list() const {
  return {{"reduction", std::string(reduction_name(options_.reduction()))},
          {"label_smoothing", options_.label_smoothing()},
          {"ignore_index", options_.ignore_index()}};
}

void CrossEntropyLossImpl::check(const Tensor& output, const Tensor& target, SourceLoc loc) const {
  if (output.dim() != 2 || output.dtype() != Dtype::Float32) {
    detail::fail(loc, "CrossEntropyLoss expects the model output to be float32 logits of shape [N, C], got " +
                          std::string(dtype_name(output.dtype())) + " " + shape_str(output.sizes()));
  }
  if (target.dtype() != Dtype::Int64 || target.sizes() != Shape{output.sizes()[0]}) {
    detail::fail(loc, "CrossEntropyLoss expects an int64 target of class indices of shape [" +
                          std::to_string(output.sizes()[0]) + "] for output " + shape_str(output.sizes()) +
                          ", got target '" + target.name() + "': " + dtype_name(target.dtype()) + " " +
                          shape_str(target.sizes()));
  }
}

OptionList MSELossImpl::option_list() const {
  return {{"reduction", std::string(reduction_name(options_.reduction()))}};
}

void MSELossImpl::check(const Tensor& output, const Tensor& target, SourceLoc loc) const {
  if (output.dtype() != Dtype::Float32 || target.dtype() != Dtype::Float32 || output.sizes() != target.sizes()) {
    detail::fail(loc, "MSELoss expects a float32 target of the output's shape " + shape_str(output.sizes()) +
                          " (output is " + dtype_name(output.dtype()) + "), got target '" + target.name() +
                          "': " + dtype_name(target.dtype()) + " " + shape_str(target.sizes()));
  }
}

}  // namespace nn
}  // namespace kiln
