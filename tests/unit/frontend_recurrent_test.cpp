// The DSL's recurrent layers (kiln/nn/recurrent.h): the options each writes
// (nonlinearity for RNN only, proj_size for LSTM only), parameters in
// torch's state_dict order, the states as inputs and outputs of the node,
// and torch's constructor errors.
#include <gtest/gtest.h>

#include <functional>

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

/// A packed batch through a GRU: pack_padded_sequence (lengths an int64
/// input), pad_packed_sequence; and pack_sequence / unpack_sequence.
struct PackedImpl : nn::Module {
  PackedImpl() { gru = register_module("gru", nn::GRU(nn::GRUOptions(3, 4).batch_first(true))); }
  std::vector<kiln::Tensor> forward(const kiln::Tensor& x, const kiln::Tensor& lengths, const kiln::Tensor& a,
                                    const kiln::Tensor& b) {
    namespace rnn = nn::utils::rnn;
    auto [out, h] = gru(rnn::pack_padded_sequence(x, lengths, true, false));
    auto [padded, n] = rnn::pad_packed_sequence(out, true, -1.0, 7);
    auto [out2, h2] = gru(rnn::pack_sequence({a, b}));
    std::vector<kiln::Tensor> pieces = rnn::unpack_sequence(out2);
    return {padded, h, pieces[1]};
  }
  nn::GRU gru{nullptr};
};
KILN_MODULE(Packed);

TEST(FrontendRecurrent, PackedSequencesRecordThePairAndTheirShapes) {
  Packed model;
  json doc = json::parse(kiln::model_json(model,
                                          {kiln::input("x", {2, 5, 3}), kiln::input("n", {2}, kiln::kInt64),
                                           kiln::input("a", {4, 3}), kiln::input("b", {2, 3})},
                                          "packed"));
  json graph = doc["graph"];
  EXPECT_EQ(graph[0]["function"], "utils.rnn.pack_padded_sequence");
  EXPECT_EQ(graph[0]["options"],
            json::parse(R"({"batch_first": true, "enforce_sorted": false, "lengths": null})"));
  EXPECT_EQ(graph[0]["inputs"], json::array({"x", "n"}));
  ASSERT_EQ(graph[0]["outputs"].size(), 2u);
  // The GRU takes the pair, data then lengths, and gives data then h_n.
  EXPECT_EQ(graph[1]["module"], "gru");
  EXPECT_EQ(graph[1]["inputs"], graph[0]["outputs"]);
  EXPECT_EQ(graph[2]["function"], "utils.rnn.pad_packed_sequence");
  EXPECT_EQ(graph[2]["options"],
            json::parse(R"({"batch_first": true, "padding_value": -1.0, "total_length": 7})"));
  EXPECT_EQ(graph[3]["function"], "utils.rnn.pack_sequence");
  EXPECT_EQ(graph[5]["function"], "utils.rnn.unpack_sequence");
  EXPECT_EQ(graph[5]["outputs"].size(), 2u);
}

TEST(FrontendRecurrent, PackedSequenceErrors) {
  namespace rnn = nn::utils::rnn;
  auto traced = [](std::function<void(const kiln::Tensor&)> body) {
    return error_of([&] {
      struct M : nn::Module {
        std::function<void(const kiln::Tensor&)> body;
        kiln::Tensor forward(const kiln::Tensor& x) {
          body(x);
          return x * 2.0;
        }
      };
      auto m = std::make_shared<M>();
      m->body = body;
      kiln::model_json(m, {kiln::input("x", {4, 2, 3})}, "m");
    });
  };
  EXPECT_NE(traced([](const kiln::Tensor& x) { rnn::pack_padded_sequence(x, std::vector<int64_t>{4, 0}); })
                .find("Length of all samples has to be greater than 0"),
            std::string::npos);
  EXPECT_NE(traced([](const kiln::Tensor& x) { rnn::pack_padded_sequence(x, std::vector<int64_t>{2, 3}); })
                .find("must be sorted in decreasing order"),
            std::string::npos);
  EXPECT_NE(traced([](const kiln::Tensor& x) { rnn::pack_padded_sequence(x, std::vector<int64_t>{5, 3}, false, false); })
                .find("longer than the padded input's 4 steps"),
            std::string::npos);
  EXPECT_NE(traced([](const kiln::Tensor& x) { rnn::pack_padded_sequence(x, x); }).find("lengths must be an int64"),
            std::string::npos);
  EXPECT_NE(traced([](const kiln::Tensor& x) {
              rnn::pad_sequence({x.reshape({4, 6}), x.reshape({8, 3})});
            }).find("trailing dimensions"),
            std::string::npos);
  EXPECT_NE(traced([](const kiln::Tensor& x) {
              rnn::unpack_sequence(rnn::PackedSequence(x, x));
            }).find("needs the lengths known when tracing"),
            std::string::npos);
}

}  // namespace
