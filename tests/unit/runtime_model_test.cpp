#include "metadata_builder.h"

#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include "dead_pid.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using namespace kiln_test;

namespace {

/* A train-mode model small enough to check by hand:
 *   forward    y = 2 * x + w              (w has x's shape)
 *   gradients  loss = sum(x) + t[0], grad(p) = p
 *   train_step p' = p - lr * p, state' = state + 1, new_step = step + 1,
 *              loss = sum(x) + t[0] + step
 * Every kernel records its args so tests can check order and ping-pong. */
constexpr int kX = 6; // elements of x, y, w
std::vector<void *> g_args;

void toy_forward(void **args) {
  g_args.assign(args, args + 5);
  const float *w = static_cast<const float *>(args[0]);
  const float *x = static_cast<const float *>(args[3]);
  float *y = static_cast<float *>(args[4]);
  // Generated kernels run their loops on the pool; so does this one.
  struct Ctx {
    const float *w, *x;
    float *y;
  } ctx{w, x, y};
  kiln_parallel_for(
      kX,
      [](int64_t b, int64_t e, void *c) {
        auto *k = static_cast<Ctx *>(c);
        for (int64_t i = b; i < e; ++i)
          k->y[i] = 2 * k->x[i] + k->w[i];
      },
      &ctx);
}

float sum_x(const void *x) {
  float s = 0;
  for (int i = 0; i < kX; ++i)
    s += static_cast<const float *>(x)[i];
  return s;
}

void toy_gradients(void **args) {
  // params w b s, input x, target t, loss, grads gw gb gs
  g_args.assign(args, args + 9);
  *static_cast<float *>(args[5]) =
      sum_x(args[3]) + static_cast<float>(static_cast<const int64_t *>(args[4])[0]);
  const int sizes[3] = {kX, 3, 1}; // s has rank 0: one element
  for (int p = 0; p < 3; ++p)
    std::memcpy(args[6 + p], args[p], sizes[p] * sizeof(float));
}

void toy_train_step(void **args) {
  // w b s | w.m b.m | step lr | x | t | loss | w' b' s' | w.m' b.m' | new_step
  g_args.assign(args, args + 16);
  const int64_t step = *static_cast<const int64_t *>(args[5]);
  const float lr = *static_cast<const float *>(args[6]);
  *static_cast<float *>(args[9]) = sum_x(args[7]) +
                                   static_cast<float>(static_cast<const int64_t *>(args[8])[0]) +
                                   static_cast<float>(step);
  const int param_sizes[3] = {kX, 3, 1};
  for (int p = 0; p < 3; ++p) {
    const float *in = static_cast<const float *>(args[p]);
    float *out = static_cast<float *>(args[10 + p]);
    for (int i = 0; i < param_sizes[p]; ++i)
      out[i] = in[i] - lr * in[i];
  }
  const int state_sizes[2] = {kX, 3};
  for (int s = 0; s < 2; ++s) {
    const float *in = static_cast<const float *>(args[3 + s]);
    float *out = static_cast<float *>(args[13 + s]);
    for (int i = 0; i < state_sizes[s]; ++i)
      out[i] = in[i] + 1;
  }
  *static_cast<int64_t *>(args[15]) = step + 1;
}

/* The toy model's metadata: the argument lists give the order the kernels
 * above read (the last argument, the workspace, they ignore). */
struct ToyMetadata : MetadataBuilder {
  ToyMetadata() {
    int w = tensor("w", KILN_ROLE_PARAMETER, KILN_F32, {2, 3}, uniform(-0.5, 0.5));
    int b = tensor("b", KILN_ROLE_PARAMETER, KILN_F32, {3}, normal(1, 2));
    int s = tensor("s", KILN_ROLE_PARAMETER, KILN_F32, {}, ones());
    int wm = tensor("w.m", KILN_ROLE_OPTIMIZER_STATE, KILN_F32, {2, 3});
    int bm = tensor("b.m", KILN_ROLE_OPTIMIZER_STATE, KILN_F32, {3}, ones());
    int x = tensor("x", KILN_ROLE_INPUT, KILN_F32, {2, 3});
    int t = tensor("t", KILN_ROLE_TARGET, KILN_I64, {2});
    int y = tensor("y", KILN_ROLE_OUTPUT, KILN_F32, {2, 3});
    int loss = tensor("loss", KILN_ROLE_LOSS, KILN_F32, {});
    int step = tensor("step", KILN_ROLE_STEP, KILN_I64, {});
    int rate = tensor("lr", KILN_ROLE_LR, KILN_F32, {});
    lr = 0.1;
    forward = {T(w), T(b), T(s), T(x), T(y), workspace()};
    gradients = {T(w), T(b), T(s), T(x), T(t), T(loss), G(w), G(b), G(s), workspace()};
    train_step = {T(w), T(b), T(s), T(wm), T(bm), T(step), T(rate), T(x), T(t), T(loss),
                  N(w), N(b), N(s), N(wm), N(bm), N(step), workspace()};
  }
  const kiln_model_metadata *with(kiln_kernel_fn f, kiln_kernel_fn g, kiln_kernel_fn s) {
    kernels.clear();
    kernel(KILN_ENTRY_FORWARD, KILN_MODE_ANY, f, forward);
    if (g)
      kernel(KILN_ENTRY_GRADIENTS, KILN_MODE_ANY, g, gradients);
    if (s)
      kernel(KILN_ENTRY_TRAIN_STEP, KILN_MODE_ANY, s, train_step);
    return get();
  }
  std::vector<kiln_kernel_arg> forward, gradients, train_step;
};

ToyMetadata &toy() {
  static ToyMetadata metadata;
  return metadata;
}

const kiln_model_metadata *toy_metadata() {
  return toy().with(toy_forward, toy_gradients, toy_train_step);
}

std::vector<float> param_values(kiln_model *m, int index) {
  float *data = nullptr;
  int64_t numel = 0;
  EXPECT_EQ(kiln_model_parameter(m, index, nullptr, &data, &numel), KILN_OK);
  return std::vector<float>(data, data + numel);
}

std::vector<float> state_values(kiln_model *m, int index) {
  float *data = nullptr;
  int64_t numel = 0;
  EXPECT_EQ(kiln_model_state(m, index, nullptr, &data, &numel), KILN_OK);
  return std::vector<float>(data, data + numel);
}

std::vector<std::vector<float>> all_params(kiln_model *m) {
  std::vector<std::vector<float>> all;
  for (int i = 0; i < kiln_model_num_parameters(m); ++i)
    all.push_back(param_values(m, i));
  return all;
}

class RuntimeModel : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln_model_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    model_ = create(toy_metadata());
    ASSERT_NE(model_, nullptr);
  }
  void TearDown() override {
    for (kiln_model *m : extra_)
      kiln_model_destroy(m);
    kiln_model_destroy(model_);
    fs::remove_all(dir_);
  }

  kiln_model *create(const kiln_model_metadata *metadata) {
    kiln_model *m = nullptr;
    EXPECT_EQ(kiln_model_create(metadata, &m), KILN_OK)
        << kiln_last_error();
    if (m && !model_)
      return m;
    if (m)
      extra_.push_back(m);
    return m;
  }

  std::string path(const std::string &name) const { return (dir_ / name).string(); }

  void write(const std::string &p, const std::vector<kiln_tensor_view> &views) {
    ASSERT_EQ(kiln_safetensors_write(p.c_str(), views.data(), static_cast<int>(views.size())),
              KILN_OK)
        << kiln_last_error();
  }

  void expect_error(kiln_status got, kiln_status want,
                    const std::vector<std::string> &parts) {
    EXPECT_EQ(got, want);
    std::string m = kiln_model_last_error(model_);
    for (const std::string &part : parts)
      EXPECT_NE(m.find(part), std::string::npos) << m << "\n  lacks: " << part;
  }

  fs::path dir_;
  kiln_model *model_ = nullptr;
  std::vector<kiln_model *> extra_;
  float x_[kX] = {1, 2, 3, 4, 5, 6};
  int64_t t_[2] = {10, 0};
  const void *inputs_[1] = {x_};
};

TEST_F(RuntimeModel, Introspection) {
  EXPECT_EQ(kiln_model_num_parameters(model_), 3);
  EXPECT_EQ(kiln_model_num_states(model_), 2);
  const char *name = nullptr;
  float *data = nullptr;
  int64_t numel = -1;
  ASSERT_EQ(kiln_model_parameter(model_, 1, &name, &data, &numel), KILN_OK);
  EXPECT_STREQ(name, "b");
  EXPECT_EQ(numel, 3);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(data) % 64, 0u);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(data[i], 0.0f); // zero until initialised
  ASSERT_EQ(kiln_model_parameter(model_, 2, &name, &data, &numel), KILN_OK);
  EXPECT_EQ(numel, 1); // rank 0: a scalar
  ASSERT_EQ(kiln_model_state(model_, 0, &name, nullptr, &numel), KILN_OK);
  EXPECT_STREQ(name, "w.m");
  EXPECT_EQ(numel, 6);
  EXPECT_EQ(kiln_model_parameter(model_, 3, &name, &data, &numel), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_model_last_error(model_)).find("out of range"), std::string::npos);
  EXPECT_EQ(kiln_model_state(model_, -1, &name, &data, &numel), KILN_ERROR_INVALID_ARGUMENT);
  float lr = 0;
  ASSERT_EQ(kiln_model_get_lr(model_, &lr), KILN_OK);
  EXPECT_FLOAT_EQ(lr, 0.1f);
  int64_t step = -1;
  ASSERT_EQ(kiln_model_get_step(model_, &step), KILN_OK);
  EXPECT_EQ(step, 0);
}

TEST_F(RuntimeModel, ForwardArgumentOrder) {
  ASSERT_EQ(kiln_model_init_parameters(model_, 42), KILN_OK);
  float y[kX];
  void *outputs[1] = {y};
  ASSERT_EQ(kiln_model_forward(model_, inputs_, outputs), KILN_OK);
  std::vector<float> w = param_values(model_, 0);
  for (int i = 0; i < kX; ++i)
    EXPECT_FLOAT_EQ(y[i], 2 * x_[i] + w[i]);
  float *p[3];
  for (int i = 0; i < 3; ++i)
    kiln_model_parameter(model_, i, nullptr, &p[i], nullptr);
  EXPECT_EQ(g_args[0], p[0]);
  EXPECT_EQ(g_args[1], p[1]);
  EXPECT_EQ(g_args[2], p[2]);
  EXPECT_EQ(g_args[3], static_cast<void *>(x_));
  EXPECT_EQ(g_args[4], static_cast<void *>(y));
}

TEST_F(RuntimeModel, ForwardRejectsBadArguments) {
  float y[kX];
  void *outputs[1] = {y};
  void *aliased[1] = {x_};
  const void *null_input[1] = {nullptr};
  expect_error(kiln_model_forward(model_, nullptr, outputs), KILN_ERROR_INVALID_ARGUMENT,
               {"inputs is NULL"});
  expect_error(kiln_model_forward(model_, null_input, outputs), KILN_ERROR_INVALID_ARGUMENT,
               {"input 0 ('x') is NULL"});
  expect_error(kiln_model_forward(model_, inputs_, nullptr), KILN_ERROR_INVALID_ARGUMENT,
               {"outputs is NULL"});
  expect_error(kiln_model_forward(model_, inputs_, aliased), KILN_ERROR_INVALID_ARGUMENT,
               {"output 0 ('y') overlaps input 'x'"});
  EXPECT_EQ(kiln_model_forward(nullptr, inputs_, outputs), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_last_error()).find("model is NULL"), std::string::npos);
}

TEST_F(RuntimeModel, GradientsLeaveParametersAlone) {
  ASSERT_EQ(kiln_model_init_parameters(model_, 1), KILN_OK);
  auto before = all_params(model_);
  float loss = 0;
  ASSERT_EQ(kiln_model_gradients(model_, inputs_, t_, &loss), KILN_OK);
  EXPECT_FLOAT_EQ(loss, 21 + 10);
  EXPECT_EQ(g_args[3], static_cast<void *>(x_));
  EXPECT_EQ(g_args[4], static_cast<void *>(t_));
  for (int p = 0; p < 3; ++p) {
    float *grad = nullptr;
    ASSERT_EQ(kiln_model_gradient(model_, p, &grad), KILN_OK);
    EXPECT_EQ(g_args[6 + p], grad);
    for (size_t i = 0; i < before[p].size(); ++i)
      EXPECT_EQ(grad[i], before[p][i]);
  }
  EXPECT_EQ(all_params(model_), before);
  int64_t step;
  kiln_model_get_step(model_, &step);
  EXPECT_EQ(step, 0);
  float *grad;
  EXPECT_EQ(kiln_model_gradient(model_, 3, &grad), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_gradients(model_, inputs_, nullptr, &loss), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_gradients(model_, inputs_, t_, nullptr), KILN_ERROR_INVALID_ARGUMENT);
}

TEST_F(RuntimeModel, TrainStepPingPongsAndCountsSteps) {
  ASSERT_EQ(kiln_model_init_parameters(model_, 7), KILN_OK);
  auto p0 = all_params(model_);
  float *w_before, *wm_before;
  kiln_model_parameter(model_, 0, nullptr, &w_before, nullptr);
  kiln_model_state(model_, 0, nullptr, &wm_before, nullptr);

  float loss = 0;
  ASSERT_EQ(kiln_model_train_step(model_, inputs_, t_, &loss), KILN_OK);
  EXPECT_FLOAT_EQ(loss, 21 + 10 + 0);
  // Reads: current buffers, step and lr scalars, the caller's x and t.
  EXPECT_EQ(g_args[0], w_before);
  EXPECT_EQ(g_args[3], wm_before);
  EXPECT_EQ(g_args[7], static_cast<void *>(x_));
  EXPECT_EQ(g_args[8], static_cast<void *>(t_));
  // Writes went to distinct buffers, which are now current.
  float *w_after, *wm_after;
  kiln_model_parameter(model_, 0, nullptr, &w_after, nullptr);
  kiln_model_state(model_, 0, nullptr, &wm_after, nullptr);
  EXPECT_EQ(g_args[10], w_after);
  EXPECT_EQ(g_args[13], wm_after);
  EXPECT_NE(w_after, w_before);
  EXPECT_NE(wm_after, wm_before);
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < i; ++j)
      EXPECT_NE(g_args[i], g_args[j]) << i << " " << j;

  int64_t step = 0;
  ASSERT_EQ(kiln_model_get_step(model_, &step), KILN_OK);
  EXPECT_EQ(step, 1);
  auto p1 = all_params(model_);
  for (size_t p = 0; p < p0.size(); ++p)
    for (size_t i = 0; i < p0[p].size(); ++i)
      EXPECT_FLOAT_EQ(p1[p][i], p0[p][i] * 0.9f);
  EXPECT_EQ(state_values(model_, 0), std::vector<float>(6, 1.0f));
  EXPECT_EQ(state_values(model_, 1), std::vector<float>(3, 2.0f));

  // The second step reads what the first wrote and swaps back.
  ASSERT_EQ(kiln_model_set_lr(model_, 0.5f), KILN_OK);
  ASSERT_EQ(kiln_model_train_step(model_, inputs_, t_, &loss), KILN_OK);
  EXPECT_FLOAT_EQ(loss, 21 + 10 + 1);
  EXPECT_EQ(g_args[0], w_after);
  float *w_again;
  kiln_model_parameter(model_, 0, nullptr, &w_again, nullptr);
  EXPECT_EQ(w_again, w_before);
  auto p2 = all_params(model_);
  for (size_t i = 0; i < p1[0].size(); ++i)
    EXPECT_FLOAT_EQ(p2[0][i], p1[0][i] * 0.5f);
  EXPECT_EQ(state_values(model_, 1), std::vector<float>(3, 3.0f));
  kiln_model_get_step(model_, &step);
  EXPECT_EQ(step, 2);
}

TEST_F(RuntimeModel, InitIsDeterministicAndInBounds) {
  kiln_model *other = create(toy_metadata());
  ASSERT_EQ(kiln_model_init_parameters(model_, 123), KILN_OK);
  ASSERT_EQ(kiln_model_init_parameters(other, 123), KILN_OK);
  EXPECT_EQ(all_params(model_), all_params(other));
  ASSERT_EQ(kiln_model_init_parameters(other, 124), KILN_OK);
  EXPECT_NE(all_params(model_)[0], all_params(other)[0]);
  EXPECT_NE(all_params(model_)[1], all_params(other)[1]);

  for (float v : param_values(model_, 0)) {
    EXPECT_GE(v, -0.5f);
    EXPECT_LT(v, 0.5f);
  }
  EXPECT_EQ(param_values(model_, 2), std::vector<float>{1.0f});
}

TEST_F(RuntimeModel, InitResetsOptimizerState) {
  ASSERT_EQ(kiln_model_init_parameters(model_, 5), KILN_OK);
  auto initial = all_params(model_);
  float loss;
  ASSERT_EQ(kiln_model_set_lr(model_, 0.25f), KILN_OK);
  ASSERT_EQ(kiln_model_train_step(model_, inputs_, t_, &loss), KILN_OK);
  ASSERT_EQ(kiln_model_init_parameters(model_, 5), KILN_OK);
  EXPECT_EQ(all_params(model_), initial);
  EXPECT_EQ(state_values(model_, 0), std::vector<float>(6, 0.0f));
  EXPECT_EQ(state_values(model_, 1), std::vector<float>(3, 1.0f));
  int64_t step;
  float lr;
  kiln_model_get_step(model_, &step);
  kiln_model_get_lr(model_, &lr);
  EXPECT_EQ(step, 0);
  EXPECT_FLOAT_EQ(lr, 0.1f);
}

TEST_F(RuntimeModel, InitDistributionsAndStableStreams) {
  MetadataBuilder big("big"), bigger("big");
  for (MetadataBuilder *m : {&big, &bigger}) {
    m->tensor("u", KILN_ROLE_PARAMETER, KILN_F32, {20000}, uniform(2, 3));
    m->tensor("n", KILN_ROLE_PARAMETER, KILN_F32, {100, 200}, normal(1, 2));
    m->kernel(KILN_ENTRY_FORWARD, KILN_MODE_ANY, toy_forward, {});
  }
  bigger.tensor("extra", KILN_ROLE_PARAMETER, KILN_F32, {5}, normal(0, 1));
  kiln_model *a = create(big.get());
  kiln_model *b = create(bigger.get());
  ASSERT_EQ(kiln_model_init_parameters(a, 99), KILN_OK);
  ASSERT_EQ(kiln_model_init_parameters(b, 99), KILN_OK);
  // Appending a parameter does not shift the others' values.
  EXPECT_EQ(param_values(a, 0), param_values(b, 0));
  EXPECT_EQ(param_values(a, 1), param_values(b, 1));

  auto moments = [](const std::vector<float> &v, double *mean, double *stddev) {
    double s = 0, s2 = 0;
    for (float x : v) {
      s += x;
      s2 += double(x) * x;
    }
    *mean = s / v.size();
    *stddev = std::sqrt(s2 / v.size() - *mean * *mean);
  };
  double mean, stddev;
  std::vector<float> u = param_values(a, 0);
  for (float v : u) {
    ASSERT_GE(v, 2.0f);
    ASSERT_LT(v, 3.0f);
  }
  moments(u, &mean, &stddev);
  EXPECT_NEAR(mean, 2.5, 0.01);
  EXPECT_NEAR(stddev, 1 / std::sqrt(12.0), 0.01);
  moments(param_values(a, 1), &mean, &stddev);
  EXPECT_NEAR(mean, 1.0, 0.05);
  EXPECT_NEAR(stddev, 2.0, 0.05);
}

TEST_F(RuntimeModel, ParametersRoundTrip) {
  ASSERT_EQ(kiln_model_init_parameters(model_, 11), KILN_OK);
  const std::string p = path("params.safetensors");
  ASSERT_EQ(kiln_model_save_parameters(model_, p.c_str()), KILN_OK) << kiln_model_last_error(model_);

  // The file holds exactly the parameters, by state_dict name and shape.
  kiln_safetensors *file = nullptr;
  ASSERT_EQ(kiln_safetensors_open(p.c_str(), &file), KILN_OK);
  ASSERT_EQ(kiln_safetensors_count(file), 3);
  kiln_tensor_view v;
  ASSERT_EQ(kiln_safetensors_find(file, "w", &v), KILN_OK);
  ASSERT_EQ(v.rank, 2);
  EXPECT_EQ(v.shape[0], 2);
  EXPECT_EQ(v.shape[1], 3);
  ASSERT_EQ(kiln_safetensors_find(file, "s", &v), KILN_OK);
  EXPECT_EQ(v.rank, 0);
  kiln_safetensors_close(file);

  kiln_model *other = create(toy_metadata());
  ASSERT_EQ(kiln_model_init_parameters(other, 12), KILN_OK);
  ASSERT_NE(all_params(other), all_params(model_));
  ASSERT_EQ(kiln_model_load_parameters(other, p.c_str()), KILN_OK) << kiln_model_last_error(other);
  EXPECT_EQ(all_params(other), all_params(model_));
}

TEST_F(RuntimeModel, OptimizerStateRoundTrip) {
  ASSERT_EQ(kiln_model_init_parameters(model_, 3), KILN_OK);
  float loss;
  ASSERT_EQ(kiln_model_set_lr(model_, 0.03f), KILN_OK);
  ASSERT_EQ(kiln_model_train_step(model_, inputs_, t_, &loss), KILN_OK);
  ASSERT_EQ(kiln_model_train_step(model_, inputs_, t_, &loss), KILN_OK);
  ASSERT_EQ(kiln_model_train_step(model_, inputs_, t_, &loss), KILN_OK);
  const std::string p = path("optim.safetensors");
  ASSERT_EQ(kiln_model_save_optimizer_state(model_, p.c_str()), KILN_OK)
      << kiln_model_last_error(model_);

  kiln_safetensors *file = nullptr;
  ASSERT_EQ(kiln_safetensors_open(p.c_str(), &file), KILN_OK);
  EXPECT_EQ(kiln_safetensors_count(file), 6); // w.m b.m step lr rng.seed rng.offset
  kiln_tensor_view v;
  ASSERT_EQ(kiln_safetensors_find(file, "step", &v), KILN_OK);
  EXPECT_EQ(v.dtype, KILN_I64);
  EXPECT_EQ(v.rank, 0);
  EXPECT_EQ(*static_cast<const int64_t *>(v.data), 3);
  ASSERT_EQ(kiln_safetensors_find(file, "lr", &v), KILN_OK);
  EXPECT_EQ(v.dtype, KILN_F32);
  EXPECT_FLOAT_EQ(*static_cast<const float *>(v.data), 0.03f);
  kiln_safetensors_close(file);

  kiln_model *other = create(toy_metadata());
  ASSERT_EQ(kiln_model_load_optimizer_state(other, p.c_str()), KILN_OK)
      << kiln_model_last_error(other);
  int64_t step;
  float lr;
  kiln_model_get_step(other, &step);
  kiln_model_get_lr(other, &lr);
  EXPECT_EQ(step, 3);
  EXPECT_FLOAT_EQ(lr, 0.03f);
  EXPECT_EQ(state_values(other, 0), state_values(model_, 0));
  EXPECT_EQ(state_values(other, 1), std::vector<float>(3, 4.0f));
}

TEST_F(RuntimeModel, StrictLoadingLeavesInstanceUnchanged) {
  ASSERT_EQ(kiln_model_init_parameters(model_, 8), KILN_OK);
  const auto before = all_params(model_);
  const float data[8] = {9, 9, 9, 9, 9, 9, 9, 9};
  const int64_t w_shape[2] = {2, 3}, w_bad[2] = {3, 2}, b_shape[1] = {3};
  const int64_t i64[6] = {};
  const kiln_tensor_view w{"w", KILN_F32, 2, w_shape, data};
  const kiln_tensor_view b{"b", KILN_F32, 1, b_shape, data};
  const kiln_tensor_view s{"s", KILN_F32, 0, nullptr, data};

  struct Case {
    const char *file;
    std::vector<kiln_tensor_view> views;
    std::vector<std::string> message;
  } cases[] = {
      {"missing.safetensors", {w, b}, {"missing tensor 's'"}},
      {"extra.safetensors",
       {w, b, s, {"extra", KILN_F32, 0, nullptr, data}},
       {"unexpected tensor 'extra'"}},
      {"shape.safetensors",
       {w, b, s, }, {}}, // placeholder replaced below
      {"dtype.safetensors",
       {w, {"b", KILN_I64, 1, b_shape, i64}, s},
       {"tensor 'b' has dtype I64, expected F32"}},
  };
  // The first tensors are fine and the last is wrong: still nothing copied.
  cases[2].views = {b, s, {"w", KILN_F32, 2, w_bad, data}};
  cases[2].message = {"tensor 'w' has shape [3, 2], expected [2, 3]"};

  for (const Case &c : cases) {
    SCOPED_TRACE(c.file);
    const std::string p = path(c.file);
    write(p, c.views);
    std::vector<std::string> parts = c.message;
    parts.push_back(p);
    expect_error(kiln_model_load_parameters(model_, p.c_str()), KILN_ERROR_MISMATCH, parts);
    EXPECT_EQ(all_params(model_), before);
  }

  expect_error(kiln_model_load_parameters(model_, path("absent.safetensors").c_str()),
               KILN_ERROR_IO, {"absent.safetensors"});
  EXPECT_EQ(all_params(model_), before);
}

TEST_F(RuntimeModel, StrictOptimizerLoading) {
  const float zeros[6] = {};
  const int64_t w_shape[2] = {2, 3}, b_shape[1] = {3};
  const int64_t step = 4;
  const float lr = 0.5f;
  const kiln_tensor_view wm{"w.m", KILN_F32, 2, w_shape, zeros};
  const kiln_tensor_view bm{"b.m", KILN_F32, 1, b_shape, zeros};
  const kiln_tensor_view st{"step", KILN_I64, 0, nullptr, &step};
  const kiln_tensor_view lr_f{"lr", KILN_F32, 0, nullptr, &lr};
  const int64_t one[1] = {1};

  std::string p = path("no_step.safetensors");
  write(p, {wm, bm, lr_f});
  expect_error(kiln_model_load_optimizer_state(model_, p.c_str()), KILN_ERROR_MISMATCH,
               {p, "missing tensor 'step'"});
  p = path("f32_step.safetensors");
  write(p, {wm, bm, {"step", KILN_F32, 0, nullptr, &lr}, lr_f});
  expect_error(kiln_model_load_optimizer_state(model_, p.c_str()), KILN_ERROR_MISMATCH,
               {"'step' has dtype F32, expected I64"});
  p = path("lr_shape.safetensors");
  write(p, {wm, bm, st, {"lr", KILN_F32, 1, one, &lr}});
  expect_error(kiln_model_load_optimizer_state(model_, p.c_str()), KILN_ERROR_MISMATCH,
               {"'lr' has shape [1], expected []"});
  int64_t got_step;
  kiln_model_get_step(model_, &got_step);
  EXPECT_EQ(got_step, 0);
}

TEST_F(RuntimeModel, LearningRate) {
  float lr = 0;
  ASSERT_EQ(kiln_model_set_lr(model_, 0.75f), KILN_OK);
  ASSERT_EQ(kiln_model_get_lr(model_, &lr), KILN_OK);
  EXPECT_EQ(lr, 0.75f);
  expect_error(kiln_model_set_lr(model_, NAN), KILN_ERROR_INVALID_ARGUMENT, {"not finite"});
  ASSERT_EQ(kiln_model_get_lr(model_, &lr), KILN_OK);
  EXPECT_EQ(lr, 0.75f);
  EXPECT_EQ(kiln_model_get_lr(model_, nullptr), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_set_training(model_, 0), KILN_OK);
  EXPECT_EQ(kiln_model_set_training(model_, 1), KILN_OK);
}

TEST_F(RuntimeModel, InstancesAreIndependent) {
  kiln_model *other = create(toy_metadata());
  ASSERT_EQ(kiln_model_init_parameters(model_, 1), KILN_OK);
  ASSERT_EQ(kiln_model_init_parameters(other, 1), KILN_OK);
  float loss;
  ASSERT_EQ(kiln_model_train_step(model_, inputs_, t_, &loss), KILN_OK);
  int64_t step;
  kiln_model_get_step(other, &step);
  EXPECT_EQ(step, 0);
  EXPECT_NE(all_params(model_), all_params(other));
  EXPECT_EQ(kiln_model_set_lr(other, INFINITY), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_model_last_error(model_), "");
  EXPECT_NE(std::string(kiln_model_last_error(other)), "");
}

void inference_forward(void **args) {
  const float *x = static_cast<const float *>(args[1]);
  float *y = static_cast<float *>(args[2]);
  y[0] = x[0] * static_cast<const float *>(args[0])[0];
}

// Class-index targets (kiln_index_range) are checked element by element
// before any kernel runs: a bad batch is an error naming the element, and
// the instance (parameters, optimizer state, step) is exactly as before.
TEST_F(RuntimeModel, ClassIndicesAreCheckedBeforeAnyKernelRuns) {
  ToyMetadata md;
  md.tensors[6].range = {1, 1, 0, 11, -100}; // t: [0, 11) or -100
  kiln_model *m = create(md.with(toy_forward, toy_gradients, toy_train_step));
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(kiln_model_init_parameters(m, 3), KILN_OK);
  const auto before = all_params(m);
  float loss = -1;
  const int64_t bad[][2] = {{11, 0}, {0, -1}, {-101, 0}, {INT64_MIN, 0}, {0, INT64_MAX}};
  const char *const what[] = {"element 0 is 11,", "element 1 is -1,", "element 0 is -101,",
                              "element 0 is -9223372036854775808,",
                              "element 1 is 9223372036854775807,"};
  for (size_t c = 0; c < std::size(bad); ++c) {
    g_args.clear();
    EXPECT_EQ(kiln_model_train_step(m, inputs_, bad[c], &loss), KILN_ERROR_INVALID_ARGUMENT);
    const std::string message = kiln_model_last_error(m);
    EXPECT_NE(message.find("kiln_model_train_step: target ('t') "), std::string::npos) << message;
    EXPECT_NE(message.find(what[c]), std::string::npos) << message;
    EXPECT_NE(message.find("not an index in [0, 11) or the ignore value -100"),
              std::string::npos)
        << message;
    EXPECT_EQ(kiln_model_gradients(m, inputs_, bad[c], &loss), KILN_ERROR_INVALID_ARGUMENT);
    EXPECT_TRUE(g_args.empty()) << "a kernel ran on a bad target";
  }
  EXPECT_EQ(loss, -1);
  EXPECT_EQ(all_params(m), before);
  EXPECT_EQ(state_values(m, 0), std::vector<float>(6, 0.0f));
  int64_t step = -1;
  ASSERT_EQ(kiln_model_get_step(m, &step), KILN_OK);
  EXPECT_EQ(step, 0);
  // The bounds themselves and the ignore value are accepted.
  const int64_t good[][2] = {{0, 10}, {-100, 5}, {-100, -100}};
  for (const auto &t : good) {
    EXPECT_EQ(kiln_model_train_step(m, inputs_, t, &loss), KILN_OK) << kiln_model_last_error(m);
    EXPECT_EQ(kiln_model_gradients(m, inputs_, t, &loss), KILN_OK);
  }
  // Without an ignore value, torch's default -100 is just out of range.
  ToyMetadata strict;
  strict.tensors[6].range = {1, 0, 0, 11, 0};
  kiln_model *s = create(strict.with(toy_forward, toy_gradients, toy_train_step));
  ASSERT_NE(s, nullptr);
  const int64_t ignored[2] = {-100, 0};
  EXPECT_EQ(kiln_model_train_step(s, inputs_, ignored, &loss), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_model_last_error(s)).find("not an index in [0, 11)"),
            std::string::npos);
}

TEST(RuntimeModelInference, TrainingIsUnsupported) {
  MetadataBuilder inf("inf");
  int scale = inf.tensor("scale", KILN_ROLE_PARAMETER, KILN_F32, {1}, ones());
  int x_id = inf.tensor("x", KILN_ROLE_INPUT, KILN_F32, {1});
  int y_id = inf.tensor("y", KILN_ROLE_OUTPUT, KILN_F32, {1});
  inf.kernel(KILN_ENTRY_FORWARD, KILN_MODE_ANY, inference_forward,
             {T(scale), T(x_id), T(y_id), workspace()});
  kiln_model *m = nullptr;
  ASSERT_EQ(kiln_model_create(inf.get(), &m), KILN_OK)
      << kiln_last_error();
  ASSERT_EQ(kiln_model_init_parameters(m, 0), KILN_OK);
  float x = 3, y = 0, loss = 0;
  int64_t target = 0;
  const void *inputs[1] = {&x};
  void *outputs[1] = {&y};
  ASSERT_EQ(kiln_model_forward(m, inputs, outputs), KILN_OK);
  EXPECT_EQ(y, 3.0f);

  EXPECT_EQ(kiln_model_train_step(m, inputs, &target, &loss), KILN_ERROR_UNSUPPORTED);
  EXPECT_STREQ(kiln_model_last_error(m), "model was compiled for inference");
  EXPECT_EQ(kiln_model_gradients(m, inputs, &target, &loss), KILN_ERROR_UNSUPPORTED);
  float lr;
  EXPECT_EQ(kiln_model_get_lr(m, &lr), KILN_ERROR_UNSUPPORTED);
  EXPECT_EQ(kiln_model_save_optimizer_state(m, "unused"), KILN_ERROR_UNSUPPORTED);
  EXPECT_EQ(kiln_model_num_states(m), 0);

  int training = -1;
  ASSERT_EQ(kiln_model_get_training(m, &training), KILN_OK);
  EXPECT_EQ(training, 0); // inference models start (and stay) in eval mode
  EXPECT_EQ(kiln_model_set_training(m, 1), KILN_ERROR_UNSUPPORTED);
  EXPECT_EQ(kiln_model_set_training(m, 0), KILN_OK);
  kiln_model_destroy(m);
}

} // namespace

namespace {

/* Kernels get the instance's workspace where their argument list says
 * (here: last): 64-byte aligned, writable for the whole size, the same
 * buffer on every call of every kernel. */
std::vector<void *> g_workspaces;
constexpr int kWorkspaceBytes = 1000;

void workspace_forward(void **args) {
  // params w b s, input x, output y, workspace
  g_workspaces.push_back(args[5]);
  std::memset(args[5], 0xab, kWorkspaceBytes);
}
void workspace_gradients(void **args) {
  // params w b s, x, t, loss, grads gw gb gs, workspace
  g_workspaces.push_back(args[9]);
  std::memset(args[9], 0xcd, kWorkspaceBytes);
}
void workspace_train_step(void **args) {
  // w b s | w.m b.m | step lr | x | t | loss | w' b' s' | w.m' b.m' | new_step | workspace
  g_workspaces.push_back(args[16]);
  std::memset(args[16], 0xef, kWorkspaceBytes);
}

} // namespace

TEST(RuntimeModelWorkspace, EveryKernelGetsTheSameAlignedWorkspace) {
  toy().workspace_bytes = kWorkspaceBytes;
  const kiln_model_metadata *metadata =
      toy().with(workspace_forward, workspace_gradients, workspace_train_step);
  toy().workspace_bytes = 0;
  kiln_model *m = nullptr;
  ASSERT_EQ(kiln_model_create(metadata, &m), KILN_OK)
      << kiln_last_error();
  std::vector<float> x(kX, 1.0f), y(kX);
  int64_t t[2] = {0, 1};
  const void *inputs[] = {x.data()};
  void *outputs[] = {y.data()};
  float loss = 0;
  g_workspaces.clear();
  ASSERT_EQ(kiln_model_forward(m, inputs, outputs), KILN_OK) << kiln_model_last_error(m);
  ASSERT_EQ(kiln_model_gradients(m, inputs, t, &loss), KILN_OK)
      << kiln_model_last_error(m);
  ASSERT_EQ(kiln_model_train_step(m, inputs, t, &loss), KILN_OK) << kiln_model_last_error(m);
  ASSERT_EQ(kiln_model_train_step(m, inputs, t, &loss), KILN_OK) << kiln_model_last_error(m);
  ASSERT_EQ(g_workspaces.size(), 4u);
  ASSERT_NE(g_workspaces[0], nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(g_workspaces[0]) % 64, 0u);
  for (void *w : g_workspaces)
    EXPECT_EQ(w, g_workspaces[0]);
  kiln_model_destroy(m);
}

namespace {

/* A forward kernel that draws random numbers: it records the state it was
 * given and writes y = offset (as a float). */
std::vector<kiln_rng_state> g_rng_seen;

void rng_forward(void **args) {
  // x, rng, y, workspace
  const auto *rng = static_cast<const kiln_rng_state *>(args[1]);
  g_rng_seen.push_back(*rng);
  *static_cast<float *>(args[2]) = static_cast<float>(rng->offset);
}

std::unique_ptr<MetadataBuilder> rng_model(int64_t counters, bool with_rng_arg) {
  auto built = std::make_unique<MetadataBuilder>("rngmodel");
  MetadataBuilder &md = *built;
  int x_id = md.tensor("x", KILN_ROLE_INPUT, KILN_F32, {1});
  int y_id = md.tensor("y", KILN_ROLE_OUTPUT, KILN_F32, {1});
  std::vector<kiln_kernel_arg> args{T(x_id)};
  if (with_rng_arg)
    args.push_back({KILN_ARG_RNG, -1});
  args.push_back(T(y_id));
  args.push_back(workspace());
  md.kernel(KILN_ENTRY_FORWARD, KILN_MODE_ANY, rng_forward, args, counters);
  return built;
}

} // namespace

/* Kernels only read the random state; the runtime advances the offset by
 * the kernel's rng_counters after each call, so consecutive calls draw
 * disjoint counter ranges, and init_parameters(seed) restarts the stream. */
TEST(RuntimeModelRng, EachCallAdvancesTheStreamByItsCounters) {
  auto md = rng_model(37, true);
  kiln_model *m = nullptr;
  ASSERT_EQ(kiln_model_create(md->get(), &m), KILN_OK) << kiln_last_error();
  ASSERT_EQ(kiln_model_init_parameters(m, 5), KILN_OK);
  float x = 0, y = -1;
  const void *inputs[] = {&x};
  void *outputs[] = {&y};
  g_rng_seen.clear();
  for (int call = 0; call < 3; ++call)
    ASSERT_EQ(kiln_model_forward(m, inputs, outputs), KILN_OK) << kiln_model_last_error(m);
  ASSERT_EQ(g_rng_seen.size(), 3u);
  for (int call = 0; call < 3; ++call) {
    EXPECT_EQ(g_rng_seen[call].seed, 5u);
    EXPECT_EQ(g_rng_seen[call].offset, 37u * call);
  }
  kiln_rng_state now{};
  ASSERT_EQ(kiln_model_get_rng(m, &now), KILN_OK);
  EXPECT_EQ(now.seed, 5u);
  EXPECT_EQ(now.offset, 111u);
  ASSERT_EQ(kiln_model_init_parameters(m, 9), KILN_OK);
  ASSERT_EQ(kiln_model_get_rng(m, &now), KILN_OK);
  EXPECT_EQ(now.seed, 9u);
  EXPECT_EQ(now.offset, 0u);
  kiln_model_destroy(m);
}

TEST(RuntimeModelRng, MetadataChecksCounters) {
  auto error_of = [](std::unique_ptr<MetadataBuilder> md) {
    kiln_model *m = nullptr;
    EXPECT_NE(kiln_model_create(md->get(), &m), KILN_OK);
    return std::string(kiln_last_error());
  };
  EXPECT_NE(error_of(rng_model(4, false)).find("rng_counters without an rng argument"),
            std::string::npos);
  EXPECT_NE(error_of(rng_model(-1, true)).find("rng_counters -1 out of range"),
            std::string::npos);
  EXPECT_NE(error_of(rng_model((int64_t{1} << 62) + 1, true)).find("out of range"),
            std::string::npos);
}

namespace {

/* A train model with both kinds of buffer, for checkpoints:
 *   forward     y = x + p + running_mean
 *   gradients   loss = 0, grad(p) = p
 *   train_step  p, p.m, step, num_batches_tracked += 1; running_mean += 0.5;
 *               loss = step */
void buffered_forward(void **args) {
  // p rm x y workspace
  for (int i = 0; i < 2; ++i)
    static_cast<float *>(args[3])[i] = static_cast<const float *>(args[2])[i] +
                                       static_cast<const float *>(args[0])[i] +
                                       static_cast<const float *>(args[1])[i];
}
void buffered_gradients(void **args) {
  // p x t loss grad(p) workspace
  *static_cast<float *>(args[3]) = 0;
  std::memcpy(args[4], args[0], 2 * sizeof(float));
}
void buffered_train_step(void **args) {
  // p rm nb p.m step lr x t loss | p' rm' nb' p.m' step' | workspace
  const int64_t step = *static_cast<const int64_t *>(args[4]);
  *static_cast<float *>(args[8]) = static_cast<float>(step);
  for (int i = 0; i < 2; ++i) {
    static_cast<float *>(args[9])[i] = static_cast<const float *>(args[0])[i] + 1;
    static_cast<float *>(args[10])[i] = static_cast<const float *>(args[1])[i] + 0.5f;
    static_cast<float *>(args[12])[i] = static_cast<const float *>(args[3])[i] + 1;
  }
  *static_cast<int64_t *>(args[11]) = *static_cast<const int64_t *>(args[2]) + 1;
  *static_cast<int64_t *>(args[13]) = step + 1;
}

struct BufferedMetadata : MetadataBuilder {
  BufferedMetadata() : MetadataBuilder("buffered") {
    int p = tensor("p", KILN_ROLE_PARAMETER, KILN_F32, {2}, normal(0, 1));
    int rm = tensor("bn.running_mean", KILN_ROLE_BUFFER, KILN_F32, {2});
    int nb = tensor("bn.num_batches_tracked", KILN_ROLE_BUFFER, KILN_I64, {});
    int pm = tensor("p.momentum_buffer", KILN_ROLE_OPTIMIZER_STATE, KILN_F32, {2});
    int x = tensor("x", KILN_ROLE_INPUT, KILN_F32, {2});
    int t = tensor("t", KILN_ROLE_TARGET, KILN_I64, {1});
    int y = tensor("y", KILN_ROLE_OUTPUT, KILN_F32, {2});
    int loss = tensor("loss", KILN_ROLE_LOSS, KILN_F32, {});
    int step = tensor("step", KILN_ROLE_STEP, KILN_I64, {});
    int rate = tensor("lr", KILN_ROLE_LR, KILN_F32, {});
    lr = 0.5;
    kernel(KILN_ENTRY_FORWARD, KILN_MODE_ANY, buffered_forward,
           {T(p), T(rm), T(x), T(y), workspace()});
    kernel(KILN_ENTRY_GRADIENTS, KILN_MODE_ANY, buffered_gradients,
           {T(p), T(x), T(t), T(loss), G(p), workspace()});
    kernel(KILN_ENTRY_TRAIN_STEP, KILN_MODE_ANY, buffered_train_step,
           {T(p), T(rm), T(nb), T(pm), T(step), T(rate), T(x), T(t), T(loss), N(p), N(rm),
            N(nb), N(pm), N(step), workspace()});
  }
};

/* Everything a checkpoint holds, read through the public API. */
struct Snapshot {
  std::vector<std::vector<float>> params, states;
  std::vector<std::vector<unsigned char>> buffers;
  int64_t step = -1;
  float lr = -1;
  kiln_rng_state rng{};

  explicit Snapshot(kiln_model *m) {
    params = all_params(m);
    for (int i = 0; i < kiln_model_num_states(m); ++i)
      states.push_back(state_values(m, i));
    for (int i = 0; i < kiln_model_num_buffers(m); ++i) {
      kiln_dtype dtype;
      void *data = nullptr;
      int64_t numel = 0;
      EXPECT_EQ(kiln_model_buffer(m, i, nullptr, &dtype, &data, &numel), KILN_OK);
      const auto *bytes = static_cast<const unsigned char *>(data);
      buffers.emplace_back(bytes, bytes + numel * (dtype == KILN_I64 ? 8 : 4));
    }
    EXPECT_EQ(kiln_model_get_step(m, &step), KILN_OK);
    EXPECT_EQ(kiln_model_get_lr(m, &lr), KILN_OK);
    EXPECT_EQ(kiln_model_get_rng(m, &rng), KILN_OK);
  }
  bool operator==(const Snapshot &o) const {
    return params == o.params && states == o.states && buffers == o.buffers &&
           step == o.step && lr == o.lr && rng.seed == o.rng.seed &&
           rng.offset == o.rng.offset;
  }
};

} // namespace

TEST(RuntimeCheckpoint, RoundTripResumesExactly) {
  BufferedMetadata md;
  kiln_model *a = nullptr, *b = nullptr;
  ASSERT_EQ(kiln_model_create(md.get(), &a), KILN_OK) << kiln_last_error();
  ASSERT_EQ(kiln_model_create(md.get(), &b), KILN_OK) << kiln_last_error();
  ASSERT_EQ(kiln_model_init_parameters(a, 5), KILN_OK);
  ASSERT_EQ(kiln_model_init_parameters(b, 6), KILN_OK);
  const float x[2] = {1, 2};
  const int64_t t[1] = {0};
  const void *inputs[1] = {x};
  float loss_a = 0, loss_b = 0;
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(kiln_model_train_step(a, inputs, t, &loss_a), KILN_OK);
  ASSERT_EQ(kiln_model_set_lr(a, 0.25f), KILN_OK);

  std::string tmpl = (fs::temp_directory_path() / "kiln_ckpt_XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  const std::string p = (dir / "ckpt.safetensors").string();
  ASSERT_EQ(kiln_model_save_checkpoint(a, p.c_str()), KILN_OK) << kiln_model_last_error(a);

  // One file: state_dict names, then the optimizer file's names.
  kiln_safetensors *file = nullptr;
  ASSERT_EQ(kiln_safetensors_open(p.c_str(), &file), KILN_OK) << kiln_last_error();
  std::vector<std::string> names;
  for (int i = 0; i < kiln_safetensors_count(file); ++i) {
    kiln_tensor_view v;
    ASSERT_EQ(kiln_safetensors_get(file, i, &v), KILN_OK);
    names.push_back(v.name);
  }
  kiln_safetensors_close(file);
  EXPECT_EQ(names, (std::vector<std::string>{"p", "bn.running_mean", "bn.num_batches_tracked",
                                             "p.momentum_buffer", "step", "lr", "rng.seed",
                                             "rng.offset"}));

  ASSERT_FALSE(Snapshot(a) == Snapshot(b));
  ASSERT_EQ(kiln_model_load_checkpoint(b, p.c_str()), KILN_OK) << kiln_model_last_error(b);
  EXPECT_TRUE(Snapshot(a) == Snapshot(b));
  int64_t step = 0;
  ASSERT_EQ(kiln_model_get_step(b, &step), KILN_OK);
  EXPECT_EQ(step, 3);
  void *nb = nullptr;
  ASSERT_EQ(kiln_model_buffer(b, 1, nullptr, nullptr, &nb, nullptr), KILN_OK);
  EXPECT_EQ(*static_cast<int64_t *>(nb), 3);

  // Resuming continues identically.
  ASSERT_EQ(kiln_model_train_step(a, inputs, t, &loss_a), KILN_OK);
  ASSERT_EQ(kiln_model_train_step(b, inputs, t, &loss_b), KILN_OK);
  EXPECT_EQ(loss_a, loss_b);
  EXPECT_TRUE(Snapshot(a) == Snapshot(b));

  // The three formats stay distinct: the strict loaders refuse each other's.
  EXPECT_EQ(kiln_model_load_parameters(b, p.c_str()), KILN_ERROR_MISMATCH);
  EXPECT_NE(std::string(kiln_model_last_error(b)).find("unexpected tensor"), std::string::npos);
  EXPECT_EQ(kiln_model_load_optimizer_state(b, p.c_str()), KILN_ERROR_MISMATCH);
  kiln_model_destroy(a);
  kiln_model_destroy(b);
  fs::remove_all(dir);
}

TEST_F(RuntimeModel, CheckpointLoadIsAllOrNothing) {
  ASSERT_EQ(kiln_model_init_parameters(model_, 8), KILN_OK);
  float loss;
  ASSERT_EQ(kiln_model_train_step(model_, inputs_, t_, &loss), KILN_OK);
  ASSERT_EQ(kiln_model_train_step(model_, inputs_, t_, &loss), KILN_OK);
  const Snapshot before(model_);

  const float nines[6] = {9, 9, 9, 9, 9, 9};
  const float nan = NAN;
  const int64_t w_shape[2] = {2, 3}, w_bad[2] = {3, 2}, b_shape[1] = {3};
  const int64_t seven = 7, negative = -1;
  const kiln_tensor_view w{"w", KILN_F32, 2, w_shape, nines};
  const kiln_tensor_view b{"b", KILN_F32, 1, b_shape, nines};
  const kiln_tensor_view s{"s", KILN_F32, 0, nullptr, nines};
  const kiln_tensor_view wm{"w.m", KILN_F32, 2, w_shape, nines};
  const kiln_tensor_view bm{"b.m", KILN_F32, 1, b_shape, nines};
  const kiln_tensor_view st{"step", KILN_I64, 0, nullptr, &seven};
  const kiln_tensor_view lr{"lr", KILN_F32, 0, nullptr, nines};
  const kiln_tensor_view seed{"rng.seed", KILN_I64, 0, nullptr, &seven};
  const kiln_tensor_view offset{"rng.offset", KILN_I64, 0, nullptr, &seven};

  // A complete file of nines loads (so the cases below fail for their one
  // defect), on another instance.
  const std::string good = path("good.safetensors");
  write(good, {w, b, s, wm, bm, st, lr, seed, offset});
  kiln_model *other = create(toy_metadata());
  ASSERT_EQ(kiln_model_load_checkpoint(other, good.c_str()), KILN_OK)
      << kiln_model_last_error(other);
  EXPECT_EQ(param_values(other, 0), std::vector<float>(nines, nines + 6));

  struct Case {
    const char *file;
    std::vector<kiln_tensor_view> views;
    kiln_status status;
    std::vector<std::string> message;
  } cases[] = {
      {"no_state.safetensors", {w, b, s, wm, st, lr, seed, offset}, KILN_ERROR_MISMATCH,
       {"missing tensor 'b.m'"}},
      {"no_param.safetensors", {b, s, wm, bm, st, lr, seed, offset}, KILN_ERROR_MISMATCH,
       {"missing tensor 'w'"}},
      {"no_rng.safetensors", {w, b, s, wm, bm, st, lr}, KILN_ERROR_MISMATCH,
       {"missing tensor 'rng.seed'"}},
      {"extra.safetensors",
       {w, b, s, wm, bm, st, lr, seed, offset, {"extra", KILN_F32, 0, nullptr, nines}},
       KILN_ERROR_MISMATCH, {"unexpected tensor 'extra'"}},
      {"state_shape.safetensors",
       {w, b, s, {"w.m", KILN_F32, 2, w_bad, nines}, bm, st, lr, seed, offset},
       KILN_ERROR_MISMATCH, {"tensor 'w.m' has shape [3, 2], expected [2, 3]"}},
      {"negative_step.safetensors",
       {w, b, s, wm, bm, {"step", KILN_I64, 0, nullptr, &negative}, lr, seed, offset},
       KILN_ERROR_MISMATCH, {"'step' is negative"}},
      {"nan_lr.safetensors",
       {w, b, s, wm, bm, st, {"lr", KILN_F32, 0, nullptr, &nan}, seed, offset},
       KILN_ERROR_MISMATCH, {"'lr' is not finite"}},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.file);
    const std::string p = path(c.file);
    write(p, c.views);
    std::vector<std::string> parts = c.message;
    parts.push_back(p);
    expect_error(kiln_model_load_checkpoint(model_, p.c_str()), c.status, parts);
    EXPECT_TRUE(Snapshot(model_) == before);
  }

  // Files that are not checkpoints of this model, or not valid at all.
  const std::string params = path("params.safetensors");
  ASSERT_EQ(kiln_model_save_parameters(model_, params.c_str()), KILN_OK);
  expect_error(kiln_model_load_checkpoint(model_, params.c_str()), KILN_ERROR_MISMATCH,
               {params, "missing tensor 'w.m'"});
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign((std::istreambuf_iterator<char>(in)), {});
  }
  const std::string truncated = path("truncated.safetensors");
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() - 1);
  expect_error(kiln_model_load_checkpoint(model_, truncated.c_str()), KILN_ERROR_FORMAT,
               {truncated});
  const std::string trailing = path("trailing.safetensors");
  std::ofstream(trailing, std::ios::binary) << bytes << '\0';
  expect_error(kiln_model_load_checkpoint(model_, trailing.c_str()), KILN_ERROR_FORMAT,
               {trailing, "belong to no tensor"});
  const std::string fifo = path("fifo.safetensors");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ::alarm(10); // a hang fails the test
  expect_error(kiln_model_load_checkpoint(model_, fifo.c_str()), KILN_ERROR_IO,
               {fifo, "not a regular file"});
  ::alarm(0);
  expect_error(kiln_model_load_checkpoint(model_, path("absent.safetensors").c_str()),
               KILN_ERROR_IO, {"absent.safetensors"});
  expect_error(kiln_model_load_checkpoint(model_, nullptr), KILN_ERROR_INVALID_ARGUMENT,
               {"path is NULL"});
  EXPECT_EQ(kiln_model_load_checkpoint(nullptr, good.c_str()), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_save_checkpoint(nullptr, good.c_str()), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(Snapshot(model_) == before);
}

TEST_F(RuntimeModel, CheckpointSaveRemovesStaleTemporaries) {
  // What killed saves leave behind (issue 7: 7 files, 14 MB after 20
  // kill -9s): temporaries of the same target whose process is gone. The
  // next save removes them and leaves the checkpoint complete.
  ASSERT_EQ(kiln_model_init_parameters(model_, 4), KILN_OK);
  const std::string p = path("ckpt.safetensors");
  ASSERT_EQ(kiln_model_save_checkpoint(model_, p.c_str()), KILN_OK)
      << kiln_model_last_error(model_);
  const std::string dead = std::to_string(kiln_test::dead_pid());
  for (int n = 0; n < 7; ++n)
    std::ofstream(p + ".tmp." + dead + "." + std::to_string(n), std::ios::binary)
        << std::string(1000, 'x');
  std::ofstream(path("notes.txt")) << "not ours";
  float loss;
  ASSERT_EQ(kiln_model_train_step(model_, inputs_, t_, &loss), KILN_OK);
  ASSERT_EQ(kiln_model_save_checkpoint(model_, p.c_str()), KILN_OK)
      << kiln_model_last_error(model_);
  std::vector<std::string> names;
  for (const auto &entry : fs::directory_iterator(dir_))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"ckpt.safetensors", "notes.txt"}));

  kiln_model *other = create(toy_metadata());
  ASSERT_EQ(kiln_model_load_checkpoint(other, p.c_str()), KILN_OK)
      << kiln_model_last_error(other);
  EXPECT_TRUE(Snapshot(other) == Snapshot(model_));
}

TEST(RuntimeCheckpoint, InferenceModelsHaveNoCheckpoint) {
  MetadataBuilder inf("inf");
  int scale = inf.tensor("scale", KILN_ROLE_PARAMETER, KILN_F32, {1}, ones());
  int x_id = inf.tensor("x", KILN_ROLE_INPUT, KILN_F32, {1});
  int y_id = inf.tensor("y", KILN_ROLE_OUTPUT, KILN_F32, {1});
  inf.kernel(KILN_ENTRY_FORWARD, KILN_MODE_ANY, inference_forward,
             {T(scale), T(x_id), T(y_id), workspace()});
  kiln_model *m = nullptr;
  ASSERT_EQ(kiln_model_create(inf.get(), &m), KILN_OK) << kiln_last_error();
  EXPECT_EQ(kiln_model_save_checkpoint(m, "unused"), KILN_ERROR_UNSUPPORTED);
  EXPECT_EQ(kiln_model_load_checkpoint(m, "unused"), KILN_ERROR_UNSUPPORTED);
  EXPECT_STREQ(kiln_model_last_error(m), "model was compiled for inference");
  kiln_model_destroy(m);
}
