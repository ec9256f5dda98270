// The losses of the DSL: the training section and the functional forms
// write torch's names and options (docs/model-format.md), and bad
// combinations fail where they are written.
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

template <typename L>
json training_json(const L& loss, kiln::Tensor target, std::vector<int64_t> out = {4, 3}) {
  auto model = nn::Sequential(nn::Linear(5, out.back()));
  std::vector<int64_t> in = out;
  in.back() = 5;
  return json::parse(kiln::model_json(model, {kiln::input("x", in)}, "m",
                                      kiln::Training().loss(loss).target(std::move(target)).optimizer(
                                          kiln::optim::SGD(kiln::optim::SGDOptions(0.1)))))["training"];
}

TEST(FrontendLoss, PointwiseLossesWriteEveryOption) {
  json t = training_json(nn::BCEWithLogitsLoss(nn::BCEWithLogitsLossOptions().reduction(kiln::kSum).pos_weight({1, 2, 3})),
                         kiln::input("y", {4, 3}));
  EXPECT_EQ(t["loss"], json::parse(R"({"type":"BCEWithLogitsLoss",
      "options":{"reduction":"sum","weight":null,"pos_weight":[1.0,2.0,3.0]}})"));
  t = training_json(nn::KLDivLoss(nn::KLDivLossOptions().reduction(kiln::kBatchMean).log_target(true)),
                    kiln::input("y", {4, 3}));
  EXPECT_EQ(t["loss"]["options"], json::parse(R"({"reduction":"batchmean","log_target":true})"));
  t = training_json(nn::PoissonNLLLoss(nn::PoissonNLLLossOptions().log_input(false).full(true).eps(1e-6)),
                    kiln::input("y", {4, 3}));
  EXPECT_EQ(t["loss"]["options"],
            json::parse(R"({"reduction":"mean","log_input":false,"full":true,"eps":1e-6})"));
}

TEST(FrontendLoss, ClassIndexLossesTakeAnyRank) {
  json t = training_json(nn::NLLLoss(nn::NLLLossOptions().ignore_index(2).weight({1, 2, 3})),
                         kiln::input("y", {4}, kiln::kInt64));
  EXPECT_EQ(t["loss"], json::parse(R"({"type":"NLLLoss",
      "options":{"reduction":"mean","ignore_index":2,"weight":[1.0,2.0,3.0]}})"));
  // Probabilities of the output's shape are a CrossEntropyLoss target too.
  t = training_json(nn::CrossEntropyLoss(), kiln::input("p", {4, 3}));
  EXPECT_EQ(t["target"]["dtype"], "float32");
  EXPECT_NE(error_of([] { training_json(nn::NLLLoss(), kiln::input("y", {4, 3}, kiln::kInt64)); })
                .find("NLLLoss expects"),
            std::string::npos);
}

TEST(FrontendLoss, BadOptionsFailWhereTheyAreWritten) {
  EXPECT_NE(error_of([] { nn::HuberLoss(nn::HuberLossOptions().delta(0)); }).find("non-positive values for delta"),
            std::string::npos);
  EXPECT_NE(error_of([] { nn::SmoothL1Loss(nn::SmoothL1LossOptions().beta(-1)); }).find("negative values for beta"),
            std::string::npos);
  EXPECT_NE(error_of([] { nn::L1Loss(nn::L1LossOptions().reduction(kiln::kBatchMean)); }).find("batchmean"),
            std::string::npos);
  EXPECT_NE(error_of([] { training_json(nn::L1Loss(), kiln::input("y", {4, 2})); }).find("L1Loss expects a float32 target"),
            std::string::npos);
}

TEST(FrontendLoss, FunctionalFormsRecordGraphFunctions) {
  struct MImpl : nn::Module {
    MImpl() { fc = register_module("fc", nn::Linear(5, 3)); }
    kiln::Tensor forward(const kiln::Tensor& x, const kiln::Tensor& t) {
      kiln::Tensor per = F::huber_loss(fc(x), t, nn::HuberLossOptions().reduction(kiln::kNone).delta(0.5));
      kiln::Tensor rows = F::multilabel_soft_margin_loss(fc(x), t, nn::MultiLabelSoftMarginLossOptions().reduction(kiln::kNone));
      return F::sum(per) + F::sum(rows);
    }
    nn::Linear fc{nullptr};
  };
  auto m = std::make_shared<MImpl>();
  json j = json::parse(kiln::model_json(m, {kiln::input("x", {4, 5}), kiln::input("t", {4, 3})}, "f"));
  EXPECT_EQ(j["graph"][1]["function"], "huber_loss");
  EXPECT_EQ(j["graph"][1]["options"], json::parse(R"({"reduction":"none","delta":0.5})"));
  EXPECT_EQ(j["graph"][3]["function"], "multilabel_soft_margin_loss");
  EXPECT_NE(error_of([&] {
              kiln::model_json(m, {kiln::input("x", {4, 5}), kiln::input("t", {4, 2})}, "f");
            }).find("must have the input's shape"),
            std::string::npos);
}


// A model of two outputs for the losses of several inputs.
struct TwoHeadsImpl : nn::Module {
  TwoHeadsImpl() {
    a = register_module("a", nn::Linear(5, 3));
    b = register_module("b", nn::Linear(5, 3));
  }
  std::tuple<kiln::Tensor, kiln::Tensor> forward(kiln::Tensor x) { return {a(x), b(x)}; }
  nn::Linear a{nullptr}, b{nullptr};
};
KILN_MODULE(TwoHeads);

json two_heads_training(kiln::Training training) {
  TwoHeads model;
  return json::parse(kiln::model_json(model, {kiln::input("x", {4, 5})}, "m",
                                      training.optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.1)))))["training"];
}

TEST(FrontendLoss, LossInputsNameOutputsAndTheTargetInTorchOrder) {
  json t = two_heads_training(kiln::Training()
                                  .loss(nn::GaussianNLLLoss(nn::GaussianNLLLossOptions().full(true)))
                                  .loss_inputs({0, kiln::Training::kTarget, 1})
                                  .target(kiln::input("y", {4, 3})));
  EXPECT_EQ(t["loss"], json::parse(R"({"type":"GaussianNLLLoss",
      "options":{"reduction":"mean","full":true,"eps":1e-6},"inputs":["v0","y","v1"]})"));
  // Without loss_inputs: the outputs, then the target.
  t = two_heads_training(kiln::Training()
                             .loss(nn::TripletMarginWithDistanceLoss(
                                 nn::TripletMarginWithDistanceLossOptions().distance_function(nn::kCosineDistance)))
                             .target(kiln::input("y", {1})));
  EXPECT_EQ(t["loss"]["options"]["distance_function"], "cosine_distance");
  EXPECT_FALSE(t["loss"].contains("inputs"));
}

TEST(FrontendLoss, LossInputsOfTheWrongCountOrDtypeFail) {
  auto wrong_count = [] {
    two_heads_training(kiln::Training().loss(nn::MarginRankingLoss()).loss_inputs({0, kiln::Training::kTarget})
                           .target(kiln::input("y", {4, 3})));
  };
  EXPECT_NE(error_of(wrong_count).find("MarginRankingLoss takes 3 inputs, Training::loss_inputs names 2"),
            std::string::npos);
  auto bad_index = [] {
    two_heads_training(kiln::Training().loss(nn::MarginRankingLoss()).loss_inputs({0, 2, kiln::Training::kTarget})
                           .target(kiln::input("y", {4, 3})));
  };
  EXPECT_NE(error_of(bad_index).find("2 is neither an output index"), std::string::npos);
  auto int_target = [] {
    two_heads_training(kiln::Training().loss(nn::CosineEmbeddingLoss()).loss_inputs({0, 1, kiln::Training::kTarget})
                           .target(kiln::input("y", {4}, kiln::kInt64)));
  };
  EXPECT_NE(error_of(int_target).find("CosineEmbeddingLoss: target must be float32"), std::string::npos);
  EXPECT_NE(error_of([] { nn::MultiMarginLoss(nn::MultiMarginLossOptions().p(3)); }).find("only p == 1 and p == 2"),
            std::string::npos);
  EXPECT_NE(error_of([] { nn::TripletMarginWithDistanceLoss(nn::TripletMarginWithDistanceLossOptions().margin(0)); })
                .find("greater than 0"),
            std::string::npos);
}

TEST(FrontendLoss, ClassMarginLossesTakeInt64Targets) {
  json t = training_json(nn::MultiMarginLoss(nn::MultiMarginLossOptions().p(2).margin(0.5).weight({1, 2, 3})),
                         kiln::input("y", {4}, kiln::kInt64));
  EXPECT_EQ(t["loss"], json::parse(R"({"type":"MultiMarginLoss",
      "options":{"reduction":"mean","p":2,"margin":0.5,"weight":[1.0,2.0,3.0]}})"));
  t = training_json(nn::MultiLabelMarginLoss(), kiln::input("y", {4, 3}, kiln::kInt64));
  EXPECT_EQ(t["loss"]["type"], "MultiLabelMarginLoss");
  EXPECT_NE(error_of([] { training_json(nn::MultiLabelMarginLoss(), kiln::input("y", {4}, kiln::kInt64)); })
                .find("MultiLabelMarginLoss expects"),
            std::string::npos);
}


// CTCLoss: the lengths named as model inputs (Training::model_input), the
// functional form's per-sample shape, and the tracing checks.
struct CtcNetImpl : nn::Module {
  CtcNetImpl() { proj = register_module("proj", nn::Linear(3, 5)); }
  kiln::Tensor forward(kiln::Tensor x, kiln::Tensor, kiln::Tensor) {
    return F::log_softmax(proj(x), F::LogSoftmaxFuncOptions(-1));
  }
  nn::Linear proj{nullptr};
};
KILN_MODULE(CtcNet);

json ctc_training(kiln::Training training, kiln::Shape lengths = {2}) {
  CtcNet model;
  return json::parse(kiln::model_json(
      model,
      {kiln::input("x", {6, 2, 3}), kiln::input("il", lengths, kiln::kInt64),
       kiln::input("tl", lengths, kiln::kInt64)},
      "m", training.optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.1)))))["training"];
}

TEST(FrontendLoss, CtcLossNamesItsLengthsAsModelInputs) {
  json t = ctc_training(kiln::Training()
                            .loss(nn::CTCLoss(nn::CTCLossOptions().blank(2).reduction(kiln::kSum)))
                            .loss_inputs({0, kiln::Training::kTarget, kiln::Training::model_input(1),
                                          kiln::Training::model_input(2)})
                            .target(kiln::input("labels", {2, 3}, kiln::kInt64)));
  EXPECT_EQ(t["loss"], json::parse(R"({"type":"CTCLoss",
      "options":{"blank":2,"reduction":"sum","zero_infinity":false},
      "inputs":["v1","labels","il","tl"]})"));

  auto no_input = [] {
    ctc_training(kiln::Training().loss(nn::CTCLoss())
                     .loss_inputs({0, kiln::Training::kTarget, kiln::Training::model_input(1),
                                   kiln::Training::model_input(3)})
                     .target(kiln::input("labels", {2, 3}, kiln::kInt64)));
  };
  EXPECT_NE(error_of(no_input).find("-5 is neither an output index"), std::string::npos) << error_of(no_input);
  auto float_lengths = [] {
    ctc_training(kiln::Training().loss(nn::CTCLoss())
                     .loss_inputs({0, kiln::Training::kTarget, 0, kiln::Training::model_input(2)})
                     .target(kiln::input("labels", {2, 3}, kiln::kInt64)));
  };
  EXPECT_NE(error_of(float_lengths).find("CTCLoss: input_lengths must be int64, got float32"), std::string::npos)
      << error_of(float_lengths);
  auto bad_lengths = [] {
    ctc_training(kiln::Training().loss(nn::CTCLoss())
                     .loss_inputs({0, kiln::Training::kTarget, kiln::Training::model_input(1),
                                   kiln::Training::model_input(2)})
                     .target(kiln::input("labels", {2, 3}, kiln::kInt64)),
                 {3});
  };
  EXPECT_NE(error_of(bad_lengths).find("lengths [2], got targets [2, 3], input_lengths [3]"), std::string::npos)
      << error_of(bad_lengths);
  auto blank = [] {
    ctc_training(kiln::Training().loss(nn::CTCLoss(nn::CTCLossOptions().blank(5)))
                     .loss_inputs({0, kiln::Training::kTarget, kiln::Training::model_input(1),
                                   kiln::Training::model_input(2)})
                     .target(kiln::input("labels", {2, 3}, kiln::kInt64)));
  };
  EXPECT_NE(error_of(blank).find("blank 5 must be below the 5 classes"), std::string::npos) << error_of(blank);
}

struct CtcFnNetImpl : nn::Module {
  kiln::Tensor forward(kiln::Tensor x, kiln::Tensor labels, kiln::Tensor il, kiln::Tensor tl) {
    return F::ctc_loss(F::log_softmax(x, F::LogSoftmaxFuncOptions(2)), labels, il, tl,
                       F::CTCLossFuncOptions().reduction(kiln::kNone).zero_infinity(true));
  }
};
KILN_MODULE(CtcFnNet);

TEST(FrontendLoss, CtcLossFunctionGivesOneLossPerSample) {
  CtcFnNet model;
  json m = json::parse(kiln::model_json(model,
                                        {kiln::input("x", {6, 2, 3}), kiln::input("labels", {2, 4}, kiln::kInt64),
                                         kiln::input("il", {2}, kiln::kInt64), kiln::input("tl", {2}, kiln::kInt64)},
                                        "m"));
  json node = m["graph"].back();
  EXPECT_EQ(node["function"], "ctc_loss");
  EXPECT_EQ(node["options"], json::parse(R"({"blank":0,"reduction":"none","zero_infinity":true})"));
  EXPECT_EQ(node["inputs"], json::parse(R"(["v0","labels","il","tl"])"));
}

}  // namespace

namespace {

// A loss of model outputs only needs no target: the triplet losses with
// loss_inputs naming outputs, and loss_output (a loss computed in forward).
struct ScalarLossImpl : nn::Module {
  ScalarLossImpl() { a = register_module("a", nn::Linear(5, 3)); }
  std::tuple<kiln::Tensor, kiln::Tensor> forward(kiln::Tensor x) {
    kiln::Tensor h = a(x);
    return {h, (h * h).mean()};
  }
  nn::Linear a{nullptr};
};
KILN_MODULE(ScalarLoss);

TEST(FrontendLoss, LossesWithoutATarget) {
  json t = two_heads_training(
      kiln::Training().loss(nn::TripletMarginLoss()).loss_inputs({0, 1, 1}));
  EXPECT_FALSE(t.contains("target")) << t.dump(2);
  EXPECT_EQ(t["loss"]["inputs"], json::parse(R"(["v0","v1","v1"])"));
  // Naming the target, or the default inputs (outputs, then the target),
  // needs one.
  EXPECT_NE(error_of([] {
              two_heads_training(kiln::Training().loss(nn::MarginRankingLoss()).loss_inputs(
                  {0, 1, kiln::Training::kTarget}));
            }).find("Training has no target, but Training::loss_inputs names Training::kTarget"),
            std::string::npos);
  EXPECT_NE(error_of([] { two_heads_training(kiln::Training().loss(nn::TripletMarginLoss())); })
                .find("Training has no target"),
            std::string::npos);

  ScalarLoss model;
  auto save = [&](kiln::Training training) {
    return json::parse(kiln::model_json(
        model, {kiln::input("x", {4, 5})}, "m",
        training.optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.1)))))["training"];
  };
  json own = save(kiln::Training().loss_output(1));
  EXPECT_EQ(own["loss"], json::parse(R"({"output":"v2"})")) << own.dump(2);
  EXPECT_FALSE(own.contains("target"));
  EXPECT_NE(error_of([&] { save(kiln::Training().loss_output(0)); }).find("must be a float32 scalar"),
            std::string::npos);
  EXPECT_NE(error_of([&] { save(kiln::Training().loss_output(2)); }).find("is not an output index"),
            std::string::npos);
  EXPECT_NE(error_of([&] { save(kiln::Training().loss_output(1).loss(nn::MSELoss())); })
                .find("both a loss module and a loss_output"),
            std::string::npos);
}

}  // namespace
