#pragma once

#include <optional>

#include "kiln/module.h"

namespace kiln::nn {

/// Options of nn.Embedding(num_embeddings, embedding_dim, padding_idx=None,
/// max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False).
/// max_norm must stay unset: torch renormalises the weight in place during
/// forward, which a compiled forward does not do (kilnc rejects it).
struct EmbeddingOptions {
  EmbeddingOptions(int64_t num_embeddings, int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  KILN_ARG(int64_t, num_embeddings);
  KILN_ARG(int64_t, embedding_dim);
  KILN_ARG(std::optional<int64_t>, padding_idx) = std::nullopt;
  KILN_ARG(std::optional<double>, max_norm) = std::nullopt;
  KILN_ARG(double, norm_type) = 2.0;
  KILN_ARG(bool, scale_grad_by_freq) = false;
  KILN_ARG(bool, sparse) = false;
};

/// weight[input]: an int64 input of any shape -> [*input, embedding_dim].
/// Parameter: "weight" [num_embeddings, embedding_dim], N(0, 1). The
/// runtime checks every index is in [0, num_embeddings).
class EmbeddingImpl : public Module {
 public:
  EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim)
      : EmbeddingImpl(EmbeddingOptions(num_embeddings, embedding_dim)) {}
  /// Throws Error unless both sizes are >= 1 and padding_idx (if any) is in
  /// [-num_embeddings, num_embeddings).
  explicit EmbeddingImpl(const EmbeddingOptions& options);
  Tensor forward(const Tensor& input, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;

 private:
  EmbeddingOptions options_;
};
KILN_MODULE(Embedding);

namespace functional {

/// Options of F.embedding(input, weight, padding_idx=None, max_norm=None,
/// norm_type=2.0, scale_grad_by_freq=False, sparse=False).
struct EmbeddingFuncOptions {
  KILN_ARG(std::optional<int64_t>, padding_idx) = std::nullopt;
  KILN_ARG(std::optional<double>, max_norm) = std::nullopt;
  KILN_ARG(double, norm_type) = 2.0;
  KILN_ARG(bool, scale_grad_by_freq) = false;
  KILN_ARG(bool, sparse) = false;
};

/// F.embedding: rows of a float32 [num, dim] weight (any value of the
/// graph) at an int64 index -> [*input, dim].
Tensor embedding(const Tensor& input, const Tensor& weight, const EmbeddingFuncOptions& options = {},
                 SourceLoc loc = SourceLoc::current());

}  // namespace functional
}  // namespace kiln::nn
