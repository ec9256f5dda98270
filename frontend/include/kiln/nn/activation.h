#pragma once

#include <optional>

#include "kiln/module.h"

namespace kiln::nn {

/// Elementwise max(x, 0) on float32, like nn.ReLU() (no options: "inplace"
/// means nothing to a compiler with value semantics).
class ReLUImpl : public Module {
 public:
  ReLUImpl();
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;
};
KILN_MODULE(ReLU);

/// Elementwise tanh, like nn.Tanh().
class TanhImpl : public Module {
 public:
  TanhImpl();
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;
};
KILN_MODULE(Tanh);

/// Elementwise logistic sigmoid, like nn.Sigmoid().
class SigmoidImpl : public Module {
 public:
  SigmoidImpl();
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;
};
KILN_MODULE(Sigmoid);

/// x * sigmoid(x), like nn.SiLU() ("inplace" means nothing here).
class SiLUImpl : public Module {
 public:
  SiLUImpl();
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;
};
KILN_MODULE(SiLU);

/// Options of nn.GELU(approximate='none'): "none" (erf) or "tanh".
struct GELUOptions {
  KILN_ARG(std::string, approximate) = "none";
};

/// Gaussian error linear unit, like nn.GELU.
class GELUImpl : public Module {
 public:
  explicit GELUImpl(const GELUOptions& options = {});
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;

 private:
  GELUOptions options_;
};
KILN_MODULE(GELU);

/// Options of the pointwise activations, with libtorch's names and torch's
/// defaults: nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)).
/// `inplace` is written to the model file and changes nothing (values are
/// immutable). The functional forms take the same structs
/// (nn::functional::elu(x, nn::ELUOptions().alpha(2))).
struct ELUOptions {
  KILN_ARG(double, alpha) = 1.0;
  KILN_ARG(bool, inplace) = false;
};
struct CELUOptions {
  KILN_ARG(double, alpha) = 1.0;
  KILN_ARG(bool, inplace) = false;
};
struct SELUOptions {
  SELUOptions(bool inplace = false) : inplace_(inplace) {}  // NOLINT: implicit, as libtorch's
  KILN_ARG(bool, inplace);
};
struct LeakyReLUOptions {
  KILN_ARG(double, negative_slope) = 0.01;
  KILN_ARG(bool, inplace) = false;
};
struct ReLU6Options {
  ReLU6Options(bool inplace = false) : inplace_(inplace) {}  // NOLINT
  KILN_ARG(bool, inplace);
};
struct HardtanhOptions {
  KILN_ARG(double, min_val) = -1.0;
  KILN_ARG(double, max_val) = 1.0;
  KILN_ARG(bool, inplace) = false;
};
struct HardsigmoidOptions {
  KILN_ARG(bool, inplace) = false;
};
struct HardswishOptions {
  KILN_ARG(bool, inplace) = false;
};
struct MishOptions {
  KILN_ARG(bool, inplace) = false;
};
struct HardshrinkOptions {
  HardshrinkOptions(double lambda = 0.5) : lambda_(lambda) {}  // NOLINT
  KILN_ARG(double, lambda);
};
struct SoftshrinkOptions {
  SoftshrinkOptions(double lambda = 0.5) : lambda_(lambda) {}  // NOLINT
  KILN_ARG(double, lambda);
};
struct ThresholdOptions {
  ThresholdOptions(double threshold, double value) : threshold_(threshold), value_(value) {}
  KILN_ARG(double, threshold);
  KILN_ARG(double, value);
  KILN_ARG(bool, inplace) = false;
};
struct SoftplusOptions {
  KILN_ARG(double, beta) = 1.0;
  KILN_ARG(double, threshold) = 20.0;
};
/// Activations without options.
struct NoOptions {};

/// A pointwise activation layer: type name, options, and the torch-named
/// option list it writes (activation.cpp checks the values like torch).
template <class Options>
class ActivationImpl : public Module {
 public:
  ActivationImpl(const char* type, const Options& options);
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;
  const Options& options() const { return options_; }

 private:
  Options options_;
};

#define KILN_ACTIVATION(Name, Options)                                                   \
  class Name##Impl : public ActivationImpl<Options> {                            \
   public:                                                                               \
    explicit Name##Impl(const Options& options = {}) : ActivationImpl(#Name, options) {} \
  };                                                                                     \
  KILN_MODULE(Name)

KILN_ACTIVATION(ELU, ELUOptions);
KILN_ACTIVATION(CELU, CELUOptions);
KILN_ACTIVATION(SELU, SELUOptions);
KILN_ACTIVATION(LeakyReLU, LeakyReLUOptions);
KILN_ACTIVATION(ReLU6, ReLU6Options);
KILN_ACTIVATION(Hardtanh, HardtanhOptions);
KILN_ACTIVATION(Hardsigmoid, HardsigmoidOptions);
KILN_ACTIVATION(Hardswish, HardswishOptions);
KILN_ACTIVATION(Mish, MishOptions);
KILN_ACTIVATION(Hardshrink, HardshrinkOptions);
KILN_ACTIVATION(Softshrink, SoftshrinkOptions);
KILN_ACTIVATION(Softplus, SoftplusOptions);
KILN_ACTIVATION(Softsign, NoOptions);
KILN_ACTIVATION(Tanhshrink, NoOptions);
KILN_ACTIVATION(LogSigmoid, NoOptions);

/// nn.Threshold(threshold, value): both required, as in libtorch.
class ThresholdImpl : public ActivationImpl<ThresholdOptions> {
 public:
  explicit ThresholdImpl(const ThresholdOptions& options) : ActivationImpl("Threshold", options) {}
};
KILN_MODULE(Threshold);

namespace functional {
/// The functional forms (graph functions "elu", "leaky_relu", ...), with
/// libtorch's FuncOptions names.
using ELUFuncOptions = ELUOptions;
using CELUFuncOptions = CELUOptions;
using SELUFuncOptions = SELUOptions;
using LeakyReLUFuncOptions = LeakyReLUOptions;
using ReLU6FuncOptions = ReLU6Options;
using HardtanhFuncOptions = HardtanhOptions;
using HardshrinkFuncOptions = HardshrinkOptions;
using SoftshrinkFuncOptions = SoftshrinkOptions;
using ThresholdFuncOptions = ThresholdOptions;
using SoftplusFuncOptions = SoftplusOptions;
using GELUFuncOptions = GELUOptions;
Tensor elu(const Tensor& input, const ELUOptions& options = {}, SourceLoc loc = SourceLoc::current());
Tensor celu(const Tensor& input, const CELUOptions& options = {}, SourceLoc loc = SourceLoc::current());
Tensor selu(const Tensor& input, const SELUOptions& options = {}, SourceLoc loc = SourceLoc::current());
Tensor leaky_relu(const Tensor& input, const LeakyReLUOptions& options = {},
                  SourceLoc loc = SourceLoc::current());
Tensor relu6(const Tensor& input, const ReLU6Options& options = {}, SourceLoc loc = SourceLoc::current());
Tensor hardtanh(const Tensor& input, const HardtanhOptions& options = {}, SourceLoc loc = SourceLoc::current());
Tensor hardsigmoid(const Tensor& input, SourceLoc loc = SourceLoc::current());
Tensor hardswish(const Tensor& input, SourceLoc loc = SourceLoc::current());
Tensor mish(const Tensor& input, SourceLoc loc = SourceLoc::current());
Tensor hardshrink(const Tensor& input, const HardshrinkOptions& options = {},
                  SourceLoc loc = SourceLoc::current());
Tensor softshrink(const Tensor& input, const SoftshrinkOptions& options = {},
                  SourceLoc loc = SourceLoc::current());
Tensor threshold(const Tensor& input, const ThresholdOptions& options, SourceLoc loc = SourceLoc::current());
Tensor softplus(const Tensor& input, const SoftplusOptions& options = {}, SourceLoc loc = SourceLoc::current());
Tensor softsign(const Tensor& input, SourceLoc loc = SourceLoc::current());
Tensor tanhshrink(const Tensor& input, SourceLoc loc = SourceLoc::current());
Tensor logsigmoid(const Tensor& input, SourceLoc loc = SourceLoc::current());
Tensor gelu(const Tensor& input, const GELUOptions& options = {}, SourceLoc loc = SourceLoc::current());
Tensor silu(const Tensor& input, SourceLoc loc = SourceLoc::current());
}  // namespace functional

/// Options of nn.Softmax / nn.LogSoftmax / nn.Softmin(dim): the dimension
/// the result sums to 1 along (negative counts from the end). libtorch
/// requires it; torch's dim=None (an implicit, deprecated choice) is
/// available as std::nullopt.
struct SoftmaxOptions {
  SoftmaxOptions(int64_t dim) : dim_(dim) {}                     // NOLINT: implicit, as libtorch's
  SoftmaxOptions(std::nullopt_t) : dim_(std::nullopt) {}          // NOLINT
  KILN_ARG(std::optional<int64_t>, dim);
};
using LogSoftmaxOptions = SoftmaxOptions;
using SoftminOptions = SoftmaxOptions;

/// Softmax along a dimension, like nn.Softmax(dim) (max-subtracted).
class SoftmaxImpl : public ActivationImpl<SoftmaxOptions> {
 public:
  explicit SoftmaxImpl(const SoftmaxOptions& options) : ActivationImpl("Softmax", options) {}
};
KILN_MODULE(Softmax);
/// log(softmax(x)) computed stably, like nn.LogSoftmax(dim).
class LogSoftmaxImpl : public ActivationImpl<SoftmaxOptions> {
 public:
  explicit LogSoftmaxImpl(const SoftmaxOptions& options) : ActivationImpl("LogSoftmax", options) {}
};
KILN_MODULE(LogSoftmax);
/// softmax(-x), like nn.Softmin(dim).
class SoftminImpl : public ActivationImpl<SoftmaxOptions> {
 public:
  explicit SoftminImpl(const SoftmaxOptions& options) : ActivationImpl("Softmin", options) {}
};
KILN_MODULE(Softmin);
/// Softmax over the channels (dim -3) of a 3-D or 4-D input, like
/// nn.Softmax2d().
KILN_ACTIVATION(Softmax2d, NoOptions);

/// Options of nn.GLU(dim=-1): the dimension halved (its size must be even).
struct GLUOptions {
  GLUOptions(int64_t dim = -1) : dim_(dim) {}  // NOLINT
  KILN_ARG(int64_t, dim);
};
/// Gated linear unit a * sigmoid(b), a and b the halves along dim, like
/// nn.GLU.
class GLUImpl : public ActivationImpl<GLUOptions> {
 public:
  explicit GLUImpl(const GLUOptions& options = {}) : ActivationImpl("GLU", options) {}
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
};
KILN_MODULE(GLU);

/// Options of nn.PReLU(num_parameters=1, init=0.25): one learnable slope,
/// or one per channel (dim 1 of the input).
struct PReLUOptions {
  KILN_ARG(int64_t, num_parameters) = 1;
  KILN_ARG(double, init) = 0.25;
};
/// x > 0 ? x : weight * x with a learnable weight ("weight", [num_parameters],
/// every element `init`), like nn.PReLU.
class PReLUImpl : public Module {
 public:
  explicit PReLUImpl(const PReLUOptions& options = {});
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;

 private:
  PReLUOptions options_;
};
KILN_MODULE(PReLU);

/// Options of nn.RReLU(lower=1/8, upper=1/3, inplace=False).
struct RReLUOptions {
  KILN_ARG(double, lower) = 1.0 / 8;
  KILN_ARG(double, upper) = 1.0 / 3;
  KILN_ARG(bool, inplace) = false;
};
/// Randomized leaky ReLU, like nn.RReLU: in train mode each element's
/// negative slope is drawn uniformly from [lower, upper) (the model
/// instance's random stream), in eval mode it is (lower + upper) / 2.
KILN_ACTIVATION(RReLU, RReLUOptions);

namespace functional {
using SoftmaxFuncOptions = SoftmaxOptions;
using LogSoftmaxFuncOptions = SoftmaxOptions;
using SoftminFuncOptions = SoftmaxOptions;
using GLUFuncOptions = GLUOptions;
/// Graph functions "softmax", "log_softmax" (torch.softmax needs a dim),
/// "softmin" (dim may be std::nullopt, torch's implicit dim).
Tensor softmax(const Tensor& input, const SoftmaxOptions& options, SourceLoc loc = SourceLoc::current());
Tensor log_softmax(const Tensor& input, const SoftmaxOptions& options, SourceLoc loc = SourceLoc::current());
Tensor softmin(const Tensor& input, const SoftmaxOptions& options, SourceLoc loc = SourceLoc::current());
Tensor glu(const Tensor& input, const GLUOptions& options = {}, SourceLoc loc = SourceLoc::current());
/// torch.prelu(input, weight): weight 1-D, one element or one per channel.
Tensor prelu(const Tensor& input, const Tensor& weight, SourceLoc loc = SourceLoc::current());
/// Options of F.rrelu(input, lower, upper, training=False): with training
/// the slopes are random (the instance's stream), whatever the model's mode.
struct RReLUFuncOptions {
  KILN_ARG(double, lower) = 1.0 / 8;
  KILN_ARG(double, upper) = 1.0 / 3;
  KILN_ARG(bool, training) = false;
  KILN_ARG(bool, inplace) = false;
};
Tensor rrelu(const Tensor& input, const RReLUFuncOptions& options = {}, SourceLoc loc = SourceLoc::current());
}  // namespace functional

}  // namespace kiln::nn
