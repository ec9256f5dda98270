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
