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

/// Options of nn.Unflatten(dim, unflattened_size).
struct UnflattenOptions {
  UnflattenOptions(int64_t dim, std::vector<int64_t> sizes) : dim_(dim), sizes_(std::move(sizes)) {}
  KILN_ARG(int64_t, dim);
  KILN_ARG(std::vector<int64_t>, sizes);
};

/// Expands dimension `dim` (negative: from the end) into `sizes`, one of
/// which may be -1 (inferred), like nn.Unflatten.
class UnflattenImpl : public Module {
 public:
  UnflattenImpl(int64_t dim, std::vector<int64_t> sizes) : UnflattenImpl(UnflattenOptions(dim, std::move(sizes))) {}
  explicit UnflattenImpl(const UnflattenOptions& options);
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;

 private:
  UnflattenOptions options_;
};
KILN_MODULE(Unflatten);

namespace functional {
/// torch.unflatten(input, dim, sizes).
Tensor unflatten(const Tensor& input, int64_t dim, std::vector<int64_t> sizes,
                 SourceLoc loc = SourceLoc::current());
}  // namespace functional

}  // namespace kiln::nn
