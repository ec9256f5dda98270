// In-place updates (docs/design.md): kilnc's default kernels update
// parameters, buffers, optimizer state, step and grad sums where they live
// (KILN_ARG_TENSOR_UPDATE); `--in-place-updates=false` writes next values
// beside the current ones, which the runtime double-buffers. The two are
// the same computation, so accum_bn_dropout (Adam, batch norm, dropout,
// clip_grad_norm with error_if_nonfinite) built both ways must train bit for
// bit alike: train steps, a step the norm check refuses, accumulation.
#include "accum_bn_dropout.h"
#include "accum_bn_dropout_next.h"
#include "instance_bytes.h"
#include "random_inputs.h"

#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace {

static_assert(ACCUM_BN_DROPOUT_INPUT0_NUMEL == ACCUM_BN_DROPOUT_NEXT_INPUT0_NUMEL &&
                  ACCUM_BN_DROPOUT_TARGET_NUMEL == ACCUM_BN_DROPOUT_NEXT_TARGET_NUMEL,
              "the same model twice");

struct Batch : ClassificationBatch {
  explicit Batch(unsigned seed)
      : ClassificationBatch(ACCUM_BN_DROPOUT_INPUT0_NUMEL, ACCUM_BN_DROPOUT_TARGET_NUMEL,
                            ACCUM_BN_DROPOUT_OUTPUT0_SHAPE[1], seed) {}
};

/* Everything a step may change and the grad sums; with `gradients`, the
 * gradients too. */
std::vector<unsigned char> state_of(kiln_model *m, bool gradients = true) {
  return kiln_test::instance_bytes(m, {gradients, /*grad_sums=*/true});
}

TEST(ModelInPlace, NextValueBuildTrainsBitForBitLikeTheInPlaceBuild) {
  // One copy of every updated tensor instead of two.
  EXPECT_LT(ACCUM_BN_DROPOUT_ARENA_BYTES, ACCUM_BN_DROPOUT_NEXT_ARENA_BYTES);
  accum_bn_dropout_model *in_place = nullptr;
  accum_bn_dropout_next_model *next = nullptr;
  ASSERT_EQ(accum_bn_dropout_create(&in_place), KILN_OK) << kiln_last_error();
  ASSERT_EQ(accum_bn_dropout_next_create(&next), KILN_OK) << kiln_last_error();
  auto *a = reinterpret_cast<kiln_model *>(in_place);
  auto *b = reinterpret_cast<kiln_model *>(next);
  ASSERT_EQ(kiln_model_init_parameters(a, 11), KILN_OK);
  ASSERT_EQ(kiln_model_init_parameters(b, 11), KILN_OK);
  uint64_t bytes_a = 0, bytes_b = 0;
  ASSERT_EQ(kiln_model_arena_bytes(a, &bytes_a), KILN_OK);
  ASSERT_EQ(kiln_model_arena_bytes(b, &bytes_b), KILN_OK);
  EXPECT_EQ(bytes_a, ACCUM_BN_DROPOUT_ARENA_BYTES);
  EXPECT_EQ(bytes_b, ACCUM_BN_DROPOUT_NEXT_ARENA_BYTES);
  ASSERT_EQ(kiln_model_set_training(a, 1), KILN_OK);
  ASSERT_EQ(kiln_model_set_training(b, 1), KILN_OK);

  auto same = [&](const char *after) {
    EXPECT_EQ(state_of(a), state_of(b)) << "after " << after;
  };
  float loss_a = 0, loss_b = 0;
  for (unsigned seed = 1; seed <= 3; ++seed) {
    Batch batch(seed);
    ASSERT_EQ(kiln_model_train_step(a, batch.inputs(), batch.target.data(), &loss_a), KILN_OK)
        << kiln_last_error();
    ASSERT_EQ(kiln_model_train_step(b, batch.inputs(), batch.target.data(), &loss_b), KILN_OK)
        << kiln_last_error();
    EXPECT_EQ(std::memcmp(&loss_a, &loss_b, sizeof loss_a), 0);
    same("a train step");
  }

  // A NaN input makes the gradient norm NaN: both refuse the step, the
  // in-place build through its guarded update, the other by not flipping.
  const std::vector<unsigned char> before = state_of(a, /*gradients=*/false);
  Batch bad(4);
  bad.x[0] = std::nanf("");
  EXPECT_EQ(kiln_model_train_step(a, bad.inputs(), bad.target.data(), &loss_a),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_train_step(b, bad.inputs(), bad.target.data(), &loss_b),
            KILN_ERROR_INVALID_ARGUMENT);
  // Nothing but the gradients (the refused batch's, as the step computed
  // them) changed, and both builds agree on all of it.
  EXPECT_EQ(state_of(a, false), before) << "a refused in-place step changed the instance";
  same("a refused step");

  // Accumulation: two batches, then apply.
  for (unsigned seed = 5; seed <= 6; ++seed) {
    Batch batch(seed);
    ASSERT_EQ(kiln_model_accumulate(a, batch.inputs(), batch.target.data(), &loss_a), KILN_OK);
    ASSERT_EQ(kiln_model_accumulate(b, batch.inputs(), batch.target.data(), &loss_b), KILN_OK);
    same("accumulate");
  }
  ASSERT_EQ(kiln_model_apply(a), KILN_OK) << kiln_last_error();
  ASSERT_EQ(kiln_model_apply(b), KILN_OK) << kiln_last_error();
  same("apply");
  int64_t step = 0;
  ASSERT_EQ(kiln_model_get_step(a, &step), KILN_OK);
  EXPECT_EQ(step, 4);
  kiln_model_destroy(a);
  kiln_model_destroy(b);
}

} // namespace
