// A model of two outputs trained with a loss of several inputs, written
// with the DSL: GaussianNLLLoss(mu, target, var) with var = Softplus of a
// Linear, the loss's inputs named with Training::loss_inputs (the target
// between the two outputs, torch's order). Its model file is checked
// against torch like the JSON models (Parity.loss_dsl_basic).
#include <cstdio>
#include <tuple>

#include "kiln/kiln.h"

namespace nn = kiln::nn;
namespace F = kiln::nn::functional;

struct GaussianNetImpl : nn::Module {
  GaussianNetImpl() {
    mu = register_module("mu", nn::Linear(5, 3));
    var = register_module("var", nn::Linear(5, 1));
  }
  std::tuple<kiln::Tensor, kiln::Tensor> forward(kiln::Tensor x) {
    // var [4, 1]: one variance per row, broadcast over mu's 3 features.
    return {mu(x), F::softplus(var(x))};
  }
  nn::Linear mu{nullptr}, var{nullptr};
};
KILN_MODULE(GaussianNet);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json>\n", argv[0]);
    return 2;
  }
  try {
    GaussianNet model;
    kiln::save_model(model, {kiln::input("x", {4, 5})}, argv[1],
                     kiln::Training()
                         .loss(nn::GaussianNLLLoss(nn::GaussianNLLLossOptions().full(true).eps(1e-3)))
                         .loss_inputs({0, kiln::Training::kTarget, 1})
                         .target(kiln::input("target", {4, 3}))
                         .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.05))),
                     "loss_dsl_basic");
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
