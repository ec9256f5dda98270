// A CNN written with the DSL's convolutions (kiln/nn/conv.h and
// conv_transpose.h, libtorch's option names): tuples, stride, dilation,
// padding kSame with reflection, groups, no bias, a transposed
// convolution called with torch's forward output_size, F::conv2d with a
// traced weight and bias (the output_padding
// it picks is what the model file records), the lazy forms of both, Unfold
// and Fold.
// Its model file is checked against torch like the JSON models
// (Parity.conv2d_dsl_basic).
#include <cstdio>

#include "kiln/kiln.h"

namespace nn = kiln::nn;
namespace F = kiln::nn::functional;

// [4, 2, 9, 8] + F::conv2d(itself, weight w, bias b, padding same)
// -> [4, 6, 5, 8] -> [4, 6, 5, 8] (lazy: in_channels 6 from
// its input) -> ConvTranspose2d called with output_size {9, 14}: sizes 9..10
// and 14..15 are reachable, output_padding {0, 0} (the options' {1, 0} is
// torch's without output_size) -> [4, 4, 9, 14] -> [4, 3, 10, 15] (lazy)
// -> Unfold [4, 18, 88] -> Fold [4, 3, 10, 15] -> 450 -> 5
struct ConvNetImpl : nn::Module {
  ConvNetImpl() {
    features = register_module(
        "features",
        nn::Sequential(
            nn::Conv2d(nn::Conv2dOptions(2, 6, {3, 2}).stride({2, 1}).padding(1).dilation({1, 2})), nn::ReLU(),
            nn::LazyConv2d(
                nn::LazyConv2dOptions(6, 3).padding(kiln::kSame).groups(3).bias(false).padding_mode(kiln::kReflect)),
            nn::ReLU()));
    up = register_module("up", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(6, 4, {3, 4})
                                                       .stride(2)
                                                       .padding({1, 2})
                                                       .output_padding({1, 0})
                                                       .groups(2)));
    head = register_module("head", nn::Sequential(nn::LazyConvTranspose2d(nn::LazyConvTranspose2dOptions(3, 2)),
                                                  nn::Unfold(nn::UnfoldOptions({2, 3}).stride({1, 2}).padding(1)),
                                                  nn::Fold(nn::FoldOptions({10, 15}, {2, 3}).stride({1, 2}).padding(1)),
                                                  nn::Flatten(), nn::Linear(450, 5)));
  }
  kiln::Tensor forward(kiln::Tensor x, kiln::Tensor w, kiln::Tensor b) {
    // The functional form with a traced weight [2, 2, 3, 3] and bias [2]: a
    // residual on the input, "same" padding keeping its size.
    x = F::add(x, F::conv2d(x, w, F::Conv2dFuncOptions().bias(b).padding(kiln::kSame)));
    return head(up->forward(features(x), {9, 14}));
  }
  nn::Sequential features{nullptr};
  nn::ConvTranspose2d up{nullptr};
  nn::Sequential head{nullptr};
};
KILN_MODULE(ConvNet);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json>\n", argv[0]);
    return 2;
  }
  namespace nn = kiln::nn;
  try {
    ConvNet model;
    kiln::save_model(model, {kiln::input("x", {4, 2, 9, 8}), kiln::input("w", {2, 2, 3, 3}), kiln::input("b", {2})}, argv[1],
                     kiln::Training()
                         .loss(nn::CrossEntropyLoss())
                         .target(kiln::input("target", {4}, kiln::kInt64))
                         .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.05).momentum(0.9))),
                     "conv2d_dsl_basic");
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
