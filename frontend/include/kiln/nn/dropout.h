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

/// libtorch's option types of the other dropout layers: p and inplace.
using Dropout1dOptions = DropoutOptions;
using Dropout2dOptions = DropoutOptions;
using Dropout3dOptions = DropoutOptions;
using AlphaDropoutOptions = DropoutOptions;
using FeatureAlphaDropoutOptions = DropoutOptions;

/// The other members of the dropout family: `type` is the torch name
/// (Dropout1d, Dropout2d, Dropout3d: one mask value per channel, as torch
/// 1.13 shapes it for batched and unbatched inputs; AlphaDropout and
/// FeatureAlphaDropout: SELU-preserving, per element / per channel). In
/// eval mode each is the identity; the compiled model draws the masks.
class DropoutVariantImpl : public Module {
 public:
  DropoutVariantImpl(std::string type, const DropoutOptions& options);
  /// Precondition (checked): float32; Dropout1d takes 2-D or 3-D inputs,
  /// the channel layers at least 2-D (Dropout3d at least 1-D).
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;

 private:
  DropoutOptions options_;
};

#define KILN_DROPOUT_VARIANT(Name)                                                          \
  class Name##Impl : public DropoutVariantImpl {                                            \
   public:                                                                                 \
    explicit Name##Impl(const DropoutOptions& options = {}) : DropoutVariantImpl(#Name, options) {} \
  };                                                                                       \
  KILN_MODULE(Name)
KILN_DROPOUT_VARIANT(Dropout1d);
KILN_DROPOUT_VARIANT(Dropout2d);
KILN_DROPOUT_VARIANT(Dropout3d);
KILN_DROPOUT_VARIANT(AlphaDropout);
KILN_DROPOUT_VARIANT(FeatureAlphaDropout);
#undef KILN_DROPOUT_VARIANT

namespace functional {
/// libtorch's F::DropoutFuncOptions: p, training (default true: the mask is
/// drawn in either mode of the model, as torch's F.dropout does unless
/// passed `self.training`), inplace (accepted, no effect).
struct DropoutFuncOptions {
  KILN_ARG(double, p) = 0.5;
  KILN_ARG(bool, training) = true;
  KILN_ARG(bool, inplace) = false;
};
using Dropout1dFuncOptions = DropoutFuncOptions;
using Dropout2dFuncOptions = DropoutFuncOptions;
using Dropout3dFuncOptions = DropoutFuncOptions;
/// F.alpha_dropout / F.feature_alpha_dropout: training defaults to false
/// (torch's), the identity then.
struct AlphaDropoutFuncOptions {
  KILN_ARG(double, p) = 0.5;
  KILN_ARG(bool, training) = false;
  KILN_ARG(bool, inplace) = false;
};
using FeatureAlphaDropoutFuncOptions = AlphaDropoutFuncOptions;

/// The functional forms of the dropout layers (same masks and input ranks).
Tensor dropout(const Tensor& input, const DropoutFuncOptions& options = {},
               SourceLoc loc = SourceLoc::current());
Tensor dropout1d(const Tensor& input, const Dropout1dFuncOptions& options = {},
                 SourceLoc loc = SourceLoc::current());
Tensor dropout2d(const Tensor& input, const Dropout2dFuncOptions& options = {},
                 SourceLoc loc = SourceLoc::current());
Tensor dropout3d(const Tensor& input, const Dropout3dFuncOptions& options = {},
                 SourceLoc loc = SourceLoc::current());
Tensor alpha_dropout(const Tensor& input, const AlphaDropoutFuncOptions& options = {},
                     SourceLoc loc = SourceLoc::current());
Tensor feature_alpha_dropout(const Tensor& input, const FeatureAlphaDropoutFuncOptions& options = {},
                             SourceLoc loc = SourceLoc::current());
}  // namespace functional

}  // namespace kiln::nn
