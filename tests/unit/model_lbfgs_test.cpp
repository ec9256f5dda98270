// torch.optim.LBFGS as the runtime's optimizer driver (KILN_OPTIMIZER_LBFGS).
// Torch parity of the parameters and of torch's state is the parity suite's
// (gen_lbfgs_cases.py); this checks the contract: a checkpoint resumes the
// run bit for bit (the history, counters and buffers included), a refused
// batch changes nothing, the step and torch's counters advance as torch's,
// and what LBFGS cannot do (gradient accumulation) fails with a message.
#include "lbfgs_bn.h"
#include "instance_bytes.h"
#include "random_inputs.h"

#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using Model = lbfgs_bn_model;

struct Batch : ClassificationBatch {
  explicit Batch(unsigned seed)
      : ClassificationBatch(LBFGS_BN_INPUT0_NUMEL, LBFGS_BN_TARGET_NUMEL,
                            LBFGS_BN_OUTPUT0_SHAPE[1], seed) {}
};

/* Parameters, buffers, LBFGS state, step and random state, bytes. */
std::vector<unsigned char> state_of(Model *m) { return kiln_test::instance_bytes(m); }

/* The state tensor named <first parameter>.<key>. */
float state_value(Model *m, const std::string &key) {
  for (int i = 0; i < lbfgs_bn_num_states(m); ++i) {
    const char *name;
    float *data;
    int64_t numel;
    EXPECT_EQ(lbfgs_bn_state(m, i, &name, &data, &numel), KILN_OK);
    if (name == "0.weight." + key)
      return data[0];
  }
  ADD_FAILURE() << "no state 0.weight." << key;
  return NAN;
}

Model *created(uint64_t seed = 11) {
  Model *m = nullptr;
  EXPECT_EQ(lbfgs_bn_create(&m), KILN_OK) << kiln_last_error();
  if (m)
    EXPECT_EQ(lbfgs_bn_init_parameters(m, seed), KILN_OK);
  return m;
}

TEST(ModelLbfgs, StateIsTorchsUnderTheFirstParameter) {
  Model *m = created();
  ASSERT_TRUE(m);
  const char *expected[] = {"d",      "t",     "old_dirs",       "old_stps",  "ro",     "num_old",
                            "H_diag", "prev_flat_grad", "prev_loss", "n_iter", "func_evals"};
  ASSERT_EQ(lbfgs_bn_num_states(m), 11);
  int64_t n = 0;
  for (int i = 0; i < lbfgs_bn_num_parameters(m); ++i) {
    int64_t numel;
    ASSERT_EQ(lbfgs_bn_parameter(m, i, nullptr, nullptr, &numel), KILN_OK);
    n += numel;
  }
  for (int i = 0; i < 11; ++i) {
    const char *name;
    int64_t numel;
    ASSERT_EQ(lbfgs_bn_state(m, i, &name, nullptr, &numel), KILN_OK);
    EXPECT_EQ(std::string(name), std::string("0.weight.") + expected[i]);
    const std::string key = expected[i];
    int64_t want = key == "d" || key == "prev_flat_grad"       ? n
                   : key == "old_dirs" || key == "old_stps"    ? 3 * n
                   : key == "ro"                               ? 3
                                                               : 1;
    EXPECT_EQ(numel, want) << name;
  }
  lbfgs_bn_destroy(m);
}

TEST(ModelLbfgs, StepAdvancesTorchsCountersAndLowersTheLoss) {
  Model *m = created();
  ASSERT_TRUE(m);
  Batch batch(1);
  float first = NAN, loss = NAN;
  for (int s = 0; s < 4; ++s) {
    ASSERT_EQ(lbfgs_bn_train_step(m, batch.inputs(), batch.target.data(), &loss), KILN_OK)
        << lbfgs_bn_last_error(m);
    if (s == 0)
      first = loss;
  }
  int64_t step = 0;
  ASSERT_EQ(lbfgs_bn_get_step(m, &step), KILN_OK);
  EXPECT_EQ(step, 4);
  // max_iter 6: at most 6 iterations per step, at least one each; one
  // evaluation starts each step and the first line search adds more.
  const float n_iter = state_value(m, "n_iter"), evals = state_value(m, "func_evals");
  EXPECT_GE(n_iter, 4);
  EXPECT_LE(n_iter, 24);
  EXPECT_GT(evals, 4);
  EXPECT_LE(state_value(m, "num_old"), 3) << "history_size 3";
  EXPECT_LT(loss, first) << "LBFGS on one fixed batch lowers its loss";
  lbfgs_bn_destroy(m);
}

TEST(ModelLbfgs, CheckpointResumesBitForBit) {
  const std::string path = ::testing::TempDir() + "lbfgs_resume.safetensors";
  Model *a = created(), *b = created();
  ASSERT_TRUE(a && b);
  float loss = NAN;
  for (unsigned s = 0; s < 3; ++s) {
    Batch batch(s);
    ASSERT_EQ(lbfgs_bn_train_step(a, batch.inputs(), batch.target.data(), &loss), KILN_OK);
    ASSERT_EQ(lbfgs_bn_train_step(b, batch.inputs(), batch.target.data(), &loss), KILN_OK);
  }
  ASSERT_EQ(lbfgs_bn_save_checkpoint(b, path.c_str()), KILN_OK) << lbfgs_bn_last_error(b);
  lbfgs_bn_destroy(b);
  Model *c = created(99); // other values everywhere until the load
  ASSERT_TRUE(c);
  ASSERT_EQ(lbfgs_bn_load_checkpoint(c, path.c_str()), KILN_OK) << lbfgs_bn_last_error(c);
  for (unsigned s = 3; s < 6; ++s) {
    Batch batch(s);
    float la = NAN, lc = NAN;
    ASSERT_EQ(lbfgs_bn_train_step(a, batch.inputs(), batch.target.data(), &la), KILN_OK);
    ASSERT_EQ(lbfgs_bn_train_step(c, batch.inputs(), batch.target.data(), &lc), KILN_OK);
    EXPECT_EQ(std::memcmp(&la, &lc, sizeof la), 0) << "step " << s;
  }
  EXPECT_EQ(state_of(a), state_of(c));
  std::remove(path.c_str());
  lbfgs_bn_destroy(a);
  lbfgs_bn_destroy(c);
}

TEST(ModelLbfgs, RefusedBatchChangesNothing) {
  Model *m = created();
  ASSERT_TRUE(m);
  Batch batch(2);
  float loss = NAN;
  ASSERT_EQ(lbfgs_bn_train_step(m, batch.inputs(), batch.target.data(), &loss), KILN_OK);
  const std::vector<unsigned char> before = state_of(m);
  batch.target[5] = 1000000;
  EXPECT_EQ(lbfgs_bn_train_step(m, batch.inputs(), batch.target.data(), &loss),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(lbfgs_bn_last_error(m)).find("element 5 is 1000000"), std::string::npos)
      << lbfgs_bn_last_error(m);
  EXPECT_EQ(state_of(m), before);
  lbfgs_bn_destroy(m);
}

TEST(ModelLbfgs, GradientAccumulationIsRefusedWithAReason) {
  Model *m = created();
  ASSERT_TRUE(m);
  Batch batch(3);
  float loss = NAN;
  EXPECT_EQ(lbfgs_bn_accumulate(m, batch.inputs(), batch.target.data(), &loss),
            KILN_ERROR_UNSUPPORTED);
  EXPECT_NE(std::string(lbfgs_bn_last_error(m)).find("LBFGS"), std::string::npos)
      << lbfgs_bn_last_error(m);
  EXPECT_EQ(lbfgs_bn_apply(m), KILN_ERROR_UNSUPPORTED);
  // gradients is the closure itself: available as for any model.
  EXPECT_EQ(lbfgs_bn_gradients(m, batch.inputs(), batch.target.data(), &loss), KILN_OK);
  EXPECT_TRUE(std::isfinite(loss));
  lbfgs_bn_destroy(m);
}

TEST(ModelLbfgs, ZeroLearningRateLeavesTheParametersAlone) {
  // t = lr * min(1, 1 / |g|_1) = 0: torch's step moves nothing (its line
  // search brackets [0, 0]); the history still records the iteration.
  Model *m = created();
  ASSERT_TRUE(m);
  ASSERT_EQ(lbfgs_bn_set_lr(m, 0.0f), KILN_OK);
  std::vector<std::vector<float>> before;
  for (int i = 0; i < lbfgs_bn_num_parameters(m); ++i) {
    float *data;
    int64_t numel;
    ASSERT_EQ(lbfgs_bn_parameter(m, i, nullptr, &data, &numel), KILN_OK);
    before.emplace_back(data, data + numel);
  }
  Batch batch(4);
  float loss = NAN;
  ASSERT_EQ(lbfgs_bn_train_step(m, batch.inputs(), batch.target.data(), &loss), KILN_OK)
      << lbfgs_bn_last_error(m);
  for (int i = 0; i < lbfgs_bn_num_parameters(m); ++i) {
    float *data;
    int64_t numel;
    ASSERT_EQ(lbfgs_bn_parameter(m, i, nullptr, &data, &numel), KILN_OK);
    EXPECT_EQ(std::vector<float>(data, data + numel), before[i]) << "parameter " << i;
  }
  lbfgs_bn_destroy(m);
}

} // namespace
