// Gradient accumulation (issue 10 item 7): accumulate = torch's
// loss.backward() on one batch, adding into the instance's grad sums; apply =
// optimizer.step() on them, then zero_grad(). Torch parity of the parameters
// and states is the parity suite's (gen_accum_cases.py); this checks the
// contract: train_step is gradients + accumulate into zeros + apply bit for
// bit, the grad sums are the sums of the batches' gradients, a refused batch
// or step changes nothing, the step counts applies only, and no file holds
// the grad sums.
#include "accum_bn_dropout.h"
#include "instance_bytes.h"
#include "clip_nonfinite.h"
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

using Model = accum_bn_dropout_model;

struct Batch : ClassificationBatch {
  explicit Batch(unsigned seed)
      : ClassificationBatch(ACCUM_BN_DROPOUT_INPUT0_NUMEL, ACCUM_BN_DROPOUT_TARGET_NUMEL,
                            ACCUM_BN_DROPOUT_OUTPUT0_SHAPE[1], seed) {}
};

void append(std::vector<unsigned char> &bytes, const void *data, size_t n) {
  const auto *b = static_cast<const unsigned char *>(data);
  bytes.insert(bytes.end(), b, b + n);
}

/* Parameters, buffers, optimizer state, step and random state, bytes. */
std::vector<unsigned char> state_of(Model *m) { return kiln_test::instance_bytes(m); }

std::vector<std::vector<float>> grad_sums(Model *m) {
  std::vector<std::vector<float>> out;
  for (int i = 0; i < accum_bn_dropout_num_parameters(m); ++i) {
    float *p, *g;
    int64_t numel;
    EXPECT_EQ(accum_bn_dropout_parameter(m, i, nullptr, &p, &numel), KILN_OK);
    EXPECT_EQ(accum_bn_dropout_grad_sum(m, i, &g), KILN_OK) << accum_bn_dropout_last_error(m);
    out.emplace_back(g, g + numel);
  }
  return out;
}

std::vector<std::vector<float>> gradients(Model *m) {
  std::vector<std::vector<float>> out;
  for (int i = 0; i < accum_bn_dropout_num_parameters(m); ++i) {
    float *p, *g;
    int64_t numel;
    EXPECT_EQ(accum_bn_dropout_parameter(m, i, nullptr, &p, &numel), KILN_OK);
    EXPECT_EQ(accum_bn_dropout_gradient(m, i, &g), KILN_OK);
    out.emplace_back(g, g + numel);
  }
  return out;
}

bool all_zero(const std::vector<std::vector<float>> &sums) {
  for (const auto &s : sums)
    for (float v : s)
      if (v != 0 || std::signbit(v))
        return false;
  return true;
}

Model *created(uint64_t seed = 7) {
  Model *m = nullptr;
  EXPECT_EQ(accum_bn_dropout_create(&m), KILN_OK) << kiln_last_error();
  if (m)
    EXPECT_EQ(accum_bn_dropout_init_parameters(m, seed), KILN_OK);
  return m;
}

TEST(ModelAccumulate, TrainStepIsGradientsAccumulatedOnceThenApplied) {
  // Batch norm (buffers), dropout (the random stream), Adam with weight
  // decay and clip_grad_norm: everything train_step does.
  Model *a = created(), *b = created();
  ASSERT_TRUE(a && b);
  for (unsigned s = 0; s < 3; ++s) {
    Batch batch(s);
    float loss_a = NAN, loss_b = NAN;
    ASSERT_EQ(accum_bn_dropout_train_step(a, batch.inputs(), batch.target.data(), &loss_a),
              KILN_OK);
    ASSERT_EQ(accum_bn_dropout_accumulate(b, batch.inputs(), batch.target.data(), &loss_b),
              KILN_OK)
        << accum_bn_dropout_last_error(b);
    ASSERT_EQ(accum_bn_dropout_apply(b), KILN_OK) << accum_bn_dropout_last_error(b);
    EXPECT_EQ(std::memcmp(&loss_a, &loss_b, sizeof loss_a), 0) << "step " << s;
    ASSERT_EQ(state_of(a), state_of(b)) << "step " << s;
    EXPECT_TRUE(all_zero(grad_sums(b))) << "apply leaves the grad sums zero";
  }
  accum_bn_dropout_destroy(a);
  accum_bn_dropout_destroy(b);
}

TEST(ModelAccumulate, GradSumsAddTheBatchesGradientsAndStepCountsApplies) {
  Model *m = created();
  ASSERT_TRUE(m);
  EXPECT_TRUE(all_zero(grad_sums(m)));
  std::vector<std::vector<float>> expected = grad_sums(m);
  for (unsigned s = 0; s < 3; ++s) {
    Batch batch(10 + s);
    float loss = NAN;
    ASSERT_EQ(accum_bn_dropout_accumulate(m, batch.inputs(), batch.target.data(), &loss),
              KILN_OK);
    EXPECT_TRUE(std::isfinite(loss));
    // gradient() reads this batch's gradients (the gradients kernel ran);
    // the grad sum is their running sum, in call order.
    std::vector<std::vector<float>> g = gradients(m);
    for (size_t p = 0; p < g.size(); ++p)
      for (size_t i = 0; i < g[p].size(); ++i)
        expected[p][i] += g[p][i];
    ASSERT_EQ(grad_sums(m), expected) << "after batch " << s;
    int64_t step = -1;
    ASSERT_EQ(accum_bn_dropout_get_step(m, &step), KILN_OK);
    EXPECT_EQ(step, 0) << "accumulate does not count a step";
  }
  ASSERT_EQ(accum_bn_dropout_apply(m), KILN_OK);
  int64_t step = -1;
  ASSERT_EQ(accum_bn_dropout_get_step(m, &step), KILN_OK);
  EXPECT_EQ(step, 1);
  EXPECT_TRUE(all_zero(grad_sums(m)));

  // zero_grad discards a partial accumulation.
  Batch batch(20);
  float loss;
  ASSERT_EQ(accum_bn_dropout_accumulate(m, batch.inputs(), batch.target.data(), &loss), KILN_OK);
  EXPECT_FALSE(all_zero(grad_sums(m)));
  ASSERT_EQ(accum_bn_dropout_zero_grad(m), KILN_OK);
  EXPECT_TRUE(all_zero(grad_sums(m)));
  accum_bn_dropout_destroy(m);
}

TEST(ModelAccumulate, RefusedBatchChangesNothing) {
  Model *m = created();
  ASSERT_TRUE(m);
  Batch first(30);
  float loss;
  ASSERT_EQ(accum_bn_dropout_accumulate(m, first.inputs(), first.target.data(), &loss), KILN_OK);
  const std::vector<unsigned char> before = state_of(m);
  const std::vector<std::vector<float>> sums = grad_sums(m);
  for (int64_t bad : {int64_t{5}, int64_t{1000000}, int64_t{-5}, int64_t{-101}}) {
    Batch batch(31);
    batch.target[7] = bad;
    EXPECT_EQ(accum_bn_dropout_accumulate(m, batch.inputs(), batch.target.data(), &loss),
              KILN_ERROR_INVALID_ARGUMENT)
        << bad;
    const std::string message = accum_bn_dropout_last_error(m);
    EXPECT_NE(message.find("kiln_model_accumulate: target ('target') element 7 is " +
                           std::to_string(bad)),
              std::string::npos)
        << message;
    ASSERT_EQ(state_of(m), before);
    ASSERT_EQ(grad_sums(m), sums);
  }
  EXPECT_EQ(accum_bn_dropout_accumulate(m, first.inputs(), nullptr, &loss),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(accum_bn_dropout_accumulate(m, nullptr, first.target.data(), &loss),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(accum_bn_dropout_accumulate(m, first.inputs(), first.target.data(), nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(accum_bn_dropout_grad_sum(m, 4, nullptr), KILN_ERROR_INVALID_ARGUMENT);
  float *data;
  EXPECT_EQ(accum_bn_dropout_grad_sum(m, accum_bn_dropout_num_parameters(m), &data),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(accum_bn_dropout_grad_sum(m, -1, &data), KILN_ERROR_INVALID_ARGUMENT);
  ASSERT_EQ(state_of(m), before);
  ASSERT_EQ(grad_sums(m), sums);
  accum_bn_dropout_destroy(m);
}

TEST(ModelAccumulate, NonFiniteNormRefusesApplyAndKeepsTheGradSums) {
  // torch: clip_grad_norm_(error_if_nonfinite=True) raises before the step
  // and before scaling, so p.grad keeps the accumulated values.
  clip_nonfinite_model *m = nullptr;
  ASSERT_EQ(clip_nonfinite_create(&m), KILN_OK);
  ASSERT_EQ(clip_nonfinite_init_parameters(m, 3), KILN_OK);
  std::vector<float> x(CLIP_NONFINITE_INPUT0_NUMEL, 0.5f), target(CLIP_NONFINITE_TARGET_NUMEL);
  for (size_t i = 0; i < target.size(); ++i)
    target[i] = static_cast<float>(i % 3) - 1;
  const void *in[1] = {x.data()};
  float loss;
  ASSERT_EQ(clip_nonfinite_accumulate(m, in, target.data(), &loss), KILN_OK);
  target[1] = 1e30f; // the norm of the summed gradients overflows
  ASSERT_EQ(clip_nonfinite_accumulate(m, in, target.data(), &loss), KILN_OK);
  auto snapshot = [&] {
    std::vector<unsigned char> bytes;
    for (int i = 0; i < clip_nonfinite_num_parameters(m); ++i) {
      float *p, *g;
      int64_t numel;
      EXPECT_EQ(clip_nonfinite_parameter(m, i, nullptr, &p, &numel), KILN_OK);
      EXPECT_EQ(clip_nonfinite_grad_sum(m, i, &g), KILN_OK);
      append(bytes, p, numel * 4);
      append(bytes, g, numel * 4);
    }
    for (int i = 0; i < clip_nonfinite_num_states(m); ++i) {
      float *s;
      int64_t numel;
      EXPECT_EQ(clip_nonfinite_state(m, i, nullptr, &s, &numel), KILN_OK);
      append(bytes, s, numel * 4);
    }
    int64_t step;
    EXPECT_EQ(clip_nonfinite_get_step(m, &step), KILN_OK);
    append(bytes, &step, sizeof step);
    return bytes;
  };
  const std::vector<unsigned char> before = snapshot();
  EXPECT_EQ(clip_nonfinite_apply(m), KILN_ERROR_INVALID_ARGUMENT);
  const std::string message = clip_nonfinite_last_error(m);
  EXPECT_NE(message.find("kiln_model_apply: the total norm of the gradients is inf"),
            std::string::npos)
      << message;
  EXPECT_EQ(snapshot(), before);
  // Discarding the batch lets training go on.
  ASSERT_EQ(clip_nonfinite_zero_grad(m), KILN_OK);
  target[1] = 0;
  ASSERT_EQ(clip_nonfinite_accumulate(m, in, target.data(), &loss), KILN_OK);
  ASSERT_EQ(clip_nonfinite_apply(m), KILN_OK);
  int64_t step;
  ASSERT_EQ(clip_nonfinite_get_step(m, &step), KILN_OK);
  EXPECT_EQ(step, 1);
  clip_nonfinite_destroy(m);
}

TEST(ModelAccumulate, FilesHoldNoGradSumsAndLoadingKeepsThem) {
  // Like torch's state_dicts, which hold no .grad: a checkpoint is taken
  // between applies; load_state_dict leaves .grad alone, so do the loaders.
  Model *m = created();
  ASSERT_TRUE(m);
  Batch batch(40);
  float loss;
  ASSERT_EQ(accum_bn_dropout_accumulate(m, batch.inputs(), batch.target.data(), &loss), KILN_OK);
  ASSERT_EQ(accum_bn_dropout_apply(m), KILN_OK);
  const std::string path = testing::TempDir() + "accum_checkpoint.safetensors";
  ASSERT_EQ(accum_bn_dropout_save_checkpoint(m, path.c_str()), KILN_OK);
  kiln_safetensors *file = nullptr;
  ASSERT_EQ(kiln_safetensors_open(path.c_str(), &file), KILN_OK);
  for (int i = 0; i < kiln_safetensors_count(file); ++i) {
    kiln_tensor_view v;
    ASSERT_EQ(kiln_safetensors_get(file, i, &v), KILN_OK);
    const std::string name = v.name;
    EXPECT_FALSE(name.size() >= 5 && name.compare(name.size() - 5, 5, ".grad") == 0) << name;
  }
  kiln_safetensors_close(file);
  ASSERT_EQ(accum_bn_dropout_accumulate(m, batch.inputs(), batch.target.data(), &loss), KILN_OK);
  const std::vector<std::vector<float>> sums = grad_sums(m);
  ASSERT_FALSE(all_zero(sums));
  ASSERT_EQ(accum_bn_dropout_load_checkpoint(m, path.c_str()), KILN_OK);
  EXPECT_EQ(grad_sums(m), sums);
  // init_parameters starts afresh: zero grad sums.
  ASSERT_EQ(accum_bn_dropout_init_parameters(m, 1), KILN_OK);
  EXPECT_TRUE(all_zero(grad_sums(m)));
  std::remove(path.c_str());
  accum_bn_dropout_destroy(m);
}

} // namespace
