// A loss of one's own, written with the DSL as a function of the model's
// values and a target given as a model input (t): the functional forms of
// the losses of several inputs (margin_ranking_loss, cosine_embedding_loss,
// gaussian_nll_loss, triplet_margin_loss, triplet_margin_with_distance_loss;
// reduction none reduced by the model) combined into one scalar, which the
// training section's L1Loss trains (Parity.lossfn_dsl_basic).
#include <cstdio>

#include "kiln/kiln.h"

namespace nn = kiln::nn;
namespace F = kiln::nn::functional;

struct OwnLossNetImpl : nn::Module {
  OwnLossNetImpl() {
    fa = register_module("fa", nn::Linear(5, 4));
    fp = register_module("fp", nn::Linear(5, 4));
    fn = register_module("fn", nn::Linear(5, 4));
  }
  kiln::Tensor forward(kiln::Tensor x, kiln::Tensor t) {
    kiln::Tensor a = fa(x), p = fp(x), n = fn(x);
    kiln::Tensor y = F::sign(t);  // +-1 per row
    kiln::Tensor ranking = F::margin_ranking_loss(
        a.sum({1}), p.sum({1}), y, F::MarginRankingLossFuncOptions().margin(0.5).reduction(kiln::kNone));
    kiln::Tensor embedding = F::cosine_embedding_loss(a, n, y, F::CosineEmbeddingLossFuncOptions().margin(0.1));
    kiln::Tensor gaussian =
        F::gaussian_nll_loss(a, p, F::softplus(n.sum({1}, true)), F::GaussianNLLLossFuncOptions().reduction(kiln::kSum));
    kiln::Tensor triplet =
        F::triplet_margin_loss(a, p, n, F::TripletMarginLossFuncOptions().p(1.5).swap(true).margin(2.0));
    kiln::Tensor cosine = F::triplet_margin_with_distance_loss(
        a, p, n,
        F::TripletMarginWithDistanceLossFuncOptions().distance_function(nn::kCosineDistance).margin(1.5));
    return ranking.mean() * 0.5 + embedding + gaussian * 0.1 + triplet + cosine;
  }
  nn::Linear fa{nullptr}, fp{nullptr}, fn{nullptr};
};
KILN_MODULE(OwnLossNet);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json>\n", argv[0]);
    return 2;
  }
  try {
    OwnLossNet model;
    kiln::save_model(model, {kiln::input("x", {6, 5}), kiln::input("t", {6})}, argv[1],
                     kiln::Training()
                         .loss(nn::L1Loss())
                         .target(kiln::input("target", {}))
                         .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.01))),
                     "lossfn_dsl_basic");
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
