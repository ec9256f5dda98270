#pragma once

#include "kiln/module.h"

namespace kiln {

/// How a loss reduces over the batch, like torch's reduction="mean"|"sum"|"none".
enum class Reduction { None, Mean, Sum };
constexpr Reduction kNone = Reduction::None;
constexpr Reduction kMean = Reduction::Mean;
constexpr Reduction kSum = Reduction::Sum;
/// "none", "mean", "sum"
const char* reduction_name(Reduction reduction);

namespace nn {

/// A loss for kiln::Training. Losses are not part of the module tree or the
/// forward graph: the compiler appends the loss to the model's single output.
class Loss {
 public:
  virtual ~Loss();
  /// The model file's "type" ("CrossEntropyLoss").
  virtual const char* type_name() const = 0;
  virtual OptionList option_list() const = 0;
  /// Checks the model output and the target against this loss (shapes,
  /// dtypes); throws Error naming `loc` otherwise.
  virtual void check(const Tensor& output, const Tensor& target, SourceLoc loc) const = 0;
};

/// Options of nn.CrossEntropyLoss (no class weights yet).
struct CrossEntropyLossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
  KILN_ARG(int64_t, ignore_index) = -100;
  KILN_ARG(double, label_smoothing) = 0.0;
};

/// Cross entropy between logits [N, C] (float32) and class indices [N]
/// (int64), like nn.CrossEntropyLoss.
class CrossEntropyLossImpl : public Loss {
 public:
  /// Throws Error unless 0 <= label_smoothing <= 1.
  explicit CrossEntropyLossImpl(const CrossEntropyLossOptions& options = {});
  const char* type_name() const override { return "CrossEntropyLoss"; }
  OptionList option_list() const override;
  void check(const Tensor& output, const Tensor& target, SourceLoc loc) const override;
  const CrossEntropyLossOptions& options() const { return options_; }

 private:
  CrossEntropyLossOptions options_;
};
KILN_MODULE(CrossEntropyLoss);

/// Options of nn.MSELoss.
struct MSELossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
};

/// Mean squared error between the output and a float32 target of the same
/// shape, like nn.MSELoss.
class MSELossImpl : public Loss {
 public:
  explicit MSELossImpl(const MSELossOptions& options = {}) : options_(options) {}
  const char* type_name() const override { return "MSELoss"; }
  OptionList option_list() const override;
  void check(const Tensor& output, const Tensor& target, SourceLoc loc) const override;
  const MSELossOptions& options() const { return options_; }

 private:
  MSELossOptions options_;
};
KILN_MODULE(MSELoss);

}  // namespace nn
}  // namespace kiln
