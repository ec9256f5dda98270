#pragma once

#include <vector>

#include "kiln/options.h"

namespace kiln::optim {

/// An optimizer for kiln::Training. It applies to every parameter of the
/// model, so unlike libtorch it takes no parameter list.
class Optimizer {
 public:
  virtual ~Optimizer();
  /// The model file's "type" ("SGD").
  virtual const char* type_name() const = 0;
  virtual OptionList option_list() const = 0;
};

/// Options of torch.optim.SGD; lr is required like in libtorch.
struct SGDOptions {
  explicit SGDOptions(double lr) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(double, momentum) = 0.0;
  KILN_ARG(double, dampening) = 0.0;
  KILN_ARG(double, weight_decay) = 0.0;
  KILN_ARG(bool, nesterov) = false;
  KILN_ARG(bool, maximize) = false;
};

/// Stochastic gradient descent with torch.optim.SGD's semantics.
class SGD : public Optimizer {
 public:
  /// Validates like torch: lr, momentum and weight_decay are finite and
  /// >= 0, dampening finite, and nesterov requires momentum > 0 and
  /// dampening == 0. Throws Error otherwise.
  explicit SGD(const SGDOptions& options);
  const char* type_name() const override { return "SGD"; }
  OptionList option_list() const override;
  const SGDOptions& options() const { return options_; }

 private:
  SGDOptions options_;
};

/// Options of torch.optim.Adam (libtorch's AdamOptions): lr=1e-3,
/// betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=false; maximize as
/// in Python torch.
struct AdamOptions {
  AdamOptions(double lr = 1e-3) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(std::vector<double>, betas) = {0.9, 0.999};
  KILN_ARG(double, eps) = 1e-8;
  KILN_ARG(double, weight_decay) = 0.0;
  KILN_ARG(bool, amsgrad) = false;
  KILN_ARG(bool, maximize) = false;
};

/// torch.optim.AdamW: AdamOptions' fields with weight_decay=1e-2 (decoupled).
struct AdamWOptions {
  AdamWOptions(double lr = 1e-3) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(std::vector<double>, betas) = {0.9, 0.999};
  KILN_ARG(double, eps) = 1e-8;
  KILN_ARG(double, weight_decay) = 1e-2;
  KILN_ARG(bool, amsgrad) = false;
  KILN_ARG(bool, maximize) = false;
};

/// torch.optim.Adamax (Python torch's defaults: lr=2e-3).
struct AdamaxOptions {
  AdamaxOptions(double lr = 2e-3) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(std::vector<double>, betas) = {0.9, 0.999};
  KILN_ARG(double, eps) = 1e-8;
  KILN_ARG(double, weight_decay) = 0.0;
  KILN_ARG(bool, maximize) = false;
};

/// torch.optim.NAdam (Python torch's defaults: lr=2e-3, momentum_decay=4e-3).
struct NAdamOptions {
  NAdamOptions(double lr = 2e-3) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(std::vector<double>, betas) = {0.9, 0.999};
  KILN_ARG(double, eps) = 1e-8;
  KILN_ARG(double, weight_decay) = 0.0;
  KILN_ARG(double, momentum_decay) = 4e-3;
};

/// torch.optim.RAdam.
struct RAdamOptions {
  RAdamOptions(double lr = 1e-3) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(std::vector<double>, betas) = {0.9, 0.999};
  KILN_ARG(double, eps) = 1e-8;
  KILN_ARG(double, weight_decay) = 0.0;
};

/// torch.optim.Adagrad (libtorch's AdagradOptions).
struct AdagradOptions {
  AdagradOptions(double lr = 1e-2) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(double, lr_decay) = 0.0;
  KILN_ARG(double, weight_decay) = 0.0;
  KILN_ARG(double, initial_accumulator_value) = 0.0;
  KILN_ARG(double, eps) = 1e-10;
  KILN_ARG(bool, maximize) = false;
};

/// torch.optim.Adadelta.
struct AdadeltaOptions {
  AdadeltaOptions(double lr = 1.0) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(double, rho) = 0.9;
  KILN_ARG(double, eps) = 1e-6;
  KILN_ARG(double, weight_decay) = 0.0;
  KILN_ARG(bool, maximize) = false;
};

/// torch.optim.RMSprop (libtorch's RMSpropOptions).
struct RMSpropOptions {
  RMSpropOptions(double lr = 1e-2) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(double, alpha) = 0.99;
  KILN_ARG(double, eps) = 1e-8;
  KILN_ARG(double, weight_decay) = 0.0;
  KILN_ARG(double, momentum) = 0.0;
  KILN_ARG(bool, centered) = false;
  KILN_ARG(bool, maximize) = false;
};

/// torch.optim.Rprop: etas = (etaminus, etaplus), step_sizes = (min, max).
struct RpropOptions {
  RpropOptions(double lr = 1e-2) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(std::vector<double>, etas) = {0.5, 1.2};
  KILN_ARG(std::vector<double>, step_sizes) = {1e-6, 50.0};
  KILN_ARG(bool, maximize) = false;
};

/// torch.optim.ASGD.
struct ASGDOptions {
  ASGDOptions(double lr = 1e-2) : lr_(lr) {}
  KILN_ARG(double, lr);
  KILN_ARG(double, lambd) = 1e-4;
  KILN_ARG(double, alpha) = 0.75;
  KILN_ARG(double, t0) = 1e6;
  KILN_ARG(double, weight_decay) = 0.0;
  KILN_ARG(bool, maximize) = false;
};

/// The optimizers other than SGD: torch's semantics (compiled by kilnc,
/// passes/optim/), the options written to the model file as given. Each
/// constructor validates like torch's (lr, eps, weight_decay >= 0, betas in
/// [0, 1), ...) and throws Error otherwise.
#define KILN_OPTIMIZER(Name)                                        \
  class Name : public Optimizer {                                   \
   public:                                                          \
    explicit Name(const Name##Options& options = Name##Options());  \
    const char* type_name() const override { return #Name; }        \
    OptionList option_list() const override;                       \
    const Name##Options& options() const { return options_; }       \
                                                                    \
   private:                                                         \
    Name##Options options_;                                         \
  };
KILN_OPTIMIZER(Adam)
KILN_OPTIMIZER(AdamW)
KILN_OPTIMIZER(Adamax)
KILN_OPTIMIZER(NAdam)
KILN_OPTIMIZER(RAdam)
KILN_OPTIMIZER(Adagrad)
KILN_OPTIMIZER(Adadelta)
KILN_OPTIMIZER(RMSprop)
KILN_OPTIMIZER(Rprop)
KILN_OPTIMIZER(ASGD)
#undef KILN_OPTIMIZER

}  // namespace kiln::optim
