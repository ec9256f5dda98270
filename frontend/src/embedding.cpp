// nn.Embedding, nn.EmbeddingBag and their functional forms in the DSL: shape checks, and the options
// the model file records (frontend/import/Embedding.cpp compiles them).
#include "kiln/nn/embedding.h"

#include "ir/ShapeRules.h"
#include "shapes.h"

namespace kiln::nn {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

OptionValue optional(const std::optional<int64_t>& v) {
  return v ? OptionValue(*v) : OptionValue(nullptr);
}
OptionValue optional(const std::optional<double>& v) {
  return v ? OptionValue(*v) : OptionValue(nullptr);
}

/// [*index, dim] after checking the index is int64 and padding_idx names a row.
Shape embedding_shape(const Tensor& index, int64_t rows, int64_t dim, std::optional<int64_t> padding_idx,
                      const std::string& what, SourceLoc loc) {
  if (index.dtype() != Dtype::Int64)
    detail::fail(loc, what + " expects an int64 index, got " + dtype_name(index.dtype()) + " tensor '" +
                          index.name() + "'");
  if (padding_idx && (*padding_idx < -rows || *padding_idx >= rows))
    detail::fail(loc, what + ": Padding_idx must be within num_embeddings (got " + str(*padding_idx) + " for " +
                          str(rows) + " rows)");
  Shape out = index.sizes();
  out.push_back(dim);
  return out;
}

/// [B, dim] after checking EmbeddingBag's inputs as torch does.
Shape embedding_bag_shape(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights,
                          int64_t rows, int64_t dim, const char* mode, bool include_last_offset,
                          bool scale_grad_by_freq, std::optional<int64_t> padding_idx, const std::string& what,
                          SourceLoc loc) {
  embedding_shape(input, rows, dim, padding_idx, what, loc);
  if (input.dim() != 1 && input.dim() != 2)
    detail::fail(loc, what + ": input has to be 1D or 2D Tensor, but got Tensor of dimension " + str(input.dim()));
  int64_t bags = input.sizes()[0];
  if (input.dim() == 2) {
    if (offsets.defined())
      detail::fail(loc, what + ": if input is 2D, then offsets has to be None, as input is treated is a "
                               "mini-batch of fixed length sequences");
    if (per_sample_weights.defined())
      detail::fail(loc, what + ": per_sample_weights with a 2-D input cannot be recorded: give a 1-D input "
                               "and offsets 0, L, 2L, ... instead");
  } else {
    if (!offsets.defined())
      detail::fail(loc, what + ": offsets has to be a 1D Tensor but got None");
    if (offsets.dtype() != Dtype::Int64 || offsets.dim() != 1)
      detail::fail(loc, what + ": offsets has to be a 1D int64 Tensor, got '" + offsets.name() + "'");
    bags = offsets.sizes()[0] - (include_last_offset ? 1 : 0);
    if (bags < 1)
      detail::fail(loc, what + ": include_last_offset needs at least two offsets");
  }
  if (per_sample_weights.defined()) {
    detail::require_float32(per_sample_weights, what, loc);
    if (std::string(mode) != "sum")
      detail::fail(loc, what + ": per_sample_weights is only supported for mode='sum' (got mode='" + mode + "')");
    if (per_sample_weights.sizes() != input.sizes())
      detail::fail(loc, what + ": per_sample_weights must have the same shape as the input");
  }
  if (scale_grad_by_freq && std::string(mode) == "max")
    detail::fail(loc, what + ": max mode does not support scaling the gradient by the frequency");
  return {bags, dim};
}

/// The graph inputs: input, then offsets and per_sample_weights if given.
std::vector<Tensor> bag_inputs(std::vector<Tensor> inputs, const Tensor& offsets, const Tensor& weights) {
  if (offsets.defined())
    inputs.push_back(offsets);
  if (weights.defined())
    inputs.push_back(weights);
  return inputs;
}

}  // namespace

EmbeddingBagMode::EmbeddingBagMode(Reduction reduction)
    : name_(reduction == Reduction::Sum ? "sum" : "mean") {
  if (reduction != Reduction::Sum && reduction != Reduction::Mean)
    detail::fail(std::string("EmbeddingBag's mode is kSum, kMean or kMax, not ") + reduction_name(reduction));
}

EmbeddingBagImpl::EmbeddingBagImpl(const EmbeddingBagOptions& options) : Module("EmbeddingBag"), options_(options) {
  std::string what = "EmbeddingBag(num_embeddings=" + str(options.num_embeddings()) +
                     ", embedding_dim=" + str(options.embedding_dim()) + ")";
  if (options.num_embeddings() < 1 || options.embedding_dim() < 1)
    detail::fail(what + ": num_embeddings and embedding_dim must be >= 1");
  if (options.padding_idx() &&
      (*options.padding_idx() < -options.num_embeddings() || *options.padding_idx() >= options.num_embeddings()))
    detail::fail(what + ": padding_idx must be within num_embeddings");
  register_parameter("weight", {options.num_embeddings(), options.embedding_dim()}, Init::Normal);
}

Tensor EmbeddingBagImpl::forward(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights,
                                 SourceLoc loc) {
  auto& trace = detail::Trace::active("EmbeddingBag", loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  std::vector<Tensor> inputs = bag_inputs({input}, offsets, per_sample_weights);
  for (const Tensor& t : inputs)
    trace.check_value(t, what, loc);
  Shape shape = embedding_bag_shape(input, offsets, per_sample_weights, options_.num_embeddings(),
                                    options_.embedding_dim(), options_.mode().name(), options_.include_last_offset(),
                                    options_.scale_grad_by_freq(), options_.padding_idx(), what, loc);
  return detail::record_module(trace, path, inputs, std::move(shape), Dtype::Float32, loc);
}

std::optional<OptionList> EmbeddingBagImpl::layer_options() const {
  return OptionList{{"num_embeddings", options_.num_embeddings()},
                    {"embedding_dim", options_.embedding_dim()},
                    {"max_norm", optional(options_.max_norm())},
                    {"norm_type", options_.norm_type()},
                    {"scale_grad_by_freq", options_.scale_grad_by_freq()},
                    {"mode", std::string(options_.mode().name())},
                    {"sparse", options_.sparse()},
                    {"include_last_offset", options_.include_last_offset()},
                    {"padding_idx", optional(options_.padding_idx())}};
}

EmbeddingImpl::EmbeddingImpl(const EmbeddingOptions& options) : Module("Embedding"), options_(options) {
  std::string what = "Embedding(num_embeddings=" + str(options.num_embeddings()) +
                     ", embedding_dim=" + str(options.embedding_dim()) + ")";
  if (options.num_embeddings() < 1 || options.embedding_dim() < 1)
    detail::fail(what + ": num_embeddings and embedding_dim must be >= 1");
  if (options.padding_idx() &&
      (*options.padding_idx() < -options.num_embeddings() || *options.padding_idx() >= options.num_embeddings()))
    detail::fail(what + ": Padding_idx must be within num_embeddings");
  weight = register_parameter("weight", {options.num_embeddings(), options.embedding_dim()}, Init::Normal);
}

Tensor EmbeddingImpl::forward(const Tensor& input, SourceLoc loc) {
  auto& trace = detail::Trace::active("Embedding", loc);
  const std::string& path = trace.path_of(*this, loc);
  std::string what = detail::describe(*this, path);
  trace.check_value(input, what, loc);
  Shape shape = embedding_shape(input, options_.num_embeddings(), options_.embedding_dim(), options_.padding_idx(),
                                what, loc);
  return detail::record_module(trace, path, {input}, std::move(shape), Dtype::Float32, loc);
}

std::optional<OptionList> EmbeddingImpl::layer_options() const {
  return OptionList{{"num_embeddings", options_.num_embeddings()},
                    {"embedding_dim", options_.embedding_dim()},
                    {"padding_idx", optional(options_.padding_idx())},
                    {"max_norm", optional(options_.max_norm())},
                    {"norm_type", options_.norm_type()},
                    {"scale_grad_by_freq", options_.scale_grad_by_freq()},
                    {"sparse", options_.sparse()}};
}

namespace functional {

Tensor embedding(const Tensor& input, const Tensor& weight, const EmbeddingFuncOptions& options, SourceLoc loc) {
  auto& trace = detail::Trace::active("embedding()", loc);
  trace.check_value(input, "embedding()", loc);
  trace.check_value(weight, "embedding()", loc);
  detail::require_float32(weight, "embedding()", loc);
  if (weight.dim() != 2)
    detail::fail(loc, "embedding(): the weight must be 2-D [num_embeddings, embedding_dim], got " +
                          shape_rules::str(weight.sizes()));
  Shape shape = embedding_shape(input, weight.sizes()[0], weight.sizes()[1], options.padding_idx(), "embedding()",
                                loc);
  return detail::record_function(trace, "embedding",
                                 {{"padding_idx", optional(options.padding_idx())},
                                  {"max_norm", optional(options.max_norm())},
                                  {"norm_type", options.norm_type()},
                                  {"scale_grad_by_freq", options.scale_grad_by_freq()},
                                  {"sparse", options.sparse()}},
                                 {input, weight}, std::move(shape), Dtype::Float32, loc);
}

Tensor embedding_bag(const Tensor& input, const Tensor& weight, const EmbeddingBagFuncOptions& options,
                     SourceLoc loc) {
  auto& trace = detail::Trace::active("embedding_bag()", loc);
  std::vector<Tensor> inputs = bag_inputs({input, weight}, options.offsets(), options.per_sample_weights());
  for (const Tensor& t : inputs)
    trace.check_value(t, "embedding_bag()", loc);
  detail::require_float32(weight, "embedding_bag()", loc);
  if (weight.dim() != 2)
    detail::fail(loc, "embedding_bag(): the weight must be 2-D [num_embeddings, embedding_dim], got " +
                          shape_rules::str(weight.sizes()));
  Shape shape = embedding_bag_shape(input, options.offsets(), options.per_sample_weights(), weight.sizes()[0],
                                    weight.sizes()[1], options.mode().name(), options.include_last_offset(),
                                    options.scale_grad_by_freq(), options.padding_idx(), "embedding_bag()", loc);
  return detail::record_function(trace, "embedding_bag",
                                 {{"max_norm", optional(options.max_norm())},
                                  {"norm_type", options.norm_type()},
                                  {"scale_grad_by_freq", options.scale_grad_by_freq()},
                                  {"mode", std::string(options.mode().name())},
                                  {"sparse", options.sparse()},
                                  {"include_last_offset", options.include_last_offset()},
                                  {"padding_idx", optional(options.padding_idx())}},
                                 inputs, std::move(shape), Dtype::Float32, loc);
}

}  // namespace functional
}  // namespace kiln::nn
