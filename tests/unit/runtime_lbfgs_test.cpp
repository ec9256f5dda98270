// The runtime's LBFGS driver (KILN_OPTIMIZER_LBFGS) on a hand-built model
// whose gradients kernel is a quadratic, f(w) = 0.5 |w - c|^2: checks the
// algorithm against what LBFGS must do on it (exact minimum in two
// iterations without a line search, convergence with strong Wolfe, torch's
// counters), and the metadata checks of the driver. Torch parity on real
// models is the parity suite's (gen_lbfgs_cases.py).
#include "metadata_builder.h"

#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace {

using namespace kiln_test;

constexpr int kN = 3, kHistory = 2;

/* args: w [3], c (the target) [3], loss, grad(w), workspace. */
void quadratic(void **args) {
  const float *w = static_cast<const float *>(args[0]);
  const float *c = static_cast<const float *>(args[1]);
  float *loss = static_cast<float *>(args[2]), *grad = static_cast<float *>(args[3]);
  double f = 0;
  for (int i = 0; i < kN; ++i) {
    grad[i] = w[i] - c[i];
    f += 0.5 * grad[i] * grad[i];
  }
  *loss = static_cast<float>(f);
}

void forward(void **args) {
  const float *w = static_cast<const float *>(args[0]);
  float *y = static_cast<float *>(args[1]);
  for (int i = 0; i < kN; ++i)
    y[i] = w[i];
}

struct Lbfgs {
  MetadataBuilder b{"lbfgs_quadratic"};
  int w, c, y, loss, step, lr;
  std::vector<int> states;

  Lbfgs(bool strong_wolfe, double learning_rate = 1, int max_iter = 20) {
    w = b.tensor("w", KILN_ROLE_PARAMETER, KILN_F32, {kN});
    c = b.tensor("c", KILN_ROLE_TARGET, KILN_F32, {kN});
    y = b.tensor("y", KILN_ROLE_OUTPUT, KILN_F32, {kN});
    loss = b.tensor("loss", KILN_ROLE_LOSS, KILN_F32, {});
    step = b.tensor("step", KILN_ROLE_STEP, KILN_I64, {});
    lr = b.tensor("lr", KILN_ROLE_LR, KILN_F32, {});
    const std::pair<const char *, std::vector<int64_t>> s[] = {
        {"d", {kN}},  {"t", {}},       {"old_dirs", {kHistory, kN}}, {"old_stps", {kHistory, kN}},
        {"ro", {kHistory}}, {"num_old", {}}, {"H_diag", {}}, {"prev_flat_grad", {kN}},
        {"prev_loss", {}}, {"n_iter", {}}, {"func_evals", {}}};
    for (const auto &[key, shape] : s)
      states.push_back(b.tensor(std::string("w.") + key, KILN_ROLE_OPTIMIZER_STATE, KILN_F32, shape));
    b.kernel(KILN_ENTRY_FORWARD, KILN_MODE_ANY, forward, {T(w), T(y), workspace()});
    b.kernel(KILN_ENTRY_GRADIENTS, KILN_MODE_ANY, quadratic,
             {T(w), T(c), T(loss), G(w), workspace()});
    b.lr = learning_rate;
    b.optimizer = KILN_OPTIMIZER_LBFGS;
    const double args[KILN_OPTIMIZER_ARGS] = {double(max_iter), 25, 1e-7,
                                              1e-9, kHistory, strong_wolfe ? 1.0 : 0.0};
    for (int i = 0; i < KILN_OPTIMIZER_ARGS; ++i)
      b.optimizer_args[i] = args[i];
  }

  kiln_model *create() {
    kiln_model *m = nullptr;
    EXPECT_EQ(kiln_model_create(b.get(), &m), KILN_OK) << kiln_last_error();
    return m;
  }
};

float state(kiln_model *m, int index) {
  float *data = nullptr;
  EXPECT_EQ(kiln_model_state(m, index, nullptr, &data, nullptr), KILN_OK);
  return data ? data[0] : NAN;
}

std::vector<float> params(kiln_model *m) {
  float *data = nullptr;
  EXPECT_EQ(kiln_model_parameter(m, 0, nullptr, &data, nullptr), KILN_OK);
  return std::vector<float>(data, data + kN);
}

TEST(RuntimeLbfgs, FixedStepReachesTheQuadraticsMinimumInTwoIterations) {
  // Iteration 1: steepest descent by t = min(1, 1 / |g|_1) * lr. Iteration
  // 2: y = s (the Hessian is I), so H_diag = 1 and the two-loop recursion
  // gives d = -g exactly; t = lr = 1 lands on c.
  Lbfgs l(/*strong_wolfe=*/false, 1.0, /*max_iter=*/3);
  kiln_model *m = l.create();
  ASSERT_TRUE(m);
  const float c[kN] = {1.5f, -2.0f, 0.25f};
  float loss = NAN;
  ASSERT_EQ(kiln_model_train_step(m, nullptr, c, &loss), KILN_OK) << kiln_model_last_error(m);
  EXPECT_FLOAT_EQ(loss, 0.5f * (1.5f * 1.5f + 4.0f + 0.0625f)) << "the first evaluation's loss";
  std::vector<float> w = params(m);
  for (int i = 0; i < kN; ++i)
    EXPECT_NEAR(w[i], c[i], 1e-6) << i;
  // Two iterations at least (the second lands on c), each but the last
  // evaluating once after the step's first evaluation; one curvature pair
  // at least.
  EXPECT_GE(state(m, 9), 2) << "n_iter";
  EXPECT_GE(state(m, 10), 3) << "func_evals";
  EXPECT_GE(state(m, 5), 1) << "num_old";
  int64_t step = 0;
  ASSERT_EQ(kiln_model_get_step(m, &step), KILN_OK);
  EXPECT_EQ(step, 1);
  kiln_model_destroy(m);
}

TEST(RuntimeLbfgs, StrongWolfeConverges) {
  Lbfgs l(/*strong_wolfe=*/true);
  kiln_model *m = l.create();
  ASSERT_TRUE(m);
  const float c[kN] = {-3.0f, 0.5f, 7.0f};
  float loss = NAN;
  ASSERT_EQ(kiln_model_train_step(m, nullptr, c, &loss), KILN_OK) << kiln_model_last_error(m);
  std::vector<float> w = params(m);
  for (int i = 0; i < kN; ++i)
    EXPECT_NEAR(w[i], c[i], 1e-5) << i;
  // Near the optimum a further step stays there and counts its evaluations.
  const float evals = state(m, 10);
  ASSERT_EQ(kiln_model_train_step(m, nullptr, c, &loss), KILN_OK);
  EXPECT_LT(loss, 1e-9f);
  EXPECT_GE(state(m, 10), evals + 1);
  w = params(m);
  for (int i = 0; i < kN; ++i)
    EXPECT_NEAR(w[i], c[i], 1e-5) << i;
  kiln_model_destroy(m);
}

TEST(RuntimeLbfgs, MetadataChecksTheDriver) {
  auto refused = [](Lbfgs &l, const std::string &what) {
    kiln_model *m = nullptr;
    EXPECT_NE(kiln_model_create(l.b.get(), &m), KILN_OK) << what;
    EXPECT_NE(std::string(kiln_last_error()).find(what), std::string::npos)
        << kiln_last_error();
  };
  {
    Lbfgs l(false);
    l.b.optimizer_args[4] = 0;
    refused(l, "history_size");
  }
  {
    Lbfgs l(false);
    l.b.optimizer_args[5] = 2;
    refused(l, "line search");
  }
  {
    Lbfgs l(false);
    l.b.optimizer_args[0] = 2.5;
    refused(l, "max_iter");
  }
  {
    Lbfgs l(false);
    l.b.tensors[l.states[2]].name = "w.old_dir";
    refused(l, "'w.old_dirs'");
  }
  {
    Lbfgs l(false);
    l.b.optimizer = 7;
    refused(l, "optimizer 7");
  }
  {
    Lbfgs l(false);
    l.b.optimizer = KILN_OPTIMIZER_COMPILED;
    refused(l, "train_step kernel");
  }
}

} // namespace
