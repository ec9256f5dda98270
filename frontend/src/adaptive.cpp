// nn.AdaptiveLogSoftmaxWithLoss in the DSL: option and shape checks, and the
// nodes it records (forward: two outputs; log_prob: a "method" node).
// frontend/import/AdaptiveSoftmax.cpp compiles them.
#include "kiln/nn/adaptive.h"

#include <cmath>

#include "ir/ShapeRules.h"
#include "shapes.h"

namespace kiln::nn {

AdaptiveLogSoftmaxWithLossImpl::AdaptiveLogSoftmaxWithLossImpl(const AdaptiveLogSoftmaxWithLossOptions& options)
    : Module("AdaptiveLogSoftmaxWithLoss"), options_(options) {
  const auto& c = options.cutoffs();
  std::string what = "AdaptiveLogSoftmaxWithLoss(in_features=" + std::to_string(options.in_features()) +
                     ", n_classes=" + std::to_string(options.n_classes()) + ")";
  if (options.in_features() < 1 || options.n_classes() < 2)
    detail::fail(what + ": in_features must be >= 1 and n_classes >= 2");
  bool ok = !c.empty();
  for (size_t i = 0; ok && i < c.size(); ++i)
    ok = c[i] > 0 && c[i] <= options.n_classes() - 1 && (i == 0 || c[i] > c[i - 1]);
  if (!ok)
    detail::fail(what + ": cutoffs should be a sequence of unique, positive integers sorted in an increasing "
                        "order, where each value is between 1 and n_classes-1");
  for (size_t i = 0; i < c.size(); ++i) {
    double h = std::floor(static_cast<double>(options.in_features()) / std::pow(options.div_value(), i + 1));
    if (h < 1)
      detail::fail(what + ": tail cluster " + std::to_string(i) + " gets a hidden size of 0 (in_features // "
                          "div_value**" + std::to_string(i + 1) + "): Kiln's shapes are never empty");
  }
}

ASMoutput AdaptiveLogSoftmaxWithLossImpl::forward(const Tensor& input, const Tensor& target, SourceLoc loc) {
  auto& trace = detail::Trace::active(type_name(), loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  trace.check_value(target, what, loc);
  detail::require_float32(input, what, loc);
  if (target.dtype() != Dtype::Int64)
    detail::fail(loc, what + " expects an int64 target, got " + dtype_name(target.dtype()) + " tensor '" +
                          target.name() + "'");
  const Shape &x = input.sizes(), &t = target.sizes();
  bool batched = x.size() == 2 && t.size() == 1 && x[0] == t[0];
  bool single = x.size() == 1 && t.empty();
  if ((!batched && !single) || x.back() != options_.in_features())
    detail::fail(loc, what + " expects input [N, " + std::to_string(options_.in_features()) + "] with target [N], or [" +
                          std::to_string(options_.in_features()) + "] with [], got " + shape_rules::str(x) +
                          " and " + shape_rules::str(t));
  auto out = detail::record_module(trace, path, {input, target}, {{t, Dtype::Float32}, {Shape{}, Dtype::Float32}},
                                   loc);
  return {out[0], out[1]};
}

Tensor AdaptiveLogSoftmaxWithLossImpl::log_prob(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active(type_name(), loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path) + ".log_prob";
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  Shape x = input.sizes();
  if (x.size() != 2 || x.back() != options_.in_features())
    detail::fail(loc, what + " expects input [N, " + std::to_string(options_.in_features()) +
                          "] (torch's log_prob has no unbatched form), got " + shape_rules::str(x));
  x.back() = options_.n_classes();
  return detail::record_method(trace, path, "log_prob", {input}, std::move(x), loc);
}

Tensor AdaptiveLogSoftmaxWithLossImpl::predict(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active(type_name(), loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path) + ".predict";
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  const Shape& x = input.sizes();
  if (x.size() != 2 || x.back() != options_.in_features())
    detail::fail(loc, what + " expects input [N, " + std::to_string(options_.in_features()) +
                          "] (torch's predict has no unbatched form), got " + shape_rules::str(x));
  return detail::record_method(trace, path, "predict", {input}, Shape{x[0]}, loc, Dtype::Int64);
}

std::optional<OptionList> AdaptiveLogSoftmaxWithLossImpl::layer_options() const {
  return OptionList{{"in_features", options_.in_features()},
                    {"n_classes", options_.n_classes()},
                    {"cutoffs", options_.cutoffs()},
                    {"div_value", options_.div_value()},
                    {"head_bias", options_.head_bias()}};
}

}  // namespace kiln::nn
