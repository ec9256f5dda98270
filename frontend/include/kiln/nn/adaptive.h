#pragma once

#include <vector>

#include "kiln/module.h"

namespace kiln::nn {

/// Options of nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs,
/// div_value=4.0, head_bias=False).
struct AdaptiveLogSoftmaxWithLossOptions {
  AdaptiveLogSoftmaxWithLossOptions(int64_t in_features, int64_t n_classes, std::vector<int64_t> cutoffs)
      : in_features_(in_features), n_classes_(n_classes), cutoffs_(std::move(cutoffs)) {}
  KILN_ARG(int64_t, in_features);
  KILN_ARG(int64_t, n_classes);
  KILN_ARG(std::vector<int64_t>, cutoffs);
  KILN_ARG(double, div_value) = 4.0;
  KILN_ARG(bool, head_bias) = false;
};

/// What forward gives, as torch's namedtuple: each target's log-probability
/// ([N], or [] unbatched) and the loss mean(-output).
struct ASMoutput {
  Tensor output;
  Tensor loss;
};

/// torch.nn.AdaptiveLogSoftmaxWithLoss. Its parameters (head.weight,
/// head.bias, tail.<i>.0.weight, tail.<i>.1.weight, torch's state_dict
/// names) are declared by the compiler from the options; the DSL does not
/// list them (its parameter names cannot contain dots).
class AdaptiveLogSoftmaxWithLossImpl : public Module {
 public:
  /// Throws Error unless cutoffs are unique, positive, increasing and below
  /// n_classes, and every tail's hidden size in_features // div_value^(i+1)
  /// is >= 1.
  explicit AdaptiveLogSoftmaxWithLossImpl(const AdaptiveLogSoftmaxWithLossOptions& options);
  /// float32 input [N, in_features] with int64 target [N] in [0, n_classes),
  /// or [in_features] with [].
  ASMoutput forward(const Tensor& input, const Tensor& target, SourceLoc loc = SourceLoc::current());
  /// Every class's log-probability: [N, in_features] -> [N, n_classes].
  Tensor log_prob(const Tensor& input, SourceLoc loc = SourceLoc::current());
  /// Each row's most likely class: [N, in_features] -> int64 [N] (a model
  /// output, or an index input).
  Tensor predict(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;

 private:
  AdaptiveLogSoftmaxWithLossOptions options_;
};
KILN_MODULE(AdaptiveLogSoftmaxWithLoss);

}  // namespace kiln::nn
