// The W1 MLP (784-512-512-10) as a Kiln model program: running it writes the
// model file that kilnc compiles (`kiln_add_model(mlp SOURCES mlp_model.cpp)`
// runs it as `mlp_model_program <output.json>`).
#include <cstdio>

#include "kiln/kiln.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json>\n", argv[0]);
    return 2;
  }
  namespace nn = kiln::nn;
  try {
    auto model = nn::Sequential(nn::Flatten(), nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 512), nn::ReLU(),
                                nn::Linear(512, 10));
    kiln::save_model(model, {kiln::input("x", {128, 1, 28, 28})}, argv[1],
                     kiln::Training()
                         .loss(nn::CrossEntropyLoss())
                         .target(kiln::input("target", {128}, kiln::kInt64))
                         .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.01).momentum(0.9))),
                     "mlp");
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
