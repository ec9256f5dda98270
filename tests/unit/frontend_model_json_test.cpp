// The model file the DSL writes, field by field (docs/model-format.md).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "kiln/kiln.h"

namespace {

namespace nn = kiln::nn;
using nlohmann::json;

std::string temp_dir() {
  std::string dir = ::testing::TempDir() + "kiln_frontend_XXXXXX";
  if (!::mkdtemp(dir.data())) throw std::runtime_error("mkdtemp failed");
  return dir;
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

TEST(FrontendModelJson, SequentialMlpMatchesFormat) {
  auto model = nn::Sequential(nn::Flatten(), nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 10));
  std::string path = temp_dir() + "/mlp.json";
  const int line = __LINE__ + 1;
  kiln::save_model(model, {kiln::input("x", {128, 1, 28, 28})}, path,
                   kiln::Training()
                       .loss(nn::CrossEntropyLoss())
                       .target(kiln::input("target", {128}, kiln::kInt64))
                       .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.01).momentum(0.9))));
  json j = read_json(path);
  const std::string loc = "frontend_model_json_test.cpp:" + std::to_string(line);

  json expected = {
      {"format", "kiln-model"},
      {"version", 1},
      {"name", "mlp"},  // the file stem
      {"inputs", {{{"name", "x"}, {"shape", {128, 1, 28, 28}}, {"dtype", "float32"}}}},
      {"module",
       {{"type", "Sequential"},
        {"children",
         {{{"name", "0"}, {"type", "Flatten"}, {"options", {{"start_dim", 1}, {"end_dim", -1}}}},
          {{"name", "1"}, {"type", "Linear"}, {"options", {{"in_features", 784}, {"out_features", 512}, {"bias", true}}}},
          {{"name", "2"}, {"type", "ReLU"}, {"options", json::object()}},
          {{"name", "3"}, {"type", "Linear"}, {"options", {{"in_features", 512}, {"out_features", 10}, {"bias", true}}}}}}}},
      {"graph",
       {{{"module", "0"}, {"inputs", {"x"}}, {"outputs", {"v0"}}, {"loc", loc}},
        {{"module", "1"}, {"inputs", {"v0"}}, {"outputs", {"v1"}}, {"loc", loc}},
        {{"module", "2"}, {"inputs", {"v1"}}, {"outputs", {"v2"}}, {"loc", loc}},
        {{"module", "3"}, {"inputs", {"v2"}}, {"outputs", {"v3"}}, {"loc", loc}}}},
      {"outputs", {"v3"}},
      {"training",
       {{"loss",
         {{"type", "CrossEntropyLoss"},
          {"options", {{"reduction", "mean"}, {"label_smoothing", 0.0}, {"ignore_index", -100}, {"weight", nullptr}}}}},
        {"target", {{"name", "target"}, {"shape", {128}}, {"dtype", "int64"}}},
        {"optimizer",
         {{"type", "SGD"},
          {"options",
           {{"lr", 0.01},
            {"momentum", 0.9},
            {"dampening", 0.0},
            {"weight_decay", 0.0},
            {"nesterov", false},
            {"maximize", false}}}}}}}};
  EXPECT_EQ(j, expected) << j.dump(2);
  // Floats stay floats (the importer may check types): 0.0, not 0.
  EXPECT_TRUE(j["training"]["loss"]["options"]["label_smoothing"].is_number_float());
  EXPECT_TRUE(j["training"]["optimizer"]["options"]["dampening"].is_number_float());
}

TEST(FrontendModelJson, KeysAreWrittenInSpecOrder) {
  auto model = nn::Sequential(nn::Linear(4, 3));
  std::string text = kiln::model_json(model, {kiln::input("x", {2, 4})}, "tiny");
  std::vector<std::string> keys = {"\"format\"", "\"version\"", "\"name\"", "\"inputs\"",
                                   "\"module\"", "\"graph\"", "\"outputs\""};
  size_t last = 0;
  for (const std::string& k : keys) {
    size_t at = text.find(k);
    ASSERT_NE(at, std::string::npos) << k;
    EXPECT_GT(at, last) << k;
    last = at;
  }
  EXPECT_EQ(text.find("\"training\""), std::string::npos);  // inference-only
}

struct BlockImpl : nn::Module {
  BlockImpl() {
    fc = register_module("fc", nn::Linear(nn::LinearOptions(8, 8).bias(false)));
    act = register_module("act", nn::ReLU());
  }
  kiln::Tensor forward(kiln::Tensor x) {
    // Residual: the shared `fc` runs twice on the same parameters.
    kiln::Tensor h = act(fc(x));
    h = fc(h);
    return x + h;
  }
  nn::Linear fc{nullptr};
  nn::ReLU act{nullptr};
};
KILN_MODULE(Block);

struct NetImpl : nn::Module {
  NetImpl() {
    stem = register_module("stem", nn::Linear(16, 8));
    blocks = register_module("blocks", nn::ModuleList(Block(), Block()));
    head = register_module("head", nn::Sequential(nn::Linear(8, 4), nn::ReLU()));
  }
  kiln::Tensor forward(kiln::Tensor x, kiln::Tensor scale) {
    x = stem(x);
    for (const auto& block : *blocks) x = block(x);
    x = x * scale;
    return nn::functional::relu(head(x));
  }
  nn::Linear stem{nullptr};
  nn::ModuleList blocks{nullptr};
  nn::Sequential head{nullptr};
};
KILN_MODULE(Net);

TEST(FrontendModelJson, UserModuleWithResidualAndSharedModule) {
  Net net;
  json j = json::parse(kiln::model_json(
      net, {kiln::input("x", {32, 16}), kiln::input("scale", {8})}, "net",
      kiln::Training().loss(nn::MSELoss()).target(kiln::input("y", {32, 4})).optimizer(
          kiln::optim::SGD(kiln::optim::SGDOptions(0.1)))));

  EXPECT_EQ(j["inputs"], json::parse(R"([{"name":"x","shape":[32,16],"dtype":"float32"},
                                          {"name":"scale","shape":[8],"dtype":"float32"}])"));
  json block = json::parse(R"({"type":"Block","children":[
      {"name":"fc","type":"Linear","options":{"in_features":8,"out_features":8,"bias":false}},
      {"name":"act","type":"ReLU","options":{}}]})");
  json b0 = block, b1 = block;
  b0["name"] = "0";
  b1["name"] = "1";
  json expected_module = {
      {"type", "Net"},
      {"children",
       {{{"name", "stem"}, {"type", "Linear"}, {"options", {{"in_features", 16}, {"out_features", 8}, {"bias", true}}}},
        {{"name", "blocks"}, {"type", "ModuleList"}, {"children", {b0, b1}}},
        {{"name", "head"},
         {"type", "Sequential"},
         {"children",
          {{{"name", "0"}, {"type", "Linear"}, {"options", {{"in_features", 8}, {"out_features", 4}, {"bias", true}}}},
           {{"name", "1"}, {"type", "ReLU"}, {"options", json::object()}}}}}}}};
  EXPECT_EQ(j["module"], expected_module) << j["module"].dump(2);

  // Graph without locs: modules by dotted path, functions by name.
  json graph = j["graph"];
  for (json& node : graph) {
    ASSERT_TRUE(node.contains("loc"));
    EXPECT_EQ(node["loc"].get<std::string>().rfind("frontend_model_json_test.cpp:", 0), 0u) << node;
    node.erase("loc");
  }
  json expected_graph = json::parse(R"([
      {"module":"stem","inputs":["x"],"outputs":["v0"]},
      {"module":"blocks.0.fc","inputs":["v0"],"outputs":["v1"]},
      {"module":"blocks.0.act","inputs":["v1"],"outputs":["v2"]},
      {"module":"blocks.0.fc","inputs":["v2"],"outputs":["v3"]},
      {"function":"add","options":{"other":null,"alpha":1.0},"inputs":["v0","v3"],"outputs":["v4"]},
      {"module":"blocks.1.fc","inputs":["v4"],"outputs":["v5"]},
      {"module":"blocks.1.act","inputs":["v5"],"outputs":["v6"]},
      {"module":"blocks.1.fc","inputs":["v6"],"outputs":["v7"]},
      {"function":"add","options":{"other":null,"alpha":1.0},"inputs":["v4","v7"],"outputs":["v8"]},
      {"function":"mul","options":{"other":null},"inputs":["v8","scale"],"outputs":["v9"]},
      {"module":"head.0","inputs":["v9"],"outputs":["v10"]},
      {"module":"head.1","inputs":["v10"],"outputs":["v11"]},
      {"function":"relu","options":{},"inputs":["v11"],"outputs":["v12"]}])");
  EXPECT_EQ(graph, expected_graph) << graph.dump(2);
  EXPECT_EQ(j["outputs"], json::array({"v12"}));
  EXPECT_EQ(j["training"]["loss"], json::parse(R"({"type":"MSELoss","options":{"reduction":"mean"}})"));
  EXPECT_EQ(j["training"]["target"], json::parse(R"({"name":"y","shape":[32,4],"dtype":"float32"})"));
}

TEST(FrontendModelJson, LocPointsAtTheUsersLine) {
  struct LocImpl : nn::Module {
    LocImpl() { fc = register_module("fc", nn::Linear(4, 4)); }
    kiln::Tensor forward(const kiln::Tensor& x) {
      kiln::Tensor a = fc(x); fc_line = __LINE__;
      kiln::Tensor b = fc->forward(a); forward_line = __LINE__;
      kiln::Tensor c = a + b; add_line = __LINE__;
      return nn::functional::flatten(c, 0);
    }
    nn::Linear fc{nullptr};
    int fc_line = 0, forward_line = 0, add_line = 0;
  };
  auto m = std::make_shared<LocImpl>();
  json j = json::parse(kiln::model_json(m, {kiln::input("x", {2, 4})}, "loc"));
  auto loc = [](int line) { return "frontend_model_json_test.cpp:" + std::to_string(line); };
  ASSERT_EQ(j["graph"].size(), 4u);
  EXPECT_EQ(j["graph"][0]["loc"], loc(m->fc_line));
  EXPECT_EQ(j["graph"][1]["loc"], loc(m->forward_line));
  EXPECT_EQ(j["graph"][2]["loc"], loc(m->add_line));
  // The function node carries its options; the type is the class name minus "Impl".
  EXPECT_EQ(j["graph"][3]["options"], json::parse(R"({"start_dim":0,"end_dim":-1})"));
  EXPECT_EQ(j["module"]["type"], "Loc");
}

TEST(FrontendModelJson, BroadcastingShapesAndOptionsSpelling) {
  struct BImpl : nn::Module {
    kiln::Tensor forward(kiln::Tensor a, kiln::Tensor b) { return a * b; }
  };
  auto m = std::make_shared<BImpl>();
  json j = json::parse(kiln::model_json(m, {kiln::input("a", {8, 1, 6, 1}), kiln::input("b", {7, 1, 5})}, "bc"));
  EXPECT_EQ(j["graph"][0]["function"], "mul");
  // Losses and reductions spell their options like torch.
  auto ce = nn::CrossEntropyLoss(nn::CrossEntropyLossOptions().reduction(kiln::kSum).label_smoothing(0.1).ignore_index(3));
  auto opts = ce->option_list();
  ASSERT_EQ(opts.size(), 4u);
  EXPECT_EQ(std::get<std::string>(opts[0].second), "sum");
  EXPECT_EQ(std::get<double>(opts[1].second), 0.1);
  EXPECT_EQ(std::get<int64_t>(opts[2].second), 3);
}

TEST(FrontendModelJson, LayerAsRootHasEmptyPath) {
  nn::Linear fc(3, 2);
  json j = json::parse(kiln::model_json(fc, {kiln::input("x", {5, 3})}, "bare"));
  EXPECT_EQ(j["module"], json::parse(R"({"type":"Linear","options":{"in_features":3,"out_features":2,"bias":true}})"));
  EXPECT_EQ(j["graph"][0]["module"], "");
  EXPECT_EQ(fc->named_parameters()[0].name, "weight");  // like torch's state_dict of a bare Linear
  // Tracing is deterministic: the same model gives the same text.
  EXPECT_EQ(kiln::model_json(fc, {kiln::input("x", {5, 3})}, "bare"),
            kiln::model_json(fc, {kiln::input("x", {5, 3})}, "bare"));
}

TEST(FrontendModelJson, ValueNamesAvoidInputNames) {
  auto model = nn::Sequential(nn::ReLU(), nn::ReLU());
  json j = json::parse(kiln::model_json(model, {kiln::input("v0", {3})}, "m"));
  EXPECT_EQ(j["graph"][0]["inputs"], json::array({"v0"}));
  EXPECT_EQ(j["graph"][0]["outputs"], json::array({"v1"}));
  EXPECT_EQ(j["graph"][1]["outputs"], json::array({"v2"}));
}

TEST(FrontendModelJson, SaveReplacesAnExistingFileAndLeavesNoTemporary) {
  std::string dir = temp_dir();
  std::string path = dir + "/model.json";
  { std::ofstream(path) << "old"; }
  kiln::save_model(nn::Sequential(nn::Linear(2, 2)), {kiln::input("x", {1, 2})}, path);
  EXPECT_EQ(read_json(path)["name"], "model");
  std::string cmd = "test $(ls -A " + dir + " | wc -l) -eq 1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "temporary file left behind in " << dir;
}

// Gradient clipping goes to the training section as torch's utilities'
// arguments; INFINITY is written "inf" (JSON has no infinity).
TEST(FrontendModelJson, GradientClipping) {
  nn::Linear fc(4, 2);
  auto training = [] {
    return kiln::Training().loss(nn::MSELoss()).target(kiln::input("y", {3, 2})).optimizer(
        kiln::optim::Adam());
  };
  json j = json::parse(kiln::model_json(fc, {kiln::input("x", {3, 4})}, "clip",
                                        training().clip_grad_norm(0.5, INFINITY, true)));
  EXPECT_EQ(j["training"]["clip_grad_norm"],
            json::parse(R"({"max_norm":0.5,"norm_type":"inf","error_if_nonfinite":true})"));
  EXPECT_FALSE(j["training"].contains("clip_grad_value"));
  j = json::parse(kiln::model_json(fc, {kiln::input("x", {3, 4})}, "clip",
                                   training().clip_grad_norm(2.0).clip_grad_value(0.25)));
  EXPECT_EQ(j["training"]["clip_grad_value"], json::parse(R"({"clip_value":0.25})"));
  EXPECT_FALSE(j["training"].contains("clip_grad_norm"));
  EXPECT_THROW(kiln::model_json(fc, {kiln::input("x", {3, 4})}, "clip", training().clip_grad_norm(0)),
               kiln::Error);
  EXPECT_THROW(kiln::model_json(fc, {kiln::input("x", {3, 4})}, "clip", training().clip_grad_norm(1, -1)),
               kiln::Error);
}

}  // namespace

namespace {

TEST(FrontendModelJson, TrainingSchedulerIsWrittenWithItsChildren) {
  namespace optim = kiln::optim;
  nn::Linear net(4, 3);
  json j = json::parse(kiln::model_json(
      net, {kiln::input("x", {2, 4})}, "sched",
      kiln::Training().loss(nn::MSELoss()).target(kiln::input("y", {2, 3}))
          .optimizer(optim::SGD(optim::SGDOptions(0.1)))
          .scheduler(optim::SequentialLR({optim::LinearLR(0.1, 1.0, 5),
                                          optim::CyclicLR(optim::CyclicLROptions(1e-3, 0.1))},
                                         {5}))));
  json expected = json::parse(R"({"type":"SequentialLR","options":{"milestones":[5]},"schedulers":[
      {"type":"LinearLR","options":{"start_factor":0.1,"end_factor":1.0,"total_iters":5}},
      {"type":"CyclicLR","options":{"base_lr":0.001,"max_lr":0.1,"step_size_up":2000.0,
       "step_size_down":null,"mode":"triangular","gamma":1.0,"cycle_momentum":true,
       "base_momentum":0.8,"max_momentum":0.9}}]})");
  EXPECT_EQ(j["training"]["scheduler"], expected) << j["training"]["scheduler"].dump(2);
}

}  // namespace

namespace {

// torch's param_groups, libtorch's OptimizerParamGroup: modules expand to
// their parameters' state_dict names, names pass through, options are the
// group's complete list (checked as the optimizer's), none takes the
// optimizer's.
TEST(FrontendModelJson, ParameterGroupsExpandModulesToParameterNames) {
  namespace optim = kiln::optim;
  nn::Linear fc1(4, 8), fc2(8, 3);
  auto net = nn::Sequential(fc1, nn::ReLU(), fc2);
  auto save = [&](const optim::SGD& opt) {
    return json::parse(kiln::model_json(
        net, {kiln::input("x", {2, 4})}, "groups",
        kiln::Training().loss(nn::MSELoss()).target(kiln::input("y", {2, 3})).optimizer(opt)));
  };
  optim::SGD sgd({optim::ParamGroup({fc1}, optim::SGDOptions(1e-4).momentum(0.5)),
                  optim::ParamGroup({"2.weight"})},
                 optim::SGDOptions(0.1).momentum(0.9));
  json groups = save(sgd)["training"]["optimizer"]["param_groups"];
  json expected = json::parse(R"([
      {"params": ["0.weight", "0.bias"],
       "options": {"lr": 0.0001, "momentum": 0.5, "dampening": 0.0, "weight_decay": 0.0,
                   "nesterov": false, "maximize": false}},
      {"params": ["2.weight"]}])");
  EXPECT_EQ(groups, expected) << groups.dump(2);

  // Options of another optimizer make a group of that optimizer (two torch
  // optimizers stepped together): the group's `type`.
  optim::SGD mixed({optim::ParamGroup({fc1}, optim::SparseAdamOptions(1e-2)),
                    optim::ParamGroup({fc2}, optim::SGDOptions(0.5))},
                   optim::SGDOptions(0.1));
  json mixedGroups = save(mixed)["training"]["optimizer"]["param_groups"];
  ASSERT_EQ(mixedGroups.size(), 2u);
  EXPECT_EQ(mixedGroups[0]["type"], "SparseAdam") << mixedGroups.dump(2);
  EXPECT_EQ(mixedGroups[0]["options"],
            json::parse(R"({"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-08, "maximize": false})"));
  EXPECT_FALSE(mixedGroups[1].contains("type")) << mixedGroups.dump(2);
  // torch's checks are made.
  EXPECT_THROW(optim::ParamGroup({fc1}, optim::AdamOptions(-1.0)), kiln::Error);
  EXPECT_THROW(optim::ParamGroup({fc1}, optim::SparseAdamOptions(0.0)), kiln::Error);
  EXPECT_THROW(optim::SparseAdam(optim::SparseAdamOptions().eps(0.0)), kiln::Error);
  EXPECT_THROW(optim::SGD(std::vector<optim::ParamGroup>{}, optim::SGDOptions(0.1)), kiln::Error);
  // A module that is not part of the model.
  nn::Linear stray(2, 2);
  optim::SGD bad({optim::ParamGroup({stray})}, optim::SGDOptions(0.1));
  EXPECT_THROW(save(bad), kiln::Error);
}

}  // namespace

namespace {

// LBFGS: libtorch's LBFGSOptions, unset max_eval and line_search_fn written
// as null (torch's None), infinite tolerances as "inf"; torch's refusals
// (and Kiln's: NaN, history_size 0) in the constructor.
TEST(FrontendModelJson, LbfgsOptions) {
  namespace optim = kiln::optim;
  nn::Linear net(4, 3);
  auto save = [&](const optim::LBFGS &opt) {
    return json::parse(kiln::model_json(
        net, {kiln::input("x", {2, 4})}, "lbfgs",
        kiln::Training().loss(nn::MSELoss()).target(kiln::input("y", {2, 3})).optimizer(opt)));
  };
  EXPECT_EQ(save(optim::LBFGS())["training"]["optimizer"],
            json::parse(R"({"type":"LBFGS","options":{"lr":1.0,"max_iter":20,"max_eval":null,
                "tolerance_grad":1e-07,"tolerance_change":1e-09,"history_size":100,
                "line_search_fn":null}})"));
  json o = save(optim::LBFGS(optim::LBFGSOptions(0.25).max_iter(5).max_eval(7).history_size(3)
                                 .tolerance_grad(INFINITY).line_search_fn("strong_wolfe")))
               ["training"]["optimizer"]["options"];
  EXPECT_EQ(o["lr"], 0.25);
  EXPECT_EQ(o["max_eval"], 7);
  EXPECT_EQ(o["tolerance_grad"], "inf");
  EXPECT_EQ(o["line_search_fn"], "strong_wolfe");
  EXPECT_THROW(optim::LBFGS(optim::LBFGSOptions().line_search_fn("backtracking")), kiln::Error);
  EXPECT_THROW(optim::LBFGS(optim::LBFGSOptions().history_size(0)), kiln::Error);
  EXPECT_THROW(optim::LBFGS(optim::LBFGSOptions(-1)), kiln::Error);
  EXPECT_THROW(optim::LBFGS(optim::LBFGSOptions().tolerance_change(NAN)), kiln::Error);
}

}  // namespace

namespace {

// argmax and AdaptiveLogSoftmaxWithLoss::predict record int64 values: model
// outputs (the header then says int64), never a float input.
struct ArgmaxNetImpl : nn::Module {
  ArgmaxNetImpl() {
    fc = register_module("fc", nn::Linear(4, 6));
    als = register_module("als", nn::AdaptiveLogSoftmaxWithLoss(nn::AdaptiveLogSoftmaxWithLossOptions(6, 5, {2})));
  }
  std::tuple<kiln::Tensor, kiln::Tensor, kiln::Tensor> forward(kiln::Tensor x) {
    kiln::Tensor h = fc(x);
    return {h, h.argmax(-1, true), als->predict(h)};
  }
  nn::Linear fc{nullptr};
  nn::AdaptiveLogSoftmaxWithLoss als{nullptr};
};
KILN_MODULE(ArgmaxNet);

TEST(FrontendModelJson, ArgmaxAndPredictGiveInt64Outputs) {
  ArgmaxNet net;
  json j = json::parse(kiln::model_json(net, {kiln::input("x", {3, 4})}, "argmax_net"));
  ASSERT_EQ(j["graph"].size(), 3u);
  EXPECT_EQ(j["graph"][1]["function"], "argmax");
  EXPECT_EQ(j["graph"][1]["options"], json::parse(R"({"dim":-1,"keepdim":true})"));
  EXPECT_EQ(j["graph"][2]["method"], "predict");
  EXPECT_EQ(j["outputs"].size(), 3u);
  EXPECT_THROW(kiln::model_json(net, {kiln::input("x", {3, 5})}, "argmax_net"), kiln::Error);
}

struct ArgmaxIntoReluImpl : nn::Module {
  kiln::Tensor forward(kiln::Tensor x) { return x.argmax(1).relu(); }
};
KILN_MODULE(ArgmaxIntoRelu);

TEST(FrontendModelJson, ArgmaxFeedsNoFloatInput) {
  ArgmaxIntoRelu net;
  EXPECT_THROW(kiln::model_json(net, {kiln::input("x", {3, 4})}, "argmax_relu"), kiln::Error);
}

}  // namespace

namespace {

// The functional dropout forms record p, training (torch's defaults: true,
// false for the alpha forms) and inplace; torch.bilinear takes an optional
// bias [out].
struct FunctionalDropoutImpl : nn::Module {
  kiln::Tensor forward(kiln::Tensor x, kiln::Tensor w, kiln::Tensor b) {
    namespace F = kiln::nn::functional;
    kiln::Tensor h = F::dropout1d(F::dropout(x, F::DropoutFuncOptions().p(0.25)));
    h = F::feature_alpha_dropout(h, F::FeatureAlphaDropoutFuncOptions().p(0.5).training(true));
    return F::bilinear(h, h, w, b);
  }
};
KILN_MODULE(FunctionalDropout);

TEST(FrontendModelJson, FunctionalDropoutAndBilinearBias) {
  FunctionalDropout net;
  json j = json::parse(kiln::model_json(
      net, {kiln::input("x", {2, 3, 4}), kiln::input("w", {5, 4, 4}), kiln::input("b", {5})}, "fdrop"));
  ASSERT_EQ(j["graph"].size(), 4u);
  EXPECT_EQ(j["graph"][0]["function"], "dropout");
  EXPECT_EQ(j["graph"][0]["options"], json::parse(R"({"p":0.25,"training":true,"inplace":false})"));
  EXPECT_EQ(j["graph"][1]["function"], "dropout1d");
  EXPECT_EQ(j["graph"][2]["options"]["training"], true);
  EXPECT_EQ(j["graph"][3]["inputs"].size(), 4u);
  EXPECT_THROW(kiln::model_json(net,
                                {kiln::input("x", {2, 3, 4}), kiln::input("w", {5, 4, 4}), kiln::input("b", {4})},
                                "fdrop"),
               kiln::Error);
}

}  // namespace
