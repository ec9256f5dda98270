// kiln/reparametrize.h between compiled models: reparam_pair (a Conv2d
// with spectral_norm, a ConvTranspose2d with weight_norm over dim 1, a
// Linear with parametrizations.weight_norm on its weight and
// parametrizations.spectral_norm on its bias, a Linear with
// parametrizations.spectral_norm (2 power iterations) on its weight and
// weight_norm over every dimension on its bias) trained a few steps, then
// every re-parametrization removed into reparam_plain (the same network
// with plain parameters): in eval mode the plain model must compute the
// pair's forward, as torch's module computes the same after remove_*.
// Also the refusals, which leave the target unchanged.
#include "reparam_pair.h"
#include "reparam_plain.h"
#include "model_tensors.h"

#include <kiln/reparametrize.h>
#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Models {
  reparam_pair_model *pair = nullptr;
  reparam_plain_model *plain = nullptr;
  kiln_model *from() { return reinterpret_cast<kiln_model *>(pair); }
  kiln_model *to() { return reinterpret_cast<kiln_model *>(plain); }
  ~Models() {
    reparam_pair_destroy(pair);
    reparam_plain_destroy(plain);
  }
};

std::vector<float> input() {
  std::vector<float> x(4 * 3 * 5 * 5);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.21f * static_cast<float>(i)) - 0.05f * (i % 3);
  return x;
}

/* Both created, the pair trained 4 steps (its spectral norms' u and v
 * move) and put in eval mode; the plain model's parameters that the pair
 * has under the same name copied over. */
void trainedPair(Models &m) {
  ASSERT_EQ(reparam_pair_create(&m.pair), KILN_OK) << kiln_last_error();
  ASSERT_EQ(reparam_plain_create(&m.plain), KILN_OK) << kiln_last_error();
  ASSERT_EQ(reparam_pair_init_parameters(m.pair, 5), KILN_OK);
  ASSERT_EQ(reparam_plain_init_parameters(m.plain, 6), KILN_OK);
  std::vector<float> x = input(), target(12);
  for (size_t i = 0; i < target.size(); ++i) target[i] = 0.2f * static_cast<float>(i % 5) - 0.4f;
  const void *in[1] = {x.data()};
  for (int step = 0; step < 4; ++step) {
    float loss = 0;
    ASSERT_EQ(reparam_pair_train_step(m.pair, in, target.data(), &loss), KILN_OK) << kiln_last_error();
  }
  ASSERT_EQ(kiln_model_set_training(m.from(), 0), KILN_OK);
  ASSERT_EQ(kiln_model_set_training(m.to(), 0), KILN_OK);
  auto source = kiln_test::floatTensors(m.from());
  for (auto &[name, t] : kiln_test::floatTensors(m.to())) {
    auto it = source.find(name);
    if (it == source.end()) continue;
    ASSERT_EQ(it->second.numel, t.numel) << name;
    std::memcpy(t.data, it->second.data, sizeof(float) * t.numel);
  }
}

TEST(ModelReparamRemove, PlainModelComputesThePairsForward) {
  Models m;
  trainedPair(m);
  ASSERT_EQ(kiln_remove_spectral_norm(m.from(), "conv.weight", 0, m.to()), KILN_OK) << kiln_last_error();
  ASSERT_EQ(kiln_remove_weight_norm(m.from(), "up.weight", m.to()), KILN_OK) << kiln_last_error();
  ASSERT_EQ(kiln_remove_parametrizations(m.from(), "fc.weight", 0, 1, m.to()), KILN_OK) << kiln_last_error();
  ASSERT_EQ(kiln_remove_parametrizations(m.from(), "fc.bias", 0, 1, m.to()), KILN_OK) << kiln_last_error();
  ASSERT_EQ(kiln_remove_parametrizations(m.from(), "fc2.weight", 0, 1, m.to()), KILN_OK) << kiln_last_error();
  ASSERT_EQ(kiln_remove_weight_norm(m.from(), "fc2.bias", m.to()), KILN_OK) << kiln_last_error();
  std::vector<float> x = input(), want(12), got(12);
  const void *in[1] = {x.data()};
  void *outWant[1] = {want.data()}, *outGot[1] = {got.data()};
  ASSERT_EQ(reparam_pair_forward(m.pair, in, outWant), KILN_OK);
  ASSERT_EQ(reparam_plain_forward(m.plain, in, outGot), KILN_OK);
  double scale = 0;
  for (float v : want) scale = std::max(scale, std::fabs(static_cast<double>(v)));
  ASSERT_GT(scale, 0.01);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5 * scale) << i;
}

TEST(ModelReparamRemove, RefusalsNameTheProblemAndChangeNothing) {
  Models m;
  trainedPair(m);
  const std::vector<float> before = kiln_test::tensorValues(m.to(), "conv.weight");
  auto refused = [&](kiln_status s, const char *needle) {
    EXPECT_NE(s, KILN_OK);
    std::string message = kiln_last_error();
    EXPECT_NE(message.find(needle), std::string::npos) << message;
  };
  refused(kiln_remove_weight_norm(m.from(), "conv.weight", m.to()), "'conv.weight_g'");
  refused(kiln_remove_spectral_norm(m.from(), "conv.weight", 1, m.to()), "must be [3] and [36]");
  refused(kiln_remove_spectral_norm(m.from(), "conv.weight", 4, m.to()), "dim 4 is out of range");
  refused(kiln_remove_spectral_norm(m.from(), "conv.weight", 0, m.from()),
          "no float32 parameter or buffer 'conv.weight'");
  refused(kiln_remove_parametrizations(m.from(), "fc.weight", 0, 0, m.to()), "Cannot leave unparametrized");
  refused(kiln_remove_parametrizations(m.from(), "conv.weight", 0, 1, m.to()), "is not parametrized");
  refused(kiln_remove_weight_norm(nullptr, "up.weight", m.to()), "NULL");
  ASSERT_EQ(kiln_model_set_training(m.from(), 1), KILN_OK);
  refused(kiln_remove_parametrizations(m.from(), "fc2.weight", 0, 1, m.to()), "training mode");
  EXPECT_EQ(kiln_test::tensorValues(m.to(), "conv.weight"), before);
  // leave_parametrized=False: the original itself (torch's).
  ASSERT_EQ(kiln_remove_parametrizations(m.from(), "fc2.weight", 0, 0, m.to()), KILN_OK) << kiln_last_error();
  EXPECT_EQ(kiln_test::tensorValues(m.to(), "fc2.weight"),
            kiln_test::tensorValues(m.from(), "fc2.parametrizations.weight.original"));
}

}  // namespace
