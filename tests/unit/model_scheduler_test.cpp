// Learning-rate schedulers on a compiled model (kiln/scheduler.h, issue 10
// item 4): the scheduler's state is saved and loaded with the optimizer
// state, so a run resumed from a checkpoint continues bit for bit like the
// uninterrupted one; a bad or mismatched scheduler state is refused with the
// instance and the scheduler unchanged; a scheduler that cycles momentum
// or needs a metric is refused loudly instead of being half applied.
#include "concurrency_tanh_mse.h"
#include "sched_declared.h"
#include "sched_groups.h"
#include "sched_nadam_cycle.h"

#include <kiln/scheduler.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using Model = concurrency_tanh_mse_model;

struct Batch {
  std::vector<float> x, target;
  explicit Batch(unsigned seed)
      : x(CONCURRENCY_TANH_MSE_INPUT0_NUMEL), target(CONCURRENCY_TANH_MSE_TARGET_NUMEL) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal;
    for (float &v : x)
      v = normal(gen);
    for (float &v : target)
      v = normal(gen);
  }
};

/* Parameters, optimizer state, step and lr, byte for byte, of any compiled
 * model (a <name>_model is a kiln_model). */
template <class AnyModel> std::vector<unsigned char> state_of(AnyModel *typed) {
  auto *m = reinterpret_cast<kiln_model *>(typed);
  std::vector<unsigned char> bytes;
  auto append = [&](const void *data, size_t n) {
    const auto *b = static_cast<const unsigned char *>(data);
    bytes.insert(bytes.end(), b, b + n);
  };
  for (int i = 0; i < kiln_model_num_parameters(m); ++i) {
    float *data;
    int64_t numel;
    EXPECT_EQ(kiln_model_parameter(m, i, nullptr, &data, &numel), KILN_OK);
    append(data, numel * sizeof(float));
  }
  for (int i = 0; i < kiln_model_num_states(m); ++i) {
    float *data;
    int64_t numel;
    EXPECT_EQ(kiln_model_state(m, i, nullptr, &data, &numel), KILN_OK);
    append(data, numel * sizeof(float));
  }
  int64_t step;
  float lr;
  EXPECT_EQ(kiln_model_get_step(m, &step), KILN_OK);
  EXPECT_EQ(kiln_model_get_lr(m, &lr), KILN_OK);
  append(&step, sizeof step);
  append(&lr, sizeof lr);
  return bytes;
}

Model *created() {
  Model *m = nullptr;
  EXPECT_EQ(concurrency_tanh_mse_create(&m), KILN_OK) << kiln_last_error();
  if (m)
    EXPECT_EQ(concurrency_tanh_mse_init_parameters(m, 11), KILN_OK);
  return m;
}

/* LinearLR warm-up, then CosineAnnealingWarmRestarts (T_mult 2), as
 * SequentialLR: counters in both children and the parent. */
struct Schedule {
  double linear[3] = {0.1, 1.0, 5};
  double restarts[3] = {4, 2, 1e-4};
  double milestones[1] = {5};
  kiln_scheduler_spec kids[2] = {
      {KILN_SCHEDULER_LINEAR, linear, 3, nullptr, nullptr, nullptr, 0},
      {KILN_SCHEDULER_COSINE_ANNEALING_WARM_RESTARTS, restarts, 3, nullptr, nullptr, nullptr, 0}};
  kiln_scheduler_spec spec{KILN_SCHEDULER_SEQUENTIAL, milestones, 1, nullptr, nullptr, kids, 2};

  kiln_scheduler *create(Model *m) const {
    float lr = 0;
    EXPECT_EQ(concurrency_tanh_mse_get_lr(m, &lr), KILN_OK);
    kiln_scheduler *s = nullptr;
    EXPECT_EQ(kiln_scheduler_create_spec(&spec, lr, &s), KILN_OK) << kiln_last_error();
    EXPECT_EQ(kiln_model_apply_scheduler(reinterpret_cast<kiln_model *>(m), s), KILN_OK);
    EXPECT_EQ(concurrency_tanh_mse_attach_scheduler(m, s), KILN_OK);
    return s;
  }
};

void train(Model *m, kiln_scheduler *s, int steps, unsigned seed) {
  for (int i = 0; i < steps; ++i) {
    Batch b(seed + i);
    const void *in[1] = {b.x.data()};
    float loss = 0;
    ASSERT_EQ(concurrency_tanh_mse_train_step(m, in, b.target.data(), &loss), KILN_OK);
    ASSERT_EQ(concurrency_tanh_mse_scheduler_step(m, s), KILN_OK)
        << concurrency_tanh_mse_last_error(m);
  }
}

struct TempDir {
  fs::path path = fs::temp_directory_path() /
                  ("kiln_sched_" + std::to_string(std::random_device{}()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const char *name) const { return (path / name).string(); }
};

TEST(ModelScheduler, CheckpointResumesTheSchedule) {
  TempDir dir;
  const Schedule schedule;
  Model *a = created(), *b = created();
  ASSERT_TRUE(a && b);
  kiln_scheduler *sa = schedule.create(a);
  train(a, sa, 10, 100);
  ASSERT_EQ(concurrency_tanh_mse_save_checkpoint(a, dir.file("ckpt").c_str()), KILN_OK)
      << concurrency_tanh_mse_last_error(a);
  ASSERT_EQ(concurrency_tanh_mse_save_optimizer_state(a, dir.file("opt").c_str()), KILN_OK);
  train(a, sa, 10, 200);

  // A fresh instance and a fresh scheduler (epoch 0) resume at epoch 10.
  kiln_scheduler *sb = schedule.create(b);
  ASSERT_EQ(concurrency_tanh_mse_load_checkpoint(b, dir.file("ckpt").c_str()), KILN_OK)
      << concurrency_tanh_mse_last_error(b);
  train(b, sb, 10, 200);
  EXPECT_EQ(state_of(a), state_of(b));
  double lr_a = 0, lr_b = 0;
  kiln_scheduler_lr(sa, &lr_a);
  kiln_scheduler_lr(sb, &lr_b);
  EXPECT_EQ(lr_a, lr_b);

  // Without the scheduler's part a resumed run would restart the
  // schedule: the optimizer file alone must move it back, too.
  ASSERT_EQ(concurrency_tanh_mse_load_optimizer_state(b, dir.file("opt").c_str()), KILN_OK);
  int32_t n = 0;
  ASSERT_EQ(kiln_scheduler_state_size(sb, &n), KILN_OK);
  std::vector<double> state(n);
  ASSERT_EQ(kiln_scheduler_get_state(sb, state.data(), n), KILN_OK);
  EXPECT_EQ(state[2], 10); // SequentialLR's last_epoch

  kiln_scheduler_destroy(sa);
  kiln_scheduler_destroy(sb);
  concurrency_tanh_mse_destroy(a);
  concurrency_tanh_mse_destroy(b);
}

TEST(ModelScheduler, MismatchedSchedulerStateIsRefused) {
  TempDir dir;
  const Schedule schedule;
  Model *m = created();
  ASSERT_TRUE(m);
  kiln_scheduler *s = schedule.create(m);
  train(m, s, 3, 7);
  // Saved without a scheduler: the scheduler's tensor is missing.
  ASSERT_EQ(concurrency_tanh_mse_attach_scheduler(m, nullptr), KILN_OK);
  ASSERT_EQ(concurrency_tanh_mse_save_checkpoint(m, dir.file("plain").c_str()), KILN_OK);
  // Saved with a scheduler of another shape (ExponentialLR: 3 values).
  const double gamma = 0.9;
  kiln_scheduler *other = nullptr;
  ASSERT_EQ(kiln_scheduler_create(KILN_SCHEDULER_EXPONENTIAL, 0.05, &gamma, 1, &other), KILN_OK);
  ASSERT_EQ(concurrency_tanh_mse_attach_scheduler(m, other), KILN_OK);
  ASSERT_EQ(concurrency_tanh_mse_save_checkpoint(m, dir.file("other").c_str()), KILN_OK);

  ASSERT_EQ(concurrency_tanh_mse_attach_scheduler(m, s), KILN_OK);
  train(m, s, 2, 9);
  const std::vector<unsigned char> before = state_of(m);
  int32_t n = 0;
  ASSERT_EQ(kiln_scheduler_state_size(s, &n), KILN_OK);
  std::vector<double> sched_before(n), sched_after(n);
  ASSERT_EQ(kiln_scheduler_get_state(s, sched_before.data(), n), KILN_OK);
  for (const char *name : {"plain", "other"}) {
    EXPECT_EQ(concurrency_tanh_mse_load_checkpoint(m, dir.file(name).c_str()),
              KILN_ERROR_MISMATCH)
        << name;
    EXPECT_NE(std::string(concurrency_tanh_mse_last_error(m)).find("scheduler.state"),
              std::string::npos)
        << concurrency_tanh_mse_last_error(m);
    EXPECT_EQ(state_of(m), before) << name;
    ASSERT_EQ(kiln_scheduler_get_state(s, sched_after.data(), n), KILN_OK);
    EXPECT_EQ(sched_after, sched_before) << name;
  }
  // And a file with the scheduler's tensor is refused without one attached.
  ASSERT_EQ(concurrency_tanh_mse_attach_scheduler(m, nullptr), KILN_OK);
  EXPECT_EQ(concurrency_tanh_mse_load_checkpoint(m, dir.file("other").c_str()),
            KILN_ERROR_MISMATCH);
  kiln_scheduler_destroy(other);
  kiln_scheduler_destroy(s);
  concurrency_tanh_mse_destroy(m);
}

TEST(ModelScheduler, CycledMomentumAndMissingMetricAreRefused) {
  Model *m = created();
  ASSERT_TRUE(m);
  // OneCycleLR with its default cycle_momentum: the compiled SGD's momentum
  // is a constant, so the model refuses the scheduler outright.
  const double one_cycle[10] = {0.1, 100, 0.3, 0, 1, 0.85, 0.95, 25, 1e4, 0};
  kiln_scheduler *s = nullptr;
  ASSERT_EQ(kiln_scheduler_create(KILN_SCHEDULER_ONE_CYCLE, 0.05, one_cycle, 10, &s), KILN_OK);
  double momentum = 0;
  ASSERT_EQ(kiln_scheduler_momentum(s, &momentum), KILN_OK);
  EXPECT_NEAR(momentum, 0.95, 1e-12);
  const std::vector<unsigned char> before = state_of(m);
  EXPECT_EQ(concurrency_tanh_mse_scheduler_step(m, s), KILN_ERROR_UNSUPPORTED);
  EXPECT_NE(std::string(concurrency_tanh_mse_last_error(m)).find("cycle_momentum"),
            std::string::npos);
  EXPECT_EQ(state_of(m), before);
  double state[3];
  ASSERT_EQ(kiln_scheduler_get_state(s, state, 3), KILN_OK);
  EXPECT_EQ(state[2], 0) << "a refused scheduler must not have stepped";
  kiln_scheduler_destroy(s);

  const double plateau[8] = {0, 0.5, 2, 1e-4, 0, 0, 0, 1e-8};
  ASSERT_EQ(kiln_scheduler_create(KILN_SCHEDULER_REDUCE_ON_PLATEAU, 0.05, plateau, 8, &s),
            KILN_OK);
  EXPECT_EQ(concurrency_tanh_mse_scheduler_step(m, s), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_last_error()).find("metric"), std::string::npos);
  for (double metric : {1.0, 1.0, 1.0, 1.0})
    ASSERT_EQ(concurrency_tanh_mse_scheduler_step_metric(m, s, metric), KILN_OK);
  // best 1.0 after the first; bad epochs 1, 2, 3 > patience: lr halves.
  float lr = 0;
  ASSERT_EQ(concurrency_tanh_mse_get_lr(m, &lr), KILN_OK);
  EXPECT_EQ(lr, 0.025f);
  kiln_scheduler_destroy(s);
  concurrency_tanh_mse_destroy(m);
}

/* The model file's training.scheduler (models/sched_declared.json: the
 * Schedule above) becomes <prefix>_scheduler_create: the same lrs, bit for
 * bit, as the scheduler built in C, and the model's lr follows it. */
static_assert(SCHED_DECLARED_HAS_SCHEDULER == 1, "the file declares training.scheduler");
static_assert(CONCURRENCY_TANH_MSE_HAS_SCHEDULER == 0, "no training.scheduler in that file");

TEST(ModelScheduler, DeclaredSchedulerIsTheFilesSchedule) {
  const Schedule schedule;
  kiln_scheduler *declared = nullptr, *built = nullptr;
  ASSERT_EQ(sched_declared_scheduler_create(&declared), KILN_OK) << kiln_last_error();
  ASSERT_EQ(kiln_scheduler_create_spec(&schedule.spec, 0.05, &built), KILN_OK);
  sched_declared_model *m = nullptr;
  ASSERT_EQ(sched_declared_create(&m), KILN_OK);
  for (int epoch = 0; epoch < 40; ++epoch) {
    double a = 0, b = 0;
    ASSERT_EQ(kiln_scheduler_lr(declared, &a), KILN_OK);
    ASSERT_EQ(kiln_scheduler_lr(built, &b), KILN_OK);
    ASSERT_EQ(a, b) << "epoch " << epoch;
    ASSERT_EQ(sched_declared_scheduler_step(m, declared), KILN_OK);
    ASSERT_EQ(kiln_scheduler_step(built), KILN_OK);
    float lr = 0;
    ASSERT_EQ(sched_declared_get_lr(m, &lr), KILN_OK);
    ASSERT_EQ(kiln_scheduler_lr(built, &b), KILN_OK);
    EXPECT_EQ(lr, static_cast<float>(b));
  }
  sched_declared_destroy(m);
  kiln_scheduler_destroy(declared);
  kiln_scheduler_destroy(built);
}

// Parameter groups: the declared scheduler steps every group from its own
// initial lr (0.01, 0.05, 0.2), as kiln_scheduler_create_groups does, the
// model takes each group's lr, and a checkpoint resumes all of them.
TEST(ModelScheduler, DeclaredSchedulerStepsEveryParameterGroup) {
  const Schedule schedule;
  const double base[] = {0.01, 0.05, 0.2};
  kiln_scheduler *declared = nullptr, *built = nullptr;
  ASSERT_EQ(sched_groups_scheduler_create(&declared), KILN_OK) << kiln_last_error();
  ASSERT_EQ(kiln_scheduler_create_groups(&schedule.spec, base, 3, &built), KILN_OK);
  ASSERT_EQ(kiln_scheduler_num_groups(declared), 3);
  sched_groups_model *m = nullptr;
  ASSERT_EQ(sched_groups_create(&m), KILN_OK);
  ASSERT_EQ(SCHED_GROUPS_NUM_PARAM_GROUPS, 3);
  ASSERT_EQ(sched_groups_num_param_groups(m), 3);
  for (int g = 0; g < 3; ++g) {
    float lr = 0;
    ASSERT_EQ(sched_groups_get_group_lr(m, g, &lr), KILN_OK);
    EXPECT_EQ(lr, static_cast<float>(base[g]));
  }
  float momentum = 0;
  EXPECT_EQ(sched_groups_get_group_momentum(m, 0, &momentum), KILN_ERROR_UNSUPPORTED)
      << "no declared scheduler cycles the momentum";
  ASSERT_EQ(sched_groups_attach_scheduler(m, declared), KILN_OK);
  // Every group's lr in `model` is `scheduler`'s, rounded to f32.
  auto expect_lrs = [](sched_groups_model *model, const kiln_scheduler *scheduler,
                       const std::string &where) {
    for (int g = 0; g < 3; ++g) {
      double want = 0;
      float lr = 0;
      ASSERT_EQ(kiln_scheduler_group_lr(scheduler, g, &want), KILN_OK);
      ASSERT_EQ(sched_groups_get_group_lr(model, g, &lr), KILN_OK);
      EXPECT_EQ(lr, static_cast<float>(want)) << where << ", group " << g;
    }
  };
  const std::string path = ::testing::TempDir() + "sched_groups.safetensors";
  for (int epoch = 0; epoch < 12; ++epoch) {
    ASSERT_EQ(sched_groups_scheduler_step(m, declared), KILN_OK);
    ASSERT_EQ(kiln_scheduler_step(built), KILN_OK);
    expect_lrs(m, built, "epoch " + std::to_string(epoch));
    if (epoch == 5)
      ASSERT_EQ(sched_groups_save_checkpoint(m, path.c_str()), KILN_OK);
  }
  // A fresh instance and scheduler resume at epoch 6 with every group's lr.
  sched_groups_model *resumed = nullptr;
  kiln_scheduler *again = nullptr;
  ASSERT_EQ(sched_groups_create(&resumed), KILN_OK);
  ASSERT_EQ(sched_groups_scheduler_create(&again), KILN_OK);
  ASSERT_EQ(sched_groups_attach_scheduler(resumed, again), KILN_OK);
  ASSERT_EQ(sched_groups_load_checkpoint(resumed, path.c_str()), KILN_OK)
      << sched_groups_last_error(resumed);
  kiln_scheduler *reference = nullptr;
  ASSERT_EQ(kiln_scheduler_create_groups(&schedule.spec, base, 3, &reference), KILN_OK);
  for (int epoch = 0; epoch < 6; ++epoch)
    ASSERT_EQ(kiln_scheduler_step(reference), KILN_OK);
  expect_lrs(resumed, reference, "resumed");
  std::remove(path.c_str());
  sched_groups_destroy(resumed);
  sched_groups_destroy(m);
  kiln_scheduler_destroy(again);
  kiln_scheduler_destroy(reference);
  kiln_scheduler_destroy(declared);
  kiln_scheduler_destroy(built);
}

/* NAdam under a declared OneCycleLR that cycles beta1: mu_product is a 0-d
 * state per parameter (torch's `mu_product`), 1 before the first step, the
 * product of every step's mu after it; a checkpoint taken mid-schedule
 * resumes to the same bytes (parameters, every state incl. mu_product,
 * step, lr and the cycled beta1) as an uninterrupted run. */
TEST(ModelScheduler, NAdamMuProductIsACheckpointedState) {
  using M = sched_nadam_cycle_model;
  auto make = [](M **m, kiln_scheduler **s) {
    ASSERT_EQ(sched_nadam_cycle_create(m), KILN_OK) << kiln_last_error();
    ASSERT_EQ(sched_nadam_cycle_init_parameters(*m, 5), KILN_OK);
    ASSERT_EQ(sched_nadam_cycle_scheduler_create(s), KILN_OK) << kiln_last_error();
    ASSERT_EQ(sched_nadam_cycle_attach_scheduler(*m, *s), KILN_OK);
  };
  auto mu_products = [](M *m) {
    std::vector<float> values;
    for (int i = 0; i < sched_nadam_cycle_num_states(m); ++i) {
      const char *name = nullptr;
      float *data = nullptr;
      int64_t numel = 0;
      EXPECT_EQ(sched_nadam_cycle_state(m, i, &name, &data, &numel), KILN_OK);
      if (std::strstr(name, ".mu_product")) {
        EXPECT_EQ(numel, 1) << name;
        values.push_back(*data);
      }
    }
    return values;
  };
  auto bytes = [](M *m) { // state_of plus the cycled beta1
    std::vector<unsigned char> out = state_of(m);
    float momentum = 0;
    EXPECT_EQ(sched_nadam_cycle_get_group_momentum(m, 0, &momentum), KILN_OK);
    const auto *b = reinterpret_cast<const unsigned char *>(&momentum);
    out.insert(out.end(), b, b + sizeof momentum);
    return out;
  };
  auto run = [](M *m, kiln_scheduler *s, int steps, unsigned seed) {
    for (int i = 0; i < steps; ++i) {
      std::mt19937 gen(seed + i);
      std::normal_distribution<float> normal;
      std::vector<float> x(SCHED_NADAM_CYCLE_INPUT0_NUMEL), t(SCHED_NADAM_CYCLE_TARGET_NUMEL);
      for (float &v : x)
        v = normal(gen);
      for (float &v : t)
        v = normal(gen);
      const void *in[1] = {x.data()};
      float loss = 0;
      ASSERT_EQ(sched_nadam_cycle_train_step(m, in, t.data(), &loss), KILN_OK)
          << sched_nadam_cycle_last_error(m);
      ASSERT_EQ(sched_nadam_cycle_scheduler_step(m, s), KILN_OK);
    }
  };
  M *a = nullptr, *b = nullptr;
  kiln_scheduler *sa = nullptr, *sb = nullptr;
  make(&a, &sa);
  make(&b, &sb);
  ASSERT_TRUE(a && b && sa && sb);
  // The header's budget is what the instance allocated (kiln/arena.h).
  uint64_t arena = 0;
  EXPECT_EQ(kiln_model_arena_bytes(reinterpret_cast<kiln_model *>(a), &arena), KILN_OK);
  EXPECT_EQ(arena, SCHED_NADAM_CYCLE_ARENA_BYTES);
  EXPECT_EQ(kiln_model_arena_bytes(reinterpret_cast<kiln_model *>(a), nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_arena_bytes(nullptr, &arena), KILN_ERROR_INVALID_ARGUMENT);
  std::vector<float> before = mu_products(a);
  ASSERT_EQ(before.size(), size_t(4)); // two Linear layers, weight and bias
  for (float v : before)
    EXPECT_EQ(v, 1.0f);
  TempDir dir;
  run(a, sa, 7, 300);
  for (float v : mu_products(a)) // a product of seven factors in (0.4, 0.5)
    EXPECT_TRUE(v > 0.0f && v < 0.01f) << v;
  ASSERT_EQ(sched_nadam_cycle_save_checkpoint(a, dir.file("ckpt").c_str()), KILN_OK)
      << sched_nadam_cycle_last_error(a);
  run(a, sa, 6, 400);
  ASSERT_EQ(sched_nadam_cycle_load_checkpoint(b, dir.file("ckpt").c_str()), KILN_OK)
      << sched_nadam_cycle_last_error(b);
  run(b, sb, 6, 400);
  EXPECT_EQ(bytes(a), bytes(b));
  kiln_scheduler_destroy(sa);
  kiln_scheduler_destroy(sb);
  sched_nadam_cycle_destroy(a);
  sched_nadam_cycle_destroy(b);
}

} // namespace
