// An MLP written with the DSL's activations (kiln/nn/activation.h,
// libtorch's names): every pointwise activation as a module or through its
// functional form, PReLU with one slope per feature, GLU, RReLU (random
// slopes in train mode, from the instance's stream), Softmax, Softmin and
// LogSoftmax. Its model file is checked against torch like the JSON models
// (Parity.act_dsl_basic).
#include <cstdio>

#include "kiln/kiln.h"

namespace nn = kiln::nn;
namespace F = kiln::nn::functional;

// [4, 6] -> Linear 6 -> 8 -> ELU(0.7) + F::leaky_relu(0.2) -> PReLU(8)
// -> Linear 8 -> 12 -> GLU -> [4, 6] -> the sum of 20 activations of it
// -> RReLU -> Linear 6 -> 3 -> LogSoftmax(1) + F::softmax(-1) + F::softmin(0)
struct ActNetImpl : nn::Module {
  ActNetImpl() {
    fc1 = register_module("fc1", nn::Linear(6, 8));
    elu = register_module("elu", nn::ELU(nn::ELUOptions().alpha(0.7)));
    prelu = register_module("prelu", nn::PReLU(nn::PReLUOptions().num_parameters(8).init(0.1)));
    fc2 = register_module("fc2", nn::Linear(8, 12));
    glu = register_module("glu", nn::GLU(-1));
    acts = register_module(
        "acts", nn::Sequential(nn::CELU(nn::CELUOptions().alpha(1.5)), nn::SELU(), nn::ReLU6(),
                               nn::Hardtanh(nn::HardtanhOptions().min_val(-0.5).max_val(2.0)), nn::Hardsigmoid(),
                               nn::Hardswish(), nn::Hardshrink(0.3), nn::Softshrink(0.2), nn::Softsign(),
                               nn::Tanhshrink(), nn::Threshold(nn::ThresholdOptions(0.1, -1.0)), nn::LogSigmoid(),
                               nn::Softplus(nn::SoftplusOptions().beta(2).threshold(5)), nn::Mish(),
                               nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(-0.1))));
    rrelu = register_module("rrelu", nn::RReLU(nn::RReLUOptions().lower(0.1).upper(0.4)));
    fc3 = register_module("fc3", nn::Linear(6, 3));
    log_softmax = register_module("log_softmax", nn::LogSoftmax(1));
  }
  kiln::Tensor forward(kiln::Tensor x) {
    kiln::Tensor h = fc1(x);
    h = prelu(F::add(elu(h), F::leaky_relu(h, F::LeakyReLUFuncOptions().negative_slope(0.2))));
    h = glu(fc2(h));
    kiln::Tensor s = acts(h);
    for (kiln::Tensor t :
         {F::elu(h, F::ELUFuncOptions().alpha(2.0)), F::celu(h), F::selu(h), F::relu6(h),
          F::hardtanh(h), F::hardsigmoid(h), F::hardswish(h), F::hardshrink(h), F::softshrink(h, 0.1),
          F::softsign(h), F::tanhshrink(h), F::threshold(h, F::ThresholdFuncOptions(0.0, 0.5)),
          F::logsigmoid(h), F::softplus(h), F::mish(h), F::gelu(h, F::GELUFuncOptions().approximate("tanh")),
          F::silu(h), F::glu(F::cat({h, h}, 0), 0),
          F::rrelu(h, F::RReLUFuncOptions().lower(0.2).upper(0.3))})
      s = F::add(s, t);
    kiln::Tensor y = fc3(rrelu(s));
    return F::add(F::add(log_softmax(y), F::softmax(y, -1)), F::softmin(y, F::SoftminFuncOptions(0)));
  }
  nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
  nn::ELU elu{nullptr};
  nn::PReLU prelu{nullptr};
  nn::GLU glu{nullptr};
  nn::Sequential acts{nullptr};
  nn::RReLU rrelu{nullptr};
  nn::LogSoftmax log_softmax{nullptr};
};
KILN_MODULE(ActNet);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json>\n", argv[0]);
    return 2;
  }
  try {
    ActNet model;
    kiln::save_model(model, {kiln::input("x", {4, 6})}, argv[1],
                     kiln::Training()
                         .loss(nn::MSELoss())
                         .target(kiln::input("target", {4, 3}))
                         // Twenty activations summed: a small step keeps 10 steps finite.
                         .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.002).momentum(0.9))),
                     "act_dsl_basic");
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
