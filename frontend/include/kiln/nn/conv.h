#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "kiln/module.h"

namespace kiln {

/// An int for every dimension or one int per dimension, like libtorch's
/// ExpandingArray<D>: `3` or `{3, 5}`. A list of the wrong length is an
/// error when the layer is constructed.
template <size_t D>
class ExpandingArray {
 public:
  ExpandingArray(int64_t value) : values_(D, value) {}  // NOLINT: implicit, as libtorch's
  ExpandingArray(std::initializer_list<int64_t> values) : values_(values) {}
  ExpandingArray(std::vector<int64_t> values) : values_(std::move(values)) {}
  const std::vector<int64_t>& vec() const { return values_; }

 private:
  std::vector<int64_t> values_;
};

/// padding="same" / padding="valid" of the convolutions (torch::kSame,
/// torch::kValid in libtorch).
struct kSameT {};
struct kValidT {};
inline constexpr kSameT kSame{};
inline constexpr kValidT kValid{};

/// The padding modes of the convolutions (torch::kZeros, torch::kReflect,
/// torch::kReplicate, torch::kCircular in libtorch).
struct kZerosT {};
struct kReflectT {};
struct kReplicateT {};
struct kCircularT {};
inline constexpr kZerosT kZeros{};
inline constexpr kReflectT kReflect{};
inline constexpr kReplicateT kReplicate{};
inline constexpr kCircularT kCircular{};

namespace nn {

/// A convolution's padding: ints (one or one per dimension), kSame or kValid.
template <size_t D>
class ConvPadding {
 public:
  ConvPadding(int64_t value) : ints_(value) {}  // NOLINT
  ConvPadding(std::initializer_list<int64_t> values) : ints_(values) {}
  ConvPadding(ExpandingArray<D> values) : ints_(std::move(values)) {}  // NOLINT
  ConvPadding(kSameT) : ints_(0), mode_("same") {}                    // NOLINT
  ConvPadding(kValidT) : ints_(0), mode_("valid") {}                  // NOLINT
  /// "same", "valid", or "" when the padding is given as ints.
  const std::string& mode() const { return mode_; }
  const std::vector<int64_t>& ints() const { return ints_.vec(); }

 private:
  ExpandingArray<D> ints_;
  std::string mode_;
};

/// torch's padding_mode: "zeros", "reflect", "replicate" or "circular".
class ConvPaddingMode {
 public:
  ConvPaddingMode(kZerosT) : name_("zeros") {}          // NOLINT
  ConvPaddingMode(kReflectT) : name_("reflect") {}      // NOLINT
  ConvPaddingMode(kReplicateT) : name_("replicate") {}  // NOLINT
  ConvPaddingMode(kCircularT) : name_("circular") {}    // NOLINT
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

/// Options of nn.Conv{D}d(in_channels, out_channels, kernel_size, stride=1,
/// padding=0, dilation=1, groups=1, bias=True, padding_mode='zeros'), with
/// libtorch's names: Conv2dOptions(3, 16, 3).stride(2).padding(1).
template <size_t D>
struct ConvOptions {
  ConvOptions(int64_t in_channels, int64_t out_channels, ExpandingArray<D> kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(std::move(kernel_size)) {}
  KILN_ARG(int64_t, in_channels);
  KILN_ARG(int64_t, out_channels);
  KILN_ARG(ExpandingArray<D>, kernel_size);
  KILN_ARG(ExpandingArray<D>, stride) = 1;
  KILN_ARG(ConvPadding<D>, padding) = 0;
  KILN_ARG(ExpandingArray<D>, dilation) = 1;
  KILN_ARG(int64_t, groups) = 1;
  KILN_ARG(bool, bias) = true;
  KILN_ARG(ConvPaddingMode, padding_mode) = kZeros;
};
using Conv1dOptions = ConvOptions<1>;
using Conv2dOptions = ConvOptions<2>;
using Conv3dOptions = ConvOptions<3>;

/// Cross-correlation over D spatial dimensions, like torch.nn.Conv{D}d.
/// Input [N, C, *spatial] or unbatched [C, *spatial]. Parameters: "weight"
/// [out_channels, in_channels / groups, *kernel_size], "bias" [out_channels].
template <size_t D>
class ConvNdImpl : public Module {
 public:
  /// Throws Error when torch's constructor would raise (sizes < 1, groups not
  /// dividing the channels, padding "same" with stride > 1, a tuple of the
  /// wrong length).
  explicit ConvNdImpl(const ConvOptions<D>& options) : ConvNdImpl(options, /*lazy=*/false) {}

  /// Precondition: float32 input of rank D + 1 or D + 2 with in_channels
  /// channels, at least as large as the dilated kernel after padding.
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());

  std::optional<OptionList> layer_options() const override;
  const ConvOptions<D>& options() const { return options_; }

 protected:
  /// `lazy`: torch.nn.LazyConv{D}d, in_channels taken from the first input
  /// (the parameters are declared then).
  ConvNdImpl(const ConvOptions<D>& options, bool lazy);

 private:
  void declare_parameters();
  ConvOptions<D> options_;
  bool lazy_ = false;
};

class Conv1dImpl : public ConvNdImpl<1> {
 public:
  Conv1dImpl(int64_t in_channels, int64_t out_channels, ExpandingArray<1> kernel_size)
      : Conv1dImpl(Conv1dOptions(in_channels, out_channels, std::move(kernel_size))) {}
  explicit Conv1dImpl(const Conv1dOptions& options) : ConvNdImpl<1>(options) {}
};
KILN_MODULE(Conv1d);

class Conv2dImpl : public ConvNdImpl<2> {
 public:
  Conv2dImpl(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size)
      : Conv2dImpl(Conv2dOptions(in_channels, out_channels, std::move(kernel_size))) {}
  explicit Conv2dImpl(const Conv2dOptions& options) : ConvNdImpl<2>(options) {}
};
KILN_MODULE(Conv2d);

class Conv3dImpl : public ConvNdImpl<3> {
 public:
  Conv3dImpl(int64_t in_channels, int64_t out_channels, ExpandingArray<3> kernel_size)
      : Conv3dImpl(Conv3dOptions(in_channels, out_channels, std::move(kernel_size))) {}
  explicit Conv3dImpl(const Conv3dOptions& options) : ConvNdImpl<3>(options) {}
};
KILN_MODULE(Conv3d);

/// Options of nn.LazyConv{D}d(out_channels, kernel_size, ...): Conv options
/// whose in_channels the first input decides.
template <size_t D>
struct LazyConvOptions : ConvOptions<D> {
  LazyConvOptions(int64_t out_channels, ExpandingArray<D> kernel_size)
      : ConvOptions<D>(0, out_channels, std::move(kernel_size)) {}
};
using LazyConv1dOptions = LazyConvOptions<1>;
using LazyConv2dOptions = LazyConvOptions<2>;
using LazyConv3dOptions = LazyConvOptions<3>;

/// torch.nn.LazyConv{D}d: Conv{D}d whose in_channels is the channel count of
/// its first input. The model file records the resolved in_channels (type
/// "LazyConv{D}d"), so kilnc compiles it as the Conv{D}d it becomes.
template <size_t D>
class LazyConvNdImpl : public ConvNdImpl<D> {
 public:
  LazyConvNdImpl(int64_t out_channels, ExpandingArray<D> kernel_size)
      : LazyConvNdImpl(LazyConvOptions<D>(out_channels, std::move(kernel_size))) {}
  /// in_channels in `options` is ignored (the first input decides it).
  explicit LazyConvNdImpl(const ConvOptions<D>& options) : ConvNdImpl<D>(options, /*lazy=*/true) {}
};
class LazyConv1dImpl : public LazyConvNdImpl<1> {
 public:
  using LazyConvNdImpl<1>::LazyConvNdImpl;
};
KILN_MODULE(LazyConv1d);
class LazyConv2dImpl : public LazyConvNdImpl<2> {
 public:
  using LazyConvNdImpl<2>::LazyConvNdImpl;
};
KILN_MODULE(LazyConv2d);
class LazyConv3dImpl : public LazyConvNdImpl<3> {
 public:
  using LazyConvNdImpl<3>::LazyConvNdImpl;
};
KILN_MODULE(LazyConv3d);

namespace functional {

/// Options of F.conv{D}d(input, weight, bias=None, stride=1, padding=0,
/// dilation=1, groups=1) with libtorch's names:
/// F::conv2d(x, w, F::Conv2dFuncOptions().bias(b).stride(2).padding(kiln::kSame)).
/// The weight and the bias are traced values (the graph function's second
/// and third inputs).
template <size_t D>
struct ConvFuncOptions {
  KILN_ARG(std::optional<Tensor>, bias) = std::nullopt;
  KILN_ARG(ExpandingArray<D>, stride) = 1;
  KILN_ARG(ConvPadding<D>, padding) = 0;
  KILN_ARG(ExpandingArray<D>, dilation) = 1;
  KILN_ARG(int64_t, groups) = 1;
};
using Conv1dFuncOptions = ConvFuncOptions<1>;
using Conv2dFuncOptions = ConvFuncOptions<2>;
using Conv3dFuncOptions = ConvFuncOptions<3>;

/// torch.conv{D}d of an [N, C, *D] or unbatched [C, *D] input with a weight
/// [out_channels, C / groups, *kernel] (graph function "conv{D}d"); the
/// preconditions and errors of nn::Conv{D}d.
Tensor conv1d(const Tensor& input, const Tensor& weight, const Conv1dFuncOptions& options = {},
              SourceLoc loc = SourceLoc::current());
Tensor conv2d(const Tensor& input, const Tensor& weight, const Conv2dFuncOptions& options = {},
              SourceLoc loc = SourceLoc::current());
Tensor conv3d(const Tensor& input, const Tensor& weight, const Conv3dFuncOptions& options = {},
              SourceLoc loc = SourceLoc::current());

}  // namespace functional
}  // namespace nn
}  // namespace kiln
