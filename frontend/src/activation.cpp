// The pointwise activation layers and their functional forms: each records
// one graph node with torch's option names (the importer builds the math,
// frontend/import/Activation.cpp). Option checks mirror torch's, so a bad
// value fails where the user wrote it rather than in kilnc.
#include "kiln/nn/activation.h"

#include "ir/FormatNumber.h"
#include "shapes.h"

namespace kiln::nn {
namespace {

std::string num(double v) { return formatExact(v); }

OptionList option_list(const ELUOptions& o) { return {{"alpha", o.alpha()}, {"inplace", o.inplace()}}; }
OptionList option_list(const CELUOptions& o) { return {{"alpha", o.alpha()}, {"inplace", o.inplace()}}; }
OptionList option_list(const SELUOptions& o) { return {{"inplace", o.inplace()}}; }
OptionList option_list(const LeakyReLUOptions& o) {
  return {{"negative_slope", o.negative_slope()}, {"inplace", o.inplace()}};
}
OptionList option_list(const ReLU6Options& o) { return {{"inplace", o.inplace()}}; }
OptionList option_list(const HardtanhOptions& o) {
  return {{"min_val", o.min_val()}, {"max_val", o.max_val()}, {"inplace", o.inplace()}};
}
OptionList option_list(const HardsigmoidOptions& o) { return {{"inplace", o.inplace()}}; }
OptionList option_list(const HardswishOptions& o) { return {{"inplace", o.inplace()}}; }
OptionList option_list(const MishOptions& o) { return {{"inplace", o.inplace()}}; }
OptionList option_list(const HardshrinkOptions& o) { return {{"lambd", o.lambda()}}; }
OptionList option_list(const SoftshrinkOptions& o) { return {{"lambd", o.lambda()}}; }
OptionList option_list(const ThresholdOptions& o) {
  return {{"threshold", o.threshold()}, {"value", o.value()}, {"inplace", o.inplace()}};
}
OptionList option_list(const SoftplusOptions& o) { return {{"beta", o.beta()}, {"threshold", o.threshold()}}; }
OptionList option_list(const NoOptions&) { return {}; }
OptionList option_list(const SoftmaxOptions& o) {
  if (o.dim()) return {{"dim", *o.dim()}};
  return {{"dim", nullptr}};
}
OptionList option_list(const GLUOptions& o) { return {{"dim", o.dim()}}; }
OptionList option_list(const RReLUOptions& o) {
  return {{"lower", o.lower()}, {"upper", o.upper()}, {"inplace", o.inplace()}};
}
OptionList option_list(const functional::RReLUFuncOptions& o) {
  return {{"lower", o.lower()}, {"upper", o.upper()}, {"training", o.training()}};
}

/// torch's own checks of the values (the rest are accepted as torch does).
void check(const char* what, const CELUOptions& o) {
  if (o.alpha() == 0) detail::fail(std::string(what) + ": alpha cannot be 0 for CELU");
}
void check(const char* what, const HardtanhOptions& o) {
  if (!(o.max_val() > o.min_val()))
    detail::fail(std::string(what) + ": max_val " + num(o.max_val()) + " must be greater than min_val " +
                 num(o.min_val()));
}
void check(const char* what, const SoftshrinkOptions& o) {
  if (!(o.lambda() >= 0))
    detail::fail(std::string(what) + ": lambda must be greater or equal to 0, but found to be " + num(o.lambda()));
}
void check(const char* what, const SoftplusOptions& o) {
  if (o.beta() == 0) detail::fail(std::string(what) + ": beta must not be 0 (softplus divides by it)");
}
void check(const char* what, const RReLUOptions& o) {
  if (o.lower() > o.upper())
    detail::fail(std::string(what) + ": lower " + num(o.lower()) + " must not be greater than upper " +
                 num(o.upper()));
}
void check(const char* what, const functional::RReLUFuncOptions& o) {
  check(what, RReLUOptions().lower(o.lower()).upper(o.upper()));
}
template <class Options>
void check(const char*, const Options&) {}

/// Options of the functional form: the layer's without `inplace`.
OptionList without_inplace(OptionList list) {
  OptionList out;
  for (auto& entry : list)
    if (entry.first != "inplace") out.push_back(std::move(entry));
  return out;
}

template <class Options>
Tensor function(const char* name, const Tensor& input, const Options& options, SourceLoc loc) {
  std::string what = std::string(name) + "()";
  check(what.c_str(), options);
  auto& trace = detail::Trace::active(what, loc);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  return detail::record_function(trace, name, without_inplace(option_list(options)), {input}, input.sizes(),
                                 input.dtype(), loc);
}

}  // namespace

template <class Options>
ActivationImpl<Options>::ActivationImpl(const char* type, const Options& options)
    : Module(type), options_(options) {
  check(type, options);
}

template <class Options>
Tensor ActivationImpl<Options>::forward(const Tensor& input, SourceLoc loc) {
  return detail::elementwise_module(*this, input, loc);
}

template <class Options>
std::optional<OptionList> ActivationImpl<Options>::layer_options() const {
  return option_list(options_);
}

template class ActivationImpl<ELUOptions>;
template class ActivationImpl<CELUOptions>;
template class ActivationImpl<SELUOptions>;
template class ActivationImpl<LeakyReLUOptions>;
template class ActivationImpl<ReLU6Options>;
template class ActivationImpl<HardtanhOptions>;
template class ActivationImpl<HardsigmoidOptions>;
template class ActivationImpl<HardswishOptions>;
template class ActivationImpl<MishOptions>;
template class ActivationImpl<HardshrinkOptions>;
template class ActivationImpl<SoftshrinkOptions>;
template class ActivationImpl<ThresholdOptions>;
template class ActivationImpl<SoftplusOptions>;
template class ActivationImpl<NoOptions>;
template class ActivationImpl<SoftmaxOptions>;
template class ActivationImpl<GLUOptions>;
template class ActivationImpl<RReLUOptions>;

/// GLU's result: the input with dimension `dim` halved (it must be even).
static Shape glu_shape(const Shape& in, int64_t dim, const std::string& what, SourceLoc loc) {
  int64_t rank = static_cast<int64_t>(in.size());
  if (rank == 0) detail::fail(loc, what + ": glu does not support scalars because halving size must be even");
  if (dim < -rank || dim >= rank)
    detail::fail(loc, what + ": Dimension out of range (expected to be in range of [" + std::to_string(-rank) +
                          ", " + std::to_string(rank - 1) + "], but got " + std::to_string(dim) + ")");
  int64_t d = dim < 0 ? dim + rank : dim;
  if (in[d] % 2 != 0)
    detail::fail(loc, what + ": Halving dimension must be even, but dimension " + std::to_string(d) + " is size " +
                          std::to_string(in[d]));
  Shape out = in;
  out[d] /= 2;
  return out;
}

Tensor GLUImpl::forward(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active("GLU", loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  Shape shape = glu_shape(input.sizes(), options().dim(), what, loc);
  return detail::record_module(trace, path, {input}, std::move(shape), input.dtype(), loc);
}

PReLUImpl::PReLUImpl(const PReLUOptions& options) : Module("PReLU"), options_(options) {
  if (options.num_parameters() < 1)
    detail::fail("PReLU(num_parameters=" + std::to_string(options.num_parameters()) +
                 "): num_parameters must be >= 1");
  register_parameter("weight", {options.num_parameters()}, Init::Constant);
}

/// torch 1.13's prelu: one slope, or one per channel (dim 1).
static void check_prelu(const Shape& in, int64_t count, const std::string& what, SourceLoc loc) {
  if (in.empty()) detail::fail(loc, what + ": Not allow zero-dim input tensor.");
  int64_t channels = in.size() > 1 ? in[1] : 1;
  if (count != 1 && count != channels)
    detail::fail(loc, what + ": Mismatch of parameter numbers and input channel size. Found parameter numbers = " +
                          std::to_string(count) + " and channel size = " + std::to_string(channels) + ".");
}

Tensor PReLUImpl::forward(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active("PReLU", loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  check_prelu(input.sizes(), options_.num_parameters(), what, loc);
  return detail::record_module(trace, path, {input}, input.sizes(), input.dtype(), loc);
}

std::optional<OptionList> PReLUImpl::layer_options() const {
  return OptionList{{"num_parameters", options_.num_parameters()}, {"init", options_.init()}};
}

namespace functional {
Tensor elu(const Tensor& x, const ELUOptions& o, SourceLoc loc) { return function("elu", x, o, loc); }
Tensor celu(const Tensor& x, const CELUOptions& o, SourceLoc loc) { return function("celu", x, o, loc); }
Tensor selu(const Tensor& x, const SELUOptions& o, SourceLoc loc) { return function("selu", x, o, loc); }
Tensor leaky_relu(const Tensor& x, const LeakyReLUOptions& o, SourceLoc loc) {
  return function("leaky_relu", x, o, loc);
}
Tensor relu6(const Tensor& x, const ReLU6Options& o, SourceLoc loc) { return function("relu6", x, o, loc); }
Tensor hardtanh(const Tensor& x, const HardtanhOptions& o, SourceLoc loc) {
  return function("hardtanh", x, o, loc);
}
Tensor hardsigmoid(const Tensor& x, SourceLoc loc) { return function("hardsigmoid", x, NoOptions{}, loc); }
Tensor hardswish(const Tensor& x, SourceLoc loc) { return function("hardswish", x, NoOptions{}, loc); }
Tensor mish(const Tensor& x, SourceLoc loc) { return function("mish", x, NoOptions{}, loc); }
Tensor hardshrink(const Tensor& x, const HardshrinkOptions& o, SourceLoc loc) {
  return function("hardshrink", x, o, loc);
}
Tensor softshrink(const Tensor& x, const SoftshrinkOptions& o, SourceLoc loc) {
  return function("softshrink", x, o, loc);
}
Tensor threshold(const Tensor& x, const ThresholdOptions& o, SourceLoc loc) {
  return function("threshold", x, o, loc);
}
Tensor softplus(const Tensor& x, const SoftplusOptions& o, SourceLoc loc) {
  return function("softplus", x, o, loc);
}
Tensor softsign(const Tensor& x, SourceLoc loc) { return function("softsign", x, NoOptions{}, loc); }
Tensor tanhshrink(const Tensor& x, SourceLoc loc) { return function("tanhshrink", x, NoOptions{}, loc); }
Tensor logsigmoid(const Tensor& x, SourceLoc loc) { return function("logsigmoid", x, NoOptions{}, loc); }
Tensor gelu(const Tensor& x, const GELUOptions& o, SourceLoc loc) {
  if (o.approximate() != "none" && o.approximate() != "tanh")
    detail::fail("gelu(approximate='" + o.approximate() + "'): approximate must be 'none' or 'tanh'");
  auto& trace = detail::Trace::active("gelu()", loc);
  trace.check_value(x, "gelu()", loc);
  detail::require_float32(x, "gelu()", loc);
  return detail::record_function(trace, "gelu", {{"approximate", o.approximate()}}, {x}, x.sizes(), x.dtype(),
                                 loc);
}
Tensor silu(const Tensor& x, SourceLoc loc) { return function("silu", x, NoOptions{}, loc); }
Tensor softmax(const Tensor& x, const SoftmaxOptions& o, SourceLoc loc) {
  if (!o.dim()) detail::fail(loc, "softmax(): torch.softmax needs a dim");
  return function("softmax", x, o, loc);
}
Tensor log_softmax(const Tensor& x, const SoftmaxOptions& o, SourceLoc loc) {
  if (!o.dim()) detail::fail(loc, "log_softmax(): torch.log_softmax needs a dim");
  return function("log_softmax", x, o, loc);
}
Tensor softmin(const Tensor& x, const SoftmaxOptions& o, SourceLoc loc) { return function("softmin", x, o, loc); }
Tensor glu(const Tensor& x, const GLUOptions& o, SourceLoc loc) {
  auto& trace = detail::Trace::active("glu()", loc);
  trace.check_value(x, "glu()", loc);
  detail::require_float32(x, "glu()", loc);
  Shape shape = glu_shape(x.sizes(), o.dim(), "glu()", loc);
  return detail::record_function(trace, "glu", option_list(o), {x}, std::move(shape), x.dtype(), loc);
}
Tensor prelu(const Tensor& x, const Tensor& weight, SourceLoc loc) {
  auto& trace = detail::Trace::active("prelu()", loc);
  trace.check_value(x, "prelu()", loc);
  trace.check_value(weight, "prelu()", loc);
  detail::require_float32(x, "prelu()", loc);
  detail::require_float32(weight, "prelu()", loc);
  if (weight.sizes().size() != 1) detail::fail(loc, "prelu(): weight must be 1-D");
  check_prelu(x.sizes(), weight.sizes()[0], "prelu()", loc);
  return detail::record_function(trace, "prelu", {}, {x, weight}, x.sizes(), x.dtype(), loc);
}
Tensor rrelu(const Tensor& x, const RReLUFuncOptions& o, SourceLoc loc) { return function("rrelu", x, o, loc); }
}  // namespace functional

}  // namespace kiln::nn
