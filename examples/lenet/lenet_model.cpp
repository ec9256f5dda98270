// LeNet-5 as the W2 benchmark workload defines it (../shared/bench/workloads.py)
// written in the Kiln DSL: running the program writes the model file that
// kilnc compiles (`kiln_add_model(lenet SOURCES lenet_model.cpp)`).
// Optimizer: SGD with momentum for the example (the PyTorch reference
// train_lenet.py uses the same SGD); `--optimizer adam` gives W2's own,
// Adam lr 1e-3, which bench/ compiles as lenet_w2.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kiln/kiln.h"

// usage: lenet_model <output.json> [--optimizer sgd|adam --name N --batch B]
// (--batch: default 64, W2's; the data-parallel benchmark's per-process 32)
int main(int argc, char** argv) {
  std::string optimizer = "sgd", name = "lenet";
  int64_t batch = 64;
  bool ok = argc >= 2 && argc % 2 == 0;
  for (int i = 2; ok && i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--optimizer" && (value == "sgd" || value == "adam"))
      optimizer = value;
    else if (flag == "--name")
      name = value;
    else if (flag == "--batch") {
      char* end = nullptr;
      long long b = std::strtoll(value.c_str(), &end, 10);
      ok = end != value.c_str() && *end == '\0' && b >= 1 && b <= (1 << 20);
      batch = b;
    } else
      ok = false;
  }
  if (!ok) {
    std::fprintf(stderr, "usage: %s <output.json> [--optimizer sgd|adam --name N --batch B]\n",
                 argv[0]);
    return 2;
  }
  namespace nn = kiln::nn;
  try {
    auto model = nn::Sequential(
        nn::Conv2d(nn::Conv2dOptions(1, 6, 5).padding(2)), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)),
        nn::Conv2d(nn::Conv2dOptions(6, 16, 5)), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)),
        nn::Flatten(), nn::Linear(400, 120), nn::ReLU(), nn::Linear(120, 84), nn::ReLU(), nn::Linear(84, 10));
    kiln::Training training;
    training.loss(nn::CrossEntropyLoss()).target(kiln::input("target", {batch}, kiln::kInt64));
    if (optimizer == "adam")
      training.optimizer(kiln::optim::Adam(kiln::optim::AdamOptions(1e-3)));
    else
      training.optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.01).momentum(0.9)));
    kiln::save_model(model, {kiln::input("x", {batch, 1, 28, 28})}, argv[1], training, name);
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
