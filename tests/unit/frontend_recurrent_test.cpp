// The DSL's recurrent layers (kiln/nn/recurrent.h): the options each writes
// (nonlinearity for RNN only, proj_size for LSTM only), parameters in
// torch's state_dict order, the states as inputs and outputs of the node,
// and torch's constructor errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "frontend_error_of.h"
#include "kiln/kiln.h"

namespace {

namespace nn = kiln::nn;
using nlohmann::json;

using kiln_test::error_of;

struct TaggerImpl : nn::Module {
  TaggerImpl() {
    lstm = register_module("lstm", nn::LSTM(nn::LSTMOptions(4, 6).num_layers(2).bidirectional(true).proj_size(3)
                                                .batch_first(true).dropout(0.2)));
    cell = register_module("cell", nn::GRUCell(6, 5));
  }
  std::vector<kiln::Tensor> forward(const kiln::Tensor& x, const kiln::Tensor& h0, const kiln::Tensor& c0) {
    auto [out, state] = lstm->forward(x, std::make_tuple(h0, c0));
    kiln::Tensor h = cell->forward(std::get<1>(state).sum({0}));
    return {out, h};
  }
  nn::LSTM lstm{nullptr};
  nn::GRUCell cell{nullptr};
};
KILN_MODULE(Tagger);

TEST(FrontendRecurrent, WritesOptionsStatesAndParameters) {
  Tagger model;
  std::string text = kiln::model_json(
      model, {kiln::input("x", {2, 7, 4}), kiln::input("h0", {4, 2, 3}), kiln::input("c0", {4, 2, 6})}, "tagger");
  json doc = json::parse(text);
  json lstm = doc["module"]["children"][0];
  EXPECT_EQ(lstm["type"], "LSTM");
  EXPECT_EQ(lstm["options"], json::parse(R"({"input_size": 4, "hidden_size": 6, "num_layers": 2, "bias": true,
                                             "batch_first": true, "dropout": 0.2, "bidirectional": true,
                                             "proj_size": 3})"));
  EXPECT_EQ(doc["module"]["children"][1]["options"],
            json::parse(R"({"input_size": 6, "hidden_size": 5, "bias": true})"));
  json node = doc["graph"][0];
  EXPECT_EQ(node["inputs"].size(), 3u);
  EXPECT_EQ(node["outputs"].size(), 3u);  // output, h_n, c_n
  std::vector<std::string> names;
  for (const auto& p : model->named_parameters()) names.push_back(p.name);
  ASSERT_EQ(names.size(), 4u * 5u + 4u);
  EXPECT_EQ(names[0], "lstm.weight_ih_l0");
  EXPECT_EQ(names[4], "lstm.weight_hr_l0");
  EXPECT_EQ(names[5], "lstm.weight_ih_l0_reverse");
  EXPECT_EQ(names[10], "lstm.weight_ih_l1");
  EXPECT_EQ(names[20], "cell.weight_ih");
}

TEST(FrontendRecurrent, TorchErrors) {
  EXPECT_NE(error_of([] { nn::GRU(nn::GRUOptions(3, 4).proj_size(2)); }).find("only supported for LSTM"),
            std::string::npos);
  EXPECT_NE(error_of([] { nn::LSTM(nn::LSTMOptions(3, 4).proj_size(4)); }).find("smaller than hidden_size"),
            std::string::npos);
  EXPECT_NE(error_of([] { nn::RNN(nn::RNNOptions(3, 4).nonlinearity("sigmoid")); }).find("unknown nonlinearity"),
            std::string::npos);
  EXPECT_NE(error_of([] { nn::RNN(nn::RNNOptions(3, 4).dropout(2.0)); }).find("range [0, 1]"), std::string::npos);
}

}  // namespace
