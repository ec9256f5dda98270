// Module tree, holders and state_dict naming.
#include <gtest/gtest.h>

#include "kiln/kiln.h"

namespace {

namespace nn = kiln::nn;

struct InnerImpl : nn::Module {
  InnerImpl() {
    layers = register_module("layers", nn::ModuleList(nn::Linear(3, 4), nn::ReLU(), nn::Linear(nn::LinearOptions(4, 5).bias(false))));
  }
  nn::ModuleList layers{nullptr};
};
KILN_MODULE(Inner);

struct OuterImpl : nn::Module {
  OuterImpl() {
    fc1 = register_module("fc1", nn::Linear(2, 3));
    inner = register_module("inner", Inner());
    seq = register_module("seq", nn::Sequential(nn::Linear(5, 6)));
  }
  nn::Linear fc1{nullptr};
  Inner inner{nullptr};
  nn::Sequential seq{nullptr};
};
KILN_MODULE(Outer);

TEST(FrontendModule, StateDictNamesForNestedModules) {
  Outer outer;
  std::vector<std::string> names;
  std::vector<kiln::Shape> shapes;
  for (const auto& p : outer->named_parameters()) {
    names.push_back(p.name);
    shapes.push_back(p.shape);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"fc1.weight", "fc1.bias", "inner.layers.0.weight", "inner.layers.0.bias",
                                             "inner.layers.2.weight", "seq.0.weight", "seq.0.bias"}));
  EXPECT_EQ(shapes[0], (kiln::Shape{3, 2}));
  EXPECT_EQ(shapes[1], (kiln::Shape{3}));
  EXPECT_EQ(shapes[4], (kiln::Shape{5, 4}));
  EXPECT_EQ(outer->named_parameters()[0].init, kiln::Init::KaimingUniform);
  EXPECT_EQ(outer->named_parameters()[1].init, kiln::Init::FanInUniform);
}

TEST(FrontendModule, NamedModulesAndTypeNames) {
  Outer outer;
  std::vector<std::string> paths, types;
  for (const auto& [path, m] : outer->named_modules()) {
    paths.push_back(path);
    types.push_back(m->type_name());
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"", "fc1", "inner", "inner.layers", "inner.layers.0", "inner.layers.1",
                                             "inner.layers.2", "seq", "seq.0"}));
  EXPECT_EQ(types, (std::vector<std::string>{"Outer", "Linear", "Inner", "ModuleList", "Linear", "ReLU", "Linear",
                                             "Sequential", "Linear"}));
}

TEST(FrontendModule, HoldersShareTheirModule) {
  nn::Linear a(4, 2);
  nn::Linear b = a;
  EXPECT_EQ(a.ptr(), b.ptr());
  EXPECT_EQ(b->options().in_features(), 4);
  nn::Linear empty{nullptr};
  EXPECT_TRUE(empty.is_empty());
  EXPECT_THROW(empty->options(), kiln::Error);
  nn::ModuleList list(a, nn::ReLU());
  EXPECT_EQ(list->size(), 2u);
  EXPECT_NE(list[0].as<nn::LinearImpl>(), nullptr);
  EXPECT_EQ(list[1].as<nn::LinearImpl>(), nullptr);
  EXPECT_THROW(list[2], kiln::Error);
}

TEST(FrontendModule, RegistrationNamesAreChecked) {
  struct BadImpl : nn::Module {};
  BadImpl m;
  m.register_module("fc", nn::Linear(1, 1));
  EXPECT_THROW(m.register_module("fc", nn::Linear(1, 1)), kiln::Error);
  EXPECT_THROW(m.register_module("a.b", nn::Linear(1, 1)), kiln::Error);
  EXPECT_THROW(m.register_module("", nn::Linear(1, 1)), kiln::Error);
  EXPECT_THROW(m.register_module("x", nn::Linear(nullptr)), kiln::Error);
}

}  // namespace
