// nn::CTCLoss and F::ctc_loss: the options written, the four inputs' dtypes
// and shapes checked while tracing with torch's layout (the compiler builds
// it: frontend/import/LossCtc.cpp).
#include "kiln/nn/loss.h"

#include "shapes.h"

namespace kiln {
namespace nn {
namespace {

/// log_probs [T, N, C] or [T, C]; targets [N, S] or [S]; lengths [N] or [].
void check_ctc(const std::vector<Tensor>& in, const std::string& what, SourceLoc loc) {
  static const char* const names[] = {"log_probs", "targets", "input_lengths", "target_lengths"};
  if (in.size() != 4) {
    detail::fail(loc, what + " takes 4 inputs (log_probs, targets, input_lengths, target_lengths), got " +
                          std::to_string(in.size()) + " (name them with Training::loss_inputs)");
  }
  for (size_t i = 0; i < 4; ++i) {
    Dtype want = i == 0 ? Dtype::Float32 : Dtype::Int64;
    if (in[i].dtype() != want) {
      detail::fail(loc, what + ": " + names[i] + " must be " + dtype_name(want) + ", got " +
                            dtype_name(in[i].dtype()) + " tensor '" + in[i].name() + "'");
    }
  }
  const Shape& lp = in[0].sizes();
  if (lp.size() != 2 && lp.size() != 3) {
    detail::fail(loc, what + ": log_probs must be [T, N, C] or [T, C], got " + shape_str(lp));
  }
  bool batched = lp.size() == 3;
  Shape lengths = batched ? Shape{lp[1]} : Shape{};
  const Shape& t = in[1].sizes();
  bool targets_ok = batched ? t.size() == 2 && t[0] == lp[1] : t.size() == 1;
  if (!targets_ok || in[2].sizes() != lengths || in[3].sizes() != lengths) {
    detail::fail(loc, what + ": for log_probs " + shape_str(lp) + " expected targets " +
                          (batched ? "[" + std::to_string(lp[1]) + ", S] (padded)" : std::string("[S]")) +
                          " and lengths " + shape_str(lengths) + ", got targets " + shape_str(t) +
                          ", input_lengths " + shape_str(in[2].sizes()) + ", target_lengths " +
                          shape_str(in[3].sizes()));
  }
}

}  // namespace

CTCLossImpl::CTCLossImpl(const CTCLossOptions& options) : options_(options) {
  if (options.blank() < 0) detail::fail("CTCLoss: blank must be >= 0, got " + std::to_string(options.blank()));
  if (options.reduction() == Reduction::BatchMean)
    detail::fail("CTCLoss: reduction \"batchmean\" is KLDivLoss's only");
}

OptionList CTCLossImpl::option_list() const {
  return {{"blank", options_.blank()},
          {"reduction", std::string(reduction_name(options_.reduction()))},
          {"zero_infinity", options_.zero_infinity()}};
}

void CTCLossImpl::check(const Tensor& output, const Tensor& target, SourceLoc loc) const {
  check_inputs({output, target}, loc);
}

void CTCLossImpl::check_inputs(const std::vector<Tensor>& inputs, SourceLoc loc) const {
  check_ctc(inputs, "CTCLoss", loc);
  if (options_.blank() >= inputs[0].size(-1)) {
    detail::fail(loc, "CTCLoss: blank " + std::to_string(options_.blank()) + " must be below the " +
                          std::to_string(inputs[0].size(-1)) + " classes of log_probs");
  }
}

}  // namespace nn

namespace nn::functional {

Tensor ctc_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& input_lengths,
                const Tensor& target_lengths, const CTCLossOptions& options, SourceLoc loc) {
  auto& trace = detail::Trace::active("ctc_loss()", loc);
  std::vector<Tensor> inputs = {log_probs, targets, input_lengths, target_lengths};
  for (const Tensor& t : inputs) trace.check_value(t, "ctc_loss()", loc);
  CTCLossImpl loss(options);
  loss.check_inputs(inputs, loc);
  Shape shape;
  if (options.reduction() == Reduction::None && log_probs.dim() == 3) shape = {log_probs.size(1)};
  return detail::record_function(trace, "ctc_loss", loss.option_list(), inputs, shape, Dtype::Float32, loc);
}

}  // namespace nn::functional
}  // namespace kiln
