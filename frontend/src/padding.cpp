// The padding family of the DSL (kiln/nn/padding.h): the shape rules and
// checks of frontend/import/Padding.cpp, so that the DSL and kilnc reject
// the same models (kilnc's messages name the JSON path instead).
#include "kiln/nn/padding.h"

#include <algorithm>

#include "ir/ShapeRules.h"
#include "shapes.h"

namespace kiln::nn {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

/// The importer's bound on reflection padding per side (kMaxReflectPadding
/// in frontend/import/Pad.h).
constexpr int64_t kMaxReflectPadding = 64;

}  // namespace

PadModule::PadModule(std::string type, size_t dims, std::vector<int64_t> padding, std::string mode, double value)
    : Module(std::move(type)), dims_(dims), padding_(std::move(padding)), mode_(std::move(mode)), value_(value) {
  std::string what = type_name() + "(padding=" + shape_rules::str(padding_) + ")";
  if (padding_.size() != 2 * dims_)
    detail::fail(what + ": padding needs 1 or " + str(2 * dims_) + " values, got " + str(padding_.size()));
  if (mode_ != "constant")
    for (int64_t p : padding_)
      if (p < 0) detail::fail(what + ": negative padding (cropping) is not supported by " + type_name() + " in Kiln");
}

Tensor PadModule::forward(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active(type_name(), loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  Shape shape = input.sizes();
  size_t r = shape.size();
  std::string named = " ('" + input.name() + "')";
  if (mode_ == "constant" && r < dims_)
    detail::fail(loc, what + " expected an input with at least " + str(dims_) + " dimensions, got " +
                  shape_rules::str(shape) + named);
  if (mode_ != "constant" && r != dims_ + 1 && r != dims_ + 2)
    detail::fail(loc, what + " expected a " + str(dims_ + 1) + "-D (unbatched) or " + str(dims_ + 2) +
                  "-D (batched) input, got " + shape_rules::str(shape) + named);
  // padding_ is torch's: the last dimension's (lo, hi) first.
  for (size_t k = 0; k < dims_; ++k) {
    size_t dim = r - 1 - k;
    int64_t lo = padding_[2 * k], hi = padding_[2 * k + 1], n = shape[dim];
    std::string pads = "padding (" + str(lo) + ", " + str(hi) + ") at dimension " + str(dim) + " of input " +
                       shape_rules::str(input.sizes());
    if (mode_ == "reflect" && (lo >= n || hi >= n))
      detail::fail(loc, what + " " + pads + " must be less than the input size " + str(n) + named);
    if (mode_ == "reflect" && std::max(lo, hi) > kMaxReflectPadding)
      detail::fail(loc, what + " " + pads + " is larger than Kiln supports for reflection (" + str(kMaxReflectPadding) +
                    " per side)" + named);
    if (n + lo + hi < 1 || std::max<int64_t>(0, -lo) >= n - std::max<int64_t>(0, -hi))
      detail::fail(loc, what + " " + pads + " leaves no element" + named);
    shape[dim] = n + lo + hi;
  }
  return detail::record_module(trace, path, {input}, std::move(shape), input.dtype(), loc);
}

std::optional<OptionList> PadModule::layer_options() const {
  if (mode_ == "constant" && type_name() != "ZeroPad2d") return OptionList{{"padding", padding_}, {"value", value_}};
  return OptionList{{"padding", padding_}};
}

}  // namespace kiln::nn
