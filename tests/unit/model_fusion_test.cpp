// kiln/fusion.h between compiled models: fuse_pair (Conv2d -> BatchNorm2d
// -> ReLU -> ConvTranspose2d -> BatchNorm2d without affine -> Flatten ->
// Linear without bias -> BatchNorm1d) trained a few steps so that its
// running statistics move, then put in eval mode and fused into fuse_plain
// (the same network without the batch norms, every layer with a bias):
// the plain model's forward must then be the pair's eval forward, as
// torch's fused modules compute what conv + bn did. Also: the fused values
// against the formula for one channel, and the refusals (train mode, no
// running statistics, shapes), which leave the target unchanged.
#include "fuse_pair.h"
#include "fuse_plain.h"
#include "model_tensors.h"

#include <kiln/fusion.h>
#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace {

using kiln_test::tensorValues;

struct Models {
  fuse_pair_model *pair = nullptr;
  fuse_plain_model *plain = nullptr;
  kiln_model *from() { return reinterpret_cast<kiln_model *>(pair); }
  kiln_model *to() { return reinterpret_cast<kiln_model *>(plain); }
  ~Models() {
    fuse_pair_destroy(pair);
    fuse_plain_destroy(plain);
  }
};

std::vector<float> input() {
  std::vector<float> x(4 * 3 * 6 * 6);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i)) + 0.1f * (i % 5);
  return x;
}

/* Both models created, the pair trained 5 steps and put in eval mode. */
void trainedPair(Models &m) {
  ASSERT_EQ(fuse_pair_create(&m.pair), KILN_OK) << kiln_last_error();
  ASSERT_EQ(fuse_plain_create(&m.plain), KILN_OK) << kiln_last_error();
  ASSERT_EQ(fuse_pair_init_parameters(m.pair, 3), KILN_OK);
  ASSERT_EQ(fuse_plain_init_parameters(m.plain, 4), KILN_OK);
  std::vector<float> x = input(), target(20);
  for (size_t i = 0; i < target.size(); ++i) target[i] = 0.1f * static_cast<float>(i % 7) - 0.3f;
  const void *in[1] = {x.data()};
  for (int step = 0; step < 5; ++step) {
    float loss = 0;
    ASSERT_EQ(fuse_pair_train_step(m.pair, in, target.data(), &loss), KILN_OK) << kiln_last_error();
  }
  ASSERT_EQ(kiln_model_set_training(m.from(), 0), KILN_OK);
}

TEST(ModelFusion, FusedPlainModelComputesThePairsEvalForward) {
  Models m;
  trainedPair(m);
  ASSERT_EQ(kiln_fuse_conv_bn_eval(m.from(), "conv", "bn", 1e-3, 0, m.to(), "conv"), KILN_OK)
      << kiln_last_error();
  ASSERT_EQ(kiln_fuse_conv_bn_eval(m.from(), "up", "bn2", 1e-5, 1, m.to(), "up"), KILN_OK)
      << kiln_last_error();
  ASSERT_EQ(kiln_fuse_linear_bn_eval(m.from(), "fc", "bn3", 1e-5, m.to(), "fc"), KILN_OK)
      << kiln_last_error();
  ASSERT_EQ(kiln_model_set_training(m.to(), 0), KILN_OK);
  std::vector<float> x = input(), want(20), got(20);
  const void *in[1] = {x.data()};
  void *outWant[1] = {want.data()}, *outGot[1] = {got.data()};
  ASSERT_EQ(fuse_pair_forward(m.pair, in, outWant), KILN_OK);
  ASSERT_EQ(fuse_plain_forward(m.plain, in, outGot), KILN_OK);
  double scale = 0;
  for (float v : want) scale = std::max(scale, std::fabs(static_cast<double>(v)));
  ASSERT_GT(scale, 0.1);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 2e-5 * scale) << i;

  // Channel 2 of the convolution, by torch's formula.
  std::vector<float> w = tensorValues(m.from(), "conv.weight"), b = tensorValues(m.from(), "conv.bias"),
                     rm = tensorValues(m.from(), "bn.running_mean"), rv = tensorValues(m.from(), "bn.running_var"),
                     g = tensorValues(m.from(), "bn.weight"), beta = tensorValues(m.from(), "bn.bias");
  std::vector<float> fw = tensorValues(m.to(), "conv.weight"), fb = tensorValues(m.to(), "conv.bias");
  ASSERT_NE(rm[2], 0.0f);  // the steps moved the statistics
  float rsqrt = 1.0f / std::sqrt(rv[2] + 1e-3f);
  EXPECT_FLOAT_EQ(fb[2], (b[2] - rm[2]) * rsqrt * g[2] + beta[2]);
  for (int k = 0; k < 27; ++k) EXPECT_FLOAT_EQ(fw[2 * 27 + k], w[2 * 27 + k] * (g[2] * rsqrt)) << k;
}

TEST(ModelFusion, RefusalsNameTheProblemAndChangeNothing) {
  Models m;
  trainedPair(m);
  const std::vector<float> before = tensorValues(m.to(), "conv.weight");
  auto refused = [&](kiln_status s, const char *needle) {
    EXPECT_NE(s, KILN_OK);
    std::string message = kiln_last_error();
    EXPECT_NE(message.find(needle), std::string::npos) << message;
  };
  ASSERT_EQ(kiln_model_set_training(m.from(), 1), KILN_OK);
  refused(kiln_fuse_conv_bn_eval(m.from(), "conv", "bn", 1e-3, 0, m.to(), "conv"), "Fusion only for eval!");
  ASSERT_EQ(kiln_model_set_training(m.from(), 0), KILN_OK);
  // The channels of a transposed convolution's weight are dimension 1 (3).
  refused(kiln_fuse_conv_bn_eval(m.from(), "conv", "bn", 1e-3, 1, m.to(), "conv"),
          "'conv.bias' has shape [4], expected [3]");
  refused(kiln_fuse_conv_bn_eval(m.from(), "conv", "relu", 1e-3, 0, m.to(), "conv"), "no running statistics");
  refused(kiln_fuse_conv_bn_eval(m.from(), "nope", "bn", 1e-3, 0, m.to(), "conv"), "'nope.weight'");
  refused(kiln_fuse_conv_bn_eval(m.from(), "fc", "bn3", 1e-5, 0, m.to(), "fc"), "not a convolution's weight");
  refused(kiln_fuse_conv_bn_eval(m.from(), "conv", "bn", 1e-3, 0, m.to(), "up"), "'up.weight' [4, 2, 2, 2] must be [4, 3, 3, 3]");
  refused(kiln_fuse_conv_bn_eval(m.from(), "conv", "bn", 1e-3, 0, m.from(), "relu"), "no float32 parameter or buffer 'relu.weight'");
  refused(kiln_fuse_linear_bn_eval(m.from(), "up", "bn2", 1e-5, m.to(), "up"), "not a Linear's weight");
  refused(kiln_fuse_linear_bn_eval(m.from(), "fc", "bn2", 1e-5, m.to(), "fc"), "has no weight and bias");
  refused(kiln_fuse_linear_bn_eval(nullptr, "fc", "bn3", 1e-5, m.to(), "fc"), "NULL");
  EXPECT_EQ(tensorValues(m.to(), "conv.weight"), before);
}

}  // namespace
