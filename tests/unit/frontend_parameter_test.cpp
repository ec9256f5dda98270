// A module's own parameters in the DSL (Module::register_parameter's handle,
// nn::ParameterList, nn::ParameterDict, nn::ModuleDict, kiln/init.h): what
// the model file gets (the node's "parameters" with exact init numbers, a
// `parameter` node at the first use only), torch's init formulas, and the
// errors of misuse.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "frontend_error_of.h"
#include "kiln/kiln.h"

namespace {

namespace nn = kiln::nn;
namespace F = kiln::nn::functional;
using nlohmann::json;

using kiln_test::error_of;

struct HeadImpl : nn::Module {
  HeadImpl() {
    fc = register_module("fc", nn::Linear(4, 3));
    pos = register_parameter("pos", {4}, nn::init::normal(0, 1.2345678901234567e-5));
    unused = register_parameter("unused", {2, 2}, kiln::Init::XavierUniform);
    experts = register_module("experts", nn::ModuleDict());
    experts->insert("a", nn::Linear(3, 3));
    plist = register_module("plist", nn::ParameterList());
    plist->append({3, 3}, nn::init::kaiming_normal(0, "fan_out", "relu"));
    plist->append({}, nn::init::constant(0.3));
  }
  kiln::Tensor forward(const kiln::Tensor& x) {
    kiln::Tensor h = fc(x + pos + pos);  // one parameter node for both uses
    h = (*experts)["a"](F::linear(h, plist[0]) * plist[1]);
    return F::linear(h.tanh(), fc->weight.t());  // tied: [3, 4] -> 4 outputs
  }
  nn::Linear fc{nullptr};
  nn::ModuleDict experts{nullptr};
  nn::ParameterList plist{nullptr};
  kiln::Tensor pos, unused;
};
KILN_MODULE(Head);

TEST(FrontendParameter, WritesParametersAndParameterNodes) {
  Head model;
  json doc = json::parse(kiln::model_json(model, {kiln::input("x", {2, 4})}, "head"));
  json root = doc["module"];
  ASSERT_EQ(root["parameters"].size(), 2u);
  EXPECT_EQ(root["parameters"][0]["name"], "pos");
  EXPECT_EQ(root["parameters"][0]["init"]["kind"], "normal");
  // Exactly the number given: it crosses a text boundary.
  EXPECT_EQ(root["parameters"][0]["init"]["std"].get<double>(), 1.2345678901234567e-5);
  // xavier_uniform_ of [2, 2]: sqrt(6 / 4).
  EXPECT_DOUBLE_EQ(root["parameters"][1]["init"]["b"].get<double>(), std::sqrt(1.5));
  json plist = root["children"][2];
  EXPECT_EQ(plist["type"], "ParameterList");
  EXPECT_EQ(plist["parameters"][0]["name"], "0");
  // kaiming_normal_(mode=fan_out, relu) of [3, 3]: sqrt(2) / sqrt(3).
  EXPECT_DOUBLE_EQ(plist["parameters"][0]["init"]["std"].get<double>(), std::sqrt(2.0 / 3.0));
  EXPECT_EQ(plist["parameters"][1]["init"], json::parse(R"({"kind": "constant", "value": 0.3})"));
  EXPECT_EQ(root["children"][1]["type"], "ModuleDict");
  EXPECT_EQ(root["children"][1]["children"][0]["name"], "a");

  std::vector<std::string> read;
  for (const json& node : doc["graph"]) {
    if (node.contains("parameter")) {
      read.push_back(node["parameter"]);
      EXPECT_EQ(node["inputs"], json::array());
    }
  }
  // At the first use, once each; `unused` is never read; the tied weight's
  // node has no loc (its registration is inside the DSL).
  EXPECT_EQ(read, (std::vector<std::string>{"pos", "plist.0", "plist.1", "fc.weight"}));
  for (const json& node : doc["graph"]) {
    if (node.value("parameter", "") == "fc.weight") EXPECT_FALSE(node.contains("loc"));
    if (node.value("parameter", "") == "pos") EXPECT_TRUE(node.contains("loc"));
  }
  std::vector<std::string> names;
  for (const auto& p : model->named_parameters()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"pos", "unused", "fc.weight", "fc.bias", "experts.a.weight",
                                             "experts.a.bias", "plist.0", "plist.1"}));
}

TEST(FrontendParameter, InitFormulas) {
  using nn::init::resolve;
  // kaiming_uniform_(a=sqrt(5)) of [out=6, in=4, 3]: 1 / sqrt(fan_in = 12).
  auto k = resolve(nn::init::kaiming_uniform(std::sqrt(5.0)), {6, 4, 3}, "w");
  EXPECT_EQ(k.kind, nn::init::Spec::Uniform);
  EXPECT_DOUBLE_EQ(k.b, 1.0 / std::sqrt(12.0));
  auto x = resolve(nn::init::xavier_normal(2.0), {6, 4}, "w");
  EXPECT_DOUBLE_EQ(x.b, 2.0 * std::sqrt(2.0 / 10.0));
  EXPECT_DOUBLE_EQ(nn::init::calculate_gain("leaky_relu"), std::sqrt(2.0 / (1 + 0.01 * 0.01)));
  EXPECT_DOUBLE_EQ(nn::init::calculate_gain("tanh"), 5.0 / 3.0);
  EXPECT_NE(error_of([] { resolve(nn::init::xavier_uniform(), {5}, "parameter 'v'"); })
                .find("parameter 'v': fan in and fan out can not be computed"),
            std::string::npos);
  EXPECT_NE(error_of([] { nn::init::calculate_gain("swish"); }).find("unsupported nonlinearity"), std::string::npos);
  EXPECT_NE(error_of([] { resolve(nn::init::uniform(1, 0), {2}, "w"); }).find("lower bound"), std::string::npos);
}

struct LayerInitImpl : nn::Module {
  LayerInitImpl() { w = register_parameter("w", {3}, kiln::Init::FanInUniform); }
  kiln::Tensor forward(const kiln::Tensor& x) { return x * w; }
  kiln::Tensor w;
};
KILN_MODULE(LayerInit);

struct Stray : nn::Module {
  Stray() { w = register_parameter("w", {3}); }
  kiln::Tensor w;
};

TEST(FrontendParameter, Errors) {
  LayerInit layer_init;
  EXPECT_NE(error_of([&] { kiln::model_json(layer_init, {kiln::input("x", {3})}, "m"); })
                .find("Init::FanInUniform and Init::Constant take their numbers from a built-in layer"),
            std::string::npos);
  // A handle of a module outside the model.
  auto stray = std::make_shared<Stray>();
  struct UsesStrayImpl : nn::Module {
    kiln::Tensor w;
    kiln::Tensor forward(const kiln::Tensor& x) { return x + w; }
  };
  auto model = std::make_shared<UsesStrayImpl>();
  model->w = stray->w;
  nn::ModuleHolder<UsesStrayImpl> holder(model);
  EXPECT_NE(error_of([&] { kiln::model_json(holder, {kiln::input("x", {3})}, "m"); })
                .find("not part of the model being traced"),
            std::string::npos);
  // Outside a trace.
  EXPECT_NE(error_of([&] { (void)stray->w.name(); }).find("used outside kiln::save_model"), std::string::npos);
  // Names.
  EXPECT_NE(error_of([&] { stray->register_parameter("a.b", {1}); }).find("contain no '.'"), std::string::npos);
  EXPECT_NE(error_of([&] { stray->register_parameter("w", {1}); }).find("already has a parameter named 'w'"),
            std::string::npos);
  nn::ParameterList list;
  EXPECT_NE(error_of([&] { (void)list[0]; }).find("ParameterList index 0 out of range"), std::string::npos);
  nn::ParameterDict dict;
  EXPECT_NE(error_of([&] { (void)dict["k"]; }).find("has no parameter 'k'"), std::string::npos);
  nn::ModuleDict modules;
  modules->insert("k", nn::Linear(1, 1));
  EXPECT_NE(error_of([&] { modules->insert("k", nn::Linear(1, 1)); }).find("already has a submodule named 'k'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { (void)(*modules)["z"]; }).find("no module under key 'z'"), std::string::npos);
}

}  // namespace

namespace {

struct TwoLayersImpl : kiln::nn::Module {
  TwoLayersImpl() {
    body = register_module("body", kiln::nn::Linear(3, 3));
    head = register_module("head", kiln::nn::Linear(3, 2));
  }
  kiln::Tensor forward(const kiln::Tensor& x) { return head(body(x)); }
  kiln::nn::Linear body{nullptr}, head{nullptr};
};
KILN_MODULE(TwoLayers);

// Training::frozen: written as training.frozen; every entry names a
// parameter or a module with parameters.
TEST(FrontendParameter, FrozenParameters) {
  TwoLayers model;
  auto training = [](std::vector<std::string> frozen) {
    return kiln::Training()
        .loss(kiln::nn::MSELoss())
        .target(kiln::input("t", {2, 2}))
        .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.1)))
        .frozen(std::move(frozen));
  };
  json doc = json::parse(kiln::model_json(model, {kiln::input("x", {2, 3})}, "m", training({"body", "head.bias"})));
  EXPECT_EQ(doc["training"]["frozen"], json::parse(R"(["body", "head.bias"])"));
  EXPECT_NE(kiln_test::error_of([&] { kiln::model_json(model, {kiln::input("x", {2, 3})}, "m", training({"bod"})); })
                .find("Training::frozen: 'bod' is no parameter and no module with parameters"),
            std::string::npos);
}

/// register_buffer: a fixed encoding and a scale, read like parameters.
struct EncodedImpl : nn::Module {
  EncodedImpl() {
    fc = register_module("fc", nn::Linear(4, 2));
    pe = register_buffer("pe", {3, 4}, nn::init::normal(0, 0.5));
    scale = register_buffer("scale", {4});
  }
  kiln::Tensor forward(const kiln::Tensor& x) { return fc((x + pe) * scale + pe); }
  nn::Linear fc{nullptr};
  kiln::Tensor pe, scale;
};
KILN_MODULE(Encoded);

TEST(FrontendParameter, BuffersAreWrittenAndReadLikeParameters) {
  Encoded model;
  json doc = json::parse(kiln::model_json(model, {kiln::input("x", {3, 4})}, "encoded"));
  EXPECT_EQ(doc["module"]["buffers"],
            json::parse(R"([{"name": "pe", "shape": [3, 4], "init": {"kind": "normal", "mean": 0.0, "std": 0.5}},
                            {"name": "scale", "shape": [4], "init": {"kind": "zeros"}}])"));
  EXPECT_FALSE(doc["module"].contains("parameters"));
  int reads = 0;
  for (const json& node : doc["graph"]) reads += node.contains("parameter");
  EXPECT_EQ(reads, 2);  // one node per buffer, however often it is used
  EXPECT_EQ(doc["graph"][0]["parameter"], "pe");
  // Not a parameter: named_parameters has the Linear's only.
  EXPECT_EQ(model->named_parameters().size(), 2u);
  nn::Linear fc(2, 2);
  EXPECT_NE(error_of([&] { fc->register_buffer("b", {2}); }).find("built-in layer"), std::string::npos);
  EXPECT_NE(error_of([&] { model->register_buffer("pe", {2}); }).find("already has a buffer named 'pe'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { model->register_parameter("scale", {2}); }).find("already has a buffer"),
            std::string::npos);
}

}  // namespace
