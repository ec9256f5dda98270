// The DSL's transformer layers (kiln/nn/transformer.h): the options they
// write, their parameters under torch's state_dict names, the masks they
// record as the node's options, and torch's constructor errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "frontend_error_of.h"
#include "kiln/kiln.h"

namespace {

namespace nn = kiln::nn;
using nlohmann::json;

using kiln_test::error_of;

struct Seq2SeqImpl : nn::Module {
  Seq2SeqImpl() {
    auto o = nn::TransformerLayerOptions(8, 2).dim_feedforward(16).activation("gelu").batch_first(true);
    encoder = register_module("encoder", nn::TransformerEncoderLayer(o));
    decoder = register_module("decoder", nn::TransformerDecoderLayer(o.norm_first(true)));
  }
  kiln::Tensor forward(const kiln::Tensor& src, const kiln::Tensor& tgt, const kiln::Tensor& causal) {
    kiln::Tensor memory = encoder->forward(src);
    return decoder->forward(tgt, memory, causal > 0.5);
  }
  nn::TransformerEncoderLayer encoder{nullptr};
  nn::TransformerDecoderLayer decoder{nullptr};
};
KILN_MODULE(Seq2Seq);

TEST(FrontendTransformer, WritesLayersAndMasks) {
  Seq2Seq model;
  std::string text = kiln::model_json(
      model, {kiln::input("src", {2, 5, 8}), kiln::input("tgt", {2, 4, 8}), kiln::input("causal", {4, 4})}, "s2s");
  json doc = json::parse(text);
  json encoder = doc["module"]["children"][0], decoder = doc["module"]["children"][1];
  EXPECT_EQ(encoder["type"], "TransformerEncoderLayer");
  EXPECT_EQ(encoder["options"], json::parse(R"({"d_model": 8, "nhead": 2, "dim_feedforward": 16, "dropout": 0.1,
                                                "activation": "gelu", "layer_norm_eps": 1e-5,
                                                "batch_first": true, "norm_first": false})"));
  EXPECT_EQ(decoder["options"]["norm_first"], true);
  EXPECT_FALSE(encoder.contains("children"));
  json graph = doc["graph"];
  json enc_node = graph[0], dec_node = graph.back();
  EXPECT_EQ(enc_node["options"], json::parse(R"({"src_mask": false, "src_key_padding_mask": false})"));
  EXPECT_EQ(dec_node["options"], json::parse(R"({"tgt_mask": true, "memory_mask": false,
                                                 "tgt_key_padding_mask": false,
                                                 "memory_key_padding_mask": false})"));
  EXPECT_EQ(dec_node["inputs"].size(), 3u);
  std::vector<std::string> names;
  for (const auto& p : model->named_parameters()) names.push_back(p.name);
  std::vector<std::string> want = {
      "encoder.self_attn.in_proj_weight", "encoder.self_attn.in_proj_bias", "encoder.self_attn.out_proj.weight",
      "encoder.self_attn.out_proj.bias",  "encoder.linear1.weight",         "encoder.linear1.bias",
      "encoder.linear2.weight",           "encoder.linear2.bias",           "encoder.norm1.weight",
      "encoder.norm1.bias",               "encoder.norm2.weight",           "encoder.norm2.bias"};
  ASSERT_GE(names.size(), want.size());
  EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + want.size()), want);
  EXPECT_EQ(names.size(), want.size() + 4 + 4 + 4 + 6);  // the decoder's two attentions, linears, three norms
}

TEST(FrontendTransformer, StacksAreContainersOfTheirLayers) {
  auto model = nn::Transformer(nn::TransformerOptions().d_model(4).nhead(2).num_encoder_layers(2).num_decoder_layers(1)
                                   .dim_feedforward(6));
  std::string text =
      kiln::model_json(model, {kiln::input("src", {5, 2, 4}), kiln::input("tgt", {3, 2, 4})}, "tiny");
  json doc = json::parse(text);
  json root = doc["module"];
  EXPECT_EQ(root["type"], "Transformer");
  json encoder = root["children"][0];
  EXPECT_EQ(encoder["name"], "encoder");
  EXPECT_EQ(encoder["type"], "TransformerEncoder");
  EXPECT_EQ(encoder["children"][0]["name"], "layers");
  EXPECT_EQ(encoder["children"][0]["children"].size(), 2u);
  EXPECT_EQ(encoder["children"][1]["type"], "LayerNorm");
  // One node per layer, then the norm: encoder 2 + 1, decoder 1 + 1.
  std::vector<std::string> called;
  for (const json& node : doc["graph"]) called.push_back(node["module"]);
  EXPECT_EQ(called, (std::vector<std::string>{"encoder.layers.0", "encoder.layers.1", "encoder.norm",
                                              "decoder.layers.0", "decoder.norm"}));
  EXPECT_EQ(doc["graph"][3]["inputs"][1], doc["graph"][2]["outputs"][0]);  // memory
  auto params = model->named_parameters();
  EXPECT_EQ(params.front().name, "encoder.layers.0.self_attn.in_proj_weight");
  EXPECT_EQ(params.back().name, "decoder.norm.bias");
  EXPECT_NE(error_of([] { nn::TransformerEncoder(nn::TransformerEncoderOptions(nn::TransformerEncoderLayer(4, 2), 0)); })
                .find("num_layers must be >= 1"),
            std::string::npos);
}

// A user module called Transformer is written as "Module": the importer
// gives the built-in name a meaning (its matrices start xavier_uniform_).
struct TransformerImpl : nn::Module {
  TransformerImpl() { fc = register_module("fc", nn::Linear(3, 3)); }
  kiln::Tensor forward(const kiln::Tensor& x) { return fc(x); }
  nn::Linear fc{nullptr};
};
KILN_MODULE(Transformer);

TEST(FrontendTransformer, AUserModuleNamedTransformerIsAModule) {
  Transformer mine;
  json doc = json::parse(kiln::model_json(mine, {kiln::input("x", {2, 3})}, "mine"));
  EXPECT_EQ(doc["module"]["type"], "Module");
}

TEST(FrontendTransformer, TorchErrors) {
  EXPECT_NE(error_of([] { nn::TransformerEncoderLayer(6, 4); }).find("embed_dim must be divisible by num_heads"),
            std::string::npos);
  EXPECT_NE(error_of([] { nn::TransformerDecoderLayer(nn::TransformerLayerOptions(4, 2).activation("tanh")); })
                .find("activation should be relu/gelu, not tanh"),
            std::string::npos);
}

}  // namespace
