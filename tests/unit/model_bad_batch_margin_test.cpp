// A bad class index never corrupts a model trained with MultiMarginLoss or
// MultiLabelMarginLoss (issue 10 item 6): the losses read their int64
// target through nn.nll_loss, whose index bounds the runtime checks before
// any kernel runs. MultiMarginLoss accepts [0, C) only (no ignore value:
// its two nll_loss uses ignore different values, whose bounds intersect to
// none); MultiLabelMarginLoss accepts [0, C) and its -1 padding.
#include "bad_batch_multi_margin.h"
#include "bad_batch_multilabel_margin.h"
#include "instance_bytes.h"

#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr int kClasses = 5;

/* Every byte of the instance's state, through the runtime. */
std::vector<unsigned char> state_of(kiln_model *m) { return kiln_test::instance_bytes(m); }

/* Trains one good step, then checks that each (position, value) is refused
 * with a message naming it and changes nothing, then that a good step
 * still works. */
void expect_refused(kiln_model *m, std::vector<int64_t> good,
                    const std::vector<int64_t> &bad_values, const std::string &allowed) {
  std::vector<float> x(24);
  std::mt19937 gen(3);
  std::normal_distribution<float> normal;
  for (float &v : x)
    v = normal(gen);
  const void *in[1] = {x.data()};
  float loss = 0;
  ASSERT_EQ(kiln_model_train_step(m, in, good.data(), &loss), KILN_OK) << kiln_model_last_error(m);
  ASSERT_TRUE(std::isfinite(loss));
  const std::vector<unsigned char> before = state_of(m);
  for (int64_t v : bad_values)
    for (size_t pos : {size_t{0}, good.size() - 1}) {
      std::vector<int64_t> bad = good;
      bad[pos] = v;
      float out = 42;
      EXPECT_EQ(kiln_model_train_step(m, in, bad.data(), &out), KILN_ERROR_INVALID_ARGUMENT) << v;
      const std::string message = kiln_model_last_error(m);
      const std::string expected = "element " + std::to_string(pos) + " is " + std::to_string(v) +
                                   ", not an index in " + allowed;
      EXPECT_NE(message.find(expected), std::string::npos) << message;
      EXPECT_EQ(kiln_model_gradients(m, in, bad.data(), &out), KILN_ERROR_INVALID_ARGUMENT);
      EXPECT_EQ(out, 42) << "the loss was written";
      ASSERT_EQ(state_of(m), before) << "a refused call changed the instance";
    }
  EXPECT_EQ(kiln_model_train_step(m, in, good.data(), &loss), KILN_OK) << kiln_model_last_error(m);
  EXPECT_TRUE(std::isfinite(loss));
}

TEST(ModelBadBatch, MultiMarginLossRefusesEveryIndexOutsideTheClasses) {
  bad_batch_multi_margin_model *m = nullptr;
  ASSERT_EQ(bad_batch_multi_margin_create(&m), KILN_OK) << kiln_last_error();
  ASSERT_EQ(bad_batch_multi_margin_init_parameters(m, 5), KILN_OK);
  // -100 and -101 are the ignore values of its two nll_loss uses: neither
  // may pass.
  expect_refused(reinterpret_cast<kiln_model *>(m), {0, 4, 2, 1, 3, 2},
                 {kClasses, 1000000, -1, -5, -100, -101}, "[0, 5)");
  bad_batch_multi_margin_destroy(m);
}

TEST(ModelBadBatch, MultiLabelMarginLossAcceptsItsPaddingOnly) {
  bad_batch_multilabel_margin_model *m = nullptr;
  ASSERT_EQ(bad_batch_multilabel_margin_create(&m), KILN_OK) << kiln_last_error();
  ASSERT_EQ(bad_batch_multilabel_margin_init_parameters(m, 5), KILN_OK);
  std::vector<int64_t> good(30, -1);
  for (int row = 0; row < 6; ++row)
    for (int j = 0; j < row % 4; ++j)
      good[row * 5 + j] = (row + 2 * j) % kClasses;
  expect_refused(reinterpret_cast<kiln_model *>(m), good, {kClasses, 1000000, -2, -100},
                 "[0, 5) or the ignore value -1");
  bad_batch_multilabel_margin_destroy(m);
}

} // namespace
