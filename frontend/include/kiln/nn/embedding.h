#pragma once

#include <optional>

#include "kiln/module.h"
#include "kiln/nn/loss.h"

namespace kiln {
/// EmbeddingBag's mode max (kiln::kSum and kiln::kMean are the others).
struct kMaxT {};
inline constexpr kMaxT kMax{};
}  // namespace kiln

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

  /// The weight's handle, as libtorch's member (`F::linear(h, embed->weight)`
  /// ties a language model's output layer to its embedding).
  Tensor weight;

 private:
  EmbeddingOptions options_;
};
KILN_MODULE(Embedding);

/// EmbeddingBag's reduction of a bag: torch::kSum, torch::kMean or
/// torch::kMax (here kiln::kSum, kiln::kMean, kiln::kMax).
class EmbeddingBagMode {
 public:
  EmbeddingBagMode(kMaxT) : name_("max") {}  // NOLINT(google-explicit-constructor)
  /// kSum or kMean; throws Error for another reduction.
  EmbeddingBagMode(Reduction reduction);  // NOLINT(google-explicit-constructor)
  const char* name() const { return name_; }

 private:
  const char* name_;
};

/// Options of nn.EmbeddingBag(num_embeddings, embedding_dim, max_norm=None,
/// norm_type=2.0, scale_grad_by_freq=False, mode='mean', sparse=False,
/// include_last_offset=False, padding_idx=None). max_norm must stay unset
/// (as Embedding's).
struct EmbeddingBagOptions {
  EmbeddingBagOptions(int64_t num_embeddings, int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  KILN_ARG(int64_t, num_embeddings);
  KILN_ARG(int64_t, embedding_dim);
  KILN_ARG(std::optional<double>, max_norm) = std::nullopt;
  KILN_ARG(double, norm_type) = 2.0;
  KILN_ARG(bool, scale_grad_by_freq) = false;
  KILN_ARG(EmbeddingBagMode, mode) = kMean;
  KILN_ARG(bool, sparse) = false;
  KILN_ARG(bool, include_last_offset) = false;
  KILN_ARG(std::optional<int64_t>, padding_idx) = std::nullopt;
};

/// Bags of weight rows reduced by sum, mean or max -> [B, embedding_dim].
/// A 2-D int64 input [B, L] is B bags of L (no offsets); a 1-D input needs
/// `offsets` (int64 [B], or [B + 1] with include_last_offset): bag b is
/// input[offsets[b] : offsets[b + 1]]. `per_sample_weights` (float32, the
/// input's shape, mode kSum only) scales each element; with a 2-D input it
/// cannot be given (use the 1-D form with offsets 0, L, 2L, ...).
/// Parameter: "weight" [num_embeddings, embedding_dim], N(0, 1). The
/// runtime checks every index is in [0, num_embeddings) and every offset
/// in [0, input length].
class EmbeddingBagImpl : public Module {
 public:
  EmbeddingBagImpl(int64_t num_embeddings, int64_t embedding_dim)
      : EmbeddingBagImpl(EmbeddingBagOptions(num_embeddings, embedding_dim)) {}
  explicit EmbeddingBagImpl(const EmbeddingBagOptions& options);
  Tensor forward(const Tensor& input, const Tensor& offsets = {}, const Tensor& per_sample_weights = {},
                 SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;

 private:
  EmbeddingBagOptions options_;
};
KILN_MODULE(EmbeddingBag);

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

/// Options of F.embedding_bag(input, weight, offsets=None, max_norm=None,
/// norm_type=2, scale_grad_by_freq=False, mode='mean', sparse=False,
/// per_sample_weights=None, include_last_offset=False, padding_idx=None).
struct EmbeddingBagFuncOptions {
  KILN_ARG(Tensor, offsets) = Tensor();
  KILN_ARG(std::optional<double>, max_norm) = std::nullopt;
  KILN_ARG(double, norm_type) = 2.0;
  KILN_ARG(bool, scale_grad_by_freq) = false;
  KILN_ARG(EmbeddingBagMode, mode) = kMean;
  KILN_ARG(bool, sparse) = false;
  KILN_ARG(Tensor, per_sample_weights) = Tensor();
  KILN_ARG(bool, include_last_offset) = false;
  KILN_ARG(std::optional<int64_t>, padding_idx) = std::nullopt;
};

/// F.embedding_bag: nn.EmbeddingBag's reduction over a float32 [num, dim]
/// weight (any value of the graph).
Tensor embedding_bag(const Tensor& input, const Tensor& weight, const EmbeddingBagFuncOptions& options = {},
                     SourceLoc loc = SourceLoc::current());

}  // namespace functional
}  // namespace kiln::nn
