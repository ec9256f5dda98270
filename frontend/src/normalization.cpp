// The normalization family of the DSL (kiln/nn/normalization.h): the
// constructor and shape checks of frontend/import/{BatchNorm,InstanceNorm,
// Normalization}.cpp, so that the DSL and kilnc reject the same models
// (kilnc's messages name the JSON path instead). The statistics, buffers and
// modes are the compiled model's.
#include "kiln/nn/normalization.h"

#include <algorithm>

#include "ir/FormatNumber.h"
#include "ir/ShapeRules.h"
#include "shapes.h"

namespace kiln::nn {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

/// "2D or 3D", for messages.
std::string ranks_str(const std::vector<size_t>& ranks) {
  if (ranks.empty()) return "at least 2D";
  std::string s;
  for (size_t r : ranks) s += (s.empty() ? "" : " or ") + str(static_cast<int64_t>(r)) + "D";
  return s;
}

}  // namespace

NormBaseImpl::NormBaseImpl(Config config)
    : Module(config.type), config_(std::move(config)), num_features_(config_.num_features) {
  bool lazy = config_.type.rfind("Lazy", 0) == 0;
  if (!lazy && num_features_ < 1)
    detail::fail(config_.type + "(" + str(num_features_) + "): num_features must be >= 1");
  if (config_.momentum && !(*config_.momentum >= 0.0 && *config_.momentum <= 1.0))
    detail::fail(config_.type + ": momentum must be in [0, 1], got " + formatExact(*config_.momentum));
  if (!lazy) declare_parameters();
}

void NormBaseImpl::declare_parameters() {
  if (!config_.affine) return;
  register_parameter("weight", {num_features_}, Init::Ones);
  register_parameter("bias", {num_features_}, Init::Zeros);
}

Tensor NormBaseImpl::forward(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active(type_name(), loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  const Shape& in = input.sizes();
  const std::vector<size_t>& ranks = config_.ranks;
  bool rank_ok = ranks.empty() ? in.size() >= 2 : std::find(ranks.begin(), ranks.end(), in.size()) != ranks.end();
  if (!rank_ok)
    detail::fail(loc, what + " expected " + ranks_str(ranks) + " input, got " + shape_rules::str(in) + " ('" +
                          input.name() + "')");
  size_t channel_dim = in.size() == config_.unbatched_rank ? 0 : 1;
  int64_t channels = in[channel_dim];
  if (num_features_ == 0) {
    // A lazy layer's first call fixes num_features (torch's
    // initialize_parameters).
    num_features_ = channels;
    declare_parameters();
  }
  if (channels != num_features_)
    detail::fail(loc, what + " input " + shape_rules::str(in) + " has " + str(channels) +
                          " channels, but num_features is " + str(num_features_) + " ('" + input.name() + "')");
  return detail::record_module(trace, path, {input}, in, input.dtype(), loc);
}

std::optional<OptionList> NormBaseImpl::layer_options() const {
  // num_features 0: a lazy layer the forward never called (kilnc refuses it
  // with that message; tracing asks for the options before the forward runs).
  OptionValue momentum = nullptr;
  if (config_.momentum) momentum = *config_.momentum;
  return OptionList{{"num_features", num_features_},
                    {"eps", config_.eps},
                    {"momentum", momentum},
                    {"affine", config_.affine},
                    {"track_running_stats", config_.track_running_stats}};
}

SyncBatchNormImpl::SyncBatchNormImpl(const SyncBatchNormOptions& options)
    : NormBaseImpl([&] {
        Config c;
        c.type = "SyncBatchNorm";
        c.num_features = options.num_features();
        c.eps = options.eps();
        c.momentum = options.momentum();
        c.affine = options.affine();
        c.track_running_stats = options.track_running_stats();
        return c;
      }()),
      options_(options) {}

LayerNormImpl::LayerNormImpl(const LayerNormOptions& options) : Module("LayerNorm"), options_(options) {
  const std::vector<int64_t>& shape = options.normalized_shape();
  std::string what = "LayerNorm(" + shape_rules::str(shape) + ")";
  if (shape.empty()) detail::fail(what + ": normalized_shape must name at least one dimension");
  for (int64_t d : shape)
    if (d < 1) detail::fail(what + ": every normalized_shape dimension must be >= 1");
  if (options.elementwise_affine()) {
    register_parameter("weight", shape, Init::Ones);
    register_parameter("bias", shape, Init::Zeros);
  }
}

Tensor LayerNormImpl::forward(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active(type_name(), loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  const Shape& in = input.sizes();
  const std::vector<int64_t>& normalized = options_.normalized_shape();
  bool matches = in.size() >= normalized.size() &&
                 std::equal(normalized.begin(), normalized.end(), in.end() - normalized.size());
  if (!matches)
    detail::fail(loc, what + " expected an input whose trailing dimensions are normalized_shape " +
                          shape_rules::str(normalized) + ", got " + shape_rules::str(in) + " ('" + input.name() +
                          "')");
  return detail::record_module(trace, path, {input}, in, input.dtype(), loc);
}

std::optional<OptionList> LayerNormImpl::layer_options() const {
  return OptionList{{"normalized_shape", options_.normalized_shape()},
                    {"eps", options_.eps()},
                    {"elementwise_affine", options_.elementwise_affine()}};
}

GroupNormImpl::GroupNormImpl(const GroupNormOptions& options) : Module("GroupNorm"), options_(options) {
  std::string what = "GroupNorm(" + str(options.num_groups()) + ", " + str(options.num_channels()) + ")";
  if (options.num_groups() < 1 || options.num_channels() < 1)
    detail::fail(what + ": num_groups and num_channels must be >= 1");
  if (options.num_channels() % options.num_groups() != 0)
    detail::fail(what + ": num_channels must be divisible by num_groups");
  if (options.affine()) {
    register_parameter("weight", {options.num_channels()}, Init::Ones);
    register_parameter("bias", {options.num_channels()}, Init::Zeros);
  }
}

Tensor GroupNormImpl::forward(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active(type_name(), loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  const Shape& in = input.sizes();
  if (in.size() < 2 || in[1] != options_.num_channels())
    detail::fail(loc, what + " expected an input [N, " + str(options_.num_channels()) + ", *], got " +
                          shape_rules::str(in) + " ('" + input.name() + "')");
  return detail::record_module(trace, path, {input}, in, input.dtype(), loc);
}

std::optional<OptionList> GroupNormImpl::layer_options() const {
  return OptionList{{"num_groups", options_.num_groups()},
                    {"num_channels", options_.num_channels()},
                    {"eps", options_.eps()},
                    {"affine", options_.affine()}};
}

LocalResponseNormImpl::LocalResponseNormImpl(const LocalResponseNormOptions& options)
    : Module("LocalResponseNorm"), options_(options) {
  if (options.size() < 1)
    detail::fail("LocalResponseNorm(" + str(options.size()) + "): size must be >= 1");
}

Tensor LocalResponseNormImpl::forward(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active(type_name(), loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  if (input.sizes().size() < 3)
    detail::fail(loc, what + " expected 3D or higher dimensionality input, got " +
                          shape_rules::str(input.sizes()) + " ('" + input.name() + "')");
  return detail::record_module(trace, path, {input}, input.sizes(), input.dtype(), loc);
}

std::optional<OptionList> LocalResponseNormImpl::layer_options() const {
  return OptionList{{"size", options_.size()},
                    {"alpha", options_.alpha()},
                    {"beta", options_.beta()},
                    {"k", options_.k()}};
}

namespace functional {
namespace {

/// The checks every functional form starts with; returns the active trace.
detail::Trace& begin_function(const Tensor& input, const std::string& what, SourceLoc loc) {
  auto& trace = detail::Trace::active(what, loc);
  trace.check_value(input, what, loc);
  detail::require_float32(input, what, loc);
  return trace;
}

}  // namespace

Tensor layer_norm(const Tensor& input, const LayerNormFuncOptions& options, SourceLoc loc) {
  auto& trace = begin_function(input, "layer_norm()", loc);
  const Shape& in = input.sizes();
  const std::vector<int64_t>& normalized = options.normalized_shape();
  if (normalized.empty()) detail::fail(loc, "layer_norm(): normalized_shape must name at least one dimension");
  bool matches = in.size() >= normalized.size() &&
                 std::equal(normalized.begin(), normalized.end(), in.end() - normalized.size());
  if (!matches)
    detail::fail(loc, "layer_norm(): expected an input whose trailing dimensions are normalized_shape " +
                          shape_rules::str(normalized) + ", got " + shape_rules::str(in) + " ('" + input.name() +
                          "')");
  return detail::record_function(trace, "layer_norm", {{"normalized_shape", normalized}, {"eps", options.eps()}},
                                 {input}, in, input.dtype(), loc);
}

Tensor group_norm(const Tensor& input, const GroupNormFuncOptions& options, SourceLoc loc) {
  auto& trace = begin_function(input, "group_norm()", loc);
  const Shape& in = input.sizes();
  if (options.num_groups() < 1) detail::fail(loc, "group_norm(): num_groups must be >= 1");
  if (in.size() < 2 || in[1] % options.num_groups() != 0)
    detail::fail(loc, "group_norm(): expected an input [N, C, *] with C divisible by num_groups " +
                          str(options.num_groups()) + ", got " + shape_rules::str(in) + " ('" + input.name() + "')");
  return detail::record_function(trace, "group_norm", {{"num_groups", options.num_groups()}, {"eps", options.eps()}},
                                 {input}, in, input.dtype(), loc);
}

Tensor local_response_norm(const Tensor& input, const LocalResponseNormFuncOptions& options, SourceLoc loc) {
  auto& trace = begin_function(input, "local_response_norm()", loc);
  if (options.size() < 1) detail::fail(loc, "local_response_norm(): size must be >= 1");
  if (input.sizes().size() < 3)
    detail::fail(loc, "local_response_norm(): expected 3D or higher dimensionality input, got " +
                          shape_rules::str(input.sizes()) + " ('" + input.name() + "')");
  return detail::record_function(
      trace, "local_response_norm",
      {{"size", options.size()}, {"alpha", options.alpha()}, {"beta", options.beta()}, {"k", options.k()}}, {input},
      input.sizes(), input.dtype(), loc);
}

namespace {

/// The [C] inputs of F.batch_norm / F.instance_norm, in torch's positional
/// order; each given one must be float32 [C], and none may follow a gap.
std::vector<Tensor> stats_inputs(const Tensor& input, const std::vector<std::pair<const char*, const Tensor*>>& given,
                                 detail::Trace& trace, const std::string& what, SourceLoc loc) {
  const Shape& in = input.sizes();
  if (in.size() < 2)
    detail::fail(loc, what + " expected an input of at least 2 dimensions (N, C, *), got " + shape_rules::str(in) +
                          " ('" + input.name() + "')");
  std::vector<Tensor> inputs{input};
  const char* missing = nullptr;
  for (auto [name, t] : given) {
    if (!t) {
      missing = missing ? missing : name;
      continue;
    }
    if (missing)
      detail::fail(loc, what + " " + name + " needs " + missing + " in Kiln (the graph function's inputs are "
                               "positional, as torch's)");
    trace.check_value(*t, what, loc);
    detail::require_float32(*t, what, loc);
    if (t->sizes() != Shape{in[1]})
      detail::fail(loc, what + " " + name + " must be [" + std::to_string(in[1]) + "], got " +
                            shape_rules::str(t->sizes()) + " ('" + t->name() + "')");
    inputs.push_back(*t);
  }
  return inputs;
}

const Tensor* opt(const std::optional<Tensor>& t) { return t ? &*t : nullptr; }

}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const BatchNormFuncOptions& o, SourceLoc loc) {
  auto& trace = begin_function(input, "batch_norm()", loc);
  std::vector<Tensor> inputs = stats_inputs(
      input, {{"running_mean", &running_mean}, {"running_var", &running_var}, {"weight", opt(o.weight())},
              {"bias", opt(o.bias())}},
      trace, "batch_norm()", loc);
  if (o.training()) {
    int64_t n = 1;
    for (size_t d = 0; d < input.sizes().size(); ++d)
      if (d != 1) n *= input.sizes()[d];
    if (n < 2)
      detail::fail(loc, "batch_norm(): expected more than 1 value per channel when training, got " +
                            shape_rules::str(input.sizes()));
  }
  return detail::record_function(trace, "batch_norm",
                                 {{"training", o.training()}, {"momentum", o.momentum()}, {"eps", o.eps()}},
                                 inputs, input.sizes(), input.dtype(), loc);
}

Tensor instance_norm(const Tensor& input, const InstanceNormFuncOptions& o, SourceLoc loc) {
  auto& trace = begin_function(input, "instance_norm()", loc);
  std::vector<Tensor> inputs =
      stats_inputs(input,
                   {{"running_mean", opt(o.running_mean())}, {"running_var", opt(o.running_var())},
                    {"weight", opt(o.weight())}, {"bias", opt(o.bias())}},
                   trace, "instance_norm()", loc);
  if (inputs.size() == 2)
    detail::fail(loc, "instance_norm(): running_mean needs running_var");
  if (!o.use_input_stats() && inputs.size() < 3)
    detail::fail(loc, "instance_norm(): use_input_stats=false needs running_mean and running_var");
  if (o.use_input_stats()) {
    int64_t n = 1;
    for (size_t d = 2; d < input.sizes().size(); ++d) n *= input.sizes()[d];
    if (n < 2)
      detail::fail(loc, "instance_norm(): expected more than 1 spatial element when using input statistics, got " +
                            shape_rules::str(input.sizes()));
  }
  return detail::record_function(
      trace, "instance_norm",
      {{"use_input_stats", o.use_input_stats()}, {"momentum", o.momentum()}, {"eps", o.eps()}}, inputs,
      input.sizes(), input.dtype(), loc);
}

}  // namespace functional
}  // namespace kiln::nn
