// CTCLoss through the DSL: log_softmax of a Linear over [T, N, F] features,
// trained with nn::CTCLoss on padded int64 labels, the lengths being model
// inputs the loss alone reads (Training::model_input) (Parity.ctc_dsl_basic).
#include <cstdio>

#include "kiln/kiln.h"

namespace nn = kiln::nn;
namespace F = kiln::nn::functional;

struct SpeechNetImpl : nn::Module {
  SpeechNetImpl() { proj = register_module("proj", nn::Linear(3, 5)); }
  // The lengths are inputs of the model (passed with every batch) that only
  // the loss reads.
  kiln::Tensor forward(kiln::Tensor x, kiln::Tensor, kiln::Tensor) {
    return F::log_softmax(proj(x), F::LogSoftmaxFuncOptions(2));
  }
  nn::Linear proj{nullptr};
};
KILN_MODULE(SpeechNet);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json>\n", argv[0]);
    return 2;
  }
  try {
    SpeechNet model;
    kiln::save_model(model,
                     {kiln::input("x", {9, 3, 3}), kiln::input("input_lengths", {3}, kiln::kInt64),
                      kiln::input("target_lengths", {3}, kiln::kInt64)},
                     argv[1],
                     kiln::Training()
                         .loss(nn::CTCLoss(nn::CTCLossOptions().blank(4).zero_infinity(true)))
                         .loss_inputs({0, kiln::Training::kTarget, kiln::Training::model_input(1),
                                       kiln::Training::model_input(2)})
                         .target(kiln::input("labels", {3, 3}, kiln::kInt64))
                         .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.05).momentum(0.9))),
                     "ctc_dsl_basic");
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
