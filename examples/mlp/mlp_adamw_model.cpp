// The W1 MLP (784-512-512-10) with issue 10's second recipe: AdamW (lr 1e-3,
// weight_decay 1e-2) under OneCycleLR (max_lr 2e-3 over 3 epochs of 469
// batches, stepped per batch, cycling beta1 as torch's default does) and
// clip_grad_norm_(max_norm 1). `kiln_add_model(mlp_adamw SOURCES
// mlp_adamw_model.cpp)` runs it as `<program> <output.json>`.
#include <cstdio>

#include "kiln/kiln.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json>\n", argv[0]);
    return 2;
  }
  namespace nn = kiln::nn;
  namespace optim = kiln::optim;
  try {
    auto model = nn::Sequential(nn::Flatten(), nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 512), nn::ReLU(),
                                nn::Linear(512, 10));
    const int64_t epochs = 3, steps_per_epoch = 469;  // ceil(60000 / 128)
    kiln::save_model(model, {kiln::input("x", {128, 1, 28, 28})}, argv[1],
                     kiln::Training()
                         .loss(nn::CrossEntropyLoss())
                         .target(kiln::input("target", {128}, kiln::kInt64))
                         .optimizer(optim::AdamW(optim::AdamWOptions(1e-3).weight_decay(1e-2)))
                         .scheduler(optim::OneCycleLR(optim::OneCycleLROptions(2e-3, epochs * steps_per_epoch)))
                         .clip_grad_norm(1.0),
                     "mlp_adamw");
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
