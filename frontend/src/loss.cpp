#include "kiln/nn/loss.h"

#include <cmath>

#include "shapes.h"

namespace kiln {

const char* reduction_name(Reduction reduction) {
  switch (reduction) {
    case Reduction::None: return "none";
    case Reduction::Mean: return "mean";
    case Reduction::Sum: return "sum";
    case Reduction::BatchMean: return "batchmean";
  }
  return "?";
}

namespace nn {

Loss::~Loss() = default;

CrossEntropyLossImpl::CrossEntropyLossImpl(const CrossEntropyLossOptions& options) : options_(options) {
  double s = options.label_smoothing();
  if (!(s >= 0.0 && s <= 1.0)) {
    detail::fail("CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, got " + std::to_string(s));
  }
}

namespace {

/// An optional weight vector: null (torch's None) when empty.
OptionValue optional_weights(const std::vector<double>& w) {
  if (w.empty()) return nullptr;
  return w;
}

/// Checks int64 class indices of the output's shape without its class
/// dimension (1, or 0 for an unbatched [C] output).
bool class_index_target(const Tensor& output, const Tensor& target) {
  if (output.dim() == 0 || target.dtype() != Dtype::Int64) return false;
  Shape expected = output.sizes();
  expected.erase(expected.begin() + (output.dim() == 1 ? 0 : 1));
  return target.sizes() == expected;
}

}  // namespace

OptionList CrossEntropyLossImpl::option_list() const {
  return {{"reduction", std::string(reduction_name(options_.reduction()))},
          {"label_smoothing", options_.label_smoothing()},
          {"ignore_index", options_.ignore_index()},
          {"weight", optional_weights(options_.weight())}};
}

void CrossEntropyLossImpl::check(const Tensor& output, const Tensor& target, SourceLoc loc) const {
  if (output.dim() == 0 || output.dtype() != Dtype::Float32) {
    detail::fail(loc, "CrossEntropyLoss expects the model output to be float32 logits [N, C, ...] or [C], got " +
                          std::string(dtype_name(output.dtype())) + " " + shape_str(output.sizes()));
  }
  bool probabilities = target.dtype() == Dtype::Float32 && target.sizes() == output.sizes();
  if (!probabilities && !class_index_target(output, target)) {
    detail::fail(loc, "CrossEntropyLoss expects int64 class indices of the output's shape without the class "
                      "dimension, or float32 class probabilities of the output's shape " +
                          shape_str(output.sizes()) + ", got target '" + target.name() + "': " +
                          dtype_name(target.dtype()) + " " + shape_str(target.sizes()));
  }
}

OptionList NLLLossImpl::option_list() const {
  return {{"reduction", std::string(reduction_name(options_.reduction()))},
          {"ignore_index", options_.ignore_index()},
          {"weight", optional_weights(options_.weight())}};
}

void NLLLossImpl::check(const Tensor& output, const Tensor& target, SourceLoc loc) const {
  if (output.dtype() != Dtype::Float32 || !class_index_target(output, target)) {
    detail::fail(loc, "NLLLoss expects float32 log-probabilities [N, C, ...] or [C] and int64 class indices of "
                      "their shape without the class dimension; got output " +
                          std::string(dtype_name(output.dtype())) + " " + shape_str(output.sizes()) +
                          " and target '" + target.name() + "': " + dtype_name(target.dtype()) + " " +
                          shape_str(target.sizes()));
  }
}

OptionList MSELossImpl::option_list() const {
  return {{"reduction", std::string(reduction_name(options_.reduction()))}};
}

void MSELossImpl::check(const Tensor& output, const Tensor& target, SourceLoc loc) const {
  if (output.dtype() != Dtype::Float32 || target.dtype() != Dtype::Float32 || output.sizes() != target.sizes()) {
    detail::fail(loc, "MSELoss expects a float32 target of the output's shape " + shape_str(output.sizes()) +
                          " (output is " + dtype_name(output.dtype()) + "), got target '" + target.name() +
                          "': " + dtype_name(target.dtype()) + " " + shape_str(target.sizes()));
  }
}

PointwiseLoss::PointwiseLoss(const char* type, OptionList options, Reduction reduction, bool batchmean_ok)
    : type_(type), options_(std::move(options)) {
  if (reduction == Reduction::BatchMean && !batchmean_ok) {
    detail::fail(std::string(type) + ": reduction \"batchmean\" is KLDivLoss's only");
  }
}

void PointwiseLoss::check(const Tensor& output, const Tensor& target, SourceLoc loc) const {
  if (output.dtype() != Dtype::Float32 || target.dtype() != Dtype::Float32 || output.sizes() != target.sizes()) {
    detail::fail(loc, std::string(type_) + " expects a float32 target of the output's shape " +
                          shape_str(output.sizes()) + " (output is " + dtype_name(output.dtype()) + "), got target '" +
                          target.name() + "': " + dtype_name(target.dtype()) + " " + shape_str(target.sizes()));
  }
}

namespace {

OptionValue reduction_value(Reduction r) { return std::string(reduction_name(r)); }

}  // namespace

L1LossImpl::L1LossImpl(const L1LossOptions& o) : PointwiseLoss("L1Loss", {{"reduction", reduction_value(o.reduction())}}, o.reduction()) {}

HuberLossImpl::HuberLossImpl(const HuberLossOptions& o)
    : PointwiseLoss("HuberLoss", {{"reduction", reduction_value(o.reduction())}, {"delta", o.delta()}}, o.reduction()) {
  if (!(o.delta() > 0)) detail::fail("HuberLoss: huber_loss does not support non-positive values for delta");
}

SmoothL1LossImpl::SmoothL1LossImpl(const SmoothL1LossOptions& o)
    : PointwiseLoss("SmoothL1Loss", {{"reduction", reduction_value(o.reduction())}, {"beta", o.beta()}}, o.reduction()) {
  if (!(o.beta() >= 0)) detail::fail("SmoothL1Loss: smooth_l1_loss does not support negative values for beta");
}

SoftMarginLossImpl::SoftMarginLossImpl(const SoftMarginLossOptions& o)
    : PointwiseLoss("SoftMarginLoss", {{"reduction", reduction_value(o.reduction())}}, o.reduction()) {}

HingeEmbeddingLossImpl::HingeEmbeddingLossImpl(const HingeEmbeddingLossOptions& o)
    : PointwiseLoss("HingeEmbeddingLoss", {{"reduction", reduction_value(o.reduction())}, {"margin", o.margin()}},
                    o.reduction()) {}

BCELossImpl::BCELossImpl(const BCELossOptions& o)
    : PointwiseLoss("BCELoss", {{"reduction", reduction_value(o.reduction())}, {"weight", optional_weights(o.weight())}},
                    o.reduction()) {}

BCEWithLogitsLossImpl::BCEWithLogitsLossImpl(const BCEWithLogitsLossOptions& o)
    : PointwiseLoss("BCEWithLogitsLoss",
                    {{"reduction", reduction_value(o.reduction())},
                     {"weight", optional_weights(o.weight())},
                     {"pos_weight", optional_weights(o.pos_weight())}},
                    o.reduction()) {}

PoissonNLLLossImpl::PoissonNLLLossImpl(const PoissonNLLLossOptions& o)
    : PointwiseLoss("PoissonNLLLoss",
                    {{"reduction", reduction_value(o.reduction())},
                     {"log_input", o.log_input()},
                     {"full", o.full()},
                     {"eps", o.eps()}},
                    o.reduction()) {}

KLDivLossImpl::KLDivLossImpl(const KLDivLossOptions& o)
    : PointwiseLoss("KLDivLoss", {{"reduction", reduction_value(o.reduction())}, {"log_target", o.log_target()}},
                    o.reduction(), /*batchmean_ok=*/true) {}

MultiLabelSoftMarginLossImpl::MultiLabelSoftMarginLossImpl(const MultiLabelSoftMarginLossOptions& o)
    : PointwiseLoss("MultiLabelSoftMarginLoss",
                    {{"reduction", reduction_value(o.reduction())}, {"weight", optional_weights(o.weight())}},
                    o.reduction()) {}

}  // namespace nn

namespace nn::functional {
namespace {

/// Records graph function `function` of (input, target): float32 values of
/// one shape; the result is per element (per row for
/// multilabel_soft_margin_loss) with reduction kNone, else a scalar.
Tensor record_loss(const char* function, const Loss& loss, Reduction reduction, const Tensor& input,
                   const Tensor& target, SourceLoc loc, bool per_row = false) {
  std::string what = std::string(function) + "()";
  auto& trace = detail::Trace::active(what, loc);
  trace.check_value(input, what, loc);
  trace.check_value(target, what, loc);
  detail::require_float32(input, what, loc);
  detail::require_float32(target, what, loc);
  if (input.sizes() != target.sizes()) {
    detail::fail(loc, what + ": target '" + target.name() + "' " + shape_str(target.sizes()) +
                          " must have the input's shape " + shape_str(input.sizes()));
  }
  Shape shape;
  if (reduction == Reduction::None) {
    shape = input.sizes();
    if (per_row && !shape.empty()) shape.pop_back();
  }
  return detail::record_function(trace, function, loss.option_list(), {input, target}, shape, Dtype::Float32, loc);
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossOptions& o, SourceLoc loc) {
  return record_loss("mse_loss", MSELossImpl(o), o.reduction(), input, target, loc);
}
Tensor l1_loss(const Tensor& input, const Tensor& target, const L1LossOptions& o, SourceLoc loc) {
  return record_loss("l1_loss", L1LossImpl(o), o.reduction(), input, target, loc);
}
Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossOptions& o, SourceLoc loc) {
  return record_loss("huber_loss", HuberLossImpl(o), o.reduction(), input, target, loc);
}
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossOptions& o, SourceLoc loc) {
  return record_loss("smooth_l1_loss", SmoothL1LossImpl(o), o.reduction(), input, target, loc);
}
Tensor soft_margin_loss(const Tensor& input, const Tensor& target, const SoftMarginLossOptions& o, SourceLoc loc) {
  return record_loss("soft_margin_loss", SoftMarginLossImpl(o), o.reduction(), input, target, loc);
}
Tensor hinge_embedding_loss(const Tensor& input, const Tensor& target, const HingeEmbeddingLossOptions& o,
                            SourceLoc loc) {
  return record_loss("hinge_embedding_loss", HingeEmbeddingLossImpl(o), o.reduction(), input, target, loc);
}
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const BCELossOptions& o, SourceLoc loc) {
  return record_loss("binary_cross_entropy", BCELossImpl(o), o.reduction(), input, target, loc);
}
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const BCEWithLogitsLossOptions& o,
                                        SourceLoc loc) {
  return record_loss("binary_cross_entropy_with_logits", BCEWithLogitsLossImpl(o), o.reduction(), input, target,
                     loc);
}
Tensor poisson_nll_loss(const Tensor& input, const Tensor& target, const PoissonNLLLossOptions& o, SourceLoc loc) {
  return record_loss("poisson_nll_loss", PoissonNLLLossImpl(o), o.reduction(), input, target, loc);
}
Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivLossOptions& o, SourceLoc loc) {
  return record_loss("kl_div", KLDivLossImpl(o), o.reduction(), input, target, loc);
}
Tensor multilabel_soft_margin_loss(const Tensor& input, const Tensor& target,
                                   const MultiLabelSoftMarginLossOptions& o, SourceLoc loc) {
  return record_loss("multilabel_soft_margin_loss", MultiLabelSoftMarginLossImpl(o), o.reduction(), input, target,
                     loc, /*per_row=*/true);
}

}  // namespace nn::functional
}  // namespace kiln
