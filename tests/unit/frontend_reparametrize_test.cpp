// torch.nn.utils' re-parametrizations in the DSL (kiln/nn/utils.h): the
// layer node's `reparametrize` entries, the parameters' new state_dict
// names in torch's order (what param_groups expand to), torch's defaults
// (spectral_norm's dim 1 for ConvTranspose) and the errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "frontend_error_of.h"
#include "kiln/kiln.h"

namespace {

namespace nn = kiln::nn;
namespace utils = kiln::nn::utils;
using nlohmann::json;

using kiln_test::error_of;

struct GenImpl : nn::Module {
  GenImpl() {
    fc = register_module("fc", utils::prune::identity(utils::weight_norm(nn::Linear(4, 6)), "bias"));
    up = register_module("up", utils::spectral_norm(nn::ConvTranspose1d(nn::ConvTranspose1dOptions(6, 2, 3))));
  }
  kiln::Tensor forward(const kiln::Tensor& x) { return up(fc(x).unsqueeze(-1)); }
  nn::Linear fc{nullptr};
  nn::ConvTranspose1d up{nullptr};
};
KILN_MODULE(Gen);

TEST(FrontendReparametrize, WritesEntriesAndRenamesParameters) {
  Gen model;
  EXPECT_TRUE(utils::prune::is_pruned(*model));
  json doc = json::parse(kiln::model_json(model, {kiln::input("x", {2, 4})}, "gen"));
  json fc = doc["module"]["children"][0];
  EXPECT_EQ(fc["reparametrize"], json::parse(R"([{"kind": "weight_norm", "parameter": "weight", "dim": 0},
                                                  {"kind": "prune", "parameter": "bias"}])"));
  json up = doc["module"]["children"][1]["reparametrize"][0];
  EXPECT_EQ(up["kind"], "spectral_norm");
  EXPECT_EQ(up["dim"], 1);  // ConvTranspose: [in, out, k], the outputs at dim 1
  EXPECT_EQ(up["n_power_iterations"], 1);
  EXPECT_EQ(up["eps"].get<double>(), 1e-12);
  std::vector<std::string> names;
  for (const auto& p : model->named_parameters()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"fc.weight_g", "fc.weight_v", "fc.bias_orig", "up.bias",
                                             "up.weight_orig"}));
  EXPECT_EQ(model->named_parameters()[0].shape, (kiln::Shape{6, 1}));
}

/// torch.nn.utils.parametrizations: the ParametrizationList's names.
struct ListedImpl : nn::Module {
  ListedImpl() {
    fc = register_module("fc", utils::parametrizations::weight_norm(nn::Linear(4, 6), "weight", std::nullopt));
    up = register_module("up", utils::parametrizations::spectral_norm(
                                   nn::ConvTranspose1d(nn::ConvTranspose1dOptions(6, 2, 3)), "weight", 2));
    // torch: dim None would be 1 for ConvTranspose, out of range for the 1-D bias.
    utils::parametrizations::spectral_norm(*up, "bias", 1, 1e-12, 0);
  }
  kiln::Tensor forward(const kiln::Tensor& x) { return up(fc(x).unsqueeze(-1)); }
  nn::Linear fc{nullptr};
  nn::ConvTranspose1d up{nullptr};
};
KILN_MODULE(Listed);

TEST(FrontendReparametrize, ParametrizationsUseTheirListNames) {
  Listed model;
  EXPECT_TRUE(utils::parametrize::is_parametrized(*model->up));
  EXPECT_TRUE(utils::parametrize::is_parametrized(*model->up, "bias"));
  EXPECT_FALSE(utils::parametrize::is_parametrized(*model->fc, "bias"));
  EXPECT_FALSE(utils::parametrize::is_parametrized(*model));  // torch: the module itself only
  json doc = json::parse(kiln::model_json(model, {kiln::input("x", {2, 4})}, "listed"));
  EXPECT_EQ(doc["module"]["children"][0]["reparametrize"],
            json::parse(R"([{"kind": "parametrizations.weight_norm", "parameter": "weight", "dim": null}])"));
  json up = doc["module"]["children"][1]["reparametrize"][0];
  EXPECT_EQ(up["kind"], "parametrizations.spectral_norm");
  EXPECT_EQ(up["dim"], 1);
  EXPECT_EQ(up["n_power_iterations"], 2);
  std::vector<std::string> names;
  for (const auto& p : model->named_parameters()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"fc.bias", "fc.parametrizations.weight.original0",
                                             "fc.parametrizations.weight.original1",
                                             "up.parametrizations.weight.original",
                                             "up.parametrizations.bias.original"}));
  EXPECT_EQ(model->named_parameters()[1].shape, (kiln::Shape{}));
}

struct TiedImpl : nn::Module {
  TiedImpl() { fc = register_module("fc", utils::weight_norm(nn::Linear(3, 3))); }
  kiln::Tensor forward(const kiln::Tensor& x) { return nn::functional::linear(fc(x), fc->weight); }
  nn::Linear fc{nullptr};
};
KILN_MODULE(Tied);

TEST(FrontendReparametrize, Errors) {
  nn::Linear fc(3, 3);
  EXPECT_NE(error_of([&] { utils::weight_norm(fc, "nope"); }).find("Linear has no parameter 'nope'"),
            std::string::npos);
  utils::weight_norm(fc);
  EXPECT_NE(error_of([&] { utils::spectral_norm(fc); }).find("already re-parametrized (weight_norm)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { utils::weight_norm(nn::Linear(3, 3), "weight", 2); }).find("dim must be in [-1, 2)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { utils::spectral_norm(nn::Linear(3, 3), "weight", 0); }).find("n_power_iterations"),
            std::string::npos);
  EXPECT_NE(error_of([&] { utils::spectral_norm(nn::Linear(3, 3), "weight", 1, 0.0); }).find("eps"),
            std::string::npos);
  struct OwnImpl : nn::Module {
    OwnImpl() { w = register_parameter("w", {2}); }
    kiln::Tensor w;
  };
  OwnImpl own;
  EXPECT_NE(error_of([&] { utils::prune::identity(own, "w"); }).find("built-in layers only"), std::string::npos);
  Tied tied;
  EXPECT_NE(error_of([&] { kiln::model_json(tied, {kiln::input("x", {2, 3})}, "t"); })
                .find("parameter 'fc.weight' is re-parametrized (weight_norm)"),
            std::string::npos);
  EXPECT_FALSE(utils::prune::is_pruned(*tied));
}

}  // namespace

namespace {

/// torch.nn.utils.skip_init(module_cls, ...) on a built-in layer and on a
/// user module (its children inherit it in kilnc).
struct InnerImpl : nn::Module {
  InnerImpl() {
    gain = register_parameter("gain", {3}, kiln::Init::Ones);
    fc = register_module("fc", nn::Linear(3, 3));
  }
  kiln::Tensor forward(const kiln::Tensor& x) { return fc(x * gain); }
  kiln::Tensor gain;
  nn::Linear fc{nullptr};
};
KILN_MODULE(Inner);

struct SkippedImpl : nn::Module {
  SkippedImpl() {
    fc = register_module("fc", utils::skip_init<nn::Linear>(4, 3));
    inner = register_module("inner", utils::skip_init<Inner>());
    head = register_module("head", nn::Linear(3, 2));
  }
  kiln::Tensor forward(const kiln::Tensor& x) { return head(inner(fc(x))); }
  nn::Linear fc{nullptr};
  Inner inner{nullptr};
  nn::Linear head{nullptr};
};
KILN_MODULE(Skipped);

}  // namespace

TEST(FrontendReparametrize, SkipInitMarksTheModuleNode) {
  Skipped model;
  json doc = json::parse(kiln::model_json(model, {kiln::input("x", {2, 4})}, "skipped"));
  json children = doc["module"]["children"];
  EXPECT_EQ(children[0]["skip_init"], true);
  EXPECT_EQ(children[0]["options"]["in_features"], 4);
  EXPECT_EQ(children[1]["skip_init"], true);
  EXPECT_FALSE(children[1]["children"][0].contains("skip_init"));  // inherited in kilnc
  EXPECT_FALSE(children[2].contains("skip_init"));
}
