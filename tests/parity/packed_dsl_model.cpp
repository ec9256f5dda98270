// A small sentence classifier over a batch of sentences of different
// lengths, written with torch.nn.utils.rnn (kiln/nn/utils/rnn.h): the
// embedded tokens packed with their lengths (an int64 model input, in any
// order: enforce_sorted false), a two-layer bidirectional LSTM on the
// packed sequence, pad_packed_sequence back with total_length; beside it,
// two float sequences of their own lengths through pack_sequence, a GRU,
// unpack_sequence and pad_sequence. The logits read the LSTM's final
// states (each sentence's last real step), the padded outputs' mean and
// the GRU's. CrossEntropyLoss, Adam. Checked against torch like the JSON
// models (Parity.packed_dsl_basic).
#include <cstdio>

#include "kiln/kiln.h"

namespace nn = kiln::nn;
namespace rnn = kiln::nn::utils::rnn;
namespace F = kiln::nn::functional;

struct ClassifierImpl : nn::Module {
  ClassifierImpl() {
    embed = register_module("embed", nn::Embedding(12, 5));
    lstm = register_module("lstm", nn::LSTM(nn::LSTMOptions(5, 4).num_layers(2).bidirectional(true)));
    gru = register_module("gru", nn::GRU(nn::GRUOptions(3, 4).batch_first(true)));
    from_state = register_module("from_state", nn::Linear(16, 3));
    from_outputs = register_module("from_outputs", nn::Linear(8, 3));
    from_gru = register_module("from_gru", nn::Linear(4, 3));
  }
  kiln::Tensor forward(const kiln::Tensor& tokens, const kiln::Tensor& lengths, const kiln::Tensor& a,
                       const kiln::Tensor& b) {
    rnn::PackedSequence packed = rnn::pack_padded_sequence(embed(tokens), lengths, true, false);
    auto [out, state] = lstm(packed);
    auto [padded, padded_lengths] = rnn::pad_packed_sequence(out, true, 0.0, 6);
    kiln::Tensor h_n = std::get<0>(state).transpose(0, 1).reshape({2, 16});
    auto [gru_out, gru_state] = gru(rnn::pack_sequence({a, b}, false));
    kiln::Tensor again = rnn::pad_sequence(rnn::unpack_sequence(gru_out), true, -1.0);
    return from_state(h_n) + from_outputs(padded.mean({1})) + from_gru(again.sum({1}));
  }
  nn::Embedding embed{nullptr};
  nn::LSTM lstm{nullptr};
  nn::GRU gru{nullptr};
  nn::Linear from_state{nullptr}, from_outputs{nullptr}, from_gru{nullptr};
};
KILN_MODULE(Classifier);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json>\n", argv[0]);
    return 2;
  }
  try {
    Classifier model;
    kiln::save_model(model,
                     {kiln::input("tokens", {2, 6}, kiln::kInt64), kiln::input("lengths", {2}, kiln::kInt64),
                      kiln::input("a", {3, 3}), kiln::input("b", {5, 3})},
                     argv[1],
                     kiln::Training()
                         .loss(nn::CrossEntropyLoss())
                         .target(kiln::input("target", {2}, kiln::kInt64))
                         .optimizer(kiln::optim::Adam(kiln::optim::AdamOptions(0.01))),
                     "packed_dsl_basic");
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
