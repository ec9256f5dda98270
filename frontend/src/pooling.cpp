// The pooling family of the DSL (kiln/nn/pooling.h): the constructor
// checks of torch's pooling modules and the shape rules of
// ir/PoolShapeRules.h, shared with nn.max_pool / nn.sum_pool, so that the
// DSL and kilnc reject the same models.
#include "kiln/nn/pooling.h"

#include "ir/PoolShapeRules.h"
#include "shapes.h"

namespace kiln::nn {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

/// "MaxPool2d(kernel_size=[2, 2])", for messages.
std::string describe_windows(const std::string& name, const PoolWindowSpec& w) {
  return name + "(" +
         (w.adaptive ? "output_size=" + shape_rules::str(w.output_size)
                     : "kernel_size=" + shape_rules::str(w.kernel)) +
         ")";
}

/// torch's constructor-time checks (sizes, padding at most half the kernel).
void check_windows(const std::string& what, const PoolWindowSpec& w) {
  auto check = [&](const char* name, const std::vector<int64_t>& v, int64_t min) {
    if (v.size() != w.dims)
      detail::fail(what + ": " + name + " needs 1 or " + str(w.dims) + " values, got " + shape_rules::str(v));
    for (int64_t x : v)
      if (x < min) detail::fail(what + ": " + name + " must be >= " + str(min) + ", got " + shape_rules::str(v));
  };
  if (w.adaptive) {
    check("output_size", w.output_size, 1);
    return;
  }
  check("kernel_size", w.kernel, 1);
  check("stride", w.stride, 1);
  check("padding", w.padding, 0);
  check("dilation", w.dilation, 1);
  for (size_t i = 0; i < w.dims; ++i)
    if (w.padding[i] > w.kernel[i] / 2)
      detail::fail(what + ": pad should be at most half of kernel size, but got pad=" + str(w.padding[i]) +
                   " and kernel_size=" + str(w.kernel[i]));
}

/// The pooled shape of `input` ([N, C, *D] or unbatched [C, *D]).
Shape pooled_shape(const Tensor& input, const PoolWindowSpec& w, const std::string& what, SourceLoc loc) {
  Shape in = input.sizes();
  if (in.size() != w.dims + 1 && in.size() != w.dims + 2)
    detail::fail(loc, what + " expected a " + str(w.dims + 1) + "-D (unbatched) or " + str(w.dims + 2) +
                          "-D (batched) input, got " + shape_rules::str(in) + " ('" + input.name() + "')");
  bool unbatched = in.size() == w.dims + 1;
  if (unbatched) in.insert(in.begin(), 1);
  shape_rules::PoolWindows rule;
  rule.adaptive = w.adaptive;
  rule.geometry = {w.kernel, w.stride, w.padding, w.dilation, w.ceil_mode};
  rule.outputSize = w.output_size;
  shape_rules::Inferred r = shape_rules::poolWindows(in, rule);
  if (!r.ok()) detail::fail(loc, what + " " + r.error + " ('" + input.name() + "')");
  Shape shape = r.shape;
  if (unbatched) shape.erase(shape.begin());
  return shape;
}

template <size_t D>
PoolWindowSpec max_windows(const MaxPoolOptions<D>& o) {
  return {D, false, o.kernel_size().vec(), o.stride().vec(), o.padding().vec(), o.dilation().vec(),
          o.ceil_mode(), {}};
}
template <size_t D>
OptionList max_options(const MaxPoolOptions<D>& o, bool layer) {
  OptionList list{{"kernel_size", o.kernel_size().vec()},
                  {"stride", o.stride().vec()},
                  {"padding", o.padding().vec()},
                  {"dilation", o.dilation().vec()}};
  if (layer) list.emplace_back("return_indices", false);
  list.emplace_back("ceil_mode", o.ceil_mode());
  return list;
}

template <size_t D>
PoolWindowSpec avg_windows(const AvgPoolOptions<D>& o) {
  return {D, false, o.kernel_size().vec(), o.stride().vec(), o.padding().vec(), std::vector<int64_t>(D, 1),
          o.ceil_mode(), {}};
}
/// torch 1.13's AvgPool1d has no divisor_override.
template <size_t D>
OptionList avg_options(const AvgPoolOptions<D>& o, const std::string& what) {
  if (D == 1 && o.divisor_override()) detail::fail(what + ": divisor_override does not exist for 1-d (torch 1.13)");
  if (o.divisor_override() && *o.divisor_override() == 0) detail::fail(what + ": divisor must be not zero");
  OptionList list{{"kernel_size", o.kernel_size().vec()},
                  {"stride", o.stride().vec()},
                  {"padding", o.padding().vec()},
                  {"ceil_mode", o.ceil_mode()},
                  {"count_include_pad", o.count_include_pad()}};
  if (D > 1) {
    OptionValue divisor = nullptr;
    if (o.divisor_override()) divisor = *o.divisor_override();
    list.emplace_back("divisor_override", divisor);
  }
  return list;
}

template <size_t D>
PoolWindowSpec adaptive_windows(const AdaptivePoolOptions<D>& o) {
  PoolWindowSpec w;
  w.dims = D;
  w.adaptive = true;
  w.output_size = o.output_size().vec();
  return w;
}

template <size_t D>
PoolWindowSpec lp_windows(const LPPoolOptions<D>& o) {
  return {D, false, o.kernel_size().vec(), o.stride().vec(), std::vector<int64_t>(D, 0), std::vector<int64_t>(D, 1),
          o.ceil_mode(), {}};
}
/// LPPool1d's kernel_size is written as an int: torch 1.13's lp_pool1d
/// multiplies by it and fails on a tuple.
template <size_t D>
OptionList lp_options(const LPPoolOptions<D>& o, const std::string& what) {
  if (o.norm_type() == 0) detail::fail(what + ": norm_type 0 has no LP norm (1/p)");
  OptionValue kernel = o.kernel_size().vec();
  if (D == 1) kernel = o.kernel_size().vec()[0];
  return {{"norm_type", o.norm_type()}, {"kernel_size", kernel}, {"stride", o.stride().vec()},
          {"ceil_mode", o.ceil_mode()}};
}

/// Records graph function `name` (e.g. "max_pool2d").
Tensor pool_function(const std::string& name, const Tensor& input, const PoolWindowSpec& w, OptionList options,
                     SourceLoc loc) {
  std::string what = name + "()";
  auto& trace = detail::Trace::active(what, loc);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  check_windows(describe_windows(name, w), w);
  Shape shape = pooled_shape(input, w, what, loc);
  return detail::record_function(trace, name, std::move(options), {input}, std::move(shape), Dtype::Float32, loc);
}

/// Records graph function `name` (e.g. "max_pool2d_with_indices") giving
/// the values and their int64 indices.
std::tuple<Tensor, Tensor> pool_function_with_indices(const std::string& name, const Tensor& input,
                                                      const PoolWindowSpec& w, OptionList options, SourceLoc loc) {
  std::string what = name + "()";
  auto& trace = detail::Trace::active(what, loc);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  check_windows(describe_windows(name, w), w);
  Shape shape = pooled_shape(input, w, what, loc);
  std::vector<Tensor> out = detail::record_function(trace, name, std::move(options), {input},
                                                    {{shape, Dtype::Float32}, {shape, Dtype::Int64}}, loc);
  return {out[0], out[1]};
}

}  // namespace

PoolModule::PoolModule(std::string type, PoolWindowSpec windows, OptionList options)
    : Module(std::move(type)), windows_(std::move(windows)), options_(std::move(options)) {
  check_windows(describe_windows(type_name(), windows_), windows_);
}

void PoolModule::called(bool with_indices, const std::string& what, SourceLoc loc) {
  if (with_indices_ && *with_indices_ != with_indices)
    detail::fail(loc, what + " is called both with and without indices; torch's return_indices belongs to "
                             "the module: use two modules");
  with_indices_ = with_indices;
}

Tensor PoolModule::forward(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active(type_name(), loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  called(false, what, loc);
  Shape shape = pooled_shape(input, windows_, what, loc);
  return detail::record_module(trace, path, {input}, std::move(shape), Dtype::Float32, loc);
}

std::tuple<Tensor, Tensor> PoolModule::forward_with_indices_impl(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active(type_name(), loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  called(true, what, loc);
  Shape shape = pooled_shape(input, windows_, what, loc);
  std::vector<Tensor> out =
      detail::record_module(trace, path, {input}, {{shape, Dtype::Float32}, {shape, Dtype::Int64}}, loc);
  return {out[0], out[1]};
}

std::optional<OptionList> PoolModule::layer_options() const {
  OptionList list = options_;
  for (auto& [name, value] : list)
    if (name == "return_indices") value = with_indices_.value_or(false);
  return list;
}

template <size_t D>
MaxPoolImpl<D>::MaxPoolImpl(const MaxPoolOptions<D>& o)
    : PoolModule("MaxPool" + std::to_string(D) + "d", max_windows(o), max_options(o, true)), options_(o) {}

template <size_t D>
AvgPoolImpl<D>::AvgPoolImpl(const AvgPoolOptions<D>& o)
    : PoolModule("AvgPool" + std::to_string(D) + "d", avg_windows(o),
                 avg_options(o, "AvgPool" + std::to_string(D) + "d")),
      options_(o) {}

template <size_t D>
AdaptiveAvgPoolImpl<D>::AdaptiveAvgPoolImpl(const AdaptivePoolOptions<D>& o)
    : PoolModule("AdaptiveAvgPool" + std::to_string(D) + "d", adaptive_windows(o),
                 {{"output_size", o.output_size().vec()}}),
      options_(o) {}

template <size_t D>
AdaptiveMaxPoolImpl<D>::AdaptiveMaxPoolImpl(const AdaptivePoolOptions<D>& o)
    : PoolModule("AdaptiveMaxPool" + std::to_string(D) + "d", adaptive_windows(o),
                 {{"output_size", o.output_size().vec()}, {"return_indices", false}}),
      options_(o) {}

template <size_t D>
LPPoolImpl<D>::LPPoolImpl(const LPPoolOptions<D>& o)
    : PoolModule("LPPool" + std::to_string(D) + "d", lp_windows(o), lp_options(o, "LPPool" + std::to_string(D) + "d")),
      options_(o) {}

template <size_t D>
MaxUnpoolImpl<D>::MaxUnpoolImpl(const MaxUnpoolOptions<D>& o)
    : Module("MaxUnpool" + std::to_string(D) + "d"), options_(o) {
  PoolWindowSpec w{D, false, o.kernel_size().vec(), o.stride().vec(), o.padding().vec(), std::vector<int64_t>(D, 1),
                   false, {}};
  // torch's MaxUnpool does not bound the padding by the kernel.
  std::vector<int64_t> padding = w.padding;
  w.padding.assign(D, 0);
  check_windows(describe_windows(type_name(), w), w);
  for (int64_t p : padding)
    if (p < 0) detail::fail(type_name() + ": padding must be >= 0, got " + shape_rules::str(padding));
}

template <size_t D>
Tensor MaxUnpoolImpl<D>::forward(const Tensor& input, const Tensor& indices, SourceLoc loc) {
  return call(input, indices, std::nullopt, loc);
}

template <size_t D>
Tensor MaxUnpoolImpl<D>::forward(const Tensor& input, const Tensor& indices, std::vector<int64_t> output_size,
                                 SourceLoc loc) {
  return call(input, indices, std::move(output_size), loc);
}

/// torch's _unpool_output_size: the default size (in - 1) * stride -
/// 2 * padding + kernel_size, or output_size (D values, or D + 2 whose
/// first two are ignored), each strictly within stride of the default. With
/// output_size the call is recorded as the graph function max_unpool{D}d
/// (the module has no parameters; torch's forward argument is F's option).
template <size_t D>
Tensor MaxUnpoolImpl<D>::call(const Tensor& input, const Tensor& indices,
                              std::optional<std::vector<int64_t>> output_size, SourceLoc loc) {
  auto& trace = detail::Trace::active(type_name(), loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  trace.check_value(indices, what, loc);
  detail::require_float32(input, what, loc);
  if (indices.dtype() != Dtype::Int64)
    detail::fail(loc, what + " expects int64 indices, got " + dtype_name(indices.dtype()) + " tensor '" +
                          indices.name() + "'");
  Shape in = input.sizes();
  if (in.size() != D + 1 && in.size() != D + 2)
    detail::fail(loc, what + " expected a " + str(D + 1) + "-D (unbatched) or " + str(D + 2) +
                          "-D (batched) input, got " + shape_rules::str(in) + " ('" + input.name() + "')");
  if (indices.sizes() != in)
    detail::fail(loc, what + " indices " + shape_rules::str(indices.sizes()) + " must have the input's shape " +
                          shape_rules::str(in));
  size_t lead = in.size() - D;
  std::vector<int64_t> given;
  if (output_size) {
    given = *output_size;
    if (given.size() == D + 2) given.erase(given.begin(), given.begin() + 2);
    if (given.size() != D)
      detail::fail(loc, what + " output_size should be a sequence containing " + str(D) + " or " + str(D + 2) +
                            " elements, got " + shape_rules::str(*output_size));
  }
  Shape out(in.begin(), in.begin() + lead);
  for (size_t i = 0; i < D; ++i) {
    int64_t stride = options_.stride().vec()[i];
    int64_t n = (in[lead + i] - 1) * stride - 2 * options_.padding().vec()[i] + options_.kernel_size().vec()[i];
    if (output_size) {
      if (!(n - stride < given[i] && given[i] < n + stride))
        detail::fail(loc, what + " invalid output_size " + shape_rules::str(*output_size) + " (dim " + str(i) +
                              " must be between " + str(n - stride) + " and " + str(n + stride) + ", exclusive)");
      n = given[i];
    }
    if (n < 1)
      detail::fail(loc, what + " the output size " + str(n) + " of dimension " + str(i + 2) +
                            " ((in - 1) * stride - 2 * padding + kernel_size) must be >= 1");
    out.push_back(n);
  }
  if (!output_size) return detail::record_module(trace, path, {input, indices}, std::move(out), Dtype::Float32, loc);
  OptionList options = *layer_options();
  options.emplace_back("output_size", *output_size);
  return detail::record_function(trace, "max_unpool" + std::to_string(D) + "d", std::move(options),
                                 {input, indices}, std::move(out), Dtype::Float32, loc);
}

template <size_t D>
std::optional<OptionList> MaxUnpoolImpl<D>::layer_options() const {
  return OptionList{{"kernel_size", options_.kernel_size().vec()},
                    {"stride", options_.stride().vec()},
                    {"padding", options_.padding().vec()}};
}

template class MaxUnpoolImpl<1>;
template class MaxUnpoolImpl<2>;
template class MaxUnpoolImpl<3>;
template class MaxPoolImpl<1>;
template class MaxPoolImpl<2>;
template class MaxPoolImpl<3>;
template class AvgPoolImpl<1>;
template class AvgPoolImpl<2>;
template class AvgPoolImpl<3>;
template class AdaptiveAvgPoolImpl<1>;
template class AdaptiveAvgPoolImpl<2>;
template class AdaptiveAvgPoolImpl<3>;
template class AdaptiveMaxPoolImpl<1>;
template class AdaptiveMaxPoolImpl<2>;
template class AdaptiveMaxPoolImpl<3>;
template class LPPoolImpl<1>;
template class LPPoolImpl<2>;

namespace {

/// torch's FractionalMaxPool{D}d constructor checks; the options the model
/// file records (return_indices added by the module).
template <size_t D>
OptionList fractional_options(const FractionalMaxPoolOptions<D>& o, const std::string& what) {
  if (!o.output_size() && !o.output_ratio())
    detail::fail(what + " requires specifying either an output size, or a pooling ratio");
  if (o.output_size() && o.output_ratio())
    detail::fail(what + ": only one of output_size and output_ratio may be specified");
  const std::vector<int64_t>& kernel = o.kernel_size().vec();
  if (kernel.size() != D)
    detail::fail(what + ": kernel_size needs 1 or " + str(D) + " values, got " + shape_rules::str(kernel));
  for (int64_t k : kernel)
    if (k < 1) detail::fail(what + ": kernel_size must be >= 1, got " + shape_rules::str(kernel));
  OptionValue size = nullptr, ratio = nullptr;
  if (o.output_size()) {
    const std::vector<int64_t>& v = o.output_size()->vec();
    if (v.size() != D)
      detail::fail(what + ": output_size needs 1 or " + str(D) + " values, got " + shape_rules::str(v));
    for (int64_t x : v)
      if (x < 1) detail::fail(what + ": output_size must be >= 1, got " + shape_rules::str(v));
    size = v;
  } else {
    const std::vector<double>& v = o.output_ratio()->vec();
    if (v.size() != D) detail::fail(what + ": output_ratio needs 1 or " + str(D) + " values");
    for (double x : v)
      if (!(x > 0 && x < 1))
        detail::fail(what + ": output_ratio must be between 0 and 1 (got " + std::to_string(x) + ")");
    ratio = v;
  }
  return {{"kernel_size", kernel}, {"output_size", size}, {"output_ratio", ratio}};
}

/// The pooled shape of `input` ([N, C, *D] or unbatched [C, *D]) with
/// torch 1.13's checks (out + k - 1 <= in in 2-d, < in in 3-d) and, when
/// given, the samples' shape [N, C, D] (N = 1 unbatched).
template <size_t D>
Shape fractional_shape(const Tensor& input, const Tensor* samples, const FractionalMaxPoolOptions<D>& o,
                       const std::string& what, SourceLoc loc) {
  Shape in = input.sizes();
  if (in.size() != D + 1 && in.size() != D + 2)
    detail::fail(loc, what + " expected a " + str(D + 1) + "-D (unbatched) or " + str(D + 2) +
                          "-D (batched) input, got " + shape_rules::str(in) + " ('" + input.name() + "')");
  bool unbatched = in.size() == D + 1;
  if (unbatched) in.insert(in.begin(), 1);
  std::vector<int64_t> kernel = o.kernel_size().vec(), out;
  for (size_t i = 0; i < D; ++i)
    out.push_back(o.output_size() ? o.output_size()->vec()[i]
                                  : static_cast<int64_t>(static_cast<double>(in[i + 2]) * o.output_ratio()->vec()[i]));
  for (size_t i = 0; i < D; ++i) {
    if (out[i] < 1)
      detail::fail(loc, what + " output_ratio gives the output size 0 for input size " + str(in[i + 2]));
    if (out[i] + kernel[i] - 1 + (D == 3 ? 1 : 0) > in[i + 2])
      detail::fail(loc, what + " pool " + shape_rules::spatialName(i, D) + " " + str(kernel[i]) +
                            " too large relative to input " + shape_rules::spatialName(i, D) + " " +
                            str(in[i + 2]) + " ('" + input.name() + "')");
  }
  Shape sample_shape = samples ? samples->sizes() : Shape{in[0], in[1], static_cast<int64_t>(D)};
  shape_rules::Inferred r = shape_rules::fractionalPool(in, sample_shape, kernel, out);
  if (!r.ok()) detail::fail(loc, what + " " + r.error);
  Shape shape = r.shape;
  if (unbatched) shape.erase(shape.begin());
  return shape;
}

/// Records graph function `name` (fractional_max_pool{D}d[_with_indices]).
template <size_t D>
std::vector<Tensor> fractional_function(const std::string& name, const Tensor& input,
                                        const FractionalMaxPoolOptions<D>& o, const Tensor* samples,
                                        bool with_indices, OptionList options, SourceLoc loc) {
  std::string what = name + "()";
  auto& trace = detail::Trace::active(what, loc);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  std::vector<Tensor> inputs{input};
  if (samples) {
    trace.check_value(*samples, what, loc);
    detail::require_float32(*samples, what, loc);
    inputs.push_back(*samples);
  }
  Shape shape = fractional_shape(input, samples, o, what, loc);
  if (!with_indices)
    return {detail::record_function(trace, name, std::move(options), inputs, std::move(shape), Dtype::Float32, loc)};
  return detail::record_function(trace, name, std::move(options), inputs,
                                 {{shape, Dtype::Float32}, {shape, Dtype::Int64}}, loc);
}

}  // namespace

template <size_t D>
FractionalMaxPoolImpl<D>::FractionalMaxPoolImpl(const FractionalMaxPoolOptions<D>& o)
    : Module("FractionalMaxPool" + std::to_string(D) + "d"), options_(o) {
  fractional_options(o, type_name());
}

template <size_t D>
std::vector<Tensor> FractionalMaxPoolImpl<D>::call(const Tensor& input, const Tensor* samples, bool with_indices,
                                                   SourceLoc loc) {
  auto& trace = detail::Trace::active(type_name(), loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  std::vector<Tensor> inputs{input};
  if (samples) {
    trace.check_value(*samples, what, loc);
    detail::require_float32(*samples, what, loc);
    inputs.push_back(*samples);
  }
  if (with_indices_ && *with_indices_ != with_indices)
    detail::fail(loc, what + " is called both with and without indices; torch's return_indices belongs to "
                             "the module: use two modules");
  with_indices_ = with_indices;
  Shape shape = fractional_shape(input, samples, options_, what, loc);
  if (!with_indices) return {detail::record_module(trace, path, inputs, std::move(shape), Dtype::Float32, loc)};
  return detail::record_module(trace, path, inputs, {{shape, Dtype::Float32}, {shape, Dtype::Int64}}, loc);
}

template <size_t D>
Tensor FractionalMaxPoolImpl<D>::forward(const Tensor& input, SourceLoc loc) {
  return call(input, nullptr, false, loc)[0];
}
template <size_t D>
Tensor FractionalMaxPoolImpl<D>::forward(const Tensor& input, const Tensor& samples, SourceLoc loc) {
  return call(input, &samples, false, loc)[0];
}
template <size_t D>
std::tuple<Tensor, Tensor> FractionalMaxPoolImpl<D>::forward_with_indices(const Tensor& input, SourceLoc loc) {
  std::vector<Tensor> out = call(input, nullptr, true, loc);
  return {out[0], out[1]};
}
template <size_t D>
std::tuple<Tensor, Tensor> FractionalMaxPoolImpl<D>::forward_with_indices(const Tensor& input, const Tensor& samples,
                                                                          SourceLoc loc) {
  std::vector<Tensor> out = call(input, &samples, true, loc);
  return {out[0], out[1]};
}

template <size_t D>
std::optional<OptionList> FractionalMaxPoolImpl<D>::layer_options() const {
  OptionList list = fractional_options(options_, type_name());
  list.emplace_back("return_indices", with_indices_.value_or(false));
  return list;
}

template class FractionalMaxPoolImpl<2>;
template class FractionalMaxPoolImpl<3>;

namespace functional {

#define KILN_POOL_FUNCTIONS(D)                                                                         \
  Tensor max_pool##D##d(const Tensor& input, const MaxPool##D##dFuncOptions& o, SourceLoc loc) {       \
    return pool_function("max_pool" #D "d", input, max_windows(o), max_options(o, false), loc);        \
  }                                                                                                    \
  Tensor avg_pool##D##d(const Tensor& input, const AvgPool##D##dFuncOptions& o, SourceLoc loc) {       \
    return pool_function("avg_pool" #D "d", input, avg_windows(o), avg_options(o, "avg_pool" #D "d"),  \
                         loc);                                                                         \
  }                                                                                                    \
  Tensor adaptive_avg_pool##D##d(const Tensor& input, const AdaptiveAvgPool##D##dFuncOptions& o,       \
                                 SourceLoc loc) {                                                      \
    return pool_function("adaptive_avg_pool" #D "d", input, adaptive_windows(o),                       \
                         {{"output_size", o.output_size().vec()}}, loc);                               \
  }                                                                                                    \
  Tensor adaptive_max_pool##D##d(const Tensor& input, const AdaptiveMaxPool##D##dFuncOptions& o,       \
                                 SourceLoc loc) {                                                      \
    return pool_function("adaptive_max_pool" #D "d", input, adaptive_windows(o),                       \
                         {{"output_size", o.output_size().vec()}}, loc);                               \
  }                                                                                                    \
  std::tuple<Tensor, Tensor> max_pool##D##d_with_indices(const Tensor& input,                          \
                                                         const MaxPool##D##dFuncOptions& o, SourceLoc loc) { \
    return pool_function_with_indices("max_pool" #D "d_with_indices", input, max_windows(o),           \
                                      max_options(o, false), loc);                                     \
  }                                                                                                    \
  std::tuple<Tensor, Tensor> adaptive_max_pool##D##d_with_indices(                                     \
      const Tensor& input, const AdaptiveMaxPool##D##dFuncOptions& o, SourceLoc loc) {                 \
    return pool_function_with_indices("adaptive_max_pool" #D "d_with_indices", input, adaptive_windows(o), \
                                      {{"output_size", o.output_size().vec()}}, loc);                  \
  }

KILN_POOL_FUNCTIONS(1)
KILN_POOL_FUNCTIONS(2)
KILN_POOL_FUNCTIONS(3)
#undef KILN_POOL_FUNCTIONS

#define KILN_FRACTIONAL_FUNCTIONS(D)                                                                        \
  Tensor fractional_max_pool##D##d(const Tensor& input, const FractionalMaxPool##D##dFuncOptions& o,        \
                                   SourceLoc loc) {                                                         \
    OptionList options = fractional_options(o, "fractional_max_pool" #D "d");                               \
    options.emplace_back("return_indices", false);                                                          \
    return fractional_function("fractional_max_pool" #D "d", input, o, nullptr, false, options, loc)[0];    \
  }                                                                                                         \
  Tensor fractional_max_pool##D##d(const Tensor& input, const FractionalMaxPool##D##dFuncOptions& o,        \
                                   const Tensor& samples, SourceLoc loc) {                                  \
    OptionList options = fractional_options(o, "fractional_max_pool" #D "d");                               \
    options.emplace_back("return_indices", false);                                                          \
    return fractional_function("fractional_max_pool" #D "d", input, o, &samples, false, options, loc)[0];   \
  }                                                                                                         \
  std::tuple<Tensor, Tensor> fractional_max_pool##D##d_with_indices(                                        \
      const Tensor& input, const FractionalMaxPool##D##dFuncOptions& o, SourceLoc loc) {                    \
    std::vector<Tensor> out =                                                                               \
        fractional_function("fractional_max_pool" #D "d_with_indices", input, o, nullptr, true,             \
                            fractional_options(o, "fractional_max_pool" #D "d_with_indices"), loc);         \
    return {out[0], out[1]};                                                                                \
  }                                                                                                         \
  std::tuple<Tensor, Tensor> fractional_max_pool##D##d_with_indices(                                        \
      const Tensor& input, const FractionalMaxPool##D##dFuncOptions& o, const Tensor& samples,              \
      SourceLoc loc) {                                                                                      \
    std::vector<Tensor> out =                                                                               \
        fractional_function("fractional_max_pool" #D "d_with_indices", input, o, &samples, true,            \
                            fractional_options(o, "fractional_max_pool" #D "d_with_indices"), loc);         \
    return {out[0], out[1]};                                                                                \
  }

KILN_FRACTIONAL_FUNCTIONS(2)
KILN_FRACTIONAL_FUNCTIONS(3)
#undef KILN_FRACTIONAL_FUNCTIONS

Tensor lp_pool1d(const Tensor& input, const LPPool1dFuncOptions& o, SourceLoc loc) {
  return pool_function("lp_pool1d", input, lp_windows(o), lp_options(o, "lp_pool1d"), loc);
}
Tensor lp_pool2d(const Tensor& input, const LPPool2dFuncOptions& o, SourceLoc loc) {
  return pool_function("lp_pool2d", input, lp_windows(o), lp_options(o, "lp_pool2d"), loc);
}

}  // namespace functional
}  // namespace kiln::nn
