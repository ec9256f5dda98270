// torch.optim.swa_utils.update_bn as kiln_model_update_bn (issue 10 item 5).
// Torch parity of the statistics is the parity suite's (--update-bn 3 on the
// batch-norm models); this checks the contract on accum_bn_dropout
// (Linear -> BatchNorm1d -> ReLU -> Dropout -> Linear): update_bn starts from
// torch's reset whatever the statistics were, averages the batches
// cumulatively, counts them, leaves the mode, parameters and optimizer state
// alone, refuses bad arguments without changing anything, and is refused
// for a model compiled without its kernels (training.update_bn).
#include "accum_bn_dropout.h"
#include "random_inputs.h"
#include "sparse_adam_rows.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace {

using Model = accum_bn_dropout_model;

std::vector<float> batch(unsigned seed) {
  return normal_floats(ACCUM_BN_DROPOUT_INPUT0_NUMEL, seed);
}

/* The batch norm's buffers: running_mean, running_var (floats), then
 * num_batches_tracked. */
struct Stats {
  std::vector<float> mean, var;
  int64_t count = -1;
};

Stats stats_of(Model *m) {
  Stats s;
  for (int i = 0; i < accum_bn_dropout_num_buffers(m); ++i) {
    const char *name = nullptr;
    kiln_dtype dtype;
    void *data = nullptr;
    int64_t numel = 0;
    EXPECT_EQ(accum_bn_dropout_buffer(m, i, &name, &dtype, &data, &numel), KILN_OK);
    const float *f = static_cast<const float *>(data);
    if (std::strstr(name, "running_mean"))
      s.mean.assign(f, f + numel);
    else if (std::strstr(name, "running_var"))
      s.var.assign(f, f + numel);
    else
      s.count = *static_cast<const int64_t *>(data);
  }
  return s;
}

/* update_bn over the batches with these seeds. */
kiln_status update_bn(Model *m, const std::vector<unsigned> &seeds) {
  std::vector<std::vector<float>> xs;
  for (unsigned s : seeds)
    xs.push_back(batch(s));
  std::vector<const void *> inputs;
  for (const auto &x : xs)
    inputs.push_back(x.data());
  std::vector<const void *const *> batches;
  for (const void *&in : inputs)
    batches.push_back(&in);
  return accum_bn_dropout_update_bn(m, static_cast<int>(batches.size()), batches.data());
}

TEST(ModelUpdateBn, ResetsAveragesAndCounts) {
  Model *m = nullptr;
  ASSERT_EQ(accum_bn_dropout_create(&m), KILN_OK);
  ASSERT_EQ(accum_bn_dropout_init_parameters(m, 7), KILN_OK);
  ASSERT_EQ(accum_bn_dropout_set_training(m, 0), KILN_OK);

  ASSERT_EQ(update_bn(m, {1}), KILN_OK) << accum_bn_dropout_last_error(m);
  int mode = -1;
  ASSERT_EQ(accum_bn_dropout_get_training(m, &mode), KILN_OK);
  EXPECT_EQ(mode, 0); // ran train-mode kernels, left the instance in eval
  const Stats one = stats_of(m);
  ASSERT_EQ(update_bn(m, {2}), KILN_OK);
  const Stats two = stats_of(m);
  ASSERT_EQ(update_bn(m, {1, 2}), KILN_OK);
  const Stats both = stats_of(m);
  // Each call starts from the reset: one batch leaves a count of 1, two of
  // 2, and the two-batch means are the average of the one-batch ones
  // (factor 1/2 on the second).
  EXPECT_EQ(one.count, 1);
  EXPECT_EQ(two.count, 1);
  EXPECT_EQ(both.count, 2);
  ASSERT_EQ(both.mean.size(), one.mean.size());
  for (size_t c = 0; c < both.mean.size(); ++c) {
    EXPECT_NEAR(both.mean[c], 0.5f * (one.mean[c] + two.mean[c]), 1e-6f) << c;
    EXPECT_NEAR(both.var[c], 0.5f * (one.var[c] + two.var[c]), 1e-5f) << c;
  }
  EXPECT_NE(one.mean, two.mean);

  // Whatever the statistics were before (train-mode forwards moved them),
  // the same batches give the same bytes.
  ASSERT_EQ(accum_bn_dropout_set_training(m, 1), KILN_OK);
  std::vector<float> x = batch(9), out(ACCUM_BN_DROPOUT_OUTPUT0_NUMEL);
  const void *in[1] = {x.data()};
  void *outs[1] = {out.data()};
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(accum_bn_dropout_forward(m, in, outs), KILN_OK);
  ASSERT_EQ(update_bn(m, {1, 2}), KILN_OK);
  const Stats again = stats_of(m);
  EXPECT_EQ(again.mean, both.mean);
  EXPECT_EQ(again.var, both.var);
  EXPECT_EQ(again.count, 2);
  int training = -1;
  ASSERT_EQ(accum_bn_dropout_get_training(m, &training), KILN_OK);
  EXPECT_EQ(training, 1); // the mode is the caller's, in both directions
  accum_bn_dropout_destroy(m);
}

TEST(ModelUpdateBn, RefusesBadArgumentsWithoutChangingAnything) {
  Model *m = nullptr;
  ASSERT_EQ(accum_bn_dropout_create(&m), KILN_OK);
  ASSERT_EQ(accum_bn_dropout_init_parameters(m, 3), KILN_OK);
  ASSERT_EQ(update_bn(m, {4, 5}), KILN_OK);
  const Stats before = stats_of(m);
  EXPECT_EQ(accum_bn_dropout_update_bn(m, 0, nullptr), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(accum_bn_dropout_update_bn(m, 1, nullptr), KILN_ERROR_INVALID_ARGUMENT);
  std::vector<float> x = batch(6);
  const void *good[1] = {x.data()};
  const void *const *batches[2] = {good, nullptr};
  EXPECT_EQ(accum_bn_dropout_update_bn(m, 2, batches), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(accum_bn_dropout_last_error(m), "batch 1"), nullptr)
      << accum_bn_dropout_last_error(m);
  const void *null_input[1] = {nullptr};
  const void *const *bad_input[2] = {good, null_input};
  EXPECT_EQ(accum_bn_dropout_update_bn(m, 2, bad_input), KILN_ERROR_INVALID_ARGUMENT);
  const Stats after = stats_of(m);
  EXPECT_EQ(after.mean, before.mean);
  EXPECT_EQ(after.var, before.var);
  EXPECT_EQ(after.count, before.count);
  EXPECT_EQ(kiln_model_update_bn(nullptr, 1, batches), KILN_ERROR_INVALID_ARGUMENT);
  accum_bn_dropout_destroy(m);
}

// The kernels are opt-in (training.update_bn): a model compiled without
// them says so.
TEST(ModelUpdateBn, UnsupportedWithoutItsKernels) {
  sparse_adam_rows_model *m = nullptr;
  ASSERT_EQ(sparse_adam_rows_create(&m), KILN_OK);
  ASSERT_EQ(sparse_adam_rows_init_parameters(m, 1), KILN_OK);
  std::vector<int64_t> idx(SPARSE_ADAM_ROWS_INPUT0_NUMEL, 0);
  const void *in[1] = {idx.data()};
  const void *const *batches[1] = {in};
  EXPECT_EQ(sparse_adam_rows_update_bn(m, 1, batches), KILN_ERROR_UNSUPPORTED);
  EXPECT_NE(std::strstr(sparse_adam_rows_last_error(m), "update_bn"), nullptr)
      << sparse_adam_rows_last_error(m);
  sparse_adam_rows_destroy(m);
}

} // namespace
