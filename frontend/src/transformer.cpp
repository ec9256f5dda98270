// nn.TransformerEncoderLayer and nn.TransformerDecoderLayer in the DSL:
// options, their submodules (for torch's state_dict names: the model file
// holds only the layer and its options), shape checks, and the node each
// call records (which masks follow the tensors as the node's options;
// kilnc's frontend/import/Transformer.cpp builds the math).
#include "kiln/nn/transformer.h"

#include "ir/ShapeRules.h"
#include "shapes.h"

namespace kiln::nn {

using detail::fail;

namespace {

/// Throws torch's constructor errors; `what` names the layer.
void check_options(const TransformerLayerOptions& o, const std::string& what) {
  if (o.d_model() < 1 || o.nhead() < 1 || o.dim_feedforward() < 1)
    fail(what + ": d_model, nhead and dim_feedforward must be >= 1");
  if (o.d_model() % o.nhead() != 0) fail(what + ": embed_dim must be divisible by num_heads");
  if (!(o.dropout() >= 0.0 && o.dropout() <= 1.0))
    fail(what + ": dropout probability has to be between 0 and 1, but got " + std::to_string(o.dropout()));
  if (o.activation() != "relu" && o.activation() != "gelu")
    fail(what + ": activation should be relu/gelu, not " + o.activation());
}

MultiheadAttention attention(const TransformerLayerOptions& o) {
  return MultiheadAttention(
      MultiheadAttentionOptions(o.d_model(), o.nhead()).dropout(o.dropout()).batch_first(o.batch_first()));
}

LayerNorm norm(const TransformerLayerOptions& o) {
  return LayerNorm(LayerNormOptions({o.d_model()}).eps(o.layer_norm_eps()));
}

OptionList options_of(const TransformerLayerOptions& o) {
  return OptionList{{"d_model", o.d_model()},
                    {"nhead", o.nhead()},
                    {"dim_feedforward", o.dim_feedforward()},
                    {"dropout", o.dropout()},
                    {"activation", o.activation()},
                    {"layer_norm_eps", o.layer_norm_eps()},
                    {"batch_first", o.batch_first()},
                    {"norm_first", o.norm_first()}};
}

/// Checks a layer's sequence input: [S, N, d_model], [N, S, d_model] or
/// [S, d_model], float32.
void check_sequence(const Tensor& t, const char* name, const TransformerLayerOptions& o, const std::string& what,
                    SourceLoc loc) {
  detail::require_float32(t, what, loc);
  const Shape& s = t.sizes();
  if ((s.size() != 2 && s.size() != 3) || s.back() != o.d_model())
    fail(loc, what + ": " + name + " must be [S, N, d_model], [N, S, d_model] or [S, d_model] with d_model " +
                  std::to_string(o.d_model()) + ", got " + shape_rules::str(s));
}

/// Records the call: `tensors` then the defined masks, the node's options
/// saying which of `names` are given.
Tensor record(Module& m, std::vector<Tensor> tensors, const std::vector<std::pair<const char*, const Tensor*>>& masks,
              SourceLoc loc) {
  auto& trace = detail::Trace::active(m.type_name(), loc);
  const std::string& path = trace.path_of(m, loc);
  std::string what = detail::describe(m, path);
  for (const Tensor& t : tensors) trace.check_value(t, what, loc);
  OptionList call;
  Shape out = tensors[0].sizes();
  for (const auto& [name, mask] : masks) {
    call.push_back({name, mask->defined()});
    if (!mask->defined()) continue;
    trace.check_value(*mask, what, loc);
    if (mask->dtype() == Dtype::Int64)
      fail(loc, what + ": " + name + " must be bool or float32, got int64 tensor '" + mask->name() + "'");
    tensors.push_back(*mask);
  }
  return detail::record_module(trace, path, tensors, std::move(call), {{out, Dtype::Float32}}, loc)[0];
}

}  // namespace

TransformerEncoderLayerImpl::TransformerEncoderLayerImpl(const TransformerLayerOptions& o)
    : Module("TransformerEncoderLayer"), options_(o) {
  check_options(o, "TransformerEncoderLayer(" + std::to_string(o.d_model()) + ", " + std::to_string(o.nhead()) + ")");
  self_attn = register_module("self_attn", attention(o));
  linear1 = register_module("linear1", Linear(o.d_model(), o.dim_feedforward()));
  linear2 = register_module("linear2", Linear(o.dim_feedforward(), o.d_model()));
  norm1 = register_module("norm1", norm(o));
  norm2 = register_module("norm2", norm(o));
}

Tensor TransformerEncoderLayerImpl::forward(const Tensor& src, const Tensor& src_mask,
                                            const Tensor& src_key_padding_mask, SourceLoc loc) {
  std::string what = "TransformerEncoderLayer";
  if (src.defined()) check_sequence(src, "src", options_, what, loc);
  return record(*this, {src}, {{"src_mask", &src_mask}, {"src_key_padding_mask", &src_key_padding_mask}}, loc);
}

std::optional<OptionList> TransformerEncoderLayerImpl::layer_options() const { return options_of(options_); }

TransformerDecoderLayerImpl::TransformerDecoderLayerImpl(const TransformerLayerOptions& o)
    : Module("TransformerDecoderLayer"), options_(o) {
  check_options(o, "TransformerDecoderLayer(" + std::to_string(o.d_model()) + ", " + std::to_string(o.nhead()) + ")");
  self_attn = register_module("self_attn", attention(o));
  multihead_attn = register_module("multihead_attn", attention(o));
  linear1 = register_module("linear1", Linear(o.d_model(), o.dim_feedforward()));
  linear2 = register_module("linear2", Linear(o.dim_feedforward(), o.d_model()));
  norm1 = register_module("norm1", norm(o));
  norm2 = register_module("norm2", norm(o));
  norm3 = register_module("norm3", norm(o));
}

Tensor TransformerDecoderLayerImpl::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                            const Tensor& memory_mask, const Tensor& tgt_key_padding_mask,
                                            const Tensor& memory_key_padding_mask, SourceLoc loc) {
  std::string what = "TransformerDecoderLayer";
  if (tgt.defined()) check_sequence(tgt, "tgt", options_, what, loc);
  if (memory.defined()) check_sequence(memory, "memory", options_, what, loc);
  return record(*this, {tgt, memory},
                {{"tgt_mask", &tgt_mask},
                 {"memory_mask", &memory_mask},
                 {"tgt_key_padding_mask", &tgt_key_padding_mask},
                 {"memory_key_padding_mask", &memory_key_padding_mask}},
                loc);
}

std::optional<OptionList> TransformerDecoderLayerImpl::layer_options() const { return options_of(options_); }

TransformerEncoderImpl::TransformerEncoderImpl(const TransformerEncoderOptions& o) : Module("TransformerEncoder") {
  if (o.encoder_layer().is_empty()) fail("TransformerEncoder: encoder_layer is empty (constructed with nullptr)");
  if (o.num_layers() < 1) fail("TransformerEncoder: num_layers must be >= 1, got " + std::to_string(o.num_layers()));
  layers = register_module("layers", ModuleList());
  for (int64_t i = 0; i < o.num_layers(); ++i) {
    stack_.push_back(TransformerEncoderLayer(o.encoder_layer()->options()));
    layers->push_back(stack_.back());
  }
  if (!o.norm().is_empty()) norm = register_module("norm", o.norm());
}

Tensor TransformerEncoderImpl::forward(const Tensor& src, const Tensor& mask, const Tensor& src_key_padding_mask,
                                       SourceLoc loc) {
  Tensor x = src;
  for (TransformerEncoderLayer& layer : stack_) x = layer->forward(x, mask, src_key_padding_mask, loc);
  return norm.is_empty() ? x : norm->forward(x, loc);
}

TransformerDecoderImpl::TransformerDecoderImpl(const TransformerDecoderOptions& o) : Module("TransformerDecoder") {
  if (o.decoder_layer().is_empty()) fail("TransformerDecoder: decoder_layer is empty (constructed with nullptr)");
  if (o.num_layers() < 1) fail("TransformerDecoder: num_layers must be >= 1, got " + std::to_string(o.num_layers()));
  layers = register_module("layers", ModuleList());
  for (int64_t i = 0; i < o.num_layers(); ++i) {
    stack_.push_back(TransformerDecoderLayer(o.decoder_layer()->options()));
    layers->push_back(stack_.back());
  }
  if (!o.norm().is_empty()) norm = register_module("norm", o.norm());
}

Tensor TransformerDecoderImpl::forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask,
                                       const Tensor& memory_mask, const Tensor& tgt_key_padding_mask,
                                       const Tensor& memory_key_padding_mask, SourceLoc loc) {
  Tensor x = tgt;
  for (TransformerDecoderLayer& layer : stack_)
    x = layer->forward(x, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask, loc);
  return norm.is_empty() ? x : norm->forward(x, loc);
}

TransformerImpl::TransformerImpl(const TransformerOptions& o) : Module("Transformer"), options_(o) {
  TransformerLayerOptions layer = TransformerLayerOptions(o.d_model(), o.nhead())
                                      .dim_feedforward(o.dim_feedforward())
                                      .dropout(o.dropout())
                                      .activation(o.activation())
                                      .layer_norm_eps(o.layer_norm_eps())
                                      .batch_first(o.batch_first())
                                      .norm_first(o.norm_first());
  encoder = register_module(
      "encoder", TransformerEncoder(TransformerEncoderOptions(TransformerEncoderLayer(layer), o.num_encoder_layers())
                                        .norm(norm(layer))));
  decoder = register_module(
      "decoder", TransformerDecoder(TransformerDecoderOptions(TransformerDecoderLayer(layer), o.num_decoder_layers())
                                        .norm(norm(layer))));
}

Tensor TransformerImpl::forward(const Tensor& src, const Tensor& tgt, const Tensor& src_mask, const Tensor& tgt_mask,
                                const Tensor& memory_mask, const Tensor& src_key_padding_mask,
                                const Tensor& tgt_key_padding_mask, const Tensor& memory_key_padding_mask,
                                SourceLoc loc) {
  // torch's checks: one batch size, d_model features.
  if (src.defined() && tgt.defined()) {
    const Shape &s = src.sizes(), &t = tgt.sizes();
    bool batched = s.size() == 3;
    int64_t batch_dim = options_.batch_first() ? 0 : 1;
    if (s.size() != t.size() || (batched && s[batch_dim] != t[batch_dim]))
      fail(loc, "Transformer: the batch number of src " + shape_rules::str(s) + " and tgt " + shape_rules::str(t) +
                    " must be equal");
    if (s.back() != options_.d_model() || t.back() != options_.d_model())
      fail(loc, "Transformer: the feature number of src and tgt must be equal to d_model " +
                    std::to_string(options_.d_model()));
  }
  Tensor memory = encoder->forward(src, src_mask, src_key_padding_mask, loc);
  return decoder->forward(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask, loc);
}

}  // namespace kiln::nn
