// nn::Unfold and nn::Fold of the DSL (kiln/nn/fold.h): torch's checks and the
// block count of frontend/import/Fold.cpp, so the DSL and kilnc reject the
// same models.
#include "kiln/nn/fold.h"

#include "ir/ShapeRules.h"
#include "shapes.h"

namespace kiln::nn {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

void check(const std::string& what, const char* name, const std::vector<int64_t>& v, int64_t min) {
  if (v.size() != 2)
    detail::fail(what + ": " + name + " needs 1 or 2 values, got " + shape_rules::str(v));
  for (int64_t x : v)
    if (x < min) detail::fail(what + ": " + name + " must be >= " + str(min) + ", got " + shape_rules::str(v));
}

/// Blocks along dimension d of an image of `size`.
int64_t blocks(int64_t size, int64_t k, int64_t d, int64_t p, int64_t s) {
  return (size + 2 * p - d * (k - 1) - 1) / s + 1;
}

}  // namespace

UnfoldImpl::UnfoldImpl(const UnfoldOptions& options) : Module("Unfold"), options_(options) {
  check("Unfold", "kernel_size", options.kernel_size().vec(), 1);
  check("Unfold", "dilation", options.dilation().vec(), 1);
  check("Unfold", "padding", options.padding().vec(), 0);
  check("Unfold", "stride", options.stride().vec(), 1);
}

Tensor UnfoldImpl::forward(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active(type_name(), loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  Shape in = input.sizes();
  if (in.size() != 3 && in.size() != 4)
    detail::fail(loc, what + " expected a 3-D (unbatched) or 4-D (batched) input, got " + shape_rules::str(in) +
                          " ('" + input.name() + "')");
  size_t first = in.size() - 2;
  const auto &k = options_.kernel_size().vec(), &d = options_.dilation().vec(), &p = options_.padding().vec(),
             &s = options_.stride().vec();
  int64_t rows = blocks(in[first], k[0], d[0], p[0], s[0]), cols = blocks(in[first + 1], k[1], d[1], p[1], s[1]);
  if (rows < 1 || cols < 1)
    detail::fail(loc, what + " no sliding block fits the input " + shape_rules::str(in) + " ('" + input.name() + "')");
  Shape out(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(first) - 1);
  out.push_back(in[first - 1] * k[0] * k[1]);
  out.push_back(rows * cols);
  return detail::record_module(trace, path, {input}, std::move(out), Dtype::Float32, loc);
}

std::optional<OptionList> UnfoldImpl::layer_options() const {
  return OptionList{{"kernel_size", options_.kernel_size().vec()},
                    {"dilation", options_.dilation().vec()},
                    {"padding", options_.padding().vec()},
                    {"stride", options_.stride().vec()}};
}

FoldImpl::FoldImpl(const FoldOptions& options) : Module("Fold"), options_(options) {
  check("Fold", "output_size", options.output_size().vec(), 1);
  check("Fold", "kernel_size", options.kernel_size().vec(), 1);
  check("Fold", "dilation", options.dilation().vec(), 1);
  check("Fold", "padding", options.padding().vec(), 0);
  check("Fold", "stride", options.stride().vec(), 1);
}

Tensor FoldImpl::forward(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active(type_name(), loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  Shape in = input.sizes();
  if (in.size() != 2 && in.size() != 3)
    detail::fail(loc, what + " expected a 2-D (unbatched) or 3-D (batched) input, got " + shape_rules::str(in) +
                          " ('" + input.name() + "')");
  size_t first = in.size() - 2;
  const auto &size = options_.output_size().vec(), &k = options_.kernel_size().vec(), &d = options_.dilation().vec(),
             &p = options_.padding().vec(), &s = options_.stride().vec();
  int64_t positions = k[0] * k[1];
  int64_t rows = blocks(size[0], k[0], d[0], p[0], s[0]), cols = blocks(size[1], k[1], d[1], p[1], s[1]);
  if (in[first] % positions != 0)
    detail::fail(loc, what + " input " + shape_rules::str(in) + ": dimension " + str(static_cast<int64_t>(first)) +
                          " must be divisible by the product of kernel_size (" + str(positions) + ") ('" +
                          input.name() + "')");
  if (rows < 1 || cols < 1 || rows * cols != in[first + 1])
    detail::fail(loc, what + " input " + shape_rules::str(in) + " has " + str(in[first + 1]) +
                          " blocks, but output_size and the block geometry give " +
                          str(std::max<int64_t>(rows, 0) * std::max<int64_t>(cols, 0)) + " ('" + input.name() + "')");
  Shape out(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(first));
  out.push_back(in[first] / positions);
  out.push_back(size[0]);
  out.push_back(size[1]);
  return detail::record_module(trace, path, {input}, std::move(out), Dtype::Float32, loc);
}

std::optional<OptionList> FoldImpl::layer_options() const {
  return OptionList{{"output_size", options_.output_size().vec()},
                    {"kernel_size", options_.kernel_size().vec()},
                    {"dilation", options_.dilation().vec()},
                    {"padding", options_.padding().vec()},
                    {"stride", options_.stride().vec()}};
}

}  // namespace kiln::nn
