// Every user mistake gets a kiln::Error that says what and where.
#include <gmock/gmock.h>
#include <cmath>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "kiln/kiln.h"

namespace {

namespace nn = kiln::nn;
using ::testing::HasSubstr;
using ::testing::Not;

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

struct TwoLayerImpl : nn::Module {
  TwoLayerImpl() {
    fc1 = register_module("fc1", nn::Linear(784, 100));
    fc2 = register_module("fc2", nn::Linear(784, 10));  // wrong: should take 100
  }
  kiln::Tensor forward(kiln::Tensor x) {
    x = fc1(x);
    call_line = __LINE__ + 1;
    return fc2(x);
  }
  nn::Linear fc1{nullptr}, fc2{nullptr};
  int call_line = 0;
};
KILN_MODULE(TwoLayer);

TEST(FrontendErrors, ShapeMismatchNamesModulePathShapesAndLine) {
  TwoLayer net;
  std::string msg = error_of([&] { kiln::model_json(net, {kiln::input("x", {128, 784})}, "net"); });
  EXPECT_THAT(msg, HasSubstr("frontend_errors_test.cpp:" + std::to_string(net->call_line) + ": error:"));
  EXPECT_THAT(msg, HasSubstr("Linear 'fc2'"));
  EXPECT_THAT(msg, HasSubstr("[*, 784]"));
  EXPECT_THAT(msg, HasSubstr("[128, 100]"));
}

TEST(FrontendErrors, ShapeMismatchInsideNestedSequential) {
  struct NestImpl : nn::Module {
    NestImpl() { body = register_module("body", nn::Sequential(nn::Flatten(), nn::Linear(10, 3))); }
    kiln::Tensor forward(kiln::Tensor x) { line = __LINE__; return body(x); }
    nn::Sequential body{nullptr};
    int line = 0;
  };
  auto m = std::make_shared<NestImpl>();
  std::string msg = error_of([&] { kiln::model_json(m, {kiln::input("x", {4, 3, 3})}, "nest"); });
  EXPECT_THAT(msg, HasSubstr("frontend_errors_test.cpp:" + std::to_string(m->line)));
  EXPECT_THAT(msg, HasSubstr("Linear 'body.1'"));
  EXPECT_THAT(msg, HasSubstr("[4, 9]"));
}

TEST(FrontendErrors, BroadcastAndDtypeMismatch) {
  struct AddImpl : nn::Module {
    kiln::Tensor forward(kiln::Tensor a, kiln::Tensor b) { line = __LINE__; return a + b; }
    int line = 0;
  };
  auto m = std::make_shared<AddImpl>();
  std::string msg = error_of([&] { kiln::model_json(m, {kiln::input("a", {2, 3}), kiln::input("b", {4})}, "m"); });
  EXPECT_THAT(msg, HasSubstr("frontend_errors_test.cpp:" + std::to_string(m->line)));
  EXPECT_THAT(msg, HasSubstr("add(): shapes [2, 3] and [4] cannot be broadcast"));
  msg = error_of([&] { kiln::model_json(m, {kiln::input("a", {3}), kiln::input("b", {3}, kiln::kInt64)}, "m"); });
  EXPECT_THAT(msg, HasSubstr("different dtypes"));
}

TEST(FrontendErrors, FlattenDimensionsOutOfRange) {
  auto model = nn::Sequential(nn::Flatten(nn::FlattenOptions().start_dim(2)));
  std::string msg = error_of([&] { kiln::model_json(model, {kiln::input("x", {4, 5})}, "m"); });
  EXPECT_THAT(msg, HasSubstr("Flatten '0': start_dim 2 is out of range"));
}

TEST(FrontendErrors, InvalidLayerOptions) {
  EXPECT_THAT(error_of([] { nn::Linear(0, 3); }),
              HasSubstr("Linear(in_features=0, out_features=3): in_features and out_features must be >= 1"));
  EXPECT_THAT(error_of([] { nn::CrossEntropyLoss(nn::CrossEntropyLossOptions().label_smoothing(1.5)); }),
              HasSubstr("label_smoothing must be between 0.0 and 1.0"));
}

TEST(FrontendErrors, InvalidOptimizerOptions) {
  using kiln::optim::SGD;
  using kiln::optim::SGDOptions;
  EXPECT_THAT(error_of([] { SGD(SGDOptions(0.1).nesterov(true)); }),
              HasSubstr("SGD: nesterov momentum requires a momentum > 0 and zero dampening"));
  EXPECT_THAT(error_of([] { SGD(SGDOptions(0.1).momentum(0.9).dampening(0.1).nesterov(true)); }),
              HasSubstr("nesterov"));
  EXPECT_THAT(error_of([] { SGD(SGDOptions(-1)); }), HasSubstr("SGD: invalid learning rate"));
  EXPECT_THAT(error_of([] { SGD(SGDOptions(0.1).momentum(-0.5)); }), HasSubstr("SGD: invalid momentum"));
  EXPECT_THAT(error_of([] { SGD(SGDOptions(0.1).weight_decay(-1)); }), HasSubstr("SGD: invalid weight_decay"));
  EXPECT_EQ(error_of([] { SGD(SGDOptions(0.1).momentum(0.9).nesterov(true)); }), "");
}

// Activation options torch rejects are rejected where they are written.
TEST(FrontendErrors, InvalidActivationOptions) {
  EXPECT_THAT(error_of([] { nn::Hardtanh(nn::HardtanhOptions().min_val(1).max_val(1)); }),
              HasSubstr("Hardtanh: max_val 1 must be greater than min_val 1"));
  EXPECT_THAT(error_of([] { nn::CELU(nn::CELUOptions().alpha(0)); }), HasSubstr("alpha cannot be 0 for CELU"));
  EXPECT_THAT(error_of([] { nn::Softshrink(-0.5); }),
              HasSubstr("lambda must be greater or equal to 0, but found to be -0.5"));
  EXPECT_THAT(error_of([] { nn::Softplus(nn::SoftplusOptions().beta(0)); }), HasSubstr("beta must not be 0"));
  EXPECT_THAT(error_of([] { nn::RReLU(nn::RReLUOptions().lower(0.5).upper(0.1)); }),
              HasSubstr("RReLU: lower 0.5 must not be greater than upper 0.1"));
  EXPECT_THAT(error_of([] { nn::PReLU(nn::PReLUOptions().num_parameters(0)); }),
              HasSubstr("num_parameters must be >= 1"));
  EXPECT_EQ(error_of([] { nn::Hardshrink(-0.5); }), "");  // torch accepts it (the identity)
}

struct GluImpl : nn::Module {
  GluImpl() { glu = register_module("glu", nn::GLU(1)); }
  kiln::Tensor forward(kiln::Tensor x) { return glu(x); }
  nn::GLU glu{nullptr};
};
KILN_MODULE(Glu);

TEST(FrontendErrors, GluOddDimension) {
  Glu model;
  EXPECT_THAT(error_of([&] { kiln::save_model(model, {kiln::input("x", {2, 5})}, ::testing::TempDir() + "/glu.json"); }),
              HasSubstr("Halving dimension must be even, but dimension 1 is size 5"));
}

TEST(FrontendErrors, InvalidAdaptiveOptimizerOptions) {
  namespace optim = kiln::optim;
  EXPECT_THAT(error_of([] { optim::Adam(optim::AdamOptions(1e-3).betas({0.9, 1.0})); }),
              HasSubstr("Adam: invalid beta parameter at index 1: 1 (must be in [0, 1))"));
  EXPECT_THAT(error_of([] { optim::AdamW(optim::AdamWOptions().eps(-1e-8)); }), HasSubstr("AdamW: invalid eps"));
  EXPECT_THAT(error_of([] { optim::Adagrad(optim::AdagradOptions().lr_decay(-0.1)); }),
              HasSubstr("Adagrad: invalid lr_decay -0.1"));
  EXPECT_THAT(error_of([] { optim::Adadelta(optim::AdadeltaOptions().rho(1.5)); }), HasSubstr("Adadelta: invalid rho 1.5"));
  EXPECT_THAT(error_of([] { optim::RMSprop(optim::RMSpropOptions().alpha(-0.5)); }), HasSubstr("RMSprop: invalid alpha"));
  EXPECT_THAT(error_of([] { optim::Rprop(optim::RpropOptions().etas({0.5, 0.9})); }), HasSubstr("Rprop: invalid eta values"));
  EXPECT_THAT(error_of([] { optim::ASGD(optim::ASGDOptions(-1)); }), HasSubstr("ASGD: invalid learning rate"));
  EXPECT_EQ(error_of([] { optim::Adam(optim::AdamOptions(1e-5).betas({0.0, 0.5}).amsgrad(true)); }), "");
  EXPECT_THAT(error_of([] { optim::NAdam(optim::NAdamOptions().momentum_decay(-1)); }), HasSubstr("NAdam: invalid momentum_decay -1"));
  EXPECT_THAT(error_of([] { optim::NAdam(optim::NAdamOptions().betas({1.0, 0.9})); }), HasSubstr("NAdam: invalid beta parameter at index 0"));
  EXPECT_EQ(error_of([] { optim::RAdam(); optim::NAdam(); optim::Adamax(); optim::RMSprop(optim::RMSpropOptions().centered(true)); }), "");
}

// Numbers in messages are exact (shortest round trip), never 6 decimals.
TEST(FrontendErrors, InvalidDropoutProbability) {
  EXPECT_THAT(error_of([] { nn::Dropout(1.5); }),
              HasSubstr("Dropout(p=1.5): dropout probability has to be between 0 and 1"));
  EXPECT_THAT(error_of([] { nn::Dropout(-2.5e-07); }), HasSubstr("Dropout(p=-2.5e-07)"));
  EXPECT_THAT(error_of([] { nn::Dropout(std::nan("")); }), HasSubstr("Dropout(p=nan)"));
  EXPECT_THAT(error_of([] { kiln::optim::SGD(kiln::optim::SGDOptions(-2.5e-05)); }),
              HasSubstr("invalid learning rate -2.5e-05"));
  EXPECT_EQ(error_of([] { nn::Dropout(0.0); }), "");
  EXPECT_EQ(error_of([] { nn::Dropout(1.0); }), "");
}

TEST(FrontendErrors, BadModelName) {
  auto model = nn::Sequential(nn::ReLU());
  std::string msg;
  int line = __LINE__ + 1;
  msg = error_of([&] { kiln::model_json(model, {kiln::input("x", {3})}, "my-model"); });
  EXPECT_THAT(msg, HasSubstr("model name 'my-model' is not a C identifier"));
  EXPECT_THAT(msg, HasSubstr("frontend_errors_test.cpp:" + std::to_string(line)));
  EXPECT_THAT(error_of([&] { kiln::model_json(model, {kiln::input("x", {3})}, "1net"); }), HasSubstr("C identifier"));
  EXPECT_THAT(error_of([&] { kiln::model_json(model, {kiln::input("x", {3})}, "kiln_net"); }),
              HasSubstr("runtime's C API prefix"));
  // The default name is the file stem: "/tmp/2-layer.json" gives "2-layer".
  EXPECT_THAT(error_of([&] { kiln::save_model(model, {kiln::input("x", {3})}, ::testing::TempDir() + "/2-layer.json"); }),
              HasSubstr("model name '2-layer' is not a C identifier"));
}

TEST(FrontendErrors, BadInputsAndTraining) {
  auto model = nn::Sequential(nn::Linear(3, 2));
  auto sgd = kiln::optim::SGD(kiln::optim::SGDOptions(0.1));
  EXPECT_THAT(error_of([&] { kiln::model_json(model, {kiln::input("x y", {3})}, "m"); }), HasSubstr("C identifier"));
  EXPECT_THAT(error_of([&] { kiln::model_json(model, {kiln::input("x", {0, 3})}, "m"); }), HasSubstr(">= 1"));
  EXPECT_THAT(error_of([&] { kiln::model_json(model, {kiln::input("x", {1, 3}), kiln::input("x", {1, 3})}, "m"); }),
              HasSubstr("two model inputs are named 'x'"));
  EXPECT_THAT(error_of([&] { kiln::model_json(model, {kiln::input("x", {1, 3}), kiln::input("y", {1, 3})}, "m"); }),
              HasSubstr("forward does not take 2 tensor(s)"));
  EXPECT_THAT(error_of([&] {
                kiln::model_json(model, {kiln::input("x", {4, 3})}, "m",
                                 kiln::Training().loss(nn::CrossEntropyLoss()).target(kiln::input("t", {5}, kiln::kInt64)).optimizer(sgd));
              }),
              HasSubstr("int64 class indices of the output's shape without the class dimension"));
  EXPECT_THAT(error_of([&] {
                kiln::model_json(model, {kiln::input("x", {4, 3})}, "m",
                                 kiln::Training().loss(nn::MSELoss()).target(kiln::input("t", {4, 2})));
              }),
              HasSubstr("Training has no optimizer"));
  EXPECT_THAT(error_of([&] {
                kiln::model_json(model, {kiln::input("x", {4, 3})}, "m",
                                 kiln::Training().loss(nn::MSELoss()).target(kiln::input("x", {4, 2})).optimizer(sgd));
              }),
              HasSubstr("the target and a model input are both named 'x'"));
  EXPECT_THAT(error_of([&] { model(kiln::input("x", {4, 3})); }), HasSubstr("outside kiln::save_model"));
}

TEST(FrontendErrors, UnregisteredAndDuplicateModules) {
  struct LooseImpl : nn::Module {
    kiln::Tensor forward(kiln::Tensor x) { return fc(x); }
    nn::Linear fc{3, 3};  // never registered
  };
  EXPECT_THAT(error_of([] { kiln::model_json(std::make_shared<LooseImpl>(), {kiln::input("x", {3})}, "m"); }),
              HasSubstr("not registered in the model being saved"));
  nn::Linear shared(3, 3);
  auto twice = nn::Sequential(shared, shared);
  EXPECT_THAT(error_of([&] { kiln::model_json(twice, {kiln::input("x", {3})}, "m"); }),
              HasSubstr("module '1' (Linear) is the same instance as module '0'"));
}

TEST(FrontendErrors, SaveToUnwritableLocationReportsAndLeavesNothing) {
  auto model = nn::Sequential(nn::ReLU());
  std::string missing = ::testing::TempDir() + "/kiln_no_such_dir/sub/m.json";
  std::string msg = error_of([&] { kiln::save_model(model, {kiln::input("x", {3})}, missing); });
  EXPECT_THAT(msg, HasSubstr("cannot write model file '" + missing + "'"));
  EXPECT_THAT(msg, HasSubstr("No such file or directory"));

  // A directory without write permission (root ignores permissions, so the
  // check only means something for other users).
  std::string dir = ::testing::TempDir() + "/kiln_readonly_XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  ASSERT_EQ(::chmod(dir.c_str(), 0555), 0);
  if (::geteuid() != 0) {
    msg = error_of([&] { kiln::save_model(model, {kiln::input("x", {3})}, dir + "/m.json"); });
    EXPECT_THAT(msg, HasSubstr("cannot write model file"));
    EXPECT_THAT(msg, HasSubstr("Permission denied"));
  }
  ::chmod(dir.c_str(), 0755);

  // The target path is a directory: the temporary is written, the rename fails
  // and the temporary is removed.
  std::string target_dir = ::testing::TempDir() + "/kiln_target_XXXXXX";
  ASSERT_NE(::mkdtemp(target_dir.data()), nullptr);
  ASSERT_EQ(::mkdir((target_dir + "/m.json").c_str(), 0755), 0);
  msg = error_of([&] { kiln::save_model(model, {kiln::input("x", {3})}, target_dir + "/m.json"); });
  EXPECT_THAT(msg, HasSubstr("cannot rename"));
  std::string cmd = "test $(ls -A " + target_dir + " | wc -l) -eq 1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "temporary file left behind in " << target_dir;
}


// Issue 9's layers: the DSL rejects what kilnc rejects, with the shared
// rules' words (ir/VisionShapeRules.h, ir/TwoInputShapeRules.h).
template <class M>
std::string trace_error(M&& model, std::vector<kiln::Tensor> inputs) {
  return error_of([&] { kiln::model_json(model, inputs, "m"); });
}

TEST(FrontendErrors, RearrangingLayersCheckShapes) {
  EXPECT_THAT(error_of([] { nn::PixelShuffle(0); }), HasSubstr("upscale_factor must be >= 1"));
  EXPECT_THAT(trace_error(nn::Sequential(nn::PixelShuffle(2)), {kiln::input("x", {2, 6, 3, 3})}),
              HasSubstr("not divisible by upscale_factor^2 = 4"));
  EXPECT_THAT(trace_error(nn::Sequential(nn::PixelUnshuffle(2)), {kiln::input("x", {2, 1, 4, 5})}),
              HasSubstr("width 5"));
  EXPECT_THAT(trace_error(nn::Sequential(nn::ChannelShuffle(4)), {kiln::input("x", {2, 6, 3})}),
              HasSubstr("not divisible by groups 4"));
  EXPECT_THAT(trace_error(nn::Sequential(nn::Unflatten(nn::UnflattenOptions(1, {5, 2}))),
                          {kiln::input("x", {2, 12})}),
              HasSubstr("does not multiply up to the size 12"));
}

TEST(FrontendErrors, UpsampleChecksItsArguments) {
  auto up = [](nn::UpsampleOptions o) { return nn::Sequential(nn::Upsample(o)); };
  kiln::Tensor x = kiln::input("x", {1, 2, 3, 4});
  EXPECT_THAT(trace_error(up(nn::UpsampleOptions()), {x}), HasSubstr("either size or scale_factor"));
  EXPECT_THAT(trace_error(up(nn::UpsampleOptions().size(std::vector<int64_t>{6, 8}).scale_factor(
                              std::vector<double>{2.0, 2.0})),
                          {x}),
              HasSubstr("only one of size or scale_factor"));
  EXPECT_THAT(trace_error(up(nn::UpsampleOptions().scale_factor(std::vector<double>{2.0, 2.0}).align_corners(true)),
                          {x}),
              HasSubstr("align_corners option can only be set"));
  EXPECT_THAT(trace_error(up(nn::UpsampleOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode("linear")),
                          {x}),
              HasSubstr("linear mode needs a 3-D input"));
  EXPECT_THAT(error_of([] { nn::Upsample(nn::UpsampleOptions().mode("cubic")); }), HasSubstr("mode must be one of"));
}

// F.interpolate(antialias=true): recorded for bilinear and bicubic (kilnc
// builds torch's windowed weights), refused for the other modes as torch.
TEST(FrontendErrors, InterpolateAntialiasOnlyForBilinearAndBicubic) {
  struct ResizeImpl : nn::Module {
    explicit ResizeImpl(std::string mode) : mode(std::move(mode)) {}
    kiln::Tensor forward(kiln::Tensor x) {
      return nn::functional::interpolate(x, nn::functional::InterpolateFuncOptions()
                                                .scale_factor(std::vector<double>{0.5, 0.5})
                                                .mode(mode)
                                                .antialias(true));
    }
    std::string mode;
  };
  kiln::Tensor x = kiln::input("x", {1, 2, 6, 6});
  for (const char *mode : {"bilinear", "bicubic"}) {
    auto doc = nlohmann::json::parse(kiln::model_json(std::make_shared<ResizeImpl>(mode), {x}, "m"));
    EXPECT_EQ(doc["graph"][0]["function"], "interpolate") << mode;
    EXPECT_EQ(doc["graph"][0]["options"]["antialias"], true) << mode;
  }
  EXPECT_THAT(trace_error(std::make_shared<ResizeImpl>("nearest"), {x}),
              HasSubstr("Anti-alias option is only supported for bilinear and bicubic modes"));
}

TEST(FrontendErrors, TwoInputLayersCheckShapes) {
  struct PairImpl : nn::Module {
    PairImpl() { bil = register_module("bil", nn::Bilinear(4, 3, 2)); }
    kiln::Tensor forward(kiln::Tensor a, kiln::Tensor b) { return bil(a, b); }
    nn::Bilinear bil{nullptr};
  };
  auto m = std::make_shared<PairImpl>();
  EXPECT_THAT(trace_error(m, {kiln::input("a", {2, 4}), kiln::input("b", {2, 5})}),
              HasSubstr("input2 [2, 5] has 5 features but in2_features is 3"));
  EXPECT_THAT(error_of([] { nn::PairwiseDistance(nn::PairwiseDistanceOptions().p(NAN)); }),
              HasSubstr("p must be a number or +-infinity"));
  EXPECT_THAT(error_of([] { nn::Dropout2d(1.5); }), HasSubstr("Dropout2d(p=1.5)"));
  EXPECT_THAT(trace_error(nn::Sequential(nn::Dropout1d(0.5)), {kiln::input("x", {2, 3, 4, 4})}),
              HasSubstr("Dropout1d expected a 2-D (unbatched) or 3-D (batched) input"));
}

}  // namespace

// Built-in layers whose forward takes optional inputs before its SourceLoc
// (LSTM's state, the Transformer layers' masks) are called without one by
// the module holder; the location their nodes record and their errors name
// is still the caller's line, not kiln/module.h's.
TEST(FrontendErrors, LayersWithOptionalInputsNameTheCallersLine) {
  struct RecurrentImpl : nn::Module {
    RecurrentImpl() {
      lstm = register_module("lstm", nn::LSTM(8, 16));
      enc = register_module("enc", nn::TransformerEncoderLayer(nn::TransformerEncoderLayerOptions(16, 2)));
    }
    kiln::Tensor forward(kiln::Tensor x) {
      lstm_line = __LINE__ + 1;
      auto [y, state] = lstm(x);
      enc_line = __LINE__ + 1;
      return enc(y);
    }
    nn::LSTM lstm{nullptr};
    nn::TransformerEncoderLayer enc{nullptr};
    int lstm_line = 0, enc_line = 0;
  };
  auto m = std::make_shared<RecurrentImpl>();
  std::string json = kiln::model_json(m, {kiln::input("x", {5, 3, 8})}, "rec");
  EXPECT_THAT(json, HasSubstr("\"frontend_errors_test.cpp:" + std::to_string(m->lstm_line) + "\""));
  EXPECT_THAT(json, HasSubstr("\"frontend_errors_test.cpp:" + std::to_string(m->enc_line) + "\""));
  EXPECT_THAT(json, Not(HasSubstr("module.h")));
  // An error inside such a layer: an input of the wrong size.
  std::string msg = error_of([&] { kiln::model_json(m, {kiln::input("x", {5, 3, 7})}, "rec"); });
  EXPECT_THAT(msg, HasSubstr("frontend_errors_test.cpp:" + std::to_string(m->lstm_line) + ": error:"));
}
