// clip_grad_norm_ with error_if_nonfinite (issue 10): torch raises before
// the optimizer step when the total gradient norm is NaN or infinite; the
// compiled train step returns the norm (KILN_ROLE_GRAD_NORM) and the
// runtime refuses the step, so the instance is bit-identical afterwards and
// trains on exactly like one that never saw the batch.
#include "clip_nonfinite.h"
#include "instance_bytes.h"

#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

struct Batch {
  std::vector<float> x, target;
  explicit Batch(unsigned seed)
      : x(CLIP_NONFINITE_INPUT0_NUMEL), target(CLIP_NONFINITE_TARGET_NUMEL) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal;
    for (float &v : x)
      v = normal(gen);
    for (float &v : target)
      v = normal(gen);
  }
};

/* Parameters, optimizer state and step (and buffers and random state,
 * which this model has none of), byte for byte. */
std::vector<unsigned char> state_of(clip_nonfinite_model *m) { return kiln_test::instance_bytes(m); }

clip_nonfinite_model *created() {
  clip_nonfinite_model *m = nullptr;
  EXPECT_EQ(clip_nonfinite_create(&m), KILN_OK) << kiln_last_error();
  if (m)
    EXPECT_EQ(clip_nonfinite_init_parameters(m, 5), KILN_OK);
  return m;
}

TEST(ModelGradClip, NonFiniteNormIsRefusedAndChangesNothing) {
  clip_nonfinite_model *a = created(), *b = created();
  ASSERT_TRUE(a && b);
  const Batch first(1), second(2);
  float loss_a = 0, loss_b = 0;
  const void *in1[1] = {first.x.data()}, *in2[1] = {second.x.data()};
  ASSERT_EQ(clip_nonfinite_train_step(a, in1, first.target.data(), &loss_a), KILN_OK);
  ASSERT_EQ(clip_nonfinite_train_step(b, in1, first.target.data(), &loss_b), KILN_OK);

  const std::vector<unsigned char> before = state_of(a);
  const float inf = std::numeric_limits<float>::infinity();
  struct Bad {
    float value;
    const char *norm;
  };
  // An infinite target makes infinite output gradients, and inf * 0 (a
  // ReLU's closed gate) is NaN in torch too; 1e30 only overflows the norm.
  for (const Bad &bad : {Bad{std::nanf(""), "nan"}, Bad{inf, "nan"}, Bad{1e30f, "inf"}}) {
    Batch batch(3);
    batch.target[2] = bad.value; // the MSE gradient overflows or is NaN
    float loss = 0;
    EXPECT_EQ(clip_nonfinite_train_step(a, in2, batch.target.data(), &loss),
              KILN_ERROR_INVALID_ARGUMENT)
        << bad.value;
    const std::string message = clip_nonfinite_last_error(a);
    EXPECT_NE(message.find(std::string("the total norm of the gradients is ") + bad.norm),
              std::string::npos)
        << message;
    ASSERT_EQ(state_of(a), before) << "a refused step changed the instance";
  }

  // Then a trains on exactly like b.
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(clip_nonfinite_train_step(a, in2, second.target.data(), &loss_a), KILN_OK);
    ASSERT_EQ(clip_nonfinite_train_step(b, in2, second.target.data(), &loss_b), KILN_OK);
    EXPECT_EQ(std::memcmp(&loss_a, &loss_b, sizeof loss_a), 0);
  }
  EXPECT_EQ(state_of(a), state_of(b));
  int64_t step = 0;
  EXPECT_EQ(clip_nonfinite_get_step(a, &step), KILN_OK);
  EXPECT_EQ(step, 3);
  clip_nonfinite_destroy(a);
  clip_nonfinite_destroy(b);
}

/* All gradients, in parameter order. */
std::vector<float> gradients_of(clip_nonfinite_model *m) {
  std::vector<float> all;
  for (int i = 0; i < clip_nonfinite_num_parameters(m); ++i) {
    float *grad, *data;
    int64_t numel;
    EXPECT_EQ(clip_nonfinite_parameter(m, i, nullptr, &data, &numel), KILN_OK);
    EXPECT_EQ(clip_nonfinite_gradient(m, i, &grad), KILN_OK);
    all.insert(all.end(), grad, grad + numel);
  }
  return all;
}

// After train_step the instance holds the gradients the update used, as
// torch's param.grad after backward, clip_grad_norm_ and step: the batch's
// gradients times min(1, max_norm / (total norm + 1e-6)), max_norm 0.5.
TEST(ModelGradClip, TrainStepLeavesTheClippedGradients) {
  clip_nonfinite_model *a = created(), *b = created();
  ASSERT_TRUE(a && b);
  int clipped = 0;
  for (unsigned seed : {4u, 5u, 6u}) {
    const Batch batch(seed);
    const void *in[1] = {batch.x.data()};
    float loss_a = 0, loss_b = 0;
    ASSERT_EQ(clip_nonfinite_gradients(a, in, batch.target.data(), &loss_a), KILN_OK);
    const std::vector<float> raw = gradients_of(a);
    ASSERT_EQ(clip_nonfinite_train_step(b, in, batch.target.data(), &loss_b), KILN_OK);
    const std::vector<float> used = gradients_of(b);
    double total = 0;
    for (float g : raw)
      total += double(g) * g;
    total = std::sqrt(total);
    const double coef = std::min(1.0, 0.5 / (total + 1e-6));
    clipped += coef < 1;
    ASSERT_EQ(used.size(), raw.size());
    for (size_t i = 0; i < raw.size(); ++i)
      EXPECT_NEAR(used[i], raw[i] * coef, 1e-6 * (std::fabs(raw[i]) + 1e-6))
          << "seed " << seed << " element " << i << " (coefficient " << coef << ")";
    // Keep the two instances at the same parameters for the next batch.
    ASSERT_EQ(clip_nonfinite_train_step(a, in, batch.target.data(), &loss_a), KILN_OK);
    EXPECT_EQ(state_of(a), state_of(b));
  }
  EXPECT_GT(clipped, 0) << "no batch was clipped: the test would not see clipping";
  clip_nonfinite_destroy(a);
  clip_nonfinite_destroy(b);
}

} // namespace
