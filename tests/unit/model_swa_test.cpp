// Stochastic weight averaging on a compiled model (issue 10 item 5): SWALR
// drives the instance's lr, kiln_averaged_model averages its parameters
// after each step, and the average is stored into a second instance to
// evaluate, as torch's SWA recipe does. Torch parity of both is
// Schedulers.torch_parity / Schedulers.swa_torch_parity; this checks the
// pieces fit a real instance (batch-norm buffers, the model's f32 lr).
#include "accum_bn_dropout.h"

#include <kiln/runtime.h>
#include <kiln/scheduler.h>
#include <kiln/swa.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using Model = accum_bn_dropout_model;

std::vector<std::vector<float>> parameters(Model *m) {
  std::vector<std::vector<float>> out;
  for (int i = 0; i < accum_bn_dropout_num_parameters(m); ++i) {
    float *p;
    int64_t n;
    EXPECT_EQ(accum_bn_dropout_parameter(m, i, nullptr, &p, &n), KILN_OK);
    out.emplace_back(p, p + n);
  }
  return out;
}

std::vector<std::vector<unsigned char>> buffers(Model *m) {
  std::vector<std::vector<unsigned char>> out;
  for (int i = 0; i < accum_bn_dropout_num_buffers(m); ++i) {
    void *p;
    int64_t n;
    kiln_dtype dtype;
    EXPECT_EQ(accum_bn_dropout_buffer(m, i, nullptr, &dtype, &p, &n), KILN_OK);
    const auto *b = static_cast<const unsigned char *>(p);
    out.emplace_back(b, b + n * (dtype == KILN_F32 ? 4 : 8));
  }
  return out;
}

TEST(ModelSwa, SwalrAndAveragedModelOnACompiledModel) {
  Model *m = nullptr, *eval = nullptr;
  ASSERT_EQ(accum_bn_dropout_create(&m), KILN_OK);
  ASSERT_EQ(accum_bn_dropout_create(&eval), KILN_OK);
  ASSERT_EQ(accum_bn_dropout_init_parameters(m, 11), KILN_OK);
  kiln_model *km = reinterpret_cast<kiln_model *>(m);

  float lr0 = 0;
  ASSERT_EQ(accum_bn_dropout_get_lr(m, &lr0), KILN_OK);
  const double swa_args[] = {0.002, 3, 1}; // swa_lr, anneal_epochs, linear
  kiln_scheduler *sched = nullptr;
  ASSERT_EQ(kiln_scheduler_create(KILN_SCHEDULER_SWA, lr0, swa_args, 3, &sched), KILN_OK)
      << kiln_last_error();
  kiln_averaged_model *swa = nullptr;
  ASSERT_EQ(kiln_averaged_model_create(km, KILN_AVERAGE_EQUAL, 0, 0, &swa), KILN_OK);
  const std::vector<std::vector<unsigned char>> initial_buffers = buffers(m);

  std::mt19937 gen(3);
  std::normal_distribution<float> normal;
  std::vector<float> x(ACCUM_BN_DROPOUT_INPUT0_NUMEL);
  std::vector<int64_t> target(ACCUM_BN_DROPOUT_TARGET_NUMEL);
  std::vector<std::vector<float>> average;
  for (int epoch = 0; epoch < 6; ++epoch) {
    for (float &v : x)
      v = normal(gen);
    for (size_t i = 0; i < target.size(); ++i)
      target[i] = static_cast<int64_t>((i + epoch) % ACCUM_BN_DROPOUT_OUTPUT0_SHAPE[1]);
    const void *in[1] = {x.data()};
    float loss;
    ASSERT_EQ(accum_bn_dropout_train_step(m, in, target.data(), &loss), KILN_OK);
    ASSERT_EQ(kiln_averaged_model_update(swa, km), KILN_OK) << kiln_last_error();
    // torch's equal average, in f32: a + (p - a) / (n + 1).
    const std::vector<std::vector<float>> p = parameters(m);
    if (epoch == 0) {
      average = p;
    } else {
      for (size_t k = 0; k < p.size(); ++k)
        for (size_t i = 0; i < p[k].size(); ++i)
          average[k][i] += (p[k][i] - average[k][i]) / static_cast<float>(epoch + 1);
    }
    ASSERT_EQ(accum_bn_dropout_scheduler_step(m, sched), KILN_OK);
    double lr = 0;
    ASSERT_EQ(kiln_scheduler_lr(sched, &lr), KILN_OK);
    float model_lr = 0;
    ASSERT_EQ(accum_bn_dropout_get_lr(m, &model_lr), KILN_OK);
    EXPECT_EQ(model_lr, static_cast<float>(lr));
    if (epoch >= 2) // annealed over 3 epochs: swa_lr from then on
      EXPECT_NEAR(lr, 0.002, 1e-15);
  }
  int64_t n = 0;
  ASSERT_EQ(kiln_averaged_model_n_averaged(swa, &n), KILN_OK);
  EXPECT_EQ(n, 6);
  for (size_t k = 0; k < average.size(); ++k) {
    const float *a;
    int64_t numel;
    ASSERT_EQ(kiln_averaged_model_parameter(swa, static_cast<int>(k), nullptr, &a, &numel),
              KILN_OK);
    ASSERT_EQ(std::vector<float>(a, a + numel), average[k]) << "parameter " << k;
  }

  // Evaluate the average: parameters averaged, buffers as at creation
  // (use_buffers off; torch's update_bn would recompute them).
  ASSERT_EQ(kiln_averaged_model_store(swa, reinterpret_cast<kiln_model *>(eval)), KILN_OK);
  EXPECT_EQ(parameters(eval), average);
  EXPECT_EQ(buffers(eval), initial_buffers);
  EXPECT_NE(buffers(m), initial_buffers) << "training moved the running statistics";

  // torch's state_dict names.
  const std::string path = testing::TempDir() + "swa_model.safetensors";
  ASSERT_EQ(kiln_averaged_model_save(swa, path.c_str()), KILN_OK);
  kiln_safetensors *file = nullptr;
  ASSERT_EQ(kiln_safetensors_open(path.c_str(), &file), KILN_OK);
  kiln_tensor_view v;
  ASSERT_EQ(kiln_safetensors_get(file, 0, &v), KILN_OK);
  EXPECT_STREQ(v.name, "n_averaged");
  EXPECT_EQ(kiln_safetensors_find(file, "module.0.weight", &v), KILN_OK);
  EXPECT_EQ(kiln_safetensors_find(file, "module.1.running_mean", &v), KILN_OK);
  kiln_safetensors_close(file);
  std::remove(path.c_str());

  kiln_averaged_model_destroy(swa);
  kiln_scheduler_destroy(sched);
  accum_bn_dropout_destroy(m);
  accum_bn_dropout_destroy(eval);
}

} // namespace
