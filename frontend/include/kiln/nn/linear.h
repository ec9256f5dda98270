#pragma once

#include "kiln/module.h"

namespace kiln::nn {

/// Options of nn.Linear(in_features, out_features, bias=True).
struct LinearOptions {
  LinearOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  KILN_ARG(int64_t, in_features);
  KILN_ARG(int64_t, out_features);
  KILN_ARG(bool, bias) = true;
};

/// y = x W^T + b over the last dimension of x (any rank >= 1), like torch.
/// Parameters: "weight" [out_features, in_features], "bias" [out_features].
class LinearImpl : public Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features)
      : LinearImpl(LinearOptions(in_features, out_features)) {}
  /// Throws Error unless in_features >= 1 and out_features >= 1.
  explicit LinearImpl(const LinearOptions& options);

  /// Precondition: float32 input whose last dimension is in_features.
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());

  std::optional<OptionList> layer_options() const override;
  const LinearOptions& options() const { return options_; }

 private:
  LinearOptions options_;
};
KILN_MODULE(Linear);

}  // namespace kiln::nn
