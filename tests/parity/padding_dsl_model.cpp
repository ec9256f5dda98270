// A CNN written with the DSL's padding layers (kiln/nn/padding.h, libtorch's
// option names): asymmetric tuples in torch's order, an int, ConstantPad's
// value, a cropping ZeroPad2d and F::pad (constant, cropping), batched.
// Its model file is checked against torch like the JSON models
// (Parity.padding_dsl_basic).
#include <cstdio>

#include "kiln/kiln.h"

namespace nn = kiln::nn;
namespace F = kiln::nn::functional;

// [2, 3, 5, 6] -> ReflectionPad2d (1, 2, 0, 3) -> [2, 3, 8, 9]
// -> Conv2d 3x3 -> [2, 4, 6, 7] -> ReplicationPad2d 1 -> [2, 4, 8, 9]
// -> ConstantPad2d (0, 1, 2, 0) 0.5 -> [2, 4, 10, 10]
// -> ZeroPad2d (-1, 1, 1, -2) -> [2, 4, 9, 10]
// -> F::pad (1, -1, 0, 2) -0.25 -> [2, 4, 11, 10] -> 440 -> 3
struct PadNetImpl : nn::Module {
  PadNetImpl() {
    body = register_module(
        "body", nn::Sequential(nn::ReflectionPad2d(nn::ReflectionPad2dOptions({1, 2, 0, 3})),
                               nn::Conv2d(nn::Conv2dOptions(3, 4, 3)), nn::ReplicationPad2d(1),
                               nn::ConstantPad2d(nn::ConstantPad2dOptions({0, 1, 2, 0}, 0.5)),
                               nn::ZeroPad2d(nn::ZeroPad2dOptions({-1, 1, 1, -2}))));
    head = register_module("head", nn::Linear(440, 3));
  }
  kiln::Tensor forward(kiln::Tensor x) {
    kiln::Tensor h = F::pad(body(x), F::PadFuncOptions({1, -1, 0, 2}).mode(kiln::kConstant).value(-0.25));
    return head(F::flatten(h, 1));
  }
  nn::Sequential body{nullptr};
  nn::Linear head{nullptr};
};
KILN_MODULE(PadNet);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json>\n", argv[0]);
    return 2;
  }
  try {
    PadNet model;
    kiln::save_model(model, {kiln::input("x", {2, 3, 5, 6})}, argv[1],
                     kiln::Training()
                         .loss(nn::MSELoss())
                         .target(kiln::input("target", {2, 3}))
                         .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.05).momentum(0.9))),
                     "padding_dsl_basic");
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
