// A small discriminator written with torch.nn.utils' re-parametrizations
// (kiln/nn/utils.h): spectral_norm on two convolutions (the second in
// torch.nn.utils.parametrizations' form, with two power iterations),
// weight_norm on a Linear (dim None: one g over the
// whole weight) and prune::identity on the head's weight (the mask is the
// weights file's head.weight_mask: the oracle's is random, 30% zeros).
// BCEWithLogitsLoss, Adam. Checked against torch like the JSON models
// (Parity.reparam_dsl_basic): spectral_norm's u and v after the steps, and
// the eval forward, which reads them without iterating.
#include <cstdio>

#include "kiln/kiln.h"

namespace nn = kiln::nn;
namespace utils = kiln::nn::utils;

struct CriticImpl : nn::Module {
  CriticImpl() {
    conv1 = register_module("conv1", utils::spectral_norm(nn::Conv2d(nn::Conv2dOptions(2, 4, 3))));
    conv2 = register_module(
        "conv2", utils::parametrizations::spectral_norm(nn::Conv2d(nn::Conv2dOptions(4, 4, 2)), "weight", 2));
    fc = register_module("fc", utils::weight_norm(nn::Linear(36, 8), "weight", std::nullopt));
    head = register_module("head", utils::prune::identity(nn::Linear(8, 1), "weight"));
  }
  kiln::Tensor forward(const kiln::Tensor& x) {
    namespace F = nn::functional;
    kiln::Tensor h = F::leaky_relu(conv1(x), nn::LeakyReLUOptions().negative_slope(0.2));
    h = F::leaky_relu(conv2(h), nn::LeakyReLUOptions().negative_slope(0.2));
    return head(F::leaky_relu(fc(F::flatten(h, 1)), nn::LeakyReLUOptions().negative_slope(0.2)));
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  nn::Linear fc{nullptr}, head{nullptr};
};
KILN_MODULE(Critic);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json>\n", argv[0]);
    return 2;
  }
  try {
    Critic model;
    kiln::save_model(model, {kiln::input("x", {3, 2, 6, 6})}, argv[1],
                     kiln::Training()
                         .loss(nn::BCEWithLogitsLoss())
                         .target(kiln::input("target", {3, 1}))
                         .optimizer(kiln::optim::Adam(kiln::optim::AdamOptions(0.002))),
                     "reparam_dsl_basic");
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
