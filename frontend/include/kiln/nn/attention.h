#pragma once

#include <optional>
#include <tuple>

#include "kiln/module.h"
#include "kiln/nn/linear.h"

namespace kiln::nn {

/// Options of nn.MultiheadAttention(embed_dim, num_heads, dropout=0.0,
/// bias=True, add_bias_kv=False, add_zero_attn=False, kdim=None, vdim=None,
/// batch_first=False). libtorch's MultiheadAttentionOptions has no
/// batch_first; Kiln has Python's.
struct MultiheadAttentionOptions {
  MultiheadAttentionOptions(int64_t embed_dim, int64_t num_heads)
      : embed_dim_(embed_dim), num_heads_(num_heads) {}
  KILN_ARG(int64_t, embed_dim);
  KILN_ARG(int64_t, num_heads);
  KILN_ARG(double, dropout) = 0.0;
  KILN_ARG(bool, bias) = true;
  KILN_ARG(bool, add_bias_kv) = false;
  KILN_ARG(bool, add_zero_attn) = false;
  /// Key and value features; unset: embed_dim.
  KILN_ARG(std::optional<int64_t>, kdim);
  KILN_ARG(std::optional<int64_t>, vdim);
  KILN_ARG(bool, batch_first) = false;
};

/// torch.nn.MultiheadAttention: queries [L, N, E] (or [N, L, E] with
/// batch_first, or [L, E] unbatched) attend over keys [S, N, kdim] and
/// values [S, N, vdim] with num_heads heads of E / num_heads features.
/// Parameters (torch's state_dict names): "in_proj_weight" [3E, E] (or
/// "q_proj_weight", "k_proj_weight", "v_proj_weight" when kdim or vdim is
/// not E), "in_proj_bias" [3E], "bias_k" and "bias_v" [1, 1, E], and the
/// child "out_proj" (a Linear(E, E)). Dropout applies to the attention
/// weights in train mode, from the instance's random stream.
class MultiheadAttentionImpl : public Module {
 public:
  MultiheadAttentionImpl(int64_t embed_dim, int64_t num_heads)
      : MultiheadAttentionImpl(MultiheadAttentionOptions(embed_dim, num_heads)) {}
  /// Throws Error unless embed_dim, num_heads, kdim and vdim are >= 1,
  /// num_heads divides embed_dim and dropout is in [0, 1].
  explicit MultiheadAttentionImpl(const MultiheadAttentionOptions& options);

  /// torch's forward: (attention output, attention weights). The weights
  /// are [N, L, S'] averaged over the heads, or [N, num_heads, L, S'] with
  /// average_attn_weights false (no N unbatched), S' the keys including
  /// bias_k and the zero key; undefined when need_weights is false (then
  /// the model file asks for no weights at all). key_padding_mask [N, S]
  /// and attn_mask [L, S] or [N * num_heads, L, S] may be undefined, bool
  /// (true blocks a key) or float32 (added to the scores).
  std::tuple<Tensor, Tensor> forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                     const Tensor& key_padding_mask = {}, bool need_weights = true,
                                     const Tensor& attn_mask = {}, bool average_attn_weights = true,
                                     SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;
  const MultiheadAttentionOptions& options() const { return options_; }

  Linear out_proj{nullptr};

 private:
  MultiheadAttentionOptions options_;
};
KILN_MODULE(MultiheadAttention);

}  // namespace kiln::nn
