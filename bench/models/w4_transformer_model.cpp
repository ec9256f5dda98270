// W4 of the benchmark workloads (../shared/bench/workloads.py, TxClassifier):
// two TransformerEncoderLayers (d_model 256, 4 heads, feed-forward 1024,
// dropout 0, batch_first) as an nn.TransformerEncoder, the mean over the
// sequence, then Linear 256 -> 10; CrossEntropy, AdamW lr 1e-3, batch
// 8 x 128 x 256. Running the program writes the model file that kilnc
// compiles (bench/CMakeLists.txt). Names are torch's (enc.layers.0.
// self_attn.in_proj_weight, ..., fc.bias), so a checkpoint loads into
// workloads.py's model.
#include <cstdio>
#include <string>

#include "kiln/kiln.h"

namespace nn = kiln::nn;

struct TxClassifierImpl : nn::Module {
  explicit TxClassifierImpl(int64_t d)
      : enc(register_module(
            "enc", nn::TransformerEncoder(nn::TransformerEncoderOptions(
                                              nn::TransformerEncoderLayer(nn::TransformerEncoderLayerOptions(d, 4)
                                                                              .dim_feedforward(1024)
                                                                              .dropout(0.0)
                                                                              .batch_first(true)),
                                              2)))),
        fc(register_module("fc", nn::Linear(d, 10))) {}

  kiln::Tensor forward(const kiln::Tensor& x) { return fc(enc(x).mean({1})); }

  nn::TransformerEncoder enc;
  nn::Linear fc;
};
KILN_MODULE(TxClassifier);

// usage: w4_transformer_model_program <output.json> [--name N]
int main(int argc, char** argv) {
  std::string name = "tx_w4";
  if (argc == 4 && std::string(argv[2]) == "--name")
    name = argv[3];
  else if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json> [--name N]\n", argv[0]);
    return 2;
  }
  const int64_t B = 8, S = 128, d = 256;
  try {
    TxClassifier model(d);
    kiln::save_model(model, {kiln::input("x", {B, S, d})}, argv[1],
                     kiln::Training()
                         .loss(nn::CrossEntropyLoss())
                         .target(kiln::input("target", {B}, kiln::kInt64))
                         .optimizer(kiln::optim::AdamW(kiln::optim::AdamWOptions(1e-3))),
                     name);
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
