// kiln/prune.h on a compiled model (the parity of the masks with torch is
// tests/prune/check_prune.py): the compiled forward and train step read the
// mask a pruning call wrote. l1_unstructured prunes the smallest half of
// fc.weight; the output is x (orig * mask)^T + b; plain SGD leaves the
// pruned entries of fc.weight_orig alone (their gradient is masked) and
// moves the others; after prune.remove the pruned entries are 0 and train
// again, as torch's plain parameter would.
#include "model_tensors.h"
#include "prune_train.h"

#include <kiln/prune.h>
#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace {

/* The state_dict entry `name` (a parameter or an f32 buffer). */
std::vector<float> tensor(prune_train_model *m, const std::string &name) {
  return kiln_test::tensorValues(reinterpret_cast<kiln_model *>(m), name);
}

TEST(ModelPrune, CompiledStepsReadTheComputedMask) {
  prune_train_model *m = nullptr;
  ASSERT_EQ(prune_train_create(&m), KILN_OK) << kiln_last_error();
  ASSERT_EQ(prune_train_init_parameters(m, 11), KILN_OK);
  kiln_model *model = reinterpret_cast<kiln_model *>(m);
  const std::vector<float> orig = tensor(m, "fc.weight_orig");
  ASSERT_EQ(kiln_prune_l1_unstructured(model, "fc.weight", kiln_prune_fraction(0.5), nullptr), KILN_OK)
      << kiln_last_error();
  std::vector<float> mask = tensor(m, "fc.weight_mask");
  ASSERT_EQ(std::count(mask.begin(), mask.end(), 0.0f), 6);
  // The six smallest |orig| are the pruned ones.
  float largestPruned = 0, smallestKept = INFINITY;
  for (size_t i = 0; i < mask.size(); ++i) {
    if (mask[i] == 0)
      largestPruned = std::max(largestPruned, std::fabs(orig[i]));
    else
      smallestKept = std::min(smallestKept, std::fabs(orig[i]));
  }
  EXPECT_LT(largestPruned, smallestKept);

  std::vector<float> x = {0.5f, -1, 2, 0.25f, 1, 1, -0.5f, 3, -2, 0.75f, 1.5f, -1};
  std::vector<float> y(9), target(9, 0.5f);
  const void *in[1] = {x.data()};
  void *out[1] = {y.data()};
  ASSERT_EQ(prune_train_forward(m, in, out), KILN_OK);
  const std::vector<float> bias = tensor(m, "fc.bias");
  for (int n = 0; n < 3; ++n)
    for (int o = 0; o < 3; ++o) {
      double want = bias[o];
      for (int i = 0; i < 4; ++i) want += x[n * 4 + i] * orig[o * 4 + i] * mask[o * 4 + i];
      EXPECT_NEAR(y[n * 3 + o], want, 1e-5) << n << "," << o;
    }

  float loss = 0;
  ASSERT_EQ(prune_train_train_step(m, in, target.data(), &loss), KILN_OK);
  std::vector<float> after = tensor(m, "fc.weight_orig");
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i] == 0)
      EXPECT_EQ(after[i], orig[i]) << "a pruned entry moved: " << i;
    else
      EXPECT_NE(after[i], orig[i]) << "a kept entry did not move: " << i;

  // prune.remove: orig * mask, the mask ones; the pruned entries (now 0)
  // train again.
  ASSERT_EQ(kiln_prune_remove(model, "fc.weight"), KILN_OK) << kiln_last_error();
  std::vector<float> removed = tensor(m, "fc.weight_orig");
  mask = tensor(m, "fc.weight_mask");
  EXPECT_EQ(std::count(mask.begin(), mask.end(), 1.0f), 12);
  ASSERT_EQ(prune_train_train_step(m, in, target.data(), &loss), KILN_OK);
  std::vector<float> later = tensor(m, "fc.weight_orig");
  for (size_t i = 0; i < removed.size(); ++i) EXPECT_NE(later[i], removed[i]) << i;

  // Not a pruned parameter: refused, naming what it needs.
  EXPECT_EQ(kiln_prune_l1_unstructured(model, "fc.bias", kiln_prune_count(1), nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(kiln_last_error(), "is not a pruned parameter"), nullptr) << kiln_last_error();
  EXPECT_EQ(kiln_prune_ln_structured(model, "fc.weight", kiln_prune_fraction(2.0), 2.0, 0, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(kiln_last_error(), "should either be a float in the range [0, 1]"), nullptr);
  EXPECT_EQ(kiln_prune_ln_structured(model, "fc.weight", kiln_prune_count(1), 2.0, 5, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(kiln_last_error(), "Invalid index 5"), nullptr) << kiln_last_error();
  prune_train_destroy(m);
}

}  // namespace
