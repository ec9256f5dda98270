#pragma once

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

}  // namespace kiln::optim
