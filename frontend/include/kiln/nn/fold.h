#pragma once

#include "kiln/nn/conv.h"

namespace kiln {
namespace nn {

/// Options of nn.Unfold(kernel_size, dilation=1, padding=0, stride=1), with
/// libtorch's names: UnfoldOptions({2, 3}).padding(1).stride(2).
struct UnfoldOptions {
  UnfoldOptions(ExpandingArray<2> kernel_size) : kernel_size_(std::move(kernel_size)) {}  // NOLINT
  KILN_ARG(ExpandingArray<2>, kernel_size);
  KILN_ARG(ExpandingArray<2>, dilation) = 1;
  KILN_ARG(ExpandingArray<2>, padding) = 0;
  KILN_ARG(ExpandingArray<2>, stride) = 1;
};

/// Options of nn.Fold(output_size, kernel_size, dilation=1, padding=0,
/// stride=1): FoldOptions({5, 6}, {2, 3}).padding(1).
struct FoldOptions {
  FoldOptions(ExpandingArray<2> output_size, ExpandingArray<2> kernel_size)
      : output_size_(std::move(output_size)), kernel_size_(std::move(kernel_size)) {}
  KILN_ARG(ExpandingArray<2>, output_size);
  KILN_ARG(ExpandingArray<2>, kernel_size);
  KILN_ARG(ExpandingArray<2>, dilation) = 1;
  KILN_ARG(ExpandingArray<2>, padding) = 0;
  KILN_ARG(ExpandingArray<2>, stride) = 1;
};

/// torch.nn.Unfold: the sliding blocks of an [N, C, H, W] (or unbatched
/// [C, H, W]) input as [N, C * kh * kw, L] columns, L the number of blocks.
class UnfoldImpl : public Module {
 public:
  explicit UnfoldImpl(const UnfoldOptions& options);
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;
  const UnfoldOptions& options() const { return options_; }

 private:
  UnfoldOptions options_;
};
KILN_MODULE(Unfold);

/// torch.nn.Fold: sums [N, C * kh * kw, L] blocks (or unbatched
/// [C * kh * kw, L]) into an [N, C, *output_size] image; Unfold's adjoint.
class FoldImpl : public Module {
 public:
  explicit FoldImpl(const FoldOptions& options);
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;
  const FoldOptions& options() const { return options_; }

 private:
  FoldOptions options_;
};
KILN_MODULE(Fold);

}  // namespace nn
}  // namespace kiln
