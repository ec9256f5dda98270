// A model written with the DSL's tensor functions (kiln/nn/functional.h,
// the Tensor methods and operators of kiln/tensor.h; libtorch's names):
// matmul (2-D and batched), transpose, t, view/reshape, squeeze/unsqueeze,
// slice with a step, index_select, split, chunk, stack, cat, clamp,
// comparisons feeding where and masked_fill, number operands (x * 0.5,
// 1 - x, 2 / x, x.pow(3)), amax/amin. Its model file is checked against
// torch like the JSON models (Parity.tensor_dsl_basic).
#include <cstdio>

#include "kiln/kiln.h"

namespace nn = kiln::nn;
namespace F = kiln::nn::functional;

// x [2, 3, 4], z [4, 5] -> a = Linear(4, 4)(x), b = Linear(5, 5)(z), then
// the shapes in the comments of forward; a tanh keeps the values (and the
// float32 rounding of torch's own gradients) small.
struct TensorNetImpl : nn::Module {
  TensorNetImpl() {
    fa = register_module("fa", nn::Linear(4, 4));
    fb = register_module("fb", nn::Linear(5, 5));
    fc = register_module("fc", nn::Linear(6, 3));
  }
  kiln::Tensor forward(kiln::Tensor x, kiln::Tensor z) {
    kiln::Tensor a = fa(x), b = fb(z);                         // [2, 3, 4], [4, 5]
    kiln::Tensor s = kiln::matmul(a, b);                       // [2, 3, 5]
    kiln::Tensor bt = b.t().unsqueeze(0);                      // [1, 5, 4]
    kiln::Tensor m = s.matmul(bt);                             // [2, 3, 4]: batched
    m = m.transpose(0, -1).view({4, -1}).tanh();               // [4, 6], in (-1, 1)
    std::vector<kiln::Tensor> parts = m.split({1, 3}, 0);      // [1, 6], [3, 6]
    kiln::Tensor top = parts[0].squeeze(), rest = parts[1];     // [6], [3, 6]
    std::vector<kiln::Tensor> halves = rest.chunk(2, -1);      // [3, 3], [3, 3]
    kiln::Tensor g = kiln::stack({halves[1], halves[0].clamp(-0.5, 0.5)}, 1);  // [3, 2, 3]
    g = g.reshape({3, 6}) * 0.5 + (1.0 - rest).pow(3.0) / 4.0;  // [3, 6]
    kiln::Tensor mask = g > top;                               // [3, 6]
    g = kiln::where(mask, g, rest.slice(1, -7, 5, 2).index_select(1, {2, 0, 1, 1, 0, 2}));
    g = g.masked_fill(F::le(top, -0.25), 0.125);
    kiln::Tensor e = 2.0 / (g * g + 1.0);
    g = kiln::cat({g - e, F::amax(g, {0}, true) - g.amin({-1}, true)}, 0);  // [6, 6]
    return fc(g);                                              // [6, 3]
  }
  nn::Linear fa{nullptr}, fb{nullptr}, fc{nullptr};
};
KILN_MODULE(TensorNet);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json>\n", argv[0]);
    return 2;
  }
  try {
    TensorNet model;
    kiln::save_model(model, {kiln::input("x", {2, 3, 4}), kiln::input("z", {4, 5})}, argv[1],
                     kiln::Training()
                         .loss(nn::MSELoss())
                         .target(kiln::input("target", {6, 3}))
                         .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.01).momentum(0.9))),
                     "tensor_dsl_basic");
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
