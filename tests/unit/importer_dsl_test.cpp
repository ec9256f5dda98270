// What the DSL traces, the importer accepts: a model using every graph
// function and the activation layers goes DSL -> model file -> nn dialect,
// with the shapes both sides derive from ir/ShapeRules.h.
#include "frontend/import/ModelImporter.h"
#include "kiln/kiln.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <fstream>

namespace {

namespace nn = kiln::nn;
namespace F = kiln::nn::functional;

/// `model` traced by the DSL, written as a model file and imported by
/// kilnc's importer: the nn module as text, or "" after a test failure that
/// shows the diagnostics and the file.
template <typename Model>
std::string importedIR(const Model &model, const std::vector<kiln::Tensor> &inputs,
                       const std::string &name) {
  std::string text = kiln::model_json(model, inputs, name);
  std::string path = ::testing::TempDir() + name + ".json";
  std::ofstream(path) << text;
  mlir::MLIRContext ctx;
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return mlir::success();
  });
  auto module = kiln::importModelFile(&ctx, path, false);
  if (!module) {
    ADD_FAILURE() << diagnostics << text;
    return "";
  }
  std::string ir;
  llvm::raw_string_ostream os(ir);
  module->print(os);
  return ir;
}

struct FamiliesImpl : nn::Module {
  FamiliesImpl() {
    fc = register_module("fc", nn::Linear(4, 6));
    gelu = register_module("gelu", nn::GELU(nn::GELUOptions().approximate("tanh")));
    tanh = register_module("tanh", nn::Tanh());
    sigmoid = register_module("sigmoid", nn::Sigmoid());
  }
  kiln::Tensor forward(kiln::Tensor x) {
    kiln::Tensor h = fc(x);                               // [2, 3, 6]
    kiln::Tensor a = F::add(gelu(h), F::sub(tanh(h), sigmoid(h)));
    kiln::Tensor b = F::div(F::exp(a), F::sqrt(F::abs(F::neg(a))));
    kiln::Tensor c = F::maximum(F::log1p(F::abs(b)), F::minimum(F::erf(b), F::rsqrt(F::exp(b))));
    kiln::Tensor d = F::mul(F::log(F::exp(c)), F::sign(c));
    kiln::Tensor p = F::permute(d, {2, 0, -2});           // [6, 2, 3]
    kiln::Tensor s = F::sum(p, {1}, true);                // [6, 1, 3]
    return F::mean(F::add(p, s), {-1, 0});                // [2]
  }
  nn::Linear fc{nullptr};
  nn::GELU gelu{nullptr};
  nn::Tanh tanh{nullptr};
  nn::Sigmoid sigmoid{nullptr};
};
KILN_MODULE(Families);

TEST(ImporterDsl, EveryFamilyRoundTripsThroughTheModelFile) {
  Families model;
  std::string ir = importedIR(model, {kiln::input("x", {2, 3, 4})}, "families");
  ASSERT_FALSE(ir.empty());
  for (const char *op : {"nn.gelu", "nn.tanh", "nn.sigmoid", "nn.erf", "nn.rsqrt",
                         "nn.maximum", "nn.minimum", "nn.sign", "nn.log1p",
                         "nn.permute", "nn.sum", "nn.mean", "nn.div"})
    EXPECT_NE(ir.find(op), std::string::npos) << op;
  EXPECT_NE(ir.find("-> tensor<2xf32>"), std::string::npos) << ir;
}

struct SliceJoinImpl : nn::Module {
  SliceJoinImpl() { fc = register_module("fc", nn::Linear(4, 6)); }
  kiln::Tensor forward(kiln::Tensor x) {
    kiln::Tensor h = fc(x);                               // [2, 6]
    kiln::Tensor a = F::narrow(h, 1, 0, 2);               // [2, 2]
    kiln::Tensor b = F::narrow(h, -1, -3, 3);             // [2, 3]
    kiln::Tensor p = F::pow(F::sigmoid(a), F::narrow(a, 0, 1, 1));
    return F::cat({p, b, h}, -1);                         // [2, 11]
  }
  nn::Linear fc{nullptr};
};
KILN_MODULE(SliceJoin);

TEST(ImporterDsl, SlicingJoiningAndPowRoundTrip) {
  SliceJoin model;
  std::string ir = importedIR(model, {kiln::input("x", {2, 4})}, "slice_join");
  ASSERT_FALSE(ir.empty());
  // narrow(h, -1, -3, 3) resolved to columns 3..6.
  EXPECT_NE(ir.find("{end = array<i64: 2, 6>, start = array<i64: 0, 3>, step = array<i64: 1, 1>}"),
            std::string::npos) << ir;
  EXPECT_NE(ir.find("nn.pow"), std::string::npos) << ir;
  // cat of three tensors: two two-input nodes.
  EXPECT_NE(ir.find("(tensor<2x2xf32>, tensor<2x3xf32>) -> tensor<2x5xf32>"), std::string::npos) << ir;
  EXPECT_NE(ir.find("(tensor<2x5xf32>, tensor<2x6xf32>) -> tensor<2x11xf32>"), std::string::npos) << ir;
}

struct BadCatImpl : nn::Module {
  kiln::Tensor forward(kiln::Tensor x) {
    return F::cat({x, x, F::narrow(x, 0, 0, 1)}, 1);
  }
};
KILN_MODULE(BadCat);

struct BadNarrowImpl : nn::Module {
  kiln::Tensor forward(kiln::Tensor x) { return F::narrow(x, 1, 2, 2); }
};
KILN_MODULE(BadNarrow);

TEST(ImporterDsl, SlicingAndJoiningErrorsNameTheShapes) {
  try {
    BadCat bad;
    kiln::model_json(bad, {kiln::input("x", {2, 3})}, "bad");
    FAIL() << "no error";
  } catch (const kiln::Error &e) {
    EXPECT_NE(std::string(e.what()).find(
                  "cat(): tensor 2 of shape [1, 3] does not match tensor 0 of shape [2, 3] outside dimension 1"),
              std::string::npos)
        << e.what();
  }
  try {
    BadNarrow bad;
    kiln::model_json(bad, {kiln::input("x", {2, 3})}, "bad");
    FAIL() << "no error";
  } catch (const kiln::Error &e) {
    EXPECT_NE(std::string(e.what()).find(
                  "narrow(): start 2 and length 2 do not fit in dimension 1 of [2, 3] (size 3)"),
              std::string::npos)
        << e.what();
  }
}

struct BadPermuteImpl : nn::Module {
  kiln::Tensor forward(kiln::Tensor x) { return F::permute(x, {0, 0}); }
};
KILN_MODULE(BadPermute);

TEST(ImporterDsl, DslRejectsWhatTheOpsReject) {
  // The same rule, the same words: a bad permutation fails while tracing.
  try {
    BadPermute bad;
    kiln::model_json(bad, {kiln::input("x", {2, 3})}, "bad");
    FAIL() << "no error";
  } catch (const kiln::Error &e) {
    EXPECT_NE(std::string(e.what()).find(
                  "dimension 0 is out of range or repeated for an input of shape [2, 3]"),
              std::string::npos)
        << e.what();
  }
}

} // namespace

namespace {

/// Training::scheduler writes training.scheduler; the importer reads every
/// DSL scheduler into nn.scheduler (kind and arguments in the runtime's
/// order, children of SequentialLR / ChainedScheduler).
TEST(ImporterDsl, SchedulersRoundTripThroughTheModelFile) {
  namespace optim = kiln::optim;
  std::vector<optim::LRScheduler> all = {
      optim::StepLR(3, 0.5), optim::MultiStepLR({2, 9}), optim::ConstantLR(0.5, 4),
      optim::LinearLR(), optim::ExponentialLR(0.9), optim::CosineAnnealingLR(10, 1e-5),
      optim::PolynomialLR(8, 2.0), optim::CosineAnnealingWarmRestarts(4, 2, 1e-4),
      optim::CyclicLR(optim::CyclicLROptions(1e-3, 0.1).step_size_up(5).mode("exp_range").gamma(0.99)),
      optim::OneCycleLR(optim::OneCycleLROptions(0.1, 100).three_phase(true)),
      optim::ReduceLROnPlateau(optim::ReduceLROnPlateauOptions().mode("max").patience(2)),
      optim::ChainedScheduler({optim::ConstantLR(), optim::ExponentialLR(0.95)}),
      optim::SequentialLR({optim::LinearLR(0.1, 1.0, 5), optim::CosineAnnealingLR(20)}, {5}),
      optim::SWALR(0.05, 3, "linear"),
      optim::SequentialLR({optim::CosineAnnealingLR(20), optim::SWALR(0.01)}, {15})};
  const int32_t kinds[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15, 14};
  for (size_t i = 0; i < all.size(); ++i) {
    SCOPED_TRACE(all[i].type);
    nn::Linear net(4, 3);
    std::string text = kiln::model_json(
        net, {kiln::input("x", {2, 4})}, "sched",
        kiln::Training().loss(nn::MSELoss()).target(kiln::input("y", {2, 3}))
            .optimizer(kiln::optim::SGD(kiln::optim::SGDOptions(0.1))).scheduler(all[i]));
    std::string path = ::testing::TempDir() + "sched_" + std::to_string(i) + ".json";
    std::ofstream(path) << text;
    mlir::MLIRContext ctx;
    std::string diagnostics;
    mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
      diagnostics += d.str() + "\n";
      return mlir::success();
    });
    auto module = kiln::importModelFile(&ctx, path, true);
    ASSERT_TRUE(module) << diagnostics << text;
    auto attr = (*module)->getAttrOfType<mlir::DictionaryAttr>("nn.scheduler");
    ASSERT_TRUE(attr);
    EXPECT_EQ(attr.getAs<mlir::IntegerAttr>("kind").getInt(), kinds[i]);
    EXPECT_EQ(attr.getAs<mlir::ArrayAttr>("children").size(), all[i].schedulers.size());
  }
}

} // namespace
