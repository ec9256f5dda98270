#pragma once

#include "kiln/module.h"

namespace kiln {

/// How a loss reduces over the batch, like torch's reduction="mean"|"sum"|"none"
/// (and KLDivLoss's "batchmean": the sum divided by the batch size).
enum class Reduction { None, Mean, Sum, BatchMean };
constexpr Reduction kNone = Reduction::None;
constexpr Reduction kMean = Reduction::Mean;
constexpr Reduction kSum = Reduction::Sum;
constexpr Reduction kBatchMean = Reduction::BatchMean;
/// "none", "mean", "sum", "batchmean"
const char* reduction_name(Reduction reduction);

namespace nn {

/// A loss for kiln::Training. Losses are not part of the module tree or the
/// forward graph: the compiler appends the loss to the model's outputs
/// (the first ones and the target, or what Training::loss_inputs names).
class Loss {
 public:
  virtual ~Loss();
  /// The model file's "type" ("CrossEntropyLoss").
  virtual const char* type_name() const = 0;
  virtual OptionList option_list() const = 0;
  /// Checks the model output and the target against this loss (shapes,
  /// dtypes); throws Error naming `loc` otherwise.
  virtual void check(const Tensor& output, const Tensor& target, SourceLoc loc) const = 0;
  /// How many inputs the loss takes, model outputs and the target
  /// (MarginRankingLoss: input1, input2, target).
  virtual int num_inputs() const { return 2; }
  /// Checks the loss's inputs, in torch's argument order (num_inputs()
  /// of them); by default check(inputs[0], inputs[1]).
  virtual void check_inputs(const std::vector<Tensor>& inputs, SourceLoc loc) const {
    check(inputs[0], inputs[1], loc);
  }
};

/// Options of nn.CrossEntropyLoss.
struct CrossEntropyLossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
  KILN_ARG(int64_t, ignore_index) = -100;
  KILN_ARG(double, label_smoothing) = 0.0;
  /// One weight per class; empty: none.
  KILN_ARG(std::vector<double>, weight);
};

/// Cross entropy between logits [N, C, d...] (or [C]) and int64 class
/// indices [N, d...] (or []), or float32 class probabilities of the logits'
/// shape, like nn.CrossEntropyLoss.
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

/// Options of nn.NLLLoss.
struct NLLLossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
  KILN_ARG(int64_t, ignore_index) = -100;
  /// One weight per class; empty: none.
  KILN_ARG(std::vector<double>, weight);
};

/// Negative log likelihood of log-probabilities [N, C, d...] (or [C]) and
/// int64 class indices [N, d...] (or []), like nn.NLLLoss.
class NLLLossImpl : public Loss {
 public:
  explicit NLLLossImpl(const NLLLossOptions& options = {}) : options_(options) {}
  const char* type_name() const override { return "NLLLoss"; }
  OptionList option_list() const override;
  void check(const Tensor& output, const Tensor& target, SourceLoc loc) const override;
  const NLLLossOptions& options() const { return options_; }

 private:
  NLLLossOptions options_;
};
KILN_MODULE(NLLLoss);

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

/// A loss of one float32 input and a float32 target of the same shape
/// (L1Loss, HuberLoss, BCELoss, ...): the model file's "type" and options
/// are all it adds. Throws Error (naming the loss) for reduction
/// "batchmean" unless `batchmean_ok` (KLDivLoss).
class PointwiseLoss : public Loss {
 public:
  PointwiseLoss(const char* type, OptionList options, Reduction reduction, bool batchmean_ok = false);
  const char* type_name() const override { return type_; }
  OptionList option_list() const override { return options_; }
  void check(const Tensor& output, const Tensor& target, SourceLoc loc) const override;

 private:
  const char* type_;
  OptionList options_;
};

struct L1LossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
};
/// |output - target|, like nn.L1Loss.
class L1LossImpl : public PointwiseLoss {
 public:
  explicit L1LossImpl(const L1LossOptions& o = {});
};
KILN_MODULE(L1Loss);

struct HuberLossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
  KILN_ARG(double, delta) = 1.0;
};
/// nn.HuberLoss; throws Error unless delta > 0.
class HuberLossImpl : public PointwiseLoss {
 public:
  explicit HuberLossImpl(const HuberLossOptions& o = {});
};
KILN_MODULE(HuberLoss);

struct SmoothL1LossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
  KILN_ARG(double, beta) = 1.0;
};
/// nn.SmoothL1Loss (beta = 0 is the L1 loss); throws Error for beta < 0.
class SmoothL1LossImpl : public PointwiseLoss {
 public:
  explicit SmoothL1LossImpl(const SmoothL1LossOptions& o = {});
};
KILN_MODULE(SmoothL1Loss);

struct SoftMarginLossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
};
/// log(1 + exp(-target * output)), like nn.SoftMarginLoss (targets +-1).
class SoftMarginLossImpl : public PointwiseLoss {
 public:
  explicit SoftMarginLossImpl(const SoftMarginLossOptions& o = {});
};
KILN_MODULE(SoftMarginLoss);

struct HingeEmbeddingLossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
  KILN_ARG(double, margin) = 1.0;
};
/// nn.HingeEmbeddingLoss: x where the target is 1, max(margin - x, 0)
/// where it is -1.
class HingeEmbeddingLossImpl : public PointwiseLoss {
 public:
  explicit HingeEmbeddingLossImpl(const HingeEmbeddingLossOptions& o = {});
};
KILN_MODULE(HingeEmbeddingLoss);

struct BCELossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
  /// Per-element weights, broadcast over the last dimension (1 value or
  /// one per element of it); empty: none.
  KILN_ARG(std::vector<double>, weight);
};
/// Binary cross entropy of probabilities in [0, 1], like nn.BCELoss.
class BCELossImpl : public PointwiseLoss {
 public:
  explicit BCELossImpl(const BCELossOptions& o = {});
};
KILN_MODULE(BCELoss);

struct BCEWithLogitsLossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
  /// As BCELossOptions::weight.
  KILN_ARG(std::vector<double>, weight);
  /// Weight of the positive term per class (last dimension); empty: none.
  KILN_ARG(std::vector<double>, pos_weight);
};
/// Sigmoid + binary cross entropy in one stable formula, like
/// nn.BCEWithLogitsLoss.
class BCEWithLogitsLossImpl : public PointwiseLoss {
 public:
  explicit BCEWithLogitsLossImpl(const BCEWithLogitsLossOptions& o = {});
};
KILN_MODULE(BCEWithLogitsLoss);

struct PoissonNLLLossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
  KILN_ARG(bool, log_input) = true;
  KILN_ARG(bool, full) = false;
  KILN_ARG(double, eps) = 1e-8;
};
/// nn.PoissonNLLLoss.
class PoissonNLLLossImpl : public PointwiseLoss {
 public:
  explicit PoissonNLLLossImpl(const PoissonNLLLossOptions& o = {});
};
KILN_MODULE(PoissonNLLLoss);

struct KLDivLossOptions {
  /// kMean, kSum, kNone or kBatchMean.
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
  KILN_ARG(bool, log_target) = false;
};
/// nn.KLDivLoss: the output holds log-probabilities.
class KLDivLossImpl : public PointwiseLoss {
 public:
  explicit KLDivLossImpl(const KLDivLossOptions& o = {});
};
KILN_MODULE(KLDivLoss);

struct MultiLabelSoftMarginLossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
  /// One weight per class (last dimension) or a single one; empty: none.
  KILN_ARG(std::vector<double>, weight);
};
/// nn.MultiLabelSoftMarginLoss: one loss per row (mean over the classes).
class MultiLabelSoftMarginLossImpl : public PointwiseLoss {
 public:
  explicit MultiLabelSoftMarginLossImpl(const MultiLabelSoftMarginLossOptions& o = {});
};
KILN_MODULE(MultiLabelSoftMarginLoss);

/// A loss of several float32 inputs in torch's argument order (model
/// outputs and the target; Training::loss_inputs names them):
/// MarginRankingLoss, CosineEmbeddingLoss, GaussianNLLLoss, the triplet
/// losses. The compiler checks shapes and options with torch's messages;
/// check_inputs checks the count and dtypes while tracing.
class MultiInputLoss : public Loss {
 public:
  MultiInputLoss(const char* type, OptionList options, std::vector<const char*> arg_names);
  const char* type_name() const override { return type_; }
  OptionList option_list() const override { return options_; }
  int num_inputs() const override { return static_cast<int>(arg_names_.size()); }
  void check(const Tensor& output, const Tensor& target, SourceLoc loc) const override;
  void check_inputs(const std::vector<Tensor>& inputs, SourceLoc loc) const override;

 private:
  const char* type_;
  OptionList options_;
  std::vector<const char*> arg_names_;
};

struct MarginRankingLossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
  KILN_ARG(double, margin) = 0.0;
};
/// clamp_min(-target (input1 - input2) + margin, 0), like nn.MarginRankingLoss
/// (inputs input1, input2, target).
class MarginRankingLossImpl : public MultiInputLoss {
 public:
  explicit MarginRankingLossImpl(const MarginRankingLossOptions& o = {});
};
KILN_MODULE(MarginRankingLoss);

struct CosineEmbeddingLossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
  KILN_ARG(double, margin) = 0.0;
};
/// 1 - cos(input1, input2) where target is 1, clamp_min(cos - margin, 0)
/// where it is -1, like nn.CosineEmbeddingLoss (inputs [N, D] or [D],
/// target [N] or []).
class CosineEmbeddingLossImpl : public MultiInputLoss {
 public:
  explicit CosineEmbeddingLossImpl(const CosineEmbeddingLossOptions& o = {});
};
KILN_MODULE(CosineEmbeddingLoss);

struct GaussianNLLLossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
  KILN_ARG(bool, full) = false;
  KILN_ARG(double, eps) = 1e-6;
};
/// 0.5 (log var + (input - target)^2 / var), var clamped at eps, like
/// nn.GaussianNLLLoss (inputs input, target, var).
class GaussianNLLLossImpl : public MultiInputLoss {
 public:
  /// Throws Error unless eps >= 0.
  explicit GaussianNLLLossImpl(const GaussianNLLLossOptions& o = {});
};
KILN_MODULE(GaussianNLLLoss);

struct TripletMarginLossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
  KILN_ARG(double, margin) = 1.0;
  KILN_ARG(double, p) = 2.0;
  KILN_ARG(double, eps) = 1e-6;
  KILN_ARG(bool, swap) = false;
};
/// clamp_min(margin + d(anchor, positive) - d(anchor, negative), 0) with
/// d = pairwise_distance(., ., p, eps), like nn.TripletMarginLoss (inputs
/// anchor, positive, negative: no target).
class TripletMarginLossImpl : public MultiInputLoss {
 public:
  explicit TripletMarginLossImpl(const TripletMarginLossOptions& o = {});
};
KILN_MODULE(TripletMarginLoss);

/// The built-in distances of TripletMarginWithDistanceLoss (torch takes a
/// callable): pairwise_distance (torch's default) or 1 - cosine_similarity.
enum class TripletDistance { PairwiseDistance, CosineDistance };
constexpr TripletDistance kPairwiseDistance = TripletDistance::PairwiseDistance;
constexpr TripletDistance kCosineDistance = TripletDistance::CosineDistance;

struct TripletMarginWithDistanceLossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
  KILN_ARG(TripletDistance, distance_function) = TripletDistance::PairwiseDistance;
  KILN_ARG(double, margin) = 1.0;
  KILN_ARG(bool, swap) = false;
};
/// TripletMarginLoss with a built-in distance, like
/// nn.TripletMarginWithDistanceLoss.
class TripletMarginWithDistanceLossImpl : public MultiInputLoss {
 public:
  /// Throws Error unless margin > 0 (torch's check).
  explicit TripletMarginWithDistanceLossImpl(const TripletMarginWithDistanceLossOptions& o = {});
};
KILN_MODULE(TripletMarginWithDistanceLoss);

struct MultiMarginLossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
  KILN_ARG(int64_t, p) = 1;
  KILN_ARG(double, margin) = 1.0;
  /// One weight per class; empty: none.
  KILN_ARG(std::vector<double>, weight);
};
/// Per row, the sum over the classes d != y of w[y] max(0, margin - x[y] +
/// x[d])^p divided by C, like nn.MultiMarginLoss: output [N, C] or [C],
/// target int64 class indices [N] or [].
class MultiMarginLossImpl : public Loss {
 public:
  /// Throws Error unless p is 1 or 2.
  explicit MultiMarginLossImpl(const MultiMarginLossOptions& options = {});
  const char* type_name() const override { return "MultiMarginLoss"; }
  OptionList option_list() const override;
  void check(const Tensor& output, const Tensor& target, SourceLoc loc) const override;

 private:
  MultiMarginLossOptions options_;
};
KILN_MODULE(MultiMarginLoss);

struct MultiLabelMarginLossOptions {
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
};
/// Per row, the sum over the target classes (those before the first -1)
/// and the other classes d of max(0, 1 - x[y] + x[d]) divided by C, like
/// nn.MultiLabelMarginLoss: output [N, C] or [C], target int64 of its shape.
class MultiLabelMarginLossImpl : public Loss {
 public:
  explicit MultiLabelMarginLossImpl(const MultiLabelMarginLossOptions& options = {});
  const char* type_name() const override { return "MultiLabelMarginLoss"; }
  OptionList option_list() const override;
  void check(const Tensor& output, const Tensor& target, SourceLoc loc) const override;

 private:
  MultiLabelMarginLossOptions options_;
};
KILN_MODULE(MultiLabelMarginLoss);

struct CTCLossOptions {
  KILN_ARG(int64_t, blank) = 0;
  KILN_ARG(Reduction, reduction) = Reduction::Mean;
  KILN_ARG(bool, zero_infinity) = false;
};
/// The connectionist temporal classification loss, like nn.CTCLoss: inputs
/// log_probs float32 [T, N, C] (or [T, C]), targets int64 [N, S] (padded;
/// [S] unbatched), input_lengths and target_lengths int64 [N] (or []), in
/// that order (Training::loss_inputs names them: the lengths are usually
/// model inputs, Training::model_input). mean divides each sample's loss by
/// its target length (at least 1) before averaging, as torch. torch's
/// concatenated 1-D targets of a batch are not supported (their size is
/// sum(target_lengths), which a compiled shape cannot follow).
class CTCLossImpl : public Loss {
 public:
  /// Throws Error for a negative blank or reduction batchmean.
  explicit CTCLossImpl(const CTCLossOptions& options = {});
  const char* type_name() const override { return "CTCLoss"; }
  OptionList option_list() const override;
  int num_inputs() const override { return 4; }
  void check(const Tensor& output, const Tensor& target, SourceLoc loc) const override;
  void check_inputs(const std::vector<Tensor>& inputs, SourceLoc loc) const override;

 private:
  CTCLossOptions options_;
};
KILN_MODULE(CTCLoss);

}  // namespace nn

namespace nn::functional {
/// The functional forms (graph functions "l1_loss", ... as torch.nn.functional
/// names them) of the losses above: a loss over graph values, e.g. a
/// per-element loss (reduction kNone) that the model reduces its own way.
/// `target` is a float32 graph value (a model input) of `input`'s shape.
Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossOptions& options = {},
                SourceLoc loc = SourceLoc::current());
Tensor l1_loss(const Tensor& input, const Tensor& target, const L1LossOptions& options = {},
               SourceLoc loc = SourceLoc::current());
Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossOptions& options = {},
                  SourceLoc loc = SourceLoc::current());
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossOptions& options = {},
                      SourceLoc loc = SourceLoc::current());
Tensor soft_margin_loss(const Tensor& input, const Tensor& target, const SoftMarginLossOptions& options = {},
                        SourceLoc loc = SourceLoc::current());
Tensor hinge_embedding_loss(const Tensor& input, const Tensor& target, const HingeEmbeddingLossOptions& options = {},
                            SourceLoc loc = SourceLoc::current());
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const BCELossOptions& options = {},
                            SourceLoc loc = SourceLoc::current());
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BCEWithLogitsLossOptions& options = {},
                                        SourceLoc loc = SourceLoc::current());
Tensor poisson_nll_loss(const Tensor& input, const Tensor& target, const PoissonNLLLossOptions& options = {},
                        SourceLoc loc = SourceLoc::current());
Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivLossOptions& options = {},
              SourceLoc loc = SourceLoc::current());
Tensor multilabel_soft_margin_loss(const Tensor& input, const Tensor& target,
                                   const MultiLabelSoftMarginLossOptions& options = {},
                                   SourceLoc loc = SourceLoc::current());
/// The functional forms of the losses of several inputs, torch's argument
/// order; all float32 graph values.
Tensor margin_ranking_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                           const MarginRankingLossOptions& options = {}, SourceLoc loc = SourceLoc::current());
Tensor cosine_embedding_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                             const CosineEmbeddingLossOptions& options = {},
                             SourceLoc loc = SourceLoc::current());
Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var,
                         const GaussianNLLLossOptions& options = {}, SourceLoc loc = SourceLoc::current());
Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                           const TripletMarginLossOptions& options = {}, SourceLoc loc = SourceLoc::current());
Tensor triplet_margin_with_distance_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                                         const TripletMarginWithDistanceLossOptions& options = {},
                                         SourceLoc loc = SourceLoc::current());
/// F.ctc_loss: per-sample losses [N] with reduction kNone ([] unbatched),
/// else a scalar. targets and both lengths are int64 graph values (model
/// inputs).
Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                const Tensor& target_lengths, const CTCLossOptions& options = {},
                SourceLoc loc = SourceLoc::current());
using CTCLossFuncOptions = CTCLossOptions;
/// libtorch's FuncOptions names.
using MarginRankingLossFuncOptions = MarginRankingLossOptions;
using CosineEmbeddingLossFuncOptions = CosineEmbeddingLossOptions;
using GaussianNLLLossFuncOptions = GaussianNLLLossOptions;
using TripletMarginLossFuncOptions = TripletMarginLossOptions;
using TripletMarginWithDistanceLossFuncOptions = TripletMarginWithDistanceLossOptions;
}  // namespace nn::functional
}  // namespace kiln
