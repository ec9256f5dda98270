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

namespace {

/// `in` padded by torch's `padding` (the last dimension's (lo, hi) first)
/// over its last padding.size() / 2 dimensions, with the checks of
/// frontend/import/Padding.cpp; `what` prefixes the messages.
Shape padded_shape(const Tensor& input, const std::vector<int64_t>& padding, const std::string& mode,
                   const std::string& what, SourceLoc loc) {
  Shape shape = input.sizes();
  size_t r = shape.size(), dims = padding.size() / 2;
  std::string named = " ('" + input.name() + "')";
  if (mode == "constant" && r < dims)
    detail::fail(loc, what + " expected an input with at least " + str(dims) + " dimensions, got " +
                          shape_rules::str(shape) + named);
  if (mode != "constant" && r != dims + 1 && r != dims + 2)
    detail::fail(loc, what + " expected a " + str(dims + 1) + "-D (unbatched) or " + str(dims + 2) +
                          "-D (batched) input, got " + shape_rules::str(shape) + named);
  for (size_t k = 0; k < dims; ++k) {
    size_t dim = r - 1 - k;
    int64_t lo = padding[2 * k], hi = padding[2 * k + 1], n = shape[dim];
    std::string pads = "padding (" + str(lo) + ", " + str(hi) + ") at dimension " + str(dim) + " of input " +
                       shape_rules::str(input.sizes());
    if (mode == "reflect" && (lo >= n || hi >= n))
      detail::fail(loc, what + " " + pads + " must be less than the input size " + str(n) + named);
    if (mode == "reflect" && std::max(lo, hi) > kMaxReflectPadding)
      detail::fail(loc, what + " " + pads + " is larger than Kiln supports for reflection (" +
                            str(kMaxReflectPadding) + " per side)" + named);
    if (n + lo + hi < 1 || std::max<int64_t>(0, -lo) >= n - std::max<int64_t>(0, -hi))
      detail::fail(loc, what + " " + pads + " leaves no element" + named);
    shape[dim] = n + lo + hi;
  }
  return shape;
}

}  // namespace

Tensor PadModule::forward(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active(type_name(), loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  Shape shape = padded_shape(input, padding_, mode_, what, loc);
  return detail::record_module(trace, path, {input}, std::move(shape), input.dtype(), loc);
}

std::optional<OptionList> PadModule::layer_options() const {
  if (mode_ == "constant" && type_name().rfind("ZeroPad", 0) != 0)
    return OptionList{{"padding", padding_}, {"value", value_}};
  return OptionList{{"padding", padding_}};
}

namespace functional {

Tensor pad(const Tensor& input, const PadFuncOptions& options, SourceLoc loc) {
  auto& trace = detail::Trace::active("pad()", loc);
  trace.check_value(input, "pad()", loc);
  detail::require_float32(input, "pad()", loc);
  const std::vector<int64_t>& p = options.pad();
  if (options.mode().name() != "constant")
    detail::fail(loc, "pad(): mode '" + options.mode().name() +
                          "' is not supported in the functional form; use nn::ReflectionPad{D}d or "
                          "nn::ReplicationPad{D}d ('" + input.name() + "')");
  if (p.size() % 2 != 0)
    detail::fail(loc, "pad(): padding length must be divisible by 2, got " + str(p.size()));
  if (p.size() / 2 > input.sizes().size())
    detail::fail(loc, "pad(): padding length " + str(p.size()) + " is too large for an input of rank " +
                          str(input.sizes().size()) + " ('" + input.name() + "')");
  Shape shape = padded_shape(input, p, "constant", "pad():", loc);
  return detail::record_function(trace, "constant_pad_nd", {{"pad", p}, {"value", options.value()}}, {input},
                                 std::move(shape), input.dtype(), loc);
}

}  // namespace functional
}  // namespace kiln::nn
