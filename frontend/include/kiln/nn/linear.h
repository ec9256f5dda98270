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

  /// Parameter handles, as libtorch's members: `F::linear(x, fc->weight)`
  /// ties a weight. `bias` is undefined without a bias.
  Tensor weight, bias;

 private:
  LinearOptions options_;
};
KILN_MODULE(Linear);

/// Options of nn.LazyLinear(out_features, bias=True): in_features comes from
/// the first input.
struct LazyLinearOptions {
  LazyLinearOptions(int64_t out_features) : out_features_(out_features) {}  // NOLINT
  KILN_ARG(int64_t, out_features);
  KILN_ARG(bool, bias) = true;
};

/// torch.nn.LazyLinear: a Linear whose in_features is the last dimension of
/// the first input it is called on; the model file records it (type
/// "LazyLinear"), and kilnc compiles the Linear it becomes. Parameters are
/// declared at that first call.
class LazyLinearImpl : public Module {
 public:
  /// Throws Error unless out_features >= 1.
  explicit LazyLinearImpl(const LazyLinearOptions& options);
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;

 private:
  LazyLinearOptions options_;
  int64_t in_features_ = 0;  // 0 until the first call
};
KILN_MODULE(LazyLinear);

/// Options of nn.Bilinear(in1_features, in2_features, out_features, bias=True).
struct BilinearOptions {
  BilinearOptions(int64_t in1_features, int64_t in2_features, int64_t out_features)
      : in1_features_(in1_features), in2_features_(in2_features), out_features_(out_features) {}
  KILN_ARG(int64_t, in1_features);
  KILN_ARG(int64_t, in2_features);
  KILN_ARG(int64_t, out_features);
  KILN_ARG(bool, bias) = true;
};

/// y = x1^T W x2 + b: inputs [*, in1] and [*, in2] with the same leading
/// dimensions -> [*, out]. Parameters: "weight" [out, in1, in2], "bias" [out].
class BilinearImpl : public Module {
 public:
  BilinearImpl(int64_t in1_features, int64_t in2_features, int64_t out_features)
      : BilinearImpl(BilinearOptions(in1_features, in2_features, out_features)) {}
  /// Throws Error unless every size is >= 1.
  explicit BilinearImpl(const BilinearOptions& options);
  Tensor forward(const Tensor& input1, const Tensor& input2, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;

 private:
  BilinearOptions options_;
};
KILN_MODULE(Bilinear);

namespace functional {
/// torch.bilinear(input1, input2, weight[, bias]): weight is [out, in1,
/// in2], bias [out].
Tensor bilinear(const Tensor& input1, const Tensor& input2, const Tensor& weight,
                SourceLoc loc = SourceLoc::current());
Tensor bilinear(const Tensor& input1, const Tensor& input2, const Tensor& weight, const Tensor& bias,
                SourceLoc loc = SourceLoc::current());
/// F.linear(input, weight[, bias]): input [*, in], weight [out, in], bias
/// [out]; the weight is usually a module's own parameter or a tied one.
Tensor linear(const Tensor& input, const Tensor& weight, SourceLoc loc = SourceLoc::current());
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias,
              SourceLoc loc = SourceLoc::current());
}  // namespace functional

}  // namespace kiln::nn
