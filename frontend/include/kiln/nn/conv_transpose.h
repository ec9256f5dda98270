#pragma once

#include "kiln/nn/conv.h"

namespace kiln {
namespace nn {

/// Options of nn.ConvTranspose{D}d(in_channels, out_channels, kernel_size,
/// stride=1, padding=0, output_padding=0, groups=1, bias=True, dilation=1,
/// padding_mode='zeros'), with libtorch's names:
/// ConvTranspose2dOptions(16, 8, 3).stride(2).padding(1).output_padding(1).
/// torch accepts only padding_mode zeros.
template <size_t D>
struct ConvTransposeOptions {
  ConvTransposeOptions(int64_t in_channels, int64_t out_channels, ExpandingArray<D> kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(std::move(kernel_size)) {}
  KILN_ARG(int64_t, in_channels);
  KILN_ARG(int64_t, out_channels);
  KILN_ARG(ExpandingArray<D>, kernel_size);
  KILN_ARG(ExpandingArray<D>, stride) = 1;
  KILN_ARG(ExpandingArray<D>, padding) = 0;
  KILN_ARG(ExpandingArray<D>, output_padding) = 0;
  KILN_ARG(int64_t, groups) = 1;
  KILN_ARG(bool, bias) = true;
  KILN_ARG(ExpandingArray<D>, dilation) = 1;
  KILN_ARG(ConvPaddingMode, padding_mode) = kZeros;
};
using ConvTranspose1dOptions = ConvTransposeOptions<1>;
using ConvTranspose2dOptions = ConvTransposeOptions<2>;
using ConvTranspose3dOptions = ConvTransposeOptions<3>;

/// Transposed convolution over D spatial dimensions, like
/// torch.nn.ConvTranspose{D}d. Input [N, C_in, *spatial] or unbatched.
/// Parameters: "weight" [in_channels, out_channels / groups, *kernel_size],
/// "bias" [out_channels]. Output size per dimension: (in - 1) * stride -
/// 2 * padding + dilation * (kernel - 1) + output_padding + 1.
template <size_t D>
class ConvTransposeNdImpl : public Module {
 public:
  /// Throws Error when torch would raise (sizes < 1, groups not dividing the
  /// channels, output_padding not smaller than stride or dilation, a
  /// padding_mode other than zeros, a tuple of the wrong length).
  explicit ConvTransposeNdImpl(const ConvTransposeOptions<D>& options)
      : ConvTransposeNdImpl(options, /*lazy=*/false) {}

  /// Precondition: float32 input of rank D + 1 or D + 2 with in_channels
  /// channels and an output size of at least 1 per dimension.
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  /// torch's forward(input, output_size): the output_padding that gives
  /// `output_size` (D values, or with the input's leading batch / channel
  /// dimensions), each size in [min, min + stride - 1] for the size `min`
  /// of output_padding 0. The model file records that output_padding, so
  /// every call of one module must pick the same.
  Tensor forward(const Tensor& input, std::vector<int64_t> output_size, SourceLoc loc = SourceLoc::current());

  std::optional<OptionList> layer_options() const override;
  const ConvTransposeOptions<D>& options() const { return options_; }

 protected:
  /// `lazy`: torch.nn.LazyConvTranspose{D}d, in_channels taken from the first
  /// input (the parameters are declared then).
  ConvTransposeNdImpl(const ConvTransposeOptions<D>& options, bool lazy);

 private:
  void declare_parameters();
  Tensor forward_impl(const Tensor& input, const std::vector<int64_t>& output_padding, SourceLoc loc);
  ConvTransposeOptions<D> options_;
  bool lazy_ = false;
  /// The output_padding the calls used (all the same), once called.
  std::optional<std::vector<int64_t>> call_padding_;
};

class ConvTranspose1dImpl : public ConvTransposeNdImpl<1> {
 public:
  ConvTranspose1dImpl(int64_t in_channels, int64_t out_channels, ExpandingArray<1> kernel_size)
      : ConvTranspose1dImpl(ConvTranspose1dOptions(in_channels, out_channels, std::move(kernel_size))) {}
  explicit ConvTranspose1dImpl(const ConvTranspose1dOptions& options) : ConvTransposeNdImpl<1>(options) {}
};
KILN_MODULE(ConvTranspose1d);

class ConvTranspose2dImpl : public ConvTransposeNdImpl<2> {
 public:
  ConvTranspose2dImpl(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size)
      : ConvTranspose2dImpl(ConvTranspose2dOptions(in_channels, out_channels, std::move(kernel_size))) {}
  explicit ConvTranspose2dImpl(const ConvTranspose2dOptions& options) : ConvTransposeNdImpl<2>(options) {}
};
KILN_MODULE(ConvTranspose2d);

class ConvTranspose3dImpl : public ConvTransposeNdImpl<3> {
 public:
  ConvTranspose3dImpl(int64_t in_channels, int64_t out_channels, ExpandingArray<3> kernel_size)
      : ConvTranspose3dImpl(ConvTranspose3dOptions(in_channels, out_channels, std::move(kernel_size))) {}
  explicit ConvTranspose3dImpl(const ConvTranspose3dOptions& options) : ConvTransposeNdImpl<3>(options) {}
};
KILN_MODULE(ConvTranspose3d);

/// Options of nn.LazyConvTranspose{D}d(out_channels, kernel_size, ...).
template <size_t D>
struct LazyConvTransposeOptions : ConvTransposeOptions<D> {
  LazyConvTransposeOptions(int64_t out_channels, ExpandingArray<D> kernel_size)
      : ConvTransposeOptions<D>(0, out_channels, std::move(kernel_size)) {}
};
using LazyConvTranspose1dOptions = LazyConvTransposeOptions<1>;
using LazyConvTranspose2dOptions = LazyConvTransposeOptions<2>;
using LazyConvTranspose3dOptions = LazyConvTransposeOptions<3>;

/// torch.nn.LazyConvTranspose{D}d: in_channels from the first input; the
/// model file records it (type "LazyConvTranspose{D}d").
template <size_t D>
class LazyConvTransposeNdImpl : public ConvTransposeNdImpl<D> {
 public:
  LazyConvTransposeNdImpl(int64_t out_channels, ExpandingArray<D> kernel_size)
      : LazyConvTransposeNdImpl(LazyConvTransposeOptions<D>(out_channels, std::move(kernel_size))) {}
  /// in_channels in `options` is ignored (the first input decides it).
  explicit LazyConvTransposeNdImpl(const ConvTransposeOptions<D>& options)
      : ConvTransposeNdImpl<D>(options, /*lazy=*/true) {}
};
class LazyConvTranspose1dImpl : public LazyConvTransposeNdImpl<1> {
 public:
  using LazyConvTransposeNdImpl<1>::LazyConvTransposeNdImpl;
};
KILN_MODULE(LazyConvTranspose1d);
class LazyConvTranspose2dImpl : public LazyConvTransposeNdImpl<2> {
 public:
  using LazyConvTransposeNdImpl<2>::LazyConvTransposeNdImpl;
};
KILN_MODULE(LazyConvTranspose2d);
class LazyConvTranspose3dImpl : public LazyConvTransposeNdImpl<3> {
 public:
  using LazyConvTransposeNdImpl<3>::LazyConvTransposeNdImpl;
};
KILN_MODULE(LazyConvTranspose3d);

}  // namespace nn
}  // namespace kiln
