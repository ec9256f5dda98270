// nn::EmbeddingBag and F::embedding_bag in the DSL: the model file gets
// torch's options and the inputs in torch's order (input, offsets,
// per_sample_weights), and torch's argument errors fail where they are
// written.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kiln/kiln.h"

namespace {

namespace nn = kiln::nn;
namespace F = kiln::nn::functional;
using nlohmann::json;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const kiln::Error& e) {
    return e.what();
  }
  return "";
}

/// bag(x[, offsets[, weights]]) with as many inputs as the model is given.
struct BagNetImpl : nn::Module {
  explicit BagNetImpl(const nn::EmbeddingBagOptions& options) {
    bag = register_module("bag", nn::EmbeddingBag(options));
  }
  kiln::Tensor forward(kiln::Tensor x) { return bag(x); }
  kiln::Tensor forward(kiln::Tensor x, kiln::Tensor offsets) { return bag(x, offsets); }
  kiln::Tensor forward(kiln::Tensor x, kiln::Tensor offsets, kiln::Tensor weights) {
    return bag(x, offsets, weights);
  }
  nn::EmbeddingBag bag{nullptr};
};
KILN_MODULE(BagNet);

json model_of(const nn::EmbeddingBagOptions& options, std::vector<kiln::Tensor> inputs) {
  BagNet net(options);
  return json::parse(kiln::model_json(net, inputs, "m"));
}

TEST(FrontendEmbeddingBag, WritesTorchsOptionsAndInputs) {
  json m = model_of(nn::EmbeddingBagOptions(10, 4).mode(kiln::kSum).include_last_offset(true).padding_idx(-1),
                    {kiln::input("x", {6}, kiln::kInt64), kiln::input("offsets", {4}, kiln::kInt64),
                     kiln::input("w", {6})});
  EXPECT_EQ(m["module"]["children"][0]["options"], json::parse(R"({"num_embeddings":10,"embedding_dim":4,
      "max_norm":null,"norm_type":2.0,"scale_grad_by_freq":false,"mode":"sum","sparse":false,
      "include_last_offset":true,"padding_idx":-1})"));
  EXPECT_EQ(m["graph"][0]["inputs"], json::parse(R"(["x","offsets","w"])"));
  m = model_of(nn::EmbeddingBagOptions(10, 4).mode(kiln::kMax), {kiln::input("x", {3, 5}, kiln::kInt64)});
  EXPECT_EQ(m["module"]["children"][0]["options"]["mode"], "max");
}

TEST(FrontendEmbeddingBag, TorchsArgumentErrorsFailWhereWritten) {
  auto opts = nn::EmbeddingBagOptions(10, 4);
  EXPECT_NE(error_of([&] {
              model_of(opts, {kiln::input("x", {2, 3}, kiln::kInt64), kiln::input("o", {2}, kiln::kInt64)});
            }).find("if input is 2D, then offsets has to be None"),
            std::string::npos);
  EXPECT_NE(error_of([&] { model_of(opts, {kiln::input("x", {6}, kiln::kInt64)}); })
                .find("offsets has to be a 1D Tensor but got None"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              model_of(opts, {kiln::input("x", {6}, kiln::kInt64), kiln::input("o", {2}, kiln::kInt64),
                              kiln::input("w", {6})});
            }).find("only supported for mode='sum'"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              model_of(nn::EmbeddingBagOptions(10, 4).mode(kiln::kMax).scale_grad_by_freq(true),
                       {kiln::input("x", {2, 3}, kiln::kInt64)});
            }).find("max mode does not support"),
            std::string::npos);
  EXPECT_NE(error_of([] { nn::EmbeddingBagOptions(10, 4).mode(kiln::kNone); }).find("kSum, kMean or kMax"),
            std::string::npos);
  EXPECT_NE(error_of([] { nn::EmbeddingBag(nn::EmbeddingBagOptions(10, 4).padding_idx(10)); })
                .find("padding_idx must be within num_embeddings"),
            std::string::npos);
}

struct FnNetImpl : nn::Module {
  kiln::Tensor forward(kiln::Tensor x, kiln::Tensor offsets, kiln::Tensor w) {
    return F::embedding_bag(x, w, F::EmbeddingBagFuncOptions().offsets(offsets).mode(kiln::kSum));
  }
};
KILN_MODULE(FnNet);

TEST(FrontendEmbeddingBag, FunctionalFormWritesOffsetsAfterTheWeight) {
  FnNet net;
  json m = json::parse(kiln::model_json(net, {kiln::input("x", {6}, kiln::kInt64),
                                              kiln::input("o", {2}, kiln::kInt64), kiln::input("w", {5, 3})},
                                        "m"));
  ASSERT_EQ(m["graph"].size(), 1u);
  EXPECT_EQ(m["graph"][0]["function"], "embedding_bag");
  EXPECT_EQ(m["graph"][0]["inputs"], json::parse(R"(["x","w","o"])"));
}

}  // namespace
