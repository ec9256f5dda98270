// The writer's output validates against docs/model-format.schema.json.
// Uses Python's jsonschema (an optional test dependency): skipped without it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "kiln/kiln.h"

namespace {

namespace nn = kiln::nn;

// The repository root, from this file's path (CMake compiles it by absolute path).
std::string schema_path() {
  std::string here = __FILE__;
  return here.substr(0, here.rfind("tests/unit/")) + "docs/model-format.schema.json";
}
const std::string kSchema = schema_path();

// Exit codes: 0 valid, 1 invalid (errors printed), 77 jsonschema missing.
int validate(const std::string& json_path) {
  std::string cmd =
      "python3 -c \"import sys, json\n"
      "try:\n import jsonschema\nexcept ImportError:\n sys.exit(77)\n"
      "v = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))\n"
      "errs = [e.message for e in v.iter_errors(json.load(open(sys.argv[2])))]\n"
      "print(*errs, sep='\\n')\nsys.exit(1 if errs else 0)\" '" +
      kSchema + "' '" + json_path + "' 2>&1";
  int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct ResidualImpl : nn::Module {
  ResidualImpl() {
    fc = register_module("fc", nn::Linear(12, 12));
    layers = register_module("layers", nn::ModuleList(nn::Linear(12, 12), nn::ReLU()));
    // Own parameters: the node's "parameters" and "parameter" graph nodes.
    gains = register_module("gains", nn::ParameterList());
    gains->append({12}, nn::init::uniform(0.5, 1.5));
    shift = register_parameter("shift", {}, nn::init::constant(0.25));
  }
  kiln::Tensor forward(kiln::Tensor x, kiln::Tensor y) {
    x = nn::functional::flatten(x, 1);
    kiln::Tensor h = fc(x);
    for (const auto& l : *layers) h = l(h);
    return nn::functional::relu(x + h * y * gains[0] + shift);
  }
  nn::Linear fc{nullptr};
  nn::ModuleList layers{nullptr};
  nn::ParameterList gains{nullptr};
  kiln::Tensor shift;
};
KILN_MODULE(Residual);

// Every activation layer and graph function family the registry has.
struct FamiliesImpl : nn::Module {
  FamiliesImpl() {
    fc = register_module("fc", nn::Linear(4, 6));
    gelu = register_module("gelu", nn::GELU(nn::GELUOptions().approximate("tanh")));
    tanh = register_module("tanh", nn::Tanh());
    sigmoid = register_module("sigmoid", nn::Sigmoid());
    drop = register_module("drop", nn::Dropout(nn::DropoutOptions(0.2).inplace(true)));
  }
  kiln::Tensor forward(kiln::Tensor x) {
    namespace F = nn::functional;
    kiln::Tensor h = drop(sigmoid(tanh(gelu(fc(x)))));
    kiln::Tensor a = F::maximum(F::div(F::exp(h), F::sqrt(F::abs(h))), F::erf(F::neg(h)));
    return F::mean(F::permute(F::sum(a, {-1}, true), {1, 0, 2}), {0});
  }
  nn::Linear fc{nullptr};
  nn::GELU gelu{nullptr};
  nn::Tanh tanh{nullptr};
  nn::Sigmoid sigmoid{nullptr};
  nn::Dropout drop{nullptr};
};
KILN_MODULE(Families);

TEST(FrontendSchema, WriterOutputValidates) {
  if (!std::ifstream(kSchema)) GTEST_SKIP() << "schema not found at " << kSchema;
  std::string dir = ::testing::TempDir() + "kiln_schema_XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  auto sgd = kiln::optim::SGD(kiln::optim::SGDOptions(0.1).momentum(0.5).weight_decay(1e-3));

  std::string inference = dir + "/inference.json";
  kiln::save_model(nn::Sequential(nn::Flatten(), nn::Linear(6, 2)), {kiln::input("x", {3, 2, 3})}, inference);
  std::string residual = dir + "/residual.json";
  kiln::save_model(Residual(), {kiln::input("x", {4, 3, 4}), kiln::input("y", {12})}, residual,
                   kiln::Training().loss(nn::MSELoss(nn::MSELossOptions().reduction(kiln::kSum)))
                       .target(kiln::input("y_true", {4, 12})).optimizer(sgd));
  std::string ce = dir + "/ce.json";
  kiln::save_model(nn::Sequential(nn::Linear(5, 3)), {kiln::input("x", {7, 5})}, ce,
                   kiln::Training().loss(nn::CrossEntropyLoss(nn::CrossEntropyLossOptions().reduction(kiln::kNone)))
                       .target(kiln::input("labels", {7}, kiln::kInt64)).optimizer(sgd));

  std::string families = dir + "/families.json";
  kiln::save_model(Families(), {kiln::input("x", {2, 3, 4})}, families);

  for (const std::string& path : {inference, residual, ce, families}) {
    int rc = validate(path);
    if (rc == 77) GTEST_SKIP() << "python3 jsonschema not available";
    EXPECT_EQ(rc, 0) << path << " does not match " << kSchema;
  }
}

}  // namespace
