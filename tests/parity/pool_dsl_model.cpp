// A CNN written with the DSL's pooling layers (kiln/nn/pooling.h, libtorch's
// names): MaxPool2d with padding and ceil_mode (its last window clipped),
// AvgPool2d without counting the padding, AdaptiveMaxPool2d, a MaxPool2d's
// forward_with_indices feeding MaxUnpool2d (a two-output node), the functional
// forms (F::max_pool2d_with_indices feeding a second MaxUnpool2d,
// avg_pool2d with divisor_override, lp_pool2d,
// adaptive_max_pool2d_with_indices, adaptive_avg_pool2d) and the ResNet head
// AdaptiveAvgPool2d(1); FractionalMaxPool2d with given samples (inputs a and
// b as |a| / (|a| + |b|)) and F::fractional_max_pool2d drawing its own, on
// side branches. Its model file is checked against torch like the JSON
// models (Parity.pool_dsl_basic).
#include <cstdio>
#include <tuple>

#include "kiln/kiln.h"

namespace nn = kiln::nn;
namespace F = kiln::nn::functional;

// [2, 3, 12, 11] -> Conv2d 3x3 -> [2, 4, 10, 9] -> ReLU
// -> MaxPool2d(2, stride 2, padding 1, ceil_mode) -> [2, 4, 6, 5]
// -> AvgPool2d(3, stride 1, padding 1, count_include_pad=false) -> [2, 4, 6, 5]
// -> AdaptiveMaxPool2d({3, 2}) -> [2, 4, 3, 2]
// -> MaxPool2d(2, stride 1) with indices -> [2, 4, 2, 1] x 2
// -> MaxUnpool2d(2, stride 1) -> [2, 4, 3, 2]
// -> F::max_pool2d_with_indices(2, stride 1, padding 1) -> [2, 4, 4, 3] x 2
//    (MaxUnpool2d(2, stride 1, padding 1) of them: [2, 4, 3, 2], its
//    adaptive average added to the head's input)
// -> F::avg_pool2d(2, divisor_override 3) -> [2, 4, 2, 1]
// -> F::lp_pool2d(2.0, {2, 1}) -> [2, 4, 1, 1] -> F::adaptive_max_pool2d_with_indices(2)
// -> [2, 4, 2, 2] -> F::adaptive_avg_pool2d({1, 2}) -> [2, 4, 1, 2]
// -> AdaptiveAvgPool2d(1) -> [2, 4, 1, 1] -> 4 -> 3
// Side branches from body(x) [2, 4, 3, 2], each averaged to [2, 4, 1, 1] and
// added to the head's input: FractionalMaxPool2d({2, 1}, output_size 2) with
// samples [2, 4, 2] -> [2, 4, 2, 2]; F::fractional_max_pool2d({2, 1},
// output_ratio 0.7) -> [2, 4, 2, 1].
struct PoolNetImpl : nn::Module {
  PoolNetImpl() {
    body = register_module(
        "body",
        nn::Sequential(nn::Conv2d(nn::Conv2dOptions(3, 4, 3)), nn::ReLU(),
                       nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(2).padding(1).dilation(1).ceil_mode(true)),
                       nn::AvgPool2d(nn::AvgPool2dOptions(3).stride(1).padding(1).count_include_pad(false)),
                       nn::AdaptiveMaxPool2d(nn::AdaptiveMaxPool2dOptions({3, 2}))));
    pick = register_module("pick", nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(1)));
    unpool = register_module("unpool", nn::MaxUnpool2d(nn::MaxUnpool2dOptions(2).stride(1)));
    unpool2 = register_module("unpool2", nn::MaxUnpool2d(nn::MaxUnpool2dOptions(2).stride(1).padding(1)));
    pool = register_module("pool", nn::AdaptiveAvgPool2d(1));
    head = register_module("head", nn::Linear(4, 3));
    unpool3 = register_module("unpool3", nn::MaxUnpool2d(nn::MaxUnpool2dOptions(2).stride(2)));
    frac = register_module("frac", nn::FractionalMaxPool2d(nn::FractionalMaxPool2dOptions({2, 1}).output_size(2)));
  }
  kiln::Tensor forward(kiln::Tensor x, kiln::Tensor a, kiln::Tensor b) {
    kiln::Tensor features = body(x);
    kiln::Tensor u = F::div(F::abs(a), F::add(F::abs(a), F::abs(b)));
    kiln::Tensor given = F::adaptive_avg_pool2d(frac(features, u), F::AdaptiveAvgPool2dFuncOptions(1));
    kiln::Tensor drawn = F::adaptive_avg_pool2d(
        F::fractional_max_pool2d(features, F::FractionalMaxPool2dFuncOptions({2, 1}).output_ratio(0.7)),
        F::AdaptiveAvgPool2dFuncOptions(1));
    // MaxUnpool2d(2, stride 2) called with torch's output_size {3, 3} (sizes
    // 1..3 are reachable from [1, 1]): [2, 4, 3, 3], averaged into `given`.
    auto [coarse, where] = F::max_pool2d_with_indices(features, F::MaxPool2dFuncOptions(2).stride(2));
    given = F::add(given, F::adaptive_avg_pool2d(unpool3->forward(coarse, where, {3, 3}), F::AdaptiveAvgPool2dFuncOptions(1)));
    auto [values, indices] = pick->forward_with_indices(features);
    auto [h, hi] = F::max_pool2d_with_indices(unpool(values, indices), F::MaxPool2dFuncOptions(2).stride(1).padding(1));
    kiln::Tensor side = F::adaptive_avg_pool2d(unpool2(h, hi), F::AdaptiveAvgPool2dFuncOptions(1));
    h = F::avg_pool2d(h, F::AvgPool2dFuncOptions(2).divisor_override(3));
    h = F::lp_pool2d(h, F::LPPool2dFuncOptions(2.0, {2, 1}));
    h = std::get<0>(F::adaptive_max_pool2d_with_indices(h, F::AdaptiveMaxPool2dFuncOptions(2)));
    h = F::adaptive_avg_pool2d(h, F::AdaptiveAvgPool2dFuncOptions({1, 2}));
    return head(F::flatten(F::add(F::add(pool(h), side), F::add(given, drawn)), 1));
  }
  nn::Sequential body{nullptr};
  nn::MaxPool2d pick{nullptr};
  nn::MaxUnpool2d unpool{nullptr};
  nn::MaxUnpool2d unpool2{nullptr};
  nn::AdaptiveAvgPool2d pool{nullptr};
  nn::Linear head{nullptr};
  nn::FractionalMaxPool2d frac{nullptr};
  nn::MaxUnpool2d unpool3{nullptr};
};
KILN_MODULE(PoolNet);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json>\n", argv[0]);
    return 2;
  }
  try {
    PoolNet model;
    kiln::save_model(model, {kiln::input("x", {2, 3, 12, 11}), kiln::input("a", {2, 4, 2}), kiln::input("b", {2, 4, 2})}, argv[1],
                     kiln::Training()
                         .loss(nn::MSELoss())
                         .target(kiln::input("target", {2, 3}))
                         .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.05).momentum(0.9))),
                     "pool_dsl_basic");
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
