// A model written with the DSL's int64 inputs and what indexes with them:
// nn::Embedding (padding_idx, scale_grad_by_freq), F::embedding with a
// computed weight, Tensor::index_select and Tensor::gather with int64 index
// tensors, nn::AdaptiveLogSoftmaxWithLoss (forward, log_prob and predict),
// Tensor::argmax (int64 outputs after the trained one),
// nn::EmbeddingBag (max, padding_idx) and F::embedding_bag (sum) over 2-D
// inputs (JSON cases cover offsets). Its model file is checked against torch like the JSON models
// (Parity.index_dsl_basic; the oracle draws the indices below each
// input's bound: parity_args_index_dsl_basic).
#include <cstdio>
#include <tuple>

#include "kiln/kiln.h"

namespace nn = kiln::nn;
namespace F = kiln::nn::functional;

// tokens [3, 4] in [0, 10), x [3, 5], sel [4] in [0, 5), pick [3, 2] in [0, 5),
// cls [3] in [0, 7) (AdaptiveLogSoftmaxWithLoss's target; its output, loss
// and log_prob feed the head).
struct IndexNetImpl : nn::Module {
  IndexNetImpl() {
    emb = register_module("emb", nn::Embedding(nn::EmbeddingOptions(10, 6).padding_idx(0).scale_grad_by_freq(true)));
    fx = register_module("fx", nn::Linear(5, 5));
    fw = register_module("fw", nn::Linear(3, 6));
    head = register_module("head", nn::Linear(12 + 7 + 1 + 4 + 6, 3));
    bag = register_module("bag", nn::EmbeddingBag(nn::EmbeddingBagOptions(10, 4).mode(kiln::kMax).padding_idx(2)));
    asm_ = register_module("asm", nn::AdaptiveLogSoftmaxWithLoss(
                                      nn::AdaptiveLogSoftmaxWithLossOptions(5, 7, {2, 4}).div_value(2.0).head_bias(true)));
  }
  std::tuple<kiln::Tensor, kiln::Tensor, kiln::Tensor> forward(kiln::Tensor tokens, kiln::Tensor x, kiln::Tensor sel,
                                                               kiln::Tensor pick, kiln::Tensor cls) {
    kiln::Tensor e = emb(tokens).mean({-1});                    // [3, 4]
    kiln::Tensor h = fx(x);                                     // [3, 5]
    kiln::Tensor s = h.index_select(1, sel);                    // [3, 4]
    kiln::Tensor g = h.gather(-1, pick);                        // [3, 2]
    kiln::Tensor w = fw(h.t());                                 // [5, 6]: a computed weight
    kiln::Tensor f = F::embedding(pick, w, F::EmbeddingFuncOptions().padding_idx(-1)).sum({1});  // [3, 6]
    nn::ASMoutput a = asm_->forward(h, cls);                   // [3], []
    kiln::Tensor lp = asm_->log_prob(h);                        // [3, 7]
    kiln::Tensor b = bag(tokens);                               // [3, 4]
    kiln::Tensor fb = F::embedding_bag(pick, w, F::EmbeddingBagFuncOptions().mode(kiln::kSum));  // [3, 6]
    kiln::Tensor y = head(kiln::cat({e + s, g, f.tanh(), lp, a.output.unsqueeze(1), b, fb}, 1)) + a.loss;  // [3, 30] -> [3, 3]
    // The loss trains y (the first output); the int64 outputs are compared
    // exactly.
    return {y, asm_->predict(h), y.argmax(1)};                 // [3, 3], [3], [3]
  }
  nn::Embedding emb{nullptr};
  nn::EmbeddingBag bag{nullptr};
  nn::Linear fx{nullptr}, fw{nullptr}, head{nullptr};
  nn::AdaptiveLogSoftmaxWithLoss asm_{nullptr};
};
KILN_MODULE(IndexNet);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json>\n", argv[0]);
    return 2;
  }
  try {
    IndexNet model;
    kiln::save_model(model,
                     {kiln::input("tokens", {3, 4}, kiln::kInt64), kiln::input("x", {3, 5}),
                      kiln::input("sel", {4}, kiln::kInt64), kiln::input("pick", {3, 2}, kiln::kInt64),
                      kiln::input("cls", {3}, kiln::kInt64)},
                     argv[1],
                     kiln::Training()
                         .loss(nn::MSELoss())
                         .loss_inputs({0, kiln::Training::kTarget})
                         .target(kiln::input("target", {3, 3}))
                         .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.01).momentum(0.9))),
                     "index_dsl_basic");
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
