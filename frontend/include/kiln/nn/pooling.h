#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "kiln/module.h"
#include "kiln/nn/conv.h"  // ExpandingArray

namespace kiln::nn {

/// Options of nn.MaxPool{D}d(kernel_size, stride=kernel_size, padding=0,
/// dilation=1, ceil_mode=False) with libtorch's names:
/// MaxPool2dOptions(3).stride(2).padding(1).ceil_mode(true).
template <size_t D>
struct MaxPoolOptions {
  MaxPoolOptions(ExpandingArray<D> kernel_size)  // NOLINT: implicit, as libtorch's
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  KILN_ARG(ExpandingArray<D>, kernel_size);
  KILN_ARG(ExpandingArray<D>, stride);
  KILN_ARG(ExpandingArray<D>, padding) = 0;
  KILN_ARG(ExpandingArray<D>, dilation) = 1;
  KILN_ARG(bool, ceil_mode) = false;
};
using MaxPool1dOptions = MaxPoolOptions<1>;
using MaxPool2dOptions = MaxPoolOptions<2>;
using MaxPool3dOptions = MaxPoolOptions<3>;

/// Options of nn.AvgPool{D}d(kernel_size, stride=kernel_size, padding=0,
/// ceil_mode=False, count_include_pad=True, divisor_override=None).
/// divisor_override exists for 2d and 3d only, as in torch.
template <size_t D>
struct AvgPoolOptions {
  AvgPoolOptions(ExpandingArray<D> kernel_size)  // NOLINT
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  KILN_ARG(ExpandingArray<D>, kernel_size);
  KILN_ARG(ExpandingArray<D>, stride);
  KILN_ARG(ExpandingArray<D>, padding) = 0;
  KILN_ARG(bool, ceil_mode) = false;
  KILN_ARG(bool, count_include_pad) = true;
  KILN_ARG(std::optional<int64_t>, divisor_override) = std::nullopt;
};
using AvgPool1dOptions = AvgPoolOptions<1>;
using AvgPool2dOptions = AvgPoolOptions<2>;
using AvgPool3dOptions = AvgPoolOptions<3>;

/// Options of nn.AdaptiveAvgPool{D}d(output_size) and
/// nn.AdaptiveMaxPool{D}d(output_size): the result's spatial size (every
/// element given: the DSL knows the input size that torch's None stands for;
/// model files may use None, see docs/model-format.md).
template <size_t D>
struct AdaptivePoolOptions {
  AdaptivePoolOptions(ExpandingArray<D> output_size) : output_size_(std::move(output_size)) {}  // NOLINT
  KILN_ARG(ExpandingArray<D>, output_size);
};
using AdaptiveAvgPool1dOptions = AdaptivePoolOptions<1>;
using AdaptiveAvgPool2dOptions = AdaptivePoolOptions<2>;
using AdaptiveAvgPool3dOptions = AdaptivePoolOptions<3>;
using AdaptiveMaxPool1dOptions = AdaptivePoolOptions<1>;
using AdaptiveMaxPool2dOptions = AdaptivePoolOptions<2>;
using AdaptiveMaxPool3dOptions = AdaptivePoolOptions<3>;

/// Options of nn.LPPool{D}d(norm_type, kernel_size, stride=kernel_size,
/// ceil_mode=False): LPPool2dOptions(2.0, 3).stride(2).
template <size_t D>
struct LPPoolOptions {
  LPPoolOptions(double norm_type, ExpandingArray<D> kernel_size)
      : norm_type_(norm_type), kernel_size_(kernel_size), stride_(kernel_size) {}
  KILN_ARG(double, norm_type);
  KILN_ARG(ExpandingArray<D>, kernel_size);
  KILN_ARG(ExpandingArray<D>, stride);
  KILN_ARG(bool, ceil_mode) = false;
};
using LPPool1dOptions = LPPoolOptions<1>;
using LPPool2dOptions = LPPoolOptions<2>;

/// Options of nn.MaxUnpool{D}d(kernel_size, stride=kernel_size, padding=0):
/// MaxUnpool2dOptions(2).stride(2).
template <size_t D>
struct MaxUnpoolOptions {
  MaxUnpoolOptions(ExpandingArray<D> kernel_size)  // NOLINT
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  KILN_ARG(ExpandingArray<D>, kernel_size);
  KILN_ARG(ExpandingArray<D>, stride);
  KILN_ARG(ExpandingArray<D>, padding) = 0;
};
using MaxUnpool1dOptions = MaxUnpoolOptions<1>;
using MaxUnpool2dOptions = MaxUnpoolOptions<2>;
using MaxUnpool3dOptions = MaxUnpoolOptions<3>;

/// A ratio for every dimension or one per dimension, like libtorch's
/// ExpandingArray<D, double>: `0.5` or `{0.5, 0.7}`.
template <size_t D>
class ExpandingRatio {
 public:
  ExpandingRatio(double value) : values_(D, value) {}  // NOLINT: implicit, as libtorch's
  ExpandingRatio(std::initializer_list<double> values) : values_(values) {}
  ExpandingRatio(std::vector<double> values) : values_(std::move(values)) {}
  const std::vector<double>& vec() const { return values_; }

 private:
  std::vector<double> values_;
};

/// Options of nn.FractionalMaxPool{D}d(kernel_size, output_size=None,
/// output_ratio=None), D = 2 or 3, exactly one of output_size and
/// output_ratio: FractionalMaxPool2dOptions(3).output_ratio(0.5). torch's
/// `_random_samples` is the forward's optional second argument.
template <size_t D>
struct FractionalMaxPoolOptions {
  FractionalMaxPoolOptions(ExpandingArray<D> kernel_size) : kernel_size_(std::move(kernel_size)) {}  // NOLINT
  KILN_ARG(ExpandingArray<D>, kernel_size);
  KILN_ARG(std::optional<ExpandingArray<D>>, output_size) = std::nullopt;
  KILN_ARG(std::optional<ExpandingRatio<D>>, output_ratio) = std::nullopt;
};
using FractionalMaxPool2dOptions = FractionalMaxPoolOptions<2>;
using FractionalMaxPool3dOptions = FractionalMaxPoolOptions<3>;

/// The windows of a pooling layer or function: fixed (kernel_size, stride,
/// padding, dilation with D values each, ceil_mode) or adaptive
/// (output_size).
struct PoolWindowSpec {
  size_t dims = 0;
  bool adaptive = false;
  std::vector<int64_t> kernel, stride, padding, dilation;
  bool ceil_mode = false;
  std::vector<int64_t> output_size;
};

/// What every pooling layer shares: the shape rule of ir/PoolShapeRules.h
/// over a [N, C, *D] or unbatched [C, *D] input, and the options it writes.
class PoolModule : public Module {
 public:
  /// Precondition: float32 input of rank D + 1 or D + 2; fixed windows: the
  /// (padded, dilated) kernel fits the input.
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  /// The options, return_indices set when the module was called with
  /// indices.
  std::optional<OptionList> layer_options() const override;

 protected:
  /// `options` is what the model file records. Throws Error when torch's
  /// constructor or its first call would reject the windows.
  PoolModule(std::string type, PoolWindowSpec windows, OptionList options);
  /// Max pooling's values and int64 indices (flat in each (n, c) plane of
  /// the input), like libtorch's forward_with_indices, for a batched or an
  /// unbatched input. torch's return_indices belongs to the module:
  /// calling one module both ways throws.
  std::tuple<Tensor, Tensor> forward_with_indices_impl(const Tensor& input, SourceLoc loc);

 private:
  /// How the module was called: with indices or not (unset before).
  void called(bool with_indices, const std::string& what, SourceLoc loc);

  PoolWindowSpec windows_;
  OptionList options_;
  std::optional<bool> with_indices_;
};

/// Window maximum over D spatial dimensions, like torch.nn.MaxPool{D}d.
template <size_t D>
class MaxPoolImpl : public PoolModule {
 public:
  explicit MaxPoolImpl(const MaxPoolOptions<D>& options);
  explicit MaxPoolImpl(ExpandingArray<D> kernel_size) : MaxPoolImpl(MaxPoolOptions<D>(std::move(kernel_size))) {}
  const MaxPoolOptions<D>& options() const { return options_; }
  /// The values and their int64 indices, like libtorch's
  /// forward_with_indices (the model file records return_indices=True).
  std::tuple<Tensor, Tensor> forward_with_indices(const Tensor& input, SourceLoc loc = SourceLoc::current()) {
    return forward_with_indices_impl(input, loc);
  }

 private:
  MaxPoolOptions<D> options_;
};

/// Window average, like torch.nn.AvgPool{D}d.
template <size_t D>
class AvgPoolImpl : public PoolModule {
 public:
  explicit AvgPoolImpl(const AvgPoolOptions<D>& options);
  explicit AvgPoolImpl(ExpandingArray<D> kernel_size) : AvgPoolImpl(AvgPoolOptions<D>(std::move(kernel_size))) {}
  const AvgPoolOptions<D>& options() const { return options_; }

 private:
  AvgPoolOptions<D> options_;
};

/// Average over torch's adaptive windows, like torch.nn.AdaptiveAvgPool{D}d.
template <size_t D>
class AdaptiveAvgPoolImpl : public PoolModule {
 public:
  explicit AdaptiveAvgPoolImpl(const AdaptivePoolOptions<D>& options);
  explicit AdaptiveAvgPoolImpl(ExpandingArray<D> output_size) : AdaptiveAvgPoolImpl(AdaptivePoolOptions<D>(std::move(output_size))) {}
  const AdaptivePoolOptions<D>& options() const { return options_; }

 private:
  AdaptivePoolOptions<D> options_;
};

/// Maximum over torch's adaptive windows, like torch.nn.AdaptiveMaxPool{D}d.
template <size_t D>
class AdaptiveMaxPoolImpl : public PoolModule {
 public:
  explicit AdaptiveMaxPoolImpl(const AdaptivePoolOptions<D>& options);
  explicit AdaptiveMaxPoolImpl(ExpandingArray<D> output_size) : AdaptiveMaxPoolImpl(AdaptivePoolOptions<D>(std::move(output_size))) {}
  const AdaptivePoolOptions<D>& options() const { return options_; }
  /// The values and their int64 indices, like libtorch's
  /// forward_with_indices (the model file records return_indices=True).
  std::tuple<Tensor, Tensor> forward_with_indices(const Tensor& input, SourceLoc loc = SourceLoc::current()) {
    return forward_with_indices_impl(input, loc);
  }

 private:
  AdaptivePoolOptions<D> options_;
};

/// Power-average pooling (sum of x^p over the window)^(1/p), like
/// torch.nn.LPPool{D}d.
template <size_t D>
class LPPoolImpl : public PoolModule {
 public:
  explicit LPPoolImpl(const LPPoolOptions<D>& options);
  LPPoolImpl(double norm_type, ExpandingArray<D> kernel_size)
      : LPPoolImpl(LPPoolOptions<D>(norm_type, std::move(kernel_size))) {}
  const LPPoolOptions<D>& options() const { return options_; }

 private:
  LPPoolOptions<D> options_;
};

/// Writes values at their max-pool indices into zeros, like
/// torch.nn.MaxUnpool{D}d: the output is [N, C, *out] (or unbatched
/// [C, *out]) with out = (in - 1) * stride - 2 * padding + kernel_size
/// (torch's default) or the forward's output_size.
template <size_t D>
class MaxUnpoolImpl : public Module {
 public:
  explicit MaxUnpoolImpl(const MaxUnpoolOptions<D>& options);
  explicit MaxUnpoolImpl(ExpandingArray<D> kernel_size) : MaxUnpoolImpl(MaxUnpoolOptions<D>(std::move(kernel_size))) {}
  /// Precondition: float32 input [N, C, *D] or [C, *D] and int64 indices of
  /// its shape (a max pool's forward_with_indices), every index inside the
  /// output's (n, c) plane (one outside writes nothing; torch raises).
  Tensor forward(const Tensor& input, const Tensor& indices, SourceLoc loc = SourceLoc::current());
  /// torch's forward(input, indices, output_size): D sizes (or D + 2, the
  /// first two ignored), each strictly within stride of the default size.
  /// Recorded as the graph function max_unpool{D}d with this module's
  /// options.
  Tensor forward(const Tensor& input, const Tensor& indices, std::vector<int64_t> output_size,
                 SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;
  const MaxUnpoolOptions<D>& options() const { return options_; }

 private:
  Tensor call(const Tensor& input, const Tensor& indices, std::optional<std::vector<int64_t>> output_size,
              SourceLoc loc);
  MaxUnpoolOptions<D> options_;
};

/// Maximum over windows placed by one uniform sample per (n, c) plane and
/// spatial dimension, like torch.nn.FractionalMaxPool{D}d. Without
/// `samples` every call draws them from the instance's random stream (in
/// eval mode too, as torch); with `samples` (float32 [N, C, D], N = 1 for an
/// unbatched input, values in [0, 1): torch's `_random_samples`) the windows
/// are torch's for those samples.
template <size_t D>
class FractionalMaxPoolImpl : public Module {
 public:
  explicit FractionalMaxPoolImpl(const FractionalMaxPoolOptions<D>& options);
  explicit FractionalMaxPoolImpl(ExpandingArray<D> kernel_size)
      : FractionalMaxPoolImpl(FractionalMaxPoolOptions<D>(std::move(kernel_size))) {}
  /// Precondition: float32 input [N, C, *D] or unbatched [C, *D] with
  /// out + kernel_size - 1 <= in (2-d), < in (3-d) per dimension.
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  Tensor forward(const Tensor& input, const Tensor& samples, SourceLoc loc = SourceLoc::current());
  /// The values and their int64 indices (flat in each (n, c) plane of the
  /// input; the model file records return_indices=True).
  std::tuple<Tensor, Tensor> forward_with_indices(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::tuple<Tensor, Tensor> forward_with_indices(const Tensor& input, const Tensor& samples,
                                                  SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;
  const FractionalMaxPoolOptions<D>& options() const { return options_; }

 private:
  std::vector<Tensor> call(const Tensor& input, const Tensor* samples, bool with_indices, SourceLoc loc);

  FractionalMaxPoolOptions<D> options_;
  std::optional<bool> with_indices_;
};

// nn::MaxPool2d(2) and nn::MaxPool2d(MaxPool2dOptions(2).stride(1)), as
// libtorch (the options convert implicitly from the kernel size).
#define KILN_POOL_MODULE(Name, Base, D)                                       \
  class Name##Impl : public Base<D> {                                         \
   public:                                                                    \
    using Base<D>::Base;                                                      \
  };                                                                          \
  KILN_MODULE(Name)

KILN_POOL_MODULE(MaxPool1d, MaxPoolImpl, 1);
KILN_POOL_MODULE(MaxPool2d, MaxPoolImpl, 2);
KILN_POOL_MODULE(MaxPool3d, MaxPoolImpl, 3);
KILN_POOL_MODULE(AvgPool1d, AvgPoolImpl, 1);
KILN_POOL_MODULE(AvgPool2d, AvgPoolImpl, 2);
KILN_POOL_MODULE(AvgPool3d, AvgPoolImpl, 3);
KILN_POOL_MODULE(AdaptiveAvgPool1d, AdaptiveAvgPoolImpl, 1);
KILN_POOL_MODULE(AdaptiveAvgPool2d, AdaptiveAvgPoolImpl, 2);
KILN_POOL_MODULE(AdaptiveAvgPool3d, AdaptiveAvgPoolImpl, 3);
KILN_POOL_MODULE(AdaptiveMaxPool1d, AdaptiveMaxPoolImpl, 1);
KILN_POOL_MODULE(AdaptiveMaxPool2d, AdaptiveMaxPoolImpl, 2);
KILN_POOL_MODULE(AdaptiveMaxPool3d, AdaptiveMaxPoolImpl, 3);
KILN_POOL_MODULE(LPPool1d, LPPoolImpl, 1);
KILN_POOL_MODULE(LPPool2d, LPPoolImpl, 2);
KILN_POOL_MODULE(MaxUnpool1d, MaxUnpoolImpl, 1);
KILN_POOL_MODULE(MaxUnpool2d, MaxUnpoolImpl, 2);
KILN_POOL_MODULE(MaxUnpool3d, MaxUnpoolImpl, 3);
KILN_POOL_MODULE(FractionalMaxPool2d, FractionalMaxPoolImpl, 2);
KILN_POOL_MODULE(FractionalMaxPool3d, FractionalMaxPoolImpl, 3);
#undef KILN_POOL_MODULE

namespace functional {

/// libtorch's F::<name>FuncOptions: the modules' options.
using MaxPool1dFuncOptions = MaxPool1dOptions;
using MaxPool2dFuncOptions = MaxPool2dOptions;
using MaxPool3dFuncOptions = MaxPool3dOptions;
using AvgPool1dFuncOptions = AvgPool1dOptions;
using AvgPool2dFuncOptions = AvgPool2dOptions;
using AvgPool3dFuncOptions = AvgPool3dOptions;
using AdaptiveAvgPool1dFuncOptions = AdaptiveAvgPool1dOptions;
using AdaptiveAvgPool2dFuncOptions = AdaptiveAvgPool2dOptions;
using AdaptiveAvgPool3dFuncOptions = AdaptiveAvgPool3dOptions;
using AdaptiveMaxPool1dFuncOptions = AdaptiveMaxPool1dOptions;
using AdaptiveMaxPool2dFuncOptions = AdaptiveMaxPool2dOptions;
using AdaptiveMaxPool3dFuncOptions = AdaptiveMaxPool3dOptions;
using LPPool1dFuncOptions = LPPool1dOptions;
using LPPool2dFuncOptions = LPPool2dOptions;

/// F.max_pool{D}d, F.avg_pool{D}d, F.adaptive_avg_pool{D}d,
/// F.adaptive_max_pool{D}d (values only) and F.lp_pool{1,2}d: graph
/// functions of the same names, with the modules' options, preconditions
/// and errors.
Tensor max_pool1d(const Tensor& input, const MaxPool1dFuncOptions& options, SourceLoc loc = SourceLoc::current());
Tensor max_pool2d(const Tensor& input, const MaxPool2dFuncOptions& options, SourceLoc loc = SourceLoc::current());
Tensor max_pool3d(const Tensor& input, const MaxPool3dFuncOptions& options, SourceLoc loc = SourceLoc::current());
Tensor avg_pool1d(const Tensor& input, const AvgPool1dFuncOptions& options, SourceLoc loc = SourceLoc::current());
Tensor avg_pool2d(const Tensor& input, const AvgPool2dFuncOptions& options, SourceLoc loc = SourceLoc::current());
Tensor avg_pool3d(const Tensor& input, const AvgPool3dFuncOptions& options, SourceLoc loc = SourceLoc::current());
Tensor adaptive_avg_pool1d(const Tensor& input, const AdaptiveAvgPool1dFuncOptions& options,
                           SourceLoc loc = SourceLoc::current());
Tensor adaptive_avg_pool2d(const Tensor& input, const AdaptiveAvgPool2dFuncOptions& options,
                           SourceLoc loc = SourceLoc::current());
Tensor adaptive_avg_pool3d(const Tensor& input, const AdaptiveAvgPool3dFuncOptions& options,
                           SourceLoc loc = SourceLoc::current());
Tensor adaptive_max_pool1d(const Tensor& input, const AdaptiveMaxPool1dFuncOptions& options,
                           SourceLoc loc = SourceLoc::current());
Tensor adaptive_max_pool2d(const Tensor& input, const AdaptiveMaxPool2dFuncOptions& options,
                           SourceLoc loc = SourceLoc::current());
Tensor adaptive_max_pool3d(const Tensor& input, const AdaptiveMaxPool3dFuncOptions& options,
                           SourceLoc loc = SourceLoc::current());
/// F.max_pool{D}d_with_indices / F.adaptive_max_pool{D}d_with_indices: the
/// values and their int64 indices (flat in each (n, c) plane of the input),
/// graph functions with two outputs.
std::tuple<Tensor, Tensor> max_pool1d_with_indices(const Tensor& input, const MaxPool1dFuncOptions& options,
                                                   SourceLoc loc = SourceLoc::current());
std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& input, const MaxPool2dFuncOptions& options,
                                                   SourceLoc loc = SourceLoc::current());
std::tuple<Tensor, Tensor> max_pool3d_with_indices(const Tensor& input, const MaxPool3dFuncOptions& options,
                                                   SourceLoc loc = SourceLoc::current());
std::tuple<Tensor, Tensor> adaptive_max_pool1d_with_indices(const Tensor& input,
                                                            const AdaptiveMaxPool1dFuncOptions& options,
                                                            SourceLoc loc = SourceLoc::current());
std::tuple<Tensor, Tensor> adaptive_max_pool2d_with_indices(const Tensor& input,
                                                            const AdaptiveMaxPool2dFuncOptions& options,
                                                            SourceLoc loc = SourceLoc::current());
std::tuple<Tensor, Tensor> adaptive_max_pool3d_with_indices(const Tensor& input,
                                                            const AdaptiveMaxPool3dFuncOptions& options,
                                                            SourceLoc loc = SourceLoc::current());
using FractionalMaxPool2dFuncOptions = FractionalMaxPool2dOptions;
using FractionalMaxPool3dFuncOptions = FractionalMaxPool3dOptions;
/// F.fractional_max_pool{2,3}d(input, options[, samples]) and their
/// _with_indices forms: graph functions with the module's
/// options; without `samples` each call draws from the instance's stream.
Tensor fractional_max_pool2d(const Tensor& input, const FractionalMaxPool2dFuncOptions& options,
                             SourceLoc loc = SourceLoc::current());
Tensor fractional_max_pool2d(const Tensor& input, const FractionalMaxPool2dFuncOptions& options,
                             const Tensor& samples, SourceLoc loc = SourceLoc::current());
Tensor fractional_max_pool3d(const Tensor& input, const FractionalMaxPool3dFuncOptions& options,
                             SourceLoc loc = SourceLoc::current());
Tensor fractional_max_pool3d(const Tensor& input, const FractionalMaxPool3dFuncOptions& options,
                             const Tensor& samples, SourceLoc loc = SourceLoc::current());
std::tuple<Tensor, Tensor> fractional_max_pool2d_with_indices(const Tensor& input,
                                                              const FractionalMaxPool2dFuncOptions& options,
                                                              SourceLoc loc = SourceLoc::current());
std::tuple<Tensor, Tensor> fractional_max_pool2d_with_indices(const Tensor& input,
                                                              const FractionalMaxPool2dFuncOptions& options,
                                                              const Tensor& samples,
                                                              SourceLoc loc = SourceLoc::current());
std::tuple<Tensor, Tensor> fractional_max_pool3d_with_indices(const Tensor& input,
                                                              const FractionalMaxPool3dFuncOptions& options,
                                                              SourceLoc loc = SourceLoc::current());
std::tuple<Tensor, Tensor> fractional_max_pool3d_with_indices(const Tensor& input,
                                                              const FractionalMaxPool3dFuncOptions& options,
                                                              const Tensor& samples,
                                                              SourceLoc loc = SourceLoc::current());
Tensor lp_pool1d(const Tensor& input, const LPPool1dFuncOptions& options, SourceLoc loc = SourceLoc::current());
Tensor lp_pool2d(const Tensor& input, const LPPool2dFuncOptions& options, SourceLoc loc = SourceLoc::current());

}  // namespace functional
}  // namespace kiln::nn
