// The small ResNet of the W3 benchmark workload (../shared/bench/workloads.py,
// SmallResNet) written in the Kiln DSL, its stem adapted to Fashion-MNIST's one
// input channel: running the program writes the model file that kilnc
// compiles (`kiln_add_model(resnet SOURCES resnet_model.cpp)`). Module and
// parameter names are torch's (stem.0.weight, blocks.2.proj.1.running_mean,
// ...), so checkpoints load into train_resnet.py's model.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kiln/kiln.h"

namespace nn = kiln::nn;
namespace F = kiln::nn::functional;

// conv3x3-BN-ReLU-conv3x3-BN plus the identity (or a strided 1x1 conv + BN
// projection when the shape changes), then ReLU: torchvision's BasicBlock.
struct BasicBlockImpl : nn::Module {
  BasicBlockImpl(int64_t cin, int64_t cout, int64_t stride = 1)
      : c1(register_module("c1", nn::Conv2d(nn::Conv2dOptions(cin, cout, 3).stride(stride).padding(1).bias(false)))),
        b1(register_module("b1", nn::BatchNorm2d(cout))),
        c2(register_module("c2", nn::Conv2d(nn::Conv2dOptions(cout, cout, 3).stride(1).padding(1).bias(false)))),
        b2(register_module("b2", nn::BatchNorm2d(cout))) {
    if (stride != 1 || cin != cout)
      proj = register_module("proj", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(cin, cout, 1).stride(stride).bias(false)),
                                                    nn::BatchNorm2d(cout)));
  }

  kiln::Tensor forward(const kiln::Tensor& x) {
    kiln::Tensor y = F::relu(b1(c1(x)));
    y = b2(c2(y));
    kiln::Tensor s = proj.is_empty() ? x : proj(x);
    return F::relu(y + s);
  }

  nn::Conv2d c1;
  nn::BatchNorm2d b1;
  nn::Conv2d c2;
  nn::BatchNorm2d b2;
  nn::Sequential proj{nullptr};
};
KILN_MODULE(BasicBlock);

struct SmallResNetImpl : nn::Module {
  explicit SmallResNetImpl(int64_t in_channels)
      : stem(register_module("stem", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in_channels, 32, 3).stride(1).padding(1).bias(false)),
                                                    nn::BatchNorm2d(32), nn::ReLU()))),
        blocks(register_module("blocks", nn::Sequential(BasicBlock(32, 32), BasicBlock(32, 32), BasicBlock(32, 64, 2)))),
        pool(register_module("pool", nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(1)))),
        fc(register_module("fc", nn::Linear(64, 10))) {}

  kiln::Tensor forward(const kiln::Tensor& x) {
    return fc(F::flatten(pool(blocks(stem(x))), 1));
  }

  nn::Sequential stem, blocks;
  nn::AdaptiveAvgPool2d pool;
  nn::Linear fc;
};
KILN_MODULE(SmallResNet);

// usage: resnet_model_program <output.json> [--in-channels C --size S --name N]
// Defaults: Fashion-MNIST's 1 x 28 x 28 images, model "resnet". The W3
// benchmark (bench/CMakeLists.txt) compiles the workload's own 3 x 32 x 32.
int main(int argc, char** argv) {
  int64_t in_channels = 1, size = 28;
  std::string name = "resnet";
  bool ok = argc >= 2 && argc % 2 == 0;
  for (int i = 2; ok && i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--in-channels")
      in_channels = std::atoll(value.c_str());
    else if (flag == "--size")
      size = std::atoll(value.c_str());
    else if (flag == "--name")
      name = value;
    else
      ok = false;
  }
  if (!ok || in_channels < 1 || size < 1) {
    std::fprintf(stderr, "usage: %s <output.json> [--in-channels C --size S --name N]\n", argv[0]);
    return 2;
  }
  try {
    SmallResNet model(in_channels);
    // W3's batch, 32, divides Fashion-MNIST's 60000 training images: no padded
    // batch ever reaches the batch-norm statistics. W3's optimizer; the cosine
    // schedule over the example's 3 epochs (stepped per epoch by the trainer)
    // ends at a small lr, where the eval-mode accuracy of a batch-norm network
    // settles instead of swinging by points from epoch to epoch.
    kiln::save_model(model, {kiln::input("x", {32, in_channels, size, size})}, argv[1],
                     kiln::Training()
                         .loss(nn::CrossEntropyLoss())
                         .target(kiln::input("target", {32}, kiln::kInt64))
                         .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.01).momentum(0.9).weight_decay(5e-4)))
                         .scheduler(kiln::optim::CosineAnnealingLR(3)),
                     name);
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
