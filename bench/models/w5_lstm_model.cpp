// W5 of the benchmark workloads (../shared/bench/workloads.py,
// LSTMClassifier): LSTM(64 -> 256, one layer, batch_first), its last hidden
// state (h_n[-1]) -> Linear 256 -> 10; CrossEntropy, RMSprop with torch's
// defaults (lr 1e-2), batch 32 x 32 x 64. Running the program writes the
// model file that kilnc compiles (bench/CMakeLists.txt). Names are torch's
// (lstm.weight_ih_l0, ..., fc.bias).
#include <cstdio>
#include <string>

#include "kiln/kiln.h"

namespace nn = kiln::nn;

struct LSTMClassifierImpl : nn::Module {
  LSTMClassifierImpl()
      : lstm(register_module("lstm", nn::LSTM(nn::LSTMOptions(64, 256).num_layers(1).batch_first(true)))),
        fc(register_module("fc", nn::Linear(256, 10))) {}

  kiln::Tensor forward(const kiln::Tensor& x) {
    auto [output, state] = lstm(x);
    (void)output;
    kiln::Tensor h = std::get<0>(state);  // [num_layers, N, 256]
    return fc(h.narrow(0, h.size(0) - 1, 1).squeeze(0));
  }

  nn::LSTM lstm;
  nn::Linear fc;
};
KILN_MODULE(LSTMClassifier);

// usage: w5_lstm_model_program <output.json> [--name N]
int main(int argc, char** argv) {
  std::string name = "lstm_w5";
  if (argc == 4 && std::string(argv[2]) == "--name")
    name = argv[3];
  else if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json> [--name N]\n", argv[0]);
    return 2;
  }
  const int64_t B = 32, S = 32;
  try {
    LSTMClassifier model;
    kiln::save_model(model, {kiln::input("x", {B, S, 64})}, argv[1],
                     kiln::Training()
                         .loss(nn::CrossEntropyLoss())
                         .target(kiln::input("target", {B}, kiln::kInt64))
                         .optimizer(kiln::optim::RMSprop(kiln::optim::RMSpropOptions())),
                     name);
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
