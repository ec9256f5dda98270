#pragma once

#include "kiln/module.h"

namespace kiln::nn {

/// Options of nn.Dropout(p=0.5, inplace=False); `Dropout(0.2)` works as in
/// libtorch.
struct DropoutOptions {
  DropoutOptions(double p = 0.5) : p_(p) {}  // NOLINT: implicit, like libtorch
  KILN_ARG(double, p);
  /// Accepted for torch compatibility; values are immutable here.
  KILN_ARG(bool, inplace) = false;
};

/// Zeroes each element with probability p and scales the rest by 1/(1-p)
/// in train mode; the identity in eval mode. The compiled model draws the
/// mask from its instance's random stream (kiln_model_init_parameters'
/// seed), a fresh one on every call, and the backward reuses the forward's.
class DropoutImpl : public Module {
 public:
  explicit DropoutImpl(const DropoutOptions& options = {});
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;

 private:
  DropoutOptions options_;
};
KILN_MODULE(Dropout);

}  // namespace kiln::nn
