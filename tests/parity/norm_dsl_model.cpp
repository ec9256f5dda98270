// A CNN written with the DSL's normalization layers (kiln/nn/normalization.h,
// libtorch's option names): BatchNorm2d(c) as the ResNet example uses it,
// BatchNorm2dOptions with momentum None, GroupNorm and a LazyBatchNorm1d
// whose num_features the trace resolves, F::instance_norm on the input and
// F::batch_norm with given statistics (inputs mean and var_raw, the variance
// as |var_raw|, eval mode, eps 0.5 so that a variance near 0 does not
// amplify float rounding past the tolerance); convolutions without bias (a bias
// before a batch norm has no gradient) and a ReLU after every affine norm,
// so that every parameter's gradient is informative. Its model file is
// checked against torch like the JSON models (Parity.norm_dsl_basic):
// forward, gradients, running statistics after 10 steps, eval mode.
// (LayerNorm, InstanceNorm and LocalResponseNorm's DSL options are checked
// in tests/unit/frontend_normalization_test.cpp, their parity by
// gen_norm_cases.py.)
#include <cstdio>

#include "kiln/kiln.h"

namespace nn = kiln::nn;
namespace F = kiln::nn::functional;

// [8, 2, 6, 5] -> Conv2d 3x3 pad 1 -> [8, 4, 6, 5] -> BatchNorm2d(4) -> ReLU
// -> Conv2d 3x3 -> [8, 6, 4, 3] -> BatchNorm2d (momentum None, eps 1e-3)
// -> ReLU -> GroupNorm(3, 6) -> ReLU -> flatten [8, 72] -> Linear 72 -> 5
// -> LazyBatchNorm1d -> [8, 5] (a batch of 8: batch norm over 3 samples
// is too ill-conditioned for the 1e-5 tolerance, in torch float32 as well)
struct NormNetImpl : nn::Module {
  NormNetImpl() {
    body = register_module(
        "body", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(2, 4, 3).padding(1).bias(false)), nn::BatchNorm2d(4),
                               nn::ReLU(), nn::Conv2d(nn::Conv2dOptions(4, 6, 3).bias(false)),
                               nn::BatchNorm2d(nn::BatchNorm2dOptions(6).eps(1e-3).momentum(std::nullopt)),
                               nn::ReLU(), nn::GroupNorm(nn::GroupNormOptions(3, 6).eps(1e-4)), nn::ReLU()));
    head = register_module("head", nn::Linear(nn::LinearOptions(72, 5).bias(false)));
    bn = register_module("bn", nn::LazyBatchNorm1d(nn::LazyBatchNormOptions().momentum(0.3)));
  }
  kiln::Tensor forward(kiln::Tensor x, kiln::Tensor mean, kiln::Tensor var_raw) {
    kiln::Tensor h = body(F::instance_norm(x, F::InstanceNormFuncOptions().eps(1e-4)));
    return F::batch_norm(bn(head(F::flatten(h, 1))), mean, F::abs(var_raw), F::BatchNormFuncOptions().eps(0.5));
  }
  nn::Sequential body{nullptr};
  nn::Linear head{nullptr};
  nn::LazyBatchNorm1d bn{nullptr};
};
KILN_MODULE(NormNet);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json>\n", argv[0]);
    return 2;
  }
  try {
    NormNet model;
    kiln::save_model(model, {kiln::input("x", {8, 2, 6, 5}), kiln::input("mean", {5}), kiln::input("var_raw", {5})}, argv[1],
                     kiln::Training()
                         .loss(nn::MSELoss())
                         .target(kiln::input("target", {8, 5}))
                         .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.05).momentum(0.9))),
                     "norm_dsl_basic");
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
