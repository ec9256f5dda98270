// The DSL's normalization layers (kiln/nn/normalization.h): the options they
// write (libtorch's names in, torch's out; momentum None as null), the
// parameters they declare, lazy layers resolving num_features, and the
// errors torch's constructors and shape checks would raise.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kiln/kiln.h"

namespace {

namespace nn = kiln::nn;
using nlohmann::json;

// The message of the kiln::Error thrown by `f` ("" when none is thrown).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const kiln::Error& e) {
    return e.what();
  }
  return "";
}

// The options the model file records for child `i` of a Sequential.
json child_options(const std::string& text, size_t i) {
  return json::parse(text)["module"]["children"][i]["options"];
}

TEST(FrontendNormalization, BatchNormWritesTorchOptions) {
  auto model = nn::Sequential(nn::BatchNorm2d(32),
                              nn::BatchNorm2d(nn::BatchNorm2dOptions(32).eps(1e-3).momentum(std::nullopt).affine(false)));
  std::string text = kiln::model_json(model, {kiln::input("x", {2, 32, 5, 5})}, "bn");
  EXPECT_EQ(child_options(text, 0), json::parse(R"({"num_features": 32, "eps": 1e-5, "momentum": 0.1,
                                                    "affine": true, "track_running_stats": true})"));
  EXPECT_EQ(child_options(text, 1), json::parse(R"({"num_features": 32, "eps": 1e-3, "momentum": null,
                                                    "affine": false, "track_running_stats": true})"));
  auto params = model->named_parameters();
  ASSERT_EQ(params.size(), 2u);  // the second layer has no affine parameters
  EXPECT_EQ(params[0].name, "0.weight");
  EXPECT_EQ(params[0].init, kiln::Init::Ones);
  EXPECT_EQ(params[1].name, "0.bias");
  EXPECT_EQ(params[1].init, kiln::Init::Zeros);
}

TEST(FrontendNormalization, LazyLayersTakeNumFeaturesFromTheirFirstInput) {
  auto model = nn::Sequential(nn::LazyBatchNorm1d(nn::LazyBatchNormOptions().momentum(0.3)),
                              nn::LazyInstanceNorm1d(nn::LazyInstanceNormOptions().affine(true)));
  std::string text = kiln::model_json(model, {kiln::input("x", {4, 7, 9})}, "lazy");
  EXPECT_EQ(json::parse(text)["module"]["children"][0]["type"], "LazyBatchNorm1d");
  EXPECT_EQ(child_options(text, 0)["num_features"], 7);
  EXPECT_EQ(child_options(text, 1)["num_features"], 7);
  EXPECT_EQ(model->named_parameters().size(), 4u);
}

TEST(FrontendNormalization, LayerGroupInstanceAndLocalResponseNorm) {
  auto model = nn::Sequential(nn::GroupNorm(2, 6), nn::InstanceNorm2d(6), nn::LocalResponseNorm(3),
                              nn::LayerNorm(nn::LayerNormOptions({4, 5}).elementwise_affine(false)));
  std::string text = kiln::model_json(model, {kiln::input("x", {2, 6, 4, 5})}, "norms");
  EXPECT_EQ(child_options(text, 0), json::parse(R"({"num_groups": 2, "num_channels": 6, "eps": 1e-5, "affine": true})"));
  EXPECT_EQ(child_options(text, 1)["affine"], false);
  EXPECT_EQ(child_options(text, 2), json::parse(R"({"size": 3, "alpha": 1e-4, "beta": 0.75, "k": 1.0})"));
  EXPECT_EQ(child_options(text, 3)["normalized_shape"], json::parse("[4, 5]"));
}

struct FunctionalImpl : nn::Module {
  kiln::Tensor forward(kiln::Tensor x) {
    namespace F = nn::functional;
    x = F::layer_norm(x, F::LayerNormFuncOptions({5}).eps(1e-3));
    x = F::group_norm(x, F::GroupNormFuncOptions(2));
    return F::local_response_norm(x, F::LocalResponseNormFuncOptions(3).k(2.0));
  }
};
KILN_MODULE(Functional);

TEST(FrontendNormalization, FunctionalFormsAreGraphFunctions) {
  Functional model;
  json graph = json::parse(kiln::model_json(model, {kiln::input("x", {2, 4, 5})}, "f"))["graph"];
  ASSERT_EQ(graph.size(), 3u);
  EXPECT_EQ(graph[0]["function"], "layer_norm");
  EXPECT_EQ(graph[0]["options"], json::parse(R"({"normalized_shape": [5], "eps": 1e-3})"));
  EXPECT_EQ(graph[1]["function"], "group_norm");
  EXPECT_EQ(graph[1]["options"], json::parse(R"({"num_groups": 2, "eps": 1e-5})"));
  EXPECT_EQ(graph[2]["function"], "local_response_norm");
  EXPECT_EQ(graph[2]["options"], json::parse(R"({"size": 3, "alpha": 1e-4, "beta": 0.75, "k": 2.0})"));
}

TEST(FrontendNormalization, ErrorsNameTheProblem) {
  EXPECT_NE(error_of([] { nn::GroupNorm(4, 6); }).find("divisible by num_groups"), std::string::npos);
  EXPECT_NE(error_of([] { nn::BatchNorm1d(0); }).find("num_features must be >= 1"), std::string::npos);
  EXPECT_NE(error_of([] { nn::LayerNorm(nn::LayerNormOptions(std::vector<int64_t>{})); }).find("at least one dimension"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              kiln::model_json(nn::Sequential(nn::BatchNorm2d(3)), {kiln::input("x", {2, 3, 5})}, "m");
            }).find("expected 4D input"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              kiln::model_json(nn::Sequential(nn::BatchNorm1d(4)), {kiln::input("x", {2, 3})}, "m");
            }).find("num_features is 4"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              kiln::model_json(nn::Sequential(nn::LayerNorm(nn::LayerNormOptions({4, 5}))),
                               {kiln::input("x", {2, 3, 5})}, "m");
            }).find("normalized_shape [4, 5]"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              kiln::model_json(nn::Sequential(nn::InstanceNorm1d(3)), {kiln::input("x", {2, 3, 4, 5})}, "m");
            }).find("expected 2D or 3D input"),
            std::string::npos);
  struct BadGroups : nn::Module {
    kiln::Tensor forward(kiln::Tensor x) {
      return nn::functional::group_norm(x, nn::functional::GroupNormFuncOptions(3));
    }
  };
  EXPECT_NE(error_of([] {
              kiln::model_json(std::make_shared<BadGroups>(), {kiln::input("x", {2, 4, 5})}, "m");
            }).find("divisible by num_groups 3"),
            std::string::npos);
}

}  // namespace

namespace {

// A user module whose forward folds its batch norm statistics (user
// buffers) into a Linear's weight and a Conv1d-shaped weight, as
// torch.nn.utils.fuse_linear_bn_weights / fuse_conv_bn_weights would.
struct FusedImpl : nn::Module {
  FusedImpl() {
    fc = register_module("fc", nn::Linear(nn::LinearOptions(3, 4).bias(false)));
    mean = register_buffer("mean", {4});
    var = register_buffer("var", {4}, nn::init::ones());
    gamma = register_parameter("gamma", {4}, kiln::Init::Ones);
    beta = register_parameter("beta", {4});
    kernel = register_parameter("kernel", {2, 4, 3}, kiln::Init::Normal);
  }
  kiln::Tensor forward(const kiln::Tensor& x) {
    auto [w, b] = nn::utils::fuse_linear_bn_weights(fc->weight, fc->bias, mean, var, 1e-3, gamma, beta);
    auto [kw, kb] = nn::utils::fuse_conv_bn_weights(kernel, std::nullopt, mean, var, 1e-5, gamma, std::nullopt,
                                                    /*transpose=*/true);
    return nn::functional::linear(x, w, b) + kw.sum() + kb.sum();
  }
  nn::Linear fc{nullptr};
  kiln::Tensor mean, var, gamma, beta, kernel;
};
KILN_MODULE(Fused);

}  // namespace

TEST(FrontendFusion, FunctionsRecordTheGivenInputsAndTheirFlags) {
  Fused model;
  json doc = json::parse(kiln::model_json(model, {kiln::input("x", {2, 3})}, "fused"));
  json linear, conv;
  for (const json& node : doc["graph"]) {
    if (node.value("function", "") == "fuse_linear_bn_weights") linear = node;
    if (node.value("function", "") == "fuse_conv_bn_weights") conv = node;
  }
  ASSERT_FALSE(linear.is_null());
  ASSERT_FALSE(conv.is_null());
  // fc has no bias: its undefined handle is torch's None.
  EXPECT_EQ(linear["options"], json::parse(R"({"eps": 0.001, "linear_bias": false})"));
  EXPECT_EQ(linear["inputs"].size(), 5u);
  EXPECT_EQ(linear["outputs"].size(), 2u);
  EXPECT_EQ(conv["options"], json::parse(R"({"eps": 1e-05, "transpose": true, "conv_bias": false,
                                             "bn_weight": true, "bn_bias": false})"));
  EXPECT_EQ(conv["inputs"].size(), 4u);
}

TEST(FrontendFusion, ShapesAreChecked) {
  struct Checked : nn::Module {
    int which = 0;
    kiln::Tensor forward(const kiln::Tensor& x, const kiln::Tensor& c, const kiln::Tensor& d) {
      if (which == 0) nn::utils::fuse_conv_bn_weights(x, std::nullopt, d, c, 1e-5, std::nullopt, std::nullopt);
      if (which == 1) nn::utils::fuse_conv_bn_weights(c, std::nullopt, c, c, 1e-5, std::nullopt, std::nullopt);
      if (which == 2) nn::utils::fuse_linear_bn_weights(x, std::nullopt, c, c, 1e-5, c, c);
      if (which == 3) nn::utils::fuse_conv_bn_weights(x, std::nullopt, d, d, 1e-5, std::nullopt, std::nullopt, true);
      return x * 2.0;
    }
  };
  auto run = [](int which) {
    return error_of([&] {
      auto m = std::make_shared<Checked>();
      m->which = which;
      kiln::model_json(m, {kiln::input("x", {4, 2, 3}), kiln::input("c", {4}), kiln::input("d", {3})}, "m");
    });
  };
  EXPECT_NE(run(0).find("bn_rm [3] must be [4]"), std::string::npos) << run(0);
  EXPECT_NE(run(1).find("must have 3 to 5 dimensions"), std::string::npos) << run(1);
  EXPECT_NE(run(2).find("must be [out_features, in_features]"), std::string::npos) << run(2);
  // transpose: the channels are dimension 1 (2 of them).
  EXPECT_NE(run(3).find("bn_rm [3] must be [2]"), std::string::npos) << run(3);
}
