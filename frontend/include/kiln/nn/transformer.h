#pragma once

#include <string>

#include "kiln/module.h"
#include "kiln/nn/attention.h"
#include "kiln/nn/container.h"
#include "kiln/nn/linear.h"
#include "kiln/nn/normalization.h"

namespace kiln::nn {

/// Options of nn.TransformerEncoderLayer / nn.TransformerDecoderLayer
/// (d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
/// layer_norm_eps=1e-5, batch_first=False, norm_first=False). activation
/// is "relu" or "gelu" (torch also takes a callable; the model file cannot).
struct TransformerLayerOptions {
  TransformerLayerOptions(int64_t d_model, int64_t nhead) : d_model_(d_model), nhead_(nhead) {}
  KILN_ARG(int64_t, d_model);
  KILN_ARG(int64_t, nhead);
  KILN_ARG(int64_t, dim_feedforward) = 2048;
  KILN_ARG(double, dropout) = 0.1;
  KILN_ARG(std::string, activation) = "relu";
  KILN_ARG(double, layer_norm_eps) = 1e-5;
  KILN_ARG(bool, batch_first) = false;
  KILN_ARG(bool, norm_first) = false;
};
using TransformerEncoderLayerOptions = TransformerLayerOptions;
using TransformerDecoderLayerOptions = TransformerLayerOptions;

/// torch.nn.TransformerEncoderLayer: self-attention and a feed-forward
/// block, each with dropout, a residual add and a LayerNorm (after, or
/// before with norm_first). Parameters under torch's names: "self_attn.*"
/// (a MultiheadAttention), "linear1.*", "linear2.*", "norm1.*", "norm2.*".
/// One layer of the model file: kilnc builds the math.
class TransformerEncoderLayerImpl : public Module {
 public:
  TransformerEncoderLayerImpl(int64_t d_model, int64_t nhead)
      : TransformerEncoderLayerImpl(TransformerLayerOptions(d_model, nhead)) {}
  /// Throws Error unless the sizes are >= 1, nhead divides d_model, dropout
  /// is in [0, 1] and activation is "relu" or "gelu".
  explicit TransformerEncoderLayerImpl(const TransformerLayerOptions& options);

  /// src [S, N, d_model] ([N, S, d_model] with batch_first, or [S, d_model]);
  /// src_mask [S, S] or [N * nhead, S, S] and src_key_padding_mask [N, S]
  /// may be undefined, bool (true blocks) or float32 (added to the scores).
  Tensor forward(const Tensor& src, const Tensor& src_mask = {}, const Tensor& src_key_padding_mask = {},
                 SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;
  const TransformerLayerOptions& options() const { return options_; }

  MultiheadAttention self_attn{nullptr};
  Linear linear1{nullptr}, linear2{nullptr};
  LayerNorm norm1{nullptr}, norm2{nullptr};

 private:
  TransformerLayerOptions options_;
};
KILN_MODULE(TransformerEncoderLayer);

/// torch.nn.TransformerDecoderLayer: self-attention over tgt, attention over
/// memory, a feed-forward block, each with dropout, a residual add and a
/// LayerNorm. Parameters: "self_attn.*", "multihead_attn.*", "linear1.*",
/// "linear2.*", "norm1.*" to "norm3.*".
class TransformerDecoderLayerImpl : public Module {
 public:
  TransformerDecoderLayerImpl(int64_t d_model, int64_t nhead)
      : TransformerDecoderLayerImpl(TransformerLayerOptions(d_model, nhead)) {}
  explicit TransformerDecoderLayerImpl(const TransformerLayerOptions& options);

  /// tgt [T, N, d_model], memory [S, N, d_model] (batch-first or unbatched
  /// like src); tgt_mask [T, T], memory_mask [T, S] (or per head, 3-D),
  /// tgt_key_padding_mask [N, T], memory_key_padding_mask [N, S].
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = {},
                 const Tensor& memory_mask = {}, const Tensor& tgt_key_padding_mask = {},
                 const Tensor& memory_key_padding_mask = {}, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;
  const TransformerLayerOptions& options() const { return options_; }

  MultiheadAttention self_attn{nullptr}, multihead_attn{nullptr};
  Linear linear1{nullptr}, linear2{nullptr};
  LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};

 private:
  TransformerLayerOptions options_;
};
KILN_MODULE(TransformerDecoderLayer);

/// Options of nn.TransformerEncoder(encoder_layer, num_layers, norm=None):
/// num_layers copies of encoder_layer (new layers with its options, as
/// torch's deep copies), then norm when set.
struct TransformerEncoderOptions {
  TransformerEncoderOptions(TransformerEncoderLayer encoder_layer, int64_t num_layers)
      : encoder_layer_(std::move(encoder_layer)), num_layers_(num_layers) {}
  KILN_ARG(TransformerEncoderLayer, encoder_layer);
  KILN_ARG(int64_t, num_layers);
  KILN_ARG(LayerNorm, norm) = nullptr;
};

/// torch.nn.TransformerEncoder: a container (the model file holds its
/// "layers" and "norm"); forward runs each layer, then the norm.
class TransformerEncoderImpl : public Module {
 public:
  /// Throws Error unless encoder_layer is set and num_layers >= 1.
  explicit TransformerEncoderImpl(const TransformerEncoderOptions& options);
  Tensor forward(const Tensor& src, const Tensor& mask = {}, const Tensor& src_key_padding_mask = {},
                 SourceLoc loc = SourceLoc::current());

  ModuleList layers{nullptr};
  LayerNorm norm{nullptr};

 private:
  std::vector<TransformerEncoderLayer> stack_;
};
KILN_MODULE(TransformerEncoder);

/// Options of nn.TransformerDecoder(decoder_layer, num_layers, norm=None).
struct TransformerDecoderOptions {
  TransformerDecoderOptions(TransformerDecoderLayer decoder_layer, int64_t num_layers)
      : decoder_layer_(std::move(decoder_layer)), num_layers_(num_layers) {}
  KILN_ARG(TransformerDecoderLayer, decoder_layer);
  KILN_ARG(int64_t, num_layers);
  KILN_ARG(LayerNorm, norm) = nullptr;
};

/// torch.nn.TransformerDecoder: each layer on (tgt, memory), then the norm.
class TransformerDecoderImpl : public Module {
 public:
  explicit TransformerDecoderImpl(const TransformerDecoderOptions& options);
  Tensor forward(const Tensor& tgt, const Tensor& memory, const Tensor& tgt_mask = {},
                 const Tensor& memory_mask = {}, const Tensor& tgt_key_padding_mask = {},
                 const Tensor& memory_key_padding_mask = {}, SourceLoc loc = SourceLoc::current());

  ModuleList layers{nullptr};
  LayerNorm norm{nullptr};

 private:
  std::vector<TransformerDecoderLayer> stack_;
};
KILN_MODULE(TransformerDecoder);

/// Options of nn.Transformer(d_model=512, nhead=8, num_encoder_layers=6,
/// num_decoder_layers=6, dim_feedforward=2048, dropout=0.1,
/// activation="relu", layer_norm_eps=1e-5, batch_first=False,
/// norm_first=False).
struct TransformerOptions {
  KILN_ARG(int64_t, d_model) = 512;
  KILN_ARG(int64_t, nhead) = 8;
  KILN_ARG(int64_t, num_encoder_layers) = 6;
  KILN_ARG(int64_t, num_decoder_layers) = 6;
  KILN_ARG(int64_t, dim_feedforward) = 2048;
  KILN_ARG(double, dropout) = 0.1;
  KILN_ARG(std::string, activation) = "relu";
  KILN_ARG(double, layer_norm_eps) = 1e-5;
  KILN_ARG(bool, batch_first) = false;
  KILN_ARG(bool, norm_first) = false;
};

/// torch.nn.Transformer: "encoder" (a TransformerEncoder with a final
/// LayerNorm) and "decoder" (likewise); every matrix starts
/// xavier_uniform_, as torch's _reset_parameters (kilnc knows the
/// container).
class TransformerImpl : public Module {
 public:
  explicit TransformerImpl(const TransformerOptions& options = {});
  /// src [S, N, E] and tgt [T, N, E] (batch first or unbatched as the
  /// layers); the masks as the layers take them.
  Tensor forward(const Tensor& src, const Tensor& tgt, const Tensor& src_mask = {}, const Tensor& tgt_mask = {},
                 const Tensor& memory_mask = {}, const Tensor& src_key_padding_mask = {},
                 const Tensor& tgt_key_padding_mask = {}, const Tensor& memory_key_padding_mask = {},
                 SourceLoc loc = SourceLoc::current());

  TransformerEncoder encoder{nullptr};
  TransformerDecoder decoder{nullptr};

 private:
  TransformerOptions options_;
};
KILN_MODULE(Transformer);

}  // namespace kiln::nn
