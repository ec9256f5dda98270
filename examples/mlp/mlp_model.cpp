// The W1 MLP (784-512-512-10) as a Kiln model program: running it writes the
// model file that kilnc compiles (`kiln_add_model(mlp SOURCES mlp_model.cpp)`
// runs it as `mlp_model_program <output.json>`).
// usage: mlp_model <output.json> [--batch B --name N]
//   --batch: the batch size (default 128; the data-parallel example's per-
//   process batch is 64), --name: the model's name (default mlp).
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kiln/kiln.h"

int main(int argc, char** argv) {
  int64_t batch = 128;
  std::string name = "mlp";
  bool ok = argc >= 2 && argc % 2 == 0;
  for (int i = 2; ok && i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--batch") {
      char* end = nullptr;
      errno = 0;
      long long b = std::strtoll(value.c_str(), &end, 10);
      ok = errno == 0 && end != value.c_str() && *end == '\0' && b >= 1 && b <= (1 << 20);
      batch = b;
    } else if (flag == "--name") {
      name = value;
    } else {
      ok = false;
    }
  }
  if (!ok) {
    std::fprintf(stderr, "usage: %s <output.json> [--batch B --name N]\n", argv[0]);
    return 2;
  }
  namespace nn = kiln::nn;
  try {
    auto model = nn::Sequential(nn::Flatten(), nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 512), nn::ReLU(),
                                nn::Linear(512, 10));
    kiln::save_model(model, {kiln::input("x", {batch, 1, 28, 28})}, argv[1],
                     kiln::Training()
                         .loss(nn::CrossEntropyLoss())
                         .target(kiln::input("target", {batch}, kiln::kInt64))
                         .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.01).momentum(0.9))),
                     name);
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
