// The DSL's MultiheadAttention (kiln/nn/attention.h): the options it writes
// (kdim/vdim None as null), its parameters in torch's state_dict order, the
// forward arguments it records as the node's options, the shapes of its
// two outputs, and the errors torch's constructor and shape checks raise.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "frontend_error_of.h"
#include "kiln/kiln.h"

namespace {

namespace nn = kiln::nn;
using nlohmann::json;

using kiln_test::error_of;

// Self-attention over [N, L, E] with a bool key padding mask from a
// comparison, the weights per head as a second output.
struct SelfAttentionImpl : nn::Module {
  SelfAttentionImpl() {
    attn = register_module("attn", nn::MultiheadAttention(
                                        nn::MultiheadAttentionOptions(8, 2).dropout(0.1).batch_first(true)));
  }
  std::vector<kiln::Tensor> forward(const kiln::Tensor& x, const kiln::Tensor& lengths) {
    kiln::Tensor pad = lengths > 0.5;
    auto [out, weights] = attn->forward(x, x, x, pad, true, {}, false);
    return {out, weights};
  }
  nn::MultiheadAttention attn{nullptr};
};
KILN_MODULE(SelfAttention);

TEST(FrontendAttention, WritesOptionsCallOptionsAndOutputs) {
  SelfAttention model;
  std::string text = kiln::model_json(model, {kiln::input("x", {3, 5, 8}), kiln::input("lengths", {3, 5})}, "mha");
  json doc = json::parse(text);
  json leaf = doc["module"]["children"][0];
  EXPECT_EQ(leaf["type"], "MultiheadAttention");
  EXPECT_EQ(leaf["options"], json::parse(R"({"embed_dim": 8, "num_heads": 2, "dropout": 0.1, "bias": true,
                                             "add_bias_kv": false, "add_zero_attn": false, "kdim": null,
                                             "vdim": null, "batch_first": true})"));
  EXPECT_FALSE(leaf.contains("children"));  // out_proj is part of the layer
  json node = doc["graph"].back();
  EXPECT_EQ(node["module"], "attn");
  EXPECT_EQ(node["inputs"].size(), 4u);
  EXPECT_EQ(node["options"], json::parse(R"({"key_padding_mask": true, "need_weights": true,
                                             "attn_mask": false, "average_attn_weights": false})"));
  EXPECT_EQ(node["outputs"].size(), 2u);
  std::vector<std::string> names;
  for (const auto& p : model->named_parameters()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight",
                                             "attn.out_proj.bias"}));
}

TEST(FrontendAttention, SeparateProjectionsAndWeightShapes) {
  auto attn = nn::MultiheadAttention(
      nn::MultiheadAttentionOptions(6, 3).kdim(4).vdim(5).bias(false).add_bias_kv(true).add_zero_attn(true));
  std::vector<std::string> names;
  for (const auto& p : attn->named_parameters()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"q_proj_weight", "k_proj_weight", "v_proj_weight", "bias_k", "bias_v",
                                             "out_proj.weight"}));
  struct CrossImpl : nn::Module {
    explicit CrossImpl(nn::MultiheadAttention a) { attn = register_module("attn", a); }
    kiln::Tensor forward(const kiln::Tensor& q, const kiln::Tensor& k, const kiln::Tensor& v) {
      auto [out, weights] = attn->forward(q, k, v);
      EXPECT_EQ(weights.sizes(), (kiln::Shape{2, 3, 9}));  // S + bias_k + zero key, averaged
      EXPECT_EQ(out.sizes(), (kiln::Shape{3, 2, 6}));
      return out;
    }
    nn::MultiheadAttention attn{nullptr};
  };
  auto model = std::make_shared<CrossImpl>(attn);
  kiln::model_json(model, {kiln::input("q", {3, 2, 6}), kiln::input("k", {7, 2, 4}), kiln::input("v", {7, 2, 5})},
                   "cross");
}

TEST(FrontendAttention, TorchErrors) {
  EXPECT_NE(error_of([] { nn::MultiheadAttention(6, 4); }).find("embed_dim must be divisible by num_heads"),
            std::string::npos);
  EXPECT_NE(error_of([] { nn::MultiheadAttention(nn::MultiheadAttentionOptions(4, 2).dropout(1.5)); })
                .find("dropout probability has to be between 0 and 1"),
            std::string::npos);
  struct BadImpl : nn::Module {
    BadImpl() { attn = register_module("attn", nn::MultiheadAttention(4, 2)); }
    kiln::Tensor forward(const kiln::Tensor& x) { return std::get<0>(attn->forward(x, x, x)); }
    nn::MultiheadAttention attn{nullptr};
  };
  auto bad = std::make_shared<BadImpl>();
  std::string e = error_of([&] { kiln::model_json(bad, {kiln::input("x", {3, 2, 5})}, "bad"); });
  EXPECT_NE(e.find("was expecting embedding dimension of 4"), std::string::npos) << e;
}

}  // namespace
