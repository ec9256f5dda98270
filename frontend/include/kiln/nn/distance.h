#pragma once

#include "kiln/module.h"

namespace kiln::nn {

/// Options of nn.CosineSimilarity(dim=1, eps=1e-8).
struct CosineSimilarityOptions {
  KILN_ARG(int64_t, dim) = 1;
  KILN_ARG(double, eps) = 1e-8;
};

/// Cosine similarity of x1 and x2 (broadcast) along `dim`, torch 1.13's
/// formula: each input divided by its norm clamped at eps.
class CosineSimilarityImpl : public Module {
 public:
  explicit CosineSimilarityImpl(const CosineSimilarityOptions& options = {});
  Tensor forward(const Tensor& x1, const Tensor& x2, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;

 private:
  CosineSimilarityOptions options_;
};
KILN_MODULE(CosineSimilarity);

/// Options of nn.PairwiseDistance(p=2.0, eps=1e-6, keepdim=False).
struct PairwiseDistanceOptions {
  KILN_ARG(double, p) = 2.0;
  KILN_ARG(double, eps) = 1e-6;
  KILN_ARG(bool, keepdim) = false;
};

/// The p-norm of x1 - x2 + eps over the last dimension (torch 1.13's
/// pairwise_distance). p may be +-infinity (the largest / smallest |x1 - x2 +
/// eps|; the model file writes "inf" / "-inf").
class PairwiseDistanceImpl : public Module {
 public:
  /// Throws Error when p is NaN.
  explicit PairwiseDistanceImpl(const PairwiseDistanceOptions& options = {});
  Tensor forward(const Tensor& x1, const Tensor& x2, SourceLoc loc = SourceLoc::current());
  std::optional<OptionList> layer_options() const override;

 private:
  PairwiseDistanceOptions options_;
};
KILN_MODULE(PairwiseDistance);

namespace functional {
/// torch.cosine_similarity(x1, x2, dim, eps).
Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int64_t dim = 1, double eps = 1e-8,
                         SourceLoc loc = SourceLoc::current());
/// torch.pairwise_distance(x1, x2, p, eps, keepdim).
Tensor pairwise_distance(const Tensor& x1, const Tensor& x2, double p = 2.0, double eps = 1e-6,
                         bool keepdim = false, SourceLoc loc = SourceLoc::current());
}  // namespace functional

}  // namespace kiln::nn
