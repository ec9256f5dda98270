// LeNet-5 as the W2 benchmark workload defines it (../shared/bench/workloads.py)
// written in the Kiln DSL: running the program writes the model file that
// kilnc compiles (`kiln_add_model(lenet SOURCES lenet_model.cpp)`).
// Optimizer: SGD with momentum (W2's Adam has not landed in Kiln yet; the
// PyTorch reference train_lenet.py uses the same SGD).
#include <cstdio>

#include "kiln/kiln.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json>\n", argv[0]);
    return 2;
  }
  namespace nn = kiln::nn;
  try {
    auto model = nn::Sequential(
        nn::Conv2d(nn::Conv2dOptions(1, 6, 5).padding(2)), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)),
        nn::Conv2d(nn::Conv2dOptions(6, 16, 5)), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)),
        nn::Flatten(), nn::Linear(400, 120), nn::ReLU(), nn::Linear(120, 84), nn::ReLU(), nn::Linear(84, 10));
    kiln::save_model(model, {kiln::input("x", {64, 1, 28, 28})}, argv[1],
                     kiln::Training()
                         .loss(nn::CrossEntropyLoss())
                         .target(kiln::input("target", {64}, kiln::kInt64))
                         .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.01).momentum(0.9))),
                     "lenet");
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
