// A model written with the DSL's rearranging, distance and two-input layers
// (kiln/nn/vision.h, distance.h, linear.h, flatten.h; libtorch's names):
// LazyLinear, ChannelShuffle, PixelShuffle, PixelUnshuffle, Unflatten,
// Bilinear, CosineSimilarity, PairwiseDistance and the functional forms
// pixel_shuffle, pixel_unshuffle, channel_shuffle, unflatten, bilinear,
// cosine_similarity, pairwise_distance; Upsample, interpolate,
// UpsamplingNearest2d, UpsamplingBilinear2d, the dropout layers
// (Dropout1d/2d/3d, AlphaDropout, FeatureAlphaDropout) and functional
// forms (F::dropout2d and F::dropout drawing, F::alpha_dropout with torch's
// default training=false, the identity). Its model file is checked against
// torch like the JSON models (Parity.misc_dsl_basic).
#include <cstdio>

#include "kiln/kiln.h"

namespace nn = kiln::nn;
namespace F = kiln::nn::functional;

// x [2, 8, 3, 3] -> LazyLinear(3) -> ChannelShuffle(4) -> PixelShuffle(2)
// -> [2, 2, 6, 6] -> pixel_unshuffle(3) -> [2, 18, 2, 2] -> channel_shuffle(3)
// -> PixelUnshuffle(2) -> [2, 72, 1, 1] -> pixel_shuffle(2) -> [2, 18, 2, 2]
// -> Flatten -> Unflatten(1, {8, -1}) -> [2, 8, 9] -> unflatten(-1, {3, 3})
// -> mean(flatten(., 2), 2) -> [2, 8] -> a, c = Linear(8, 6) each; b = Linear(5, 4)(z)
// y = Bilinear(6, 4, 3)(a, b) + bilinear(c, Linear(5, 5)(z), w [3, 6, 5])
//     + PairwiseDistance(p=3, keepdim)(a, c) + unflatten(CosineSimilarity(a, c), 0, {2, 1})
//     + pairwise_distance(a, c, 1.0, 1e-6, true) * unflatten(cosine_similarity(b, b2, -1), 0, {2, 1})
//     + Linear(6, 3)(mean(Dropout1d(flatten(v, 2)), 1)) with
// v = x -> Upsample(scale {1.5, 2}, bicubic) [2, 8, 4, 6] -> Dropout2d
//     -> interpolate(size {2, 3}, area) -> UpsamplingNearest2d(size {4, 3})
//     -> UpsamplingBilinear2d(scale {0.5, 1}) [2, 8, 2, 3] -> AlphaDropout
//     -> FeatureAlphaDropout -> Dropout3d (4-D: unbatched, one mask per dim 0)
struct MiscNetImpl : nn::Module {
  MiscNetImpl() {
    lazy = register_module("lazy", nn::LazyLinear(nn::LazyLinearOptions(3)));
    shuffle = register_module("shuffle", nn::ChannelShuffle(4));
    up = register_module("up", nn::PixelShuffle(2));
    down = register_module("down", nn::PixelUnshuffle(2));
    unflat = register_module("unflat", nn::Unflatten(nn::UnflattenOptions(1, {8, -1})));
    fa = register_module("fa", nn::Linear(8, 6));
    fc = register_module("fc", nn::Linear(8, 6));
    fz = register_module("fz", nn::Linear(5, 4));
    fz2 = register_module("fz2", nn::Linear(5, 4));
    fz3 = register_module("fz3", nn::Linear(5, 5));
    bil = register_module("bil", nn::Bilinear(nn::BilinearOptions(6, 4, 3).bias(true)));
    dist = register_module("dist", nn::PairwiseDistance(nn::PairwiseDistanceOptions().p(3.0).keepdim(true)));
    cos = register_module("cos", nn::CosineSimilarity(nn::CosineSimilarityOptions().dim(1).eps(1e-8)));
    upsample = register_module("upsample", nn::Upsample(nn::UpsampleOptions()
                                                      .scale_factor(std::vector<double>{1.5, 2.0})
                                                      .mode("bicubic")
                                                      .align_corners(false)));
    nearest = register_module("nearest", nn::UpsamplingNearest2d(nn::UpsamplingOptions().size(
                                             std::vector<int64_t>{4, 3})));
    bilinear = register_module("bilinear", nn::UpsamplingBilinear2d(nn::UpsamplingOptions().scale_factor(
                                               std::vector<double>{0.5, 1.0})));
    drop1 = register_module("drop1", nn::Dropout1d(0.5));
    drop2 = register_module("drop2", nn::Dropout2d(nn::Dropout2dOptions(0.3).inplace(true)));
    drop3 = register_module("drop3", nn::Dropout3d(0.25));
    alpha = register_module("alpha", nn::AlphaDropout(0.2));
    falpha = register_module("falpha", nn::FeatureAlphaDropout(0.1));
    fv = register_module("fv", nn::Linear(6, 3));
  }
  kiln::Tensor forward(kiln::Tensor x, kiln::Tensor z, kiln::Tensor w) {
    kiln::Tensor h = up(shuffle(lazy(x)));
    h = F::channel_shuffle(F::pixel_unshuffle(h, 3), 3);
    h = F::pixel_shuffle(down(h), 2);
    h = F::unflatten(unflat(F::flatten(h, 1)), -1, {3, 3});
    h = F::mean(F::flatten(h, 2), {2});
    kiln::Tensor a = fa(h), c = fc(h), b = fz(z), b2 = fz2(z), b3 = fz3(z);
    // (Two bias-free nn.linear of one result shape share a CSE'd zero fill,
    // which bufferizes to a memref.copy the CPU backend cannot link yet:
    // the functional bilinear takes a 5-feature input.)
    kiln::Tensor y = bil(a, b) + F::bilinear(c, b3, w);
    y = y + dist(a, c) + F::unflatten(cos(a, c), 0, {2, 1});
    y = y + F::pairwise_distance(a, c, 1.0, 1e-6, true) *
                F::unflatten(F::cosine_similarity(b, b2, -1), 0, {2, 1});
    kiln::Tensor v = F::dropout2d(drop2(upsample(x)), F::Dropout2dFuncOptions().p(0.3));
    v = F::interpolate(v, F::InterpolateFuncOptions().size(std::vector<int64_t>{2, 3}).mode("area"));
    v = drop3(falpha(alpha(bilinear(nearest(v)))));
    v = F::alpha_dropout(F::dropout(v, F::DropoutFuncOptions().p(0.2)), F::AlphaDropoutFuncOptions().p(0.4));
    return y + fv(F::mean(drop1(F::flatten(v, 2)), {1}));
  }
  nn::LazyLinear lazy{nullptr};
  nn::ChannelShuffle shuffle{nullptr};
  nn::PixelShuffle up{nullptr};
  nn::PixelUnshuffle down{nullptr};
  nn::Unflatten unflat{nullptr};
  nn::Linear fa{nullptr}, fc{nullptr}, fz{nullptr}, fz2{nullptr}, fz3{nullptr};
  nn::Bilinear bil{nullptr};
  nn::PairwiseDistance dist{nullptr};
  nn::CosineSimilarity cos{nullptr};
  nn::Upsample upsample{nullptr};
  nn::UpsamplingNearest2d nearest{nullptr};
  nn::UpsamplingBilinear2d bilinear{nullptr};
  nn::Dropout1d drop1{nullptr};
  nn::Dropout2d drop2{nullptr};
  nn::Dropout3d drop3{nullptr};
  nn::AlphaDropout alpha{nullptr};
  nn::FeatureAlphaDropout falpha{nullptr};
  nn::Linear fv{nullptr};
};
KILN_MODULE(MiscNet);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json>\n", argv[0]);
    return 2;
  }
  try {
    MiscNet model;
    kiln::save_model(model,
                     {kiln::input("x", {2, 8, 3, 3}), kiln::input("z", {2, 5}), kiln::input("w", {3, 6, 5})},
                     argv[1],
                     kiln::Training()
                         .loss(nn::MSELoss())
                         .target(kiln::input("target", {2, 3}))
                         .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.001).momentum(0.9))),
                     "misc_dsl_basic");
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
