// examples/mlp/mlp_model.cpp compiles against the DSL and writes the W1 MLP.
// Its CMake target belongs to kiln_add_model; here its main() is renamed and
// run in-process so the example cannot silently rot.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#define main mlp_model_main
#include "../../examples/mlp/mlp_model.cpp"
#undef main

namespace {

TEST(FrontendExample, MlpModelProgramWritesTheW1Model) {
  std::string dir = ::testing::TempDir() + "kiln_example_XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  std::string path = dir + "/mlp.json";
  char arg0[] = "mlp_model", *argv[] = {arg0, path.data(), nullptr};
  ASSERT_EQ(mlp_model_main(2, argv), 0);

  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str());
  EXPECT_EQ(j["name"], "mlp");
  EXPECT_EQ(j["inputs"][0]["shape"], nlohmann::json({128, 1, 28, 28}));
  std::vector<std::string> types;
  for (const auto& child : j["module"]["children"]) types.push_back(child["type"]);
  EXPECT_EQ(types, (std::vector<std::string>{"Flatten", "Linear", "ReLU", "Linear", "ReLU", "Linear"}));
  EXPECT_EQ(j["module"]["children"][5]["options"]["out_features"], 10);
  EXPECT_EQ(j["graph"].size(), 6u);
  EXPECT_EQ(j["outputs"], nlohmann::json({"v5"}));
  EXPECT_EQ(j["training"]["loss"]["type"], "CrossEntropyLoss");
  EXPECT_EQ(j["training"]["optimizer"]["options"]["lr"], 0.01);
  EXPECT_EQ(j["training"]["optimizer"]["options"]["momentum"], 0.9);

  char* no_args[] = {arg0, nullptr};
  EXPECT_EQ(mlp_model_main(1, no_args), 2);  // usage error
  std::string bad = dir + "/missing/mlp.json";
  char* bad_args[] = {arg0, bad.data(), nullptr};
  EXPECT_EQ(mlp_model_main(2, bad_args), 1);  // the kiln::Error is reported, not thrown
}

}  // namespace
