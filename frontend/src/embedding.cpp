// nn.Embedding and F.embedding in the DSL: shape checks, and the options
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

}  // namespace

EmbeddingImpl::EmbeddingImpl(const EmbeddingOptions& options) : Module("Embedding"), options_(options) {
  std::string what = "Embedding(num_embeddings=" + str(options.num_embeddings()) +
                     ", embedding_dim=" + str(options.embedding_dim()) + ")";
  if (options.num_embeddings() < 1 || options.embedding_dim() < 1)
    detail::fail(what + ": num_embeddings and embedding_dim must be >= 1");
  if (options.padding_idx() &&
      (*options.padding_idx() < -options.num_embeddings() || *options.padding_idx() >= options.num_embeddings()))
    detail::fail(what + ": Padding_idx must be within num_embeddings");
  register_parameter("weight", {options.num_embeddings(), options.embedding_dim()}, Init::Normal);
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

}  // namespace functional
}  // namespace kiln::nn
