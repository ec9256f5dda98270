#pragma once

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

}  // namespace kiln::nn
