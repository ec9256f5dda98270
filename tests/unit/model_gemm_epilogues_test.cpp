// GEMM epilogues (kiln-cpu-gemm-to-runtime, kiln_sgemm_fused): the bias,
// ReLU, ReLU backward masks and bias gradients folded into the GEMM calls
// keep the summation orders of the passes they replace, so gemm_folds
// (three Linear layers with ReLUs at odd sizes: 37 x 29 -> 70 -> 45 -> 9,
// every kind of fold) built with and without them (kilnc
// --gemm-epilogues=false) must compute bit for bit alike: forward outputs,
// losses, and everything a train step changes.
#include "gemm_folds.h"
#include "gemm_folds_unfused.h"
#include "instance_bytes.h"
#include "random_inputs.h"

#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

namespace {

static_assert(GEMM_FOLDS_INPUT0_NUMEL == GEMM_FOLDS_UNFUSED_INPUT0_NUMEL &&
                  GEMM_FOLDS_OUTPUT0_NUMEL == GEMM_FOLDS_UNFUSED_OUTPUT0_NUMEL,
              "the same model twice");

struct Batch : ClassificationBatch {
  explicit Batch(unsigned seed)
      : ClassificationBatch(GEMM_FOLDS_INPUT0_NUMEL, GEMM_FOLDS_TARGET_NUMEL,
                            GEMM_FOLDS_OUTPUT0_SHAPE[1], seed) {}
};

std::vector<float> forward(kiln_model *m, Batch &batch) {
  std::vector<float> y(GEMM_FOLDS_OUTPUT0_NUMEL);
  void *out[] = {y.data()};
  EXPECT_EQ(kiln_model_forward(m, batch.inputs(), out), KILN_OK) << kiln_last_error();
  return y;
}

TEST(ModelGemmEpilogues, FoldedBuildTrainsBitForBitLikeTheUnfusedBuild) {
  gemm_folds_model *folded = nullptr;
  gemm_folds_unfused_model *unfused = nullptr;
  ASSERT_EQ(gemm_folds_create(&folded), KILN_OK) << kiln_last_error();
  ASSERT_EQ(gemm_folds_unfused_create(&unfused), KILN_OK) << kiln_last_error();
  auto *a = reinterpret_cast<kiln_model *>(folded);
  auto *b = reinterpret_cast<kiln_model *>(unfused);
  ASSERT_EQ(kiln_model_init_parameters(a, 5), KILN_OK);
  ASSERT_EQ(kiln_model_init_parameters(b, 5), KILN_OK);
  ASSERT_EQ(kiln_model_set_training(a, 1), KILN_OK);
  ASSERT_EQ(kiln_model_set_training(b, 1), KILN_OK);
  for (unsigned seed = 1; seed <= 6; ++seed) {
    Batch batch(seed);
    // A zero first row: its pre-activations are exactly the first bias.
    std::fill_n(batch.x.begin(), GEMM_FOLDS_INPUT0_SHAPE[1], 0.0f);
    std::vector<float> ya = forward(a, batch), yb = forward(b, batch);
    EXPECT_EQ(std::memcmp(ya.data(), yb.data(), ya.size() * sizeof(float)), 0)
        << "forward, batch " << seed;
    float loss_a = 0, loss_b = 0;
    ASSERT_EQ(kiln_model_train_step(a, batch.inputs(), batch.target.data(), &loss_a), KILN_OK)
        << kiln_last_error();
    ASSERT_EQ(kiln_model_train_step(b, batch.inputs(), batch.target.data(), &loss_b), KILN_OK)
        << kiln_last_error();
    EXPECT_EQ(std::memcmp(&loss_a, &loss_b, sizeof loss_a), 0) << "loss, batch " << seed;
    EXPECT_EQ(kiln_test::instance_bytes(a, {/*gradients=*/true}),
              kiln_test::instance_bytes(b, {/*gradients=*/true}))
        << "after train step " << seed;
  }
  kiln_model_destroy(a);
  kiln_model_destroy(b);
}

} // namespace
