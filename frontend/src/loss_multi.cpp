// The losses of several inputs (MarginRankingLoss, CosineEmbeddingLoss,
// GaussianNLLLoss, TripletMarginLoss, TripletMarginWithDistanceLoss) and
// their functional forms; the margin losses of int64 class targets
// (MultiMarginLoss, MultiLabelMarginLoss). The compiler builds them (LossMultiInput.cpp);
// here the options are written and the shapes checked while tracing.
#include "kiln/nn/loss.h"

#include "shapes.h"

namespace kiln {
namespace nn {
namespace {

OptionValue reduction_value(Reduction r) { return std::string(reduction_name(r)); }

const char* distance_name(TripletDistance d) {
  return d == TripletDistance::CosineDistance ? "cosine_distance" : "pairwise_distance";
}

void no_batchmean(const char* type, Reduction r) {
  if (r == Reduction::BatchMean) detail::fail(std::string(type) + ": reduction \"batchmean\" is KLDivLoss's only");
}

}  // namespace

MultiInputLoss::MultiInputLoss(const char* type, OptionList options, std::vector<const char*> arg_names)
    : type_(type), options_(std::move(options)), arg_names_(std::move(arg_names)) {}

void MultiInputLoss::check(const Tensor& output, const Tensor& target, SourceLoc loc) const {
  check_inputs({output, target}, loc);
}

void MultiInputLoss::check_inputs(const std::vector<Tensor>& inputs, SourceLoc loc) const {
  if (static_cast<int>(inputs.size()) != num_inputs()) {
    std::string names;
    for (const char* n : arg_names_) names += (names.empty() ? "" : ", ") + std::string(n);
    detail::fail(loc, std::string(type_) + " takes " + std::to_string(num_inputs()) + " inputs (" + names +
                          "), got " + std::to_string(inputs.size()) + " (name them with Training::loss_inputs)");
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].dtype() != Dtype::Float32) {
      detail::fail(loc, std::string(type_) + ": " + arg_names_[i] + " must be float32, got " +
                            dtype_name(inputs[i].dtype()) + " tensor '" + inputs[i].name() + "'");
    }
  }
}

MarginRankingLossImpl::MarginRankingLossImpl(const MarginRankingLossOptions& o)
    : MultiInputLoss("MarginRankingLoss", {{"reduction", reduction_value(o.reduction())}, {"margin", o.margin()}},
                     {"input1", "input2", "target"}) {
  no_batchmean("MarginRankingLoss", o.reduction());
}

CosineEmbeddingLossImpl::CosineEmbeddingLossImpl(const CosineEmbeddingLossOptions& o)
    : MultiInputLoss("CosineEmbeddingLoss", {{"reduction", reduction_value(o.reduction())}, {"margin", o.margin()}},
                     {"input1", "input2", "target"}) {
  no_batchmean("CosineEmbeddingLoss", o.reduction());
}

GaussianNLLLossImpl::GaussianNLLLossImpl(const GaussianNLLLossOptions& o)
    : MultiInputLoss("GaussianNLLLoss",
                     {{"reduction", reduction_value(o.reduction())}, {"full", o.full()}, {"eps", o.eps()}},
                     {"input", "target", "var"}) {
  no_batchmean("GaussianNLLLoss", o.reduction());
  if (!(o.eps() >= 0)) detail::fail("GaussianNLLLoss: eps must be non-negative, got " + std::to_string(o.eps()));
}

TripletMarginLossImpl::TripletMarginLossImpl(const TripletMarginLossOptions& o)
    : MultiInputLoss("TripletMarginLoss",
                     {{"reduction", reduction_value(o.reduction())},
                      {"margin", o.margin()},
                      {"p", o.p()},
                      {"eps", o.eps()},
                      {"swap", o.swap()}},
                     {"anchor", "positive", "negative"}) {
  no_batchmean("TripletMarginLoss", o.reduction());
}

TripletMarginWithDistanceLossImpl::TripletMarginWithDistanceLossImpl(const TripletMarginWithDistanceLossOptions& o)
    : MultiInputLoss("TripletMarginWithDistanceLoss",
                     {{"reduction", reduction_value(o.reduction())},
                      {"distance_function", std::string(distance_name(o.distance_function()))},
                      {"margin", o.margin()},
                      {"swap", o.swap()}},
                     {"anchor", "positive", "negative"}) {
  no_batchmean("TripletMarginWithDistanceLoss", o.reduction());
  if (!(o.margin() > 0)) {
    detail::fail("TripletMarginWithDistanceLoss: expected margin to be greater than 0, got " +
                 std::to_string(o.margin()));
  }
}


namespace {

/// An output [N, C] or [C] and an int64 target of `expected` shape.
void check_class_margin(const char* type, const Tensor& output, const Tensor& target, const Shape& expected,
                        SourceLoc loc) {
  if (output.dtype() != Dtype::Float32 || output.dim() < 1 || output.dim() > 2 ||
      target.dtype() != Dtype::Int64 || target.sizes() != expected) {
    detail::fail(loc, std::string(type) + " expects a float32 output [N, C] or [C] and an int64 target of shape " +
                          shape_str(expected) + "; got output " + dtype_name(output.dtype()) + " " +
                          shape_str(output.sizes()) + " and target '" + target.name() + "': " +
                          dtype_name(target.dtype()) + " " + shape_str(target.sizes()));
  }
}

}  // namespace

MultiMarginLossImpl::MultiMarginLossImpl(const MultiMarginLossOptions& options) : options_(options) {
  no_batchmean("MultiMarginLoss", options.reduction());
  if (options.p() != 1 && options.p() != 2) {
    detail::fail("MultiMarginLoss: only p == 1 and p == 2 supported, got " + std::to_string(options.p()));
  }
}

OptionList MultiMarginLossImpl::option_list() const {
  OptionValue weight = nullptr;
  if (!options_.weight().empty()) weight = options_.weight();
  return {{"reduction", reduction_value(options_.reduction())},
          {"p", options_.p()},
          {"margin", options_.margin()},
          {"weight", weight}};
}

void MultiMarginLossImpl::check(const Tensor& output, const Tensor& target, SourceLoc loc) const {
  Shape expected = output.dim() == 2 ? Shape{output.size(0)} : Shape{};
  check_class_margin("MultiMarginLoss", output, target, expected, loc);
  if (!options_.weight().empty() && static_cast<int64_t>(options_.weight().size()) != output.size(-1)) {
    detail::fail(loc, "MultiMarginLoss: weight has " + std::to_string(options_.weight().size()) +
                          " values, the output " + std::to_string(output.size(-1)) + " classes");
  }
}

MultiLabelMarginLossImpl::MultiLabelMarginLossImpl(const MultiLabelMarginLossOptions& options) : options_(options) {
  no_batchmean("MultiLabelMarginLoss", options.reduction());
}

OptionList MultiLabelMarginLossImpl::option_list() const {
  return {{"reduction", reduction_value(options_.reduction())}};
}

void MultiLabelMarginLossImpl::check(const Tensor& output, const Tensor& target, SourceLoc loc) const {
  check_class_margin("MultiLabelMarginLoss", output, target, output.sizes(), loc);
}

}  // namespace nn

namespace nn::functional {
namespace {

/// Records `function` of float32 `inputs`; the per-sample `shape` with
/// reduction kNone, else a scalar.
Tensor record(const char* function, const MultiInputLoss& loss, Reduction reduction,
              const std::vector<Tensor>& inputs, const Shape& shape, SourceLoc loc) {
  std::string what = std::string(function) + "()";
  auto& trace = detail::Trace::active(what, loc);
  for (const Tensor& t : inputs) {
    trace.check_value(t, what, loc);
    detail::require_float32(t, what, loc);
  }
  return detail::record_function(trace, function, loss.option_list(), inputs,
                                 reduction == Reduction::None ? shape : Shape{}, Dtype::Float32, loc);
}

void same_rank(const std::vector<Tensor>& inputs, const std::string& what, SourceLoc loc) {
  for (const Tensor& t : inputs) {
    if (t.dim() != inputs[0].dim()) {
      detail::fail(loc, what + ": all inputs must have the same number of dimensions, got " +
                            shape_str(inputs[0].sizes()) + " and " + shape_str(t.sizes()));
    }
  }
}

/// The broadcast shape of `inputs` without its last dimension (the
/// triplet losses' distances).
Shape triplet_shape(const std::vector<Tensor>& inputs, const std::string& what, SourceLoc loc) {
  same_rank(inputs, what, loc);
  if (inputs[0].dim() == 0) detail::fail(loc, what + ": inputs need at least one dimension");
  Shape s = detail::broadcast_shape(detail::broadcast_shape(inputs[0].sizes(), inputs[1].sizes(), what, loc),
                                    inputs[2].sizes(), what, loc);
  s.pop_back();
  return s;
}

}  // namespace

Tensor margin_ranking_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                           const MarginRankingLossOptions& o, SourceLoc loc) {
  std::string what = "margin_ranking_loss()";
  same_rank({input1, input2, target}, what, loc);
  Shape s = detail::broadcast_shape(detail::broadcast_shape(input1.sizes(), input2.sizes(), what, loc),
                                    target.sizes(), what, loc);
  return record("margin_ranking_loss", MarginRankingLossImpl(o), o.reduction(), {input1, input2, target}, s, loc);
}

Tensor cosine_embedding_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                             const CosineEmbeddingLossOptions& o, SourceLoc loc) {
  bool batched = input1.dim() == 2 && target.dim() == 1 && target.size(0) == input1.size(0);
  bool single = input1.dim() == 1 && target.dim() == 0;
  if (input1.sizes() != input2.sizes() || !(batched || single)) {
    detail::fail(loc, "cosine_embedding_loss(): inputs [N, D] with a target [N], or [D] with a target [], got " +
                          shape_str(input1.sizes()) + ", " + shape_str(input2.sizes()) + " and " +
                          shape_str(target.sizes()));
  }
  return record("cosine_embedding_loss", CosineEmbeddingLossImpl(o), o.reduction(), {input1, input2, target},
                target.sizes(), loc);
}

Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var,
                         const GaussianNLLLossOptions& o, SourceLoc loc) {
  const Shape& x = input.sizes();
  Shape lead = x.empty() ? x : Shape(x.begin(), x.end() - 1);
  const Shape& v = var.sizes();
  bool var_ok = v == x || (!x.empty() && (v == lead || (!v.empty() && Shape(v.begin(), v.end() - 1) == lead &&
                                                         v.back() == 1)));
  if (target.sizes() != x || !var_ok) {
    detail::fail(loc, "gaussian_nll_loss(): target must have the input's shape " + shape_str(x) +
                          " and var the input's shape, it without the last dim or with 1 there; got target " +
                          shape_str(target.sizes()) + " and var " + shape_str(v));
  }
  return record("gaussian_nll_loss", GaussianNLLLossImpl(o), o.reduction(), {input, target, var}, x, loc);
}

Tensor triplet_margin_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                           const TripletMarginLossOptions& o, SourceLoc loc) {
  Shape s = triplet_shape({anchor, positive, negative}, "triplet_margin_loss()", loc);
  return record("triplet_margin_loss", TripletMarginLossImpl(o), o.reduction(), {anchor, positive, negative}, s,
                loc);
}

Tensor triplet_margin_with_distance_loss(const Tensor& anchor, const Tensor& positive, const Tensor& negative,
                                         const TripletMarginWithDistanceLossOptions& o, SourceLoc loc) {
  Shape s = triplet_shape({anchor, positive, negative}, "triplet_margin_with_distance_loss()", loc);
  return record("triplet_margin_with_distance_loss", TripletMarginWithDistanceLossImpl(o), o.reduction(),
                {anchor, positive, negative}, s, loc);
}

}  // namespace nn::functional
}  // namespace kiln
