// A small sequence-to-sequence model written with the DSL's nn::Transformer
// (kiln/nn/transformer.h): two encoder layers and one decoder layer with
// their final LayerNorms, GELU, batch_first, dropout 0.1 (Kiln's masks,
// replayed by the oracle in torch's order), a float tgt_mask from a model
// input, a Linear before src and tgt (their gradients check the input
// gradients) and one after. Plain SGD: the attentions' key biases have no
// gradient in exact arithmetic (gen_attention_cases.py says why). Its model
// file is checked against torch like the JSON models
// (Parity.transformer_dsl_basic): forward, gradients, 10 steps, eval mode.
#include <cstdio>

#include "kiln/kiln.h"

namespace nn = kiln::nn;

struct Seq2SeqImpl : nn::Module {
  Seq2SeqImpl() {
    src_in = register_module("src_in", nn::Linear(8, 8));
    tgt_in = register_module("tgt_in", nn::Linear(8, 8));
    transformer = register_module(
        "transformer", nn::Transformer(nn::TransformerOptions()
                                           .d_model(8)
                                           .nhead(2)
                                           .num_encoder_layers(2)
                                           .num_decoder_layers(1)
                                           .dim_feedforward(16)
                                           .activation("gelu")
                                           .batch_first(true)));
    head = register_module("head", nn::Linear(8, 3));
  }
  kiln::Tensor forward(kiln::Tensor src, kiln::Tensor tgt, kiln::Tensor tgt_mask) {
    return head(transformer->forward(src_in(src), tgt_in(tgt), {}, tgt_mask));
  }
  nn::Linear src_in{nullptr}, tgt_in{nullptr}, head{nullptr};
  nn::Transformer transformer{nullptr};
};
KILN_MODULE(Seq2Seq);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json>\n", argv[0]);
    return 2;
  }
  try {
    Seq2Seq model;
    kiln::save_model(model,
                     {kiln::input("src", {2, 5, 8}), kiln::input("tgt", {2, 4, 8}), kiln::input("tgt_mask", {4, 4})},
                     argv[1],
                     kiln::Training()
                         .loss(nn::MSELoss())
                         .target(kiln::input("target", {2, 4, 3}))
                         .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.05))),
                     "transformer_dsl_basic");
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
