// A small language model written with modules' own parameters
// (Module::register_parameter, nn::ParameterList, nn::ParameterDict) and a
// tied output layer: Embedding(11, 8) plus a learned positional parameter,
// a residual block whose projection is a ParameterDict (xavier_uniform, zeros)
// and whose gain is its own parameter, a ParameterList of scales (a scalar
// and a vector), a buffer added to the positions (register_buffer), and
// logits from F::linear(h, embed->weight, out_bias), the
// embedding's weight read twice (one gradient, the sum of both uses).
// CrossEntropyLoss over [B * T, V]; Adam with weight decay (every parameter
// is used, so torch updates every one). Checked against torch like the JSON
// models (Parity.param_dsl_basic).
#include <cstdio>

#include "kiln/kiln.h"

namespace nn = kiln::nn;
namespace F = kiln::nn::functional;

struct BlockImpl : nn::Module {
  explicit BlockImpl(int64_t d) {
    proj = register_module("proj", nn::ParameterDict());
    proj->insert("w", {d, d}, nn::init::xavier_uniform());
    proj->insert("b", {d}, nn::init::zeros());
    gain = register_parameter("gain", {d}, nn::init::ones());
  }
  kiln::Tensor forward(const kiln::Tensor& x) { return x + gain * F::tanh(F::linear(x, proj["w"], proj["b"])); }
  nn::ParameterDict proj{nullptr};
  kiln::Tensor gain;
};
KILN_MODULE(Block);

struct TinyLmImpl : nn::Module {
  TinyLmImpl() {
    embed = register_module("embed", nn::Embedding(11, 8));
    pos = register_parameter("pos", {5, 8}, nn::init::normal(0, 0.02));
    block = register_module("block", Block(8));
    scales = register_module("scales", nn::ParameterList());
    scales->append({}, nn::init::constant(0.9));
    scales->append({8}, nn::init::uniform(0.5, 1.5));
    out_bias = register_parameter("out_bias", {11}, nn::init::zeros());
    // A fixed offset per position (register_buffer): in the state_dict,
    // never trained.
    offset = register_buffer("offset", {5, 8}, nn::init::uniform(-0.1, 0.1));
  }
  kiln::Tensor forward(const kiln::Tensor& tokens) {
    kiln::Tensor h = embed(tokens) + pos + offset;
    h = block(h) * scales[0] * scales[1];
    return F::linear(h, embed->weight, out_bias).reshape({10, 11});
  }
  nn::Embedding embed{nullptr};
  Block block{nullptr};
  nn::ParameterList scales{nullptr};
  kiln::Tensor pos, out_bias, offset;
};
KILN_MODULE(TinyLm);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.json>\n", argv[0]);
    return 2;
  }
  try {
    TinyLm model;
    kiln::save_model(model, {kiln::input("tokens", {2, 5}, kiln::kInt64)}, argv[1],
                     kiln::Training()
                         .loss(nn::CrossEntropyLoss())
                         .target(kiln::input("target", {10}, kiln::kInt64))
                         .optimizer(kiln::optim::Adam(kiln::optim::AdamOptions(0.01).weight_decay(0.01))),
                     "param_dsl_basic");
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
