#pragma once

#include "kiln/module.h"

namespace kiln::nn {

/// Options of nn.Flatten(start_dim=1, end_dim=-1).
struct FlattenOptions {
  KILN_ARG(int64_t, start_dim) = 1;
  KILN_ARG(int64_t, end_dim) = -1;
};

/// Merges dimensions start_dim..end_dim (negative: from the end) into one,
/// like nn.Flatten. Dimensions are checked against the input's rank when
/// the module is called.
class FlattenImpl : public Module {
 public:
  explicit FlattenImpl(const FlattenOptions& options = {});
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;
  const FlattenOptions& options() const { return options_; }

 private:
  FlattenOptions options_;
};
KILN_MODULE(Flatten);

}  // namespace kiln::nn
