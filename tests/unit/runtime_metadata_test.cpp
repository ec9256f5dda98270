// kiln_model_metadata: strict validation, buffers (f32 and i64), train/eval
// kernel selection and the per-instance random state.
#include "metadata_builder.h"

#include <kiln/arena.h>
#include <kiln/comm.h>
#include <kiln/runtime.h>
#include <kiln/scheduler.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace kiln_test;

namespace {

void noop(void **) {}

/* A small trainable model with a batch-norm-like f32 buffer and an i64
 * counter buffer; kernels are supplied per test. */
struct BufferModel : MetadataBuilder {
  BufferModel() : MetadataBuilder("bn") {
    w = tensor("w", KILN_ROLE_PARAMETER, KILN_F32, {2}, ones());
    mean = tensor("bn.running_mean", KILN_ROLE_BUFFER, KILN_F32, {2});
    count = tensor("bn.num_batches_tracked", KILN_ROLE_BUFFER, KILN_I64, {});
    x = tensor("x", KILN_ROLE_INPUT, KILN_F32, {2});
    t = tensor("t", KILN_ROLE_TARGET, KILN_F32, {2});
    y = tensor("y", KILN_ROLE_OUTPUT, KILN_F32, {2});
    loss = tensor("loss", KILN_ROLE_LOSS, KILN_F32, {});
    step = tensor("step", KILN_ROLE_STEP, KILN_I64, {});
    rate = tensor("lr", KILN_ROLE_LR, KILN_F32, {});
    lr = 0.5;
  }
  /* forward reading the buffers; with update, writing their next values. */
  std::vector<kiln_kernel_arg> forward(bool update) const {
    std::vector<kiln_kernel_arg> a = {T(w), T(mean), T(count), T(x), T(y)};
    if (update)
      a.insert(a.end(), {N(mean), N(count)});
    a.push_back(rng());
    return a;
  }
  void add_training(kiln_kernel_fn gradients, kiln_kernel_fn train_step) {
    kernel(KILN_ENTRY_GRADIENTS, KILN_MODE_ANY, gradients,
           {T(w), T(x), T(t), T(loss), G(w)});
    kernel(KILN_ENTRY_TRAIN_STEP, KILN_MODE_ANY, train_step,
           {T(w), T(step), T(rate), T(x), T(t), T(loss), N(w), N(step), rng()});
  }
  int w, mean, count, x, t, y, loss, step, rate;
};

/* Train-mode forward: y = x + mean; mean' = mean + x; count' = count + 1;
 * draws one number from the rng (offset += 1). */
void train_forward(void **args) {
  const float *mean = static_cast<const float *>(args[1]);
  const int64_t *count = static_cast<const int64_t *>(args[2]);
  const float *x = static_cast<const float *>(args[3]);
  float *y = static_cast<float *>(args[4]);
  float *mean_next = static_cast<float *>(args[5]);
  int64_t *count_next = static_cast<int64_t *>(args[6]);
  auto *rng = static_cast<kiln_rng_state *>(args[7]);
  for (int i = 0; i < 2; ++i) {
    y[i] = x[i] + mean[i];
    mean_next[i] = mean[i] + x[i];
  }
  *count_next = *count + 1;
  rng->offset += 1;
}

/* Eval-mode forward: y = x - mean, buffers untouched. */
void eval_forward(void **args) {
  const float *mean = static_cast<const float *>(args[1]);
  const float *x = static_cast<const float *>(args[3]);
  float *y = static_cast<float *>(args[4]);
  for (int i = 0; i < 2; ++i)
    y[i] = x[i] - mean[i];
}

void gradients_kernel(void **args) { *static_cast<float *>(args[3]) = 1; }

/* train_step: w' = w, step' = step + 1, offset += 10. */
void train_step_kernel(void **args) {
  const float *w = static_cast<const float *>(args[0]);
  float *w_next = static_cast<float *>(args[6]);
  w_next[0] = w[0];
  w_next[1] = w[1];
  *static_cast<float *>(args[5]) = 2;
  *static_cast<int64_t *>(args[7]) = *static_cast<const int64_t *>(args[1]) + 1;
  static_cast<kiln_rng_state *>(args[8])->offset += 10;
}

kiln_model *create_ok(const kiln_model_metadata *metadata) {
  kiln_model *m = nullptr;
  EXPECT_EQ(kiln_model_create(metadata, &m), KILN_OK) << kiln_last_error();
  return m;
}

/* Creates a model expecting failure; returns the message. */
std::string create_error(const kiln_model_metadata *metadata,
                         kiln_status expected = KILN_ERROR_FORMAT) {
  kiln_model *m = reinterpret_cast<kiln_model *>(1);
  EXPECT_EQ(kiln_model_create(metadata, &m), expected);
  EXPECT_EQ(m, nullptr);
  return kiln_last_error();
}

class Dir : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln_meta_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const char *name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

using RuntimeBuffers = Dir;

TEST_F(RuntimeBuffers, TrainForwardUpdatesBuffersAndStateDictHasThem) {
  BufferModel md;
  md.kernel(KILN_ENTRY_FORWARD, KILN_MODE_ANY, train_forward, md.forward(true));
  md.add_training(gradients_kernel, train_step_kernel);
  kiln_model *m = create_ok(md.get());
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(kiln_model_init_parameters(m, 1), KILN_OK);
  ASSERT_EQ(kiln_model_num_buffers(m), 2);
  const char *name = nullptr;
  kiln_dtype dtype = KILN_F32;
  void *data = nullptr;
  int64_t numel = 0;
  ASSERT_EQ(kiln_model_buffer(m, 1, &name, &dtype, &data, &numel), KILN_OK);
  EXPECT_STREQ(name, "bn.num_batches_tracked");
  EXPECT_EQ(dtype, KILN_I64);
  EXPECT_EQ(numel, 1);
  EXPECT_EQ(*static_cast<int64_t *>(data), 0);

  float x[2] = {1, 2}, y[2];
  const void *in[] = {x};
  void *out[] = {y};
  ASSERT_EQ(kiln_model_forward(m, in, out), KILN_OK) << kiln_model_last_error(m);
  ASSERT_EQ(kiln_model_forward(m, in, out), KILN_OK);
  EXPECT_EQ(y[1], 2 + 2); // the second call read the first call's update
  ASSERT_EQ(kiln_model_buffer(m, 0, nullptr, nullptr, &data, nullptr), KILN_OK);
  EXPECT_EQ(static_cast<float *>(data)[1], 4);
  ASSERT_EQ(kiln_model_buffer(m, 1, nullptr, nullptr, &data, nullptr), KILN_OK);
  EXPECT_EQ(*static_cast<int64_t *>(data), 2);
  EXPECT_EQ(kiln_model_buffer(m, 2, nullptr, nullptr, &data, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);

  // Parameters and buffers travel together, like torch's state_dict.
  const std::string p = path("state_dict.safetensors");
  ASSERT_EQ(kiln_model_save_parameters(m, p.c_str()), KILN_OK);
  kiln_safetensors *file = nullptr;
  ASSERT_EQ(kiln_safetensors_open(p.c_str(), &file), KILN_OK);
  EXPECT_EQ(kiln_safetensors_count(file), 3);
  kiln_tensor_view v;
  ASSERT_EQ(kiln_safetensors_find(file, "bn.num_batches_tracked", &v), KILN_OK);
  EXPECT_EQ(v.dtype, KILN_I64);
  EXPECT_EQ(*static_cast<const int64_t *>(v.data), 2);
  kiln_safetensors_close(file);

  kiln_model *other = create_ok(md.get());
  ASSERT_EQ(kiln_model_load_parameters(other, p.c_str()), KILN_OK)
      << kiln_model_last_error(other);
  ASSERT_EQ(kiln_model_buffer(other, 1, nullptr, nullptr, &data, nullptr), KILN_OK);
  EXPECT_EQ(*static_cast<int64_t *>(data), 2);
  ASSERT_EQ(kiln_model_buffer(other, 0, nullptr, nullptr, &data, nullptr), KILN_OK);
  EXPECT_EQ(static_cast<float *>(data)[0], 2);
  kiln_model_destroy(other);
  kiln_model_destroy(m);
}

TEST(RuntimeModes, TrainAndEvalKernelsAreSelectedByMode) {
  BufferModel md;
  md.kernel(KILN_ENTRY_FORWARD, KILN_MODE_TRAIN, train_forward, md.forward(true));
  md.kernel(KILN_ENTRY_FORWARD, KILN_MODE_EVAL, eval_forward, md.forward(false));
  md.add_training(gradients_kernel, train_step_kernel);
  kiln_model *m = create_ok(md.get());
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(kiln_model_init_parameters(m, 3), KILN_OK);
  int training = -1;
  ASSERT_EQ(kiln_model_get_training(m, &training), KILN_OK);
  EXPECT_EQ(training, 1); // trainable models start in train mode, like torch

  float x[2] = {1, 2}, y[2];
  const void *in[] = {x};
  void *out[] = {y};
  ASSERT_EQ(kiln_model_forward(m, in, out), KILN_OK);
  EXPECT_EQ(y[0], 1); // train: x + mean(0); mean becomes x
  ASSERT_EQ(kiln_model_set_training(m, 0), KILN_OK);
  ASSERT_EQ(kiln_model_forward(m, in, out), KILN_OK);
  EXPECT_EQ(y[0], 0); // eval: x - mean(1)
  ASSERT_EQ(kiln_model_forward(m, in, out), KILN_OK);
  EXPECT_EQ(y[1], 0); // eval left the buffers alone
  // train_step has only a mode-any kernel: it runs in eval mode too.
  float t[2] = {}, loss = 0;
  ASSERT_EQ(kiln_model_train_step(m, in, t, &loss), KILN_OK);
  EXPECT_EQ(loss, 2);
  ASSERT_EQ(kiln_model_set_training(m, 1), KILN_OK);
  ASSERT_EQ(kiln_model_forward(m, in, out), KILN_OK);
  EXPECT_EQ(y[0], 2);
  kiln_model_destroy(m);
}

TEST(RuntimeModes, MissingModeKernelIsReported) {
  BufferModel md;
  md.kernel(KILN_ENTRY_FORWARD, KILN_MODE_ANY, train_forward, md.forward(true));
  md.kernel(KILN_ENTRY_GRADIENTS, KILN_MODE_TRAIN, gradients_kernel,
            {T(md.w), T(md.x), T(md.t), T(md.loss), G(md.w)});
  md.kernel(KILN_ENTRY_TRAIN_STEP, KILN_MODE_TRAIN, train_step_kernel,
            {T(md.w), T(md.step), T(md.rate), T(md.x), T(md.t), T(md.loss),
             N(md.w), N(md.step), rng()});
  kiln_model *m = create_ok(md.get());
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(kiln_model_set_training(m, 0), KILN_OK);
  float x[2] = {}, t[2] = {}, loss = 0;
  const void *in[] = {x};
  EXPECT_EQ(kiln_model_gradients(m, in, t, &loss), KILN_ERROR_UNSUPPORTED);
  EXPECT_STREQ(kiln_model_last_error(m), "model has no gradients kernel for eval mode");
  ASSERT_EQ(kiln_model_set_training(m, 1), KILN_OK);
  EXPECT_EQ(kiln_model_gradients(m, in, t, &loss), KILN_OK);
  kiln_model_destroy(m);
}

using RuntimeRng = Dir;

TEST_F(RuntimeRng, InitSeedsAndCheckpointResumesTheStream) {
  BufferModel md;
  md.kernel(KILN_ENTRY_FORWARD, KILN_MODE_ANY, train_forward, md.forward(true));
  md.add_training(gradients_kernel, train_step_kernel);
  kiln_model *m = create_ok(md.get());
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(kiln_model_init_parameters(m, 0xfedcba9876543210ull), KILN_OK);
  kiln_rng_state rng{};
  ASSERT_EQ(kiln_model_get_rng(m, &rng), KILN_OK);
  EXPECT_EQ(rng.seed, 0xfedcba9876543210ull);
  EXPECT_EQ(rng.offset, 0u);
  float x[2] = {}, t[2] = {}, loss = 0;
  const void *in[] = {x};
  ASSERT_EQ(kiln_model_train_step(m, in, t, &loss), KILN_OK);
  ASSERT_EQ(kiln_model_train_step(m, in, t, &loss), KILN_OK);
  ASSERT_EQ(kiln_model_get_rng(m, &rng), KILN_OK);
  EXPECT_EQ(rng.offset, 20u);

  const std::string p = path("optim.safetensors");
  ASSERT_EQ(kiln_model_save_optimizer_state(m, p.c_str()), KILN_OK);
  kiln_model *resumed = create_ok(md.get());
  ASSERT_EQ(kiln_model_load_optimizer_state(resumed, p.c_str()), KILN_OK)
      << kiln_model_last_error(resumed);
  kiln_rng_state back{};
  ASSERT_EQ(kiln_model_get_rng(resumed, &back), KILN_OK);
  EXPECT_EQ(back.seed, 0xfedcba9876543210ull); // all 64 bits survive I64
  EXPECT_EQ(back.offset, 20u);
  int64_t step = 0;
  ASSERT_EQ(kiln_model_get_step(resumed, &step), KILN_OK);
  EXPECT_EQ(step, 2);
  float lr = 0;
  ASSERT_EQ(kiln_model_get_lr(resumed, &lr), KILN_OK);
  EXPECT_EQ(lr, 0.5f);

  // An optimizer file without the random state is refused.
  const int64_t zero = 0;
  const float half = 0.5f;
  const kiln_tensor_view old_format[] = {{"step", KILN_I64, 0, nullptr, &zero},
                                         {"lr", KILN_F32, 0, nullptr, &half}};
  const std::string q = path("old.safetensors");
  ASSERT_EQ(kiln_safetensors_write(q.c_str(), old_format, 2), KILN_OK);
  EXPECT_EQ(kiln_model_load_optimizer_state(resumed, q.c_str()), KILN_ERROR_MISMATCH);
  EXPECT_NE(std::string(kiln_model_last_error(resumed)).find("missing tensor 'rng.seed'"),
            std::string::npos);
  kiln_model_destroy(resumed);
  kiln_model_destroy(m);
}

/* ---- Validation: each case breaks one field of a valid struct. ---------- */

struct ValidModel : BufferModel {
  ValidModel() {
    kernel(KILN_ENTRY_FORWARD, KILN_MODE_ANY, noop, forward(false));
    add_training(noop, noop);
  }
};

std::string error_after(void (*breakit)(ValidModel &),
                        kiln_status expected = KILN_ERROR_FORMAT) {
  ValidModel md;
  breakit(md);
  return create_error(md.get(), expected);
}

TEST(RuntimeMetadata, ValidStructIsAccepted) {
  ValidModel md;
  kiln_model *m = create_ok(md.get());
  EXPECT_NE(m, nullptr);
  kiln_model_destroy(m);
}

TEST(RuntimeMetadata, HeaderFields) {
  EXPECT_EQ(create_error(nullptr, KILN_ERROR_INVALID_ARGUMENT),
            "kiln_model_create: metadata or out is NULL");
  ValidModel md;
  kiln_model_metadata copy = *md.get();
  copy.abi_version = 2; // before kiln_tensor_info.range
  EXPECT_EQ(create_error(&copy, KILN_ERROR_UNSUPPORTED),
            "metadata: abi_version 2 is not supported (this runtime reads version 15)");
  copy = *md.get();
  copy.struct_size = sizeof(kiln_model_metadata) - 8;
  EXPECT_NE(create_error(&copy).find("metadata: struct_size"), std::string::npos);
  copy = *md.get();
  copy.device = 2;
  EXPECT_EQ(create_error(&copy, KILN_ERROR_UNSUPPORTED),
            "metadata: device kind 2 is not supported (devices: cpu, cuda)");
  // Device code belongs to CUDA models, and they need it.
  copy = *md.get();
  copy.device = KILN_DEVICE_CUDA;
  EXPECT_EQ(create_error(&copy), "metadata: a KILN_DEVICE_CUDA model needs device_code");
  copy.device_code = "";
  copy.num_device_kernels = 1;
  EXPECT_EQ(create_error(&copy),
            "metadata: num_device_kernels 1 out of range, or device_kernels is NULL");
  const char *bad_name[] = {"no spaces"};
  copy.device_kernels = bad_name;
  EXPECT_NE(create_error(&copy).find("device kernel"), std::string::npos);
  copy = *md.get();
  copy.device_code = "// PTX";
  EXPECT_EQ(create_error(&copy),
            "metadata: device_code and device_kernels are only for KILN_DEVICE_CUDA models");
  copy = *md.get();
  copy.name = nullptr;
  EXPECT_EQ(create_error(&copy), "metadata: model: name is NULL");
  copy = *md.get();
  copy.workspace_bytes = -1;
  EXPECT_NE(create_error(&copy).find("workspace_bytes -1 out of range"), std::string::npos);
  copy = *md.get();
  copy.lr = 1e300; // finite as a double, not as the f32 kernels get
  EXPECT_EQ(create_error(&copy), "metadata: lr is not a finite f32 value");
  copy = *md.get();
  copy.flags = 2;
  EXPECT_EQ(create_error(&copy), "metadata: flags 2 has bits this runtime does not know");
}

/* y = f(w, x): a forward kernel, nothing to train. */
struct InferenceModel : MetadataBuilder {
  InferenceModel() : MetadataBuilder("infer") {
    int w = tensor("w", KILN_ROLE_PARAMETER, KILN_F32, {2}, ones());
    int x = tensor("x", KILN_ROLE_INPUT, KILN_F32, {2});
    int y = tensor("y", KILN_ROLE_OUTPUT, KILN_F32, {2});
    kernel(KILN_ENTRY_FORWARD, KILN_MODE_ANY, noop, {T(w), T(x), T(y)});
  }
};

TEST(RuntimeMetadata, DataParallelFlagNeedsATrainableModel) {
  InferenceModel inference;
  inference.flags = KILN_MODEL_DATA_PARALLEL;
  EXPECT_EQ(create_error(inference.get()),
            "metadata: flags: KILN_MODEL_DATA_PARALLEL on a model that does not train");
  ValidModel training;
  training.flags = KILN_MODEL_DATA_PARALLEL;
  kiln_model *m = create_ok(training.get());
  EXPECT_NE(m, nullptr);
  kiln_model_destroy(m);
}

/* A communicator of `size` processes seen from rank 0, whose collectives
 * change nothing: enough for attaching (rank 0's broadcast sends). */
kiln_comm *fake_comm(int size) {
  static const kiln_comm_ops ops = {
      [](void *, const float *in, float *out, int64_t n, char *, size_t) {
        std::memmove(out, in, static_cast<size_t>(n) * sizeof(float));
        return 0;
      },
      [](void *, void *, int64_t, int, char *, size_t) { return 0; },
      [](void *) {}, /*background=*/0, nullptr};
  kiln_comm *comm = nullptr;
  EXPECT_EQ(kiln_comm_create(&ops, nullptr, 0, size, &comm), KILN_OK) << kiln_last_error();
  return comm;
}

/* A trainable model compiled without --data-parallel would train each
 * process apart: attaching several processes is refused up front, and
 * leaves the model unattached. One process, an inference model, and the
 * flag are fine. */
TEST(RuntimeComm, AttachRefusesSeveralProcessesForAModelWithoutDataParallel) {
  kiln_comm *two = fake_comm(2), *one = fake_comm(1);
  ValidModel plain;
  kiln_model *m = create_ok(plain.get());
  EXPECT_EQ(kiln_model_attach_comm(m, two), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_model_last_error(m))
                .find("kiln_model_attach_comm: the model was compiled without --data-parallel"),
            std::string::npos)
      << kiln_model_last_error(m);
  EXPECT_EQ(kiln_model_world_size(m), 1);
  EXPECT_EQ(kiln_model_attach_comm(m, one), KILN_OK) << kiln_model_last_error(m);
  EXPECT_EQ(kiln_model_world_size(m), 1);
  kiln_model_destroy(m);

  ValidModel parallel;
  parallel.flags = KILN_MODEL_DATA_PARALLEL;
  m = create_ok(parallel.get());
  EXPECT_EQ(kiln_model_attach_comm(m, two), KILN_OK) << kiln_model_last_error(m);
  EXPECT_EQ(kiln_model_world_size(m), 2);
  kiln_model_destroy(m);

  InferenceModel inference;
  m = create_ok(inference.get());
  EXPECT_EQ(kiln_model_attach_comm(m, two), KILN_OK) << kiln_model_last_error(m);
  EXPECT_EQ(kiln_model_world_size(m), 2);
  kiln_model_destroy(m);
  kiln_comm_destroy(two);
  kiln_comm_destroy(one);
}

TEST(RuntimeMetadata, TablesAndPointers) {
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[0].name = nullptr; }),
            "metadata: tensor 0: name is NULL");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[1].shape = nullptr; }),
            "metadata: tensor 1 ('bn.running_mean'): shape is NULL");
  EXPECT_EQ(error_after([](ValidModel &m) { m.kernels[0].fn = nullptr; }),
            "metadata: kernel 0: fn is NULL");
  EXPECT_EQ(error_after([](ValidModel &m) { m.kernels[1].args = nullptr; }),
            "metadata: kernel 1: args is NULL");
  EXPECT_NE(error_after([](ValidModel &m) { m.kernels[1].num_args = -1; })
                .find("num_args -1 out of range"),
            std::string::npos);
  ValidModel md;
  kiln_model_metadata copy = *md.get();
  copy.tensors = nullptr;
  EXPECT_EQ(create_error(&copy), "metadata: tensors is NULL");
  copy = *md.get();
  copy.num_kernels = 1000;
  EXPECT_EQ(create_error(&copy), "metadata: num_kernels 1000 out of range");
}

TEST(RuntimeMetadata, Names) {
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[3].name = ""; }),
            "metadata: tensor 3: name is empty");
  EXPECT_NE(error_after([](ValidModel &m) { m.tensors[3].name = "a\nb"; })
                .find("control or non-ASCII character at byte 1"),
            std::string::npos);
  EXPECT_NE(error_after([](ValidModel &m) { m.tensors[3].name = "a b"; }).find("space"),
            std::string::npos);
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[3].name = "w"; }),
            "metadata: duplicate tensor name 'w'");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[3].name = "rng.seed"; }),
            "metadata: tensor name 'rng.seed' is reserved");
}

TEST(RuntimeMetadata, EnumValues) {
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[0].dtype = 2; }),
            "metadata: tensor 0 ('w'): unknown dtype 2");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[0].role = 15; }),
            "metadata: tensor 0 ('w'): unknown role 15");
  // A value check: f32 [2], a TENSOR argument of forward, gradients and
  // train_step only (here w's gradient argument is refused).
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensor("check.BCELoss.input", KILN_ROLE_CHECK, KILN_F32, {3}); }),
            "metadata: tensor 9 ('check.BCELoss.input'): must be f32 [2] (index, value)");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[0].role = KILN_ROLE_CHECK; }),
            "metadata: kernel 1 argument 4: argument kind 2 of check 'w' is not allowed here");
  // Sparse rows and rows sums (lazy updates that accumulate): f32 [rows, 1],
  // sparse rows written by gradients only, a rows sum per sparse rows.
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensor("e.grad_rows", KILN_ROLE_SPARSE_ROWS, KILN_F32, {6}); }),
            "metadata: tensor 9 ('e.grad_rows'): must be f32 [rows, 1]");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensor("e.grad.rows", KILN_ROLE_ROWS_SUM, KILN_I64, {6, 1}); }),
            "metadata: tensor 9 ('e.grad.rows'): must be f32 [rows, 1]");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensor("e.grad_rows", KILN_ROLE_SPARSE_ROWS, KILN_F32, {6, 1}); }),
            "metadata: kernel 1: does not write sparse rows 'e.grad_rows'");
  // A momentum tensor only with constant init, one per group.
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensor("momentum", KILN_ROLE_MOMENTUM, KILN_F32, {}); }),
            "metadata: momentum tensor 'momentum' needs a constant initializer: its initial value");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[0].role = KILN_ROLE_GRAD_NORM; }),
            "metadata: tensor 0 ('w'): must be an f32 scalar");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[0].init.kind = -1; }),
            "metadata: tensor 0 ('w'): unknown initializer kind -1");
  EXPECT_EQ(error_after([](ValidModel &m) { m.kernels[0].entry = 7; }),
            "metadata: kernel 0: unknown entry point 7");
  // update_bn's kernels write buffers, no outputs, and come in pairs.
  EXPECT_EQ(error_after([](ValidModel &m) { m.kernels[0].entry = KILN_ENTRY_UPDATE_BN; }),
            "metadata: kernel 0 argument 4: argument kind 0 of output 'y' is not allowed here");
  EXPECT_EQ(error_after([](ValidModel &m) {
              m.kernels[0].entry = KILN_ENTRY_UPDATE_BN_FIRST;
              m.kernels[0].num_args = 0;
            }),
            "metadata: kernel 0: update_bn writes no buffer");
  // The accumulation kernels take no caller tensor and no loss.
  EXPECT_EQ(error_after([](ValidModel &m) { m.kernels[0].entry = KILN_ENTRY_ACCUMULATE; }),
            "metadata: kernel 0 argument 0: argument kind 0 of parameter 'w' is not allowed "
            "here");
  EXPECT_EQ(error_after([](ValidModel &m) { m.kernels[0].entry = KILN_ENTRY_APPLY; }),
            "metadata: kernel 0 argument 1: argument kind 0 of buffer 'bn.running_mean' is not "
            "allowed here");
  EXPECT_EQ(error_after([](ValidModel &m) { m.kernels[0].mode = 3; }),
            "metadata: kernel 0: unknown mode 3");
  static const kiln_kernel_arg bad_kind[] = {{7, 0}};
  EXPECT_EQ(error_after([](ValidModel &m) {
              m.kernels[1].args = bad_kind;
              m.kernels[1].num_args = 1;
            }),
            "metadata: kernel 1 argument 0: unknown argument kind 7");
}

TEST(RuntimeMetadata, ShapesAndInitializers) {
  static const int64_t huge[3] = {int64_t(1) << 32, int64_t(1) << 32, 4};
  EXPECT_EQ(error_after([](ValidModel &m) {
              m.tensors[3].rank = 3;
              m.tensors[3].shape = huge;
            }),
            "metadata: tensor 3 ('x'): shape [4294967296, 4294967296, 4] is too large");
  static const int64_t negative[1] = {-2};
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[3].shape = negative; }),
            "metadata: tensor 3 ('x'): negative dimension -2");
  EXPECT_NE(error_after([](ValidModel &m) { m.tensors[3].rank = 33; }).find("rank 33"),
            std::string::npos);
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[0].init = uniform(1, -1); }),
            "metadata: tensor 0 ('w'): uniform bounds have lo > hi");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[0].init = normal(0, -1); }),
            "metadata: tensor 0 ('w'): normal std is negative");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[0].init = normal(0, NAN); }),
            "metadata: tensor 0 ('w'): initializer arguments are not finite");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[2].init = uniform(0, 1); }),
            "metadata: tensor 2 ('bn.num_batches_tracked'): a random initializer "
            "needs dtype f32");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[0].dtype = KILN_I64; }),
            "metadata: tensor 0 ('w'): must be f32");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[7].dtype = KILN_F32; }),
            "metadata: tensor 7 ('step'): must be an i64 scalar");
}

TEST(RuntimeMetadata, IndexRanges) {
  // Only the caller's i64 tensors can carry a range; BufferModel's target
  // is f32 and its num_batches_tracked an i64 buffer.
  const kiln_index_range classes{1, 1, 0, 10, -100};
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[m.t].range = {1, 1, 0, 10, -100}; }),
            "metadata: tensor 4 ('t'): only i64 inputs and targets have an index range");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[m.count].range = {1, 0, 0, 10, 0}; }),
            "metadata: tensor 2 ('bn.num_batches_tracked'): only i64 inputs and targets "
            "have an index range");
  auto i64_target = [](ValidModel &m, kiln_index_range r) {
    m.tensors[m.t].dtype = KILN_I64;
    m.tensors[m.t].range = r;
  };
  {
    ValidModel md;
    i64_target(md, classes);
    kiln_model *m = create_ok(md.get());
    EXPECT_NE(m, nullptr);
    kiln_model_destroy(m);
  }
  struct Case {
    kiln_index_range range;
    const char *error;
  } cases[] = {
      {{1, 1, 5, 4, 0}, "index range has lo > hi"},
      {{2, 0, 0, 10, 0}, "index range flags must be 0 or 1"},
      {{1, 2, 0, 10, 0}, "index range flags must be 0 or 1"},
      {{1, 0, 0, 10, -100}, "index range has an ignore value but has_ignore is 0"},
      {{0, 0, 0, 10, 0}, "index range fields set but not checked"},
      {{0, 1, 0, 0, 0}, "index range fields set but not checked"},
  };
  for (const Case &c : cases) {
    ValidModel md;
    i64_target(md, c.range);
    EXPECT_EQ(create_error(md.get()), std::string("metadata: tensor 4 ('t'): ") + c.error);
  }
}

TEST(RuntimeMetadata, KernelArguments) {
  // Writing an input, a gradient outside `gradients`, a repeated argument.
  static const kiln_kernel_arg next_input[] = {{KILN_ARG_TENSOR_NEXT, 3}};
  EXPECT_NE(error_after([](ValidModel &m) {
              m.kernels[0].args = next_input;
              m.kernels[0].num_args = 1;
            }).find("kernel 0 argument 0: argument kind 1 of input 'x' is not allowed here"),
            std::string::npos);
  static const kiln_kernel_arg twice[] = {{KILN_ARG_TENSOR, 5}, {KILN_ARG_TENSOR, 5}};
  EXPECT_EQ(error_after([](ValidModel &m) {
              m.kernels[0].args = twice;
              m.kernels[0].num_args = 2;
            }),
            "metadata: kernel 0 argument 1: repeats an earlier argument");
  static const kiln_kernel_arg out_of_range[] = {{KILN_ARG_TENSOR, 99}};
  EXPECT_EQ(error_after([](ValidModel &m) {
              m.kernels[0].args = out_of_range;
              m.kernels[0].num_args = 1;
            }),
            "metadata: kernel 0 argument 0: tensor index 99 out of range");
  static const kiln_kernel_arg no_output[] = {{KILN_ARG_TENSOR, 3}};
  EXPECT_EQ(error_after([](ValidModel &m) {
              m.kernels[0].args = no_output;
              m.kernels[0].num_args = 1;
            }),
            "metadata: kernel 0: does not write output 'y'");
  EXPECT_EQ(error_after([](ValidModel &m) { m.kernels[2].entry = KILN_ENTRY_GRADIENTS; }),
            "metadata: kernel 2: second kernel for the same entry point and mode");
}

/* train_step updating in place: w += 1, step += 1, loss = 2. */
void in_place_step(void **args) {
  float *w = static_cast<float *>(args[0]);
  w[0] += 1;
  w[1] += 1;
  *static_cast<int64_t *>(args[1]) += 1;
  *static_cast<float *>(args[5]) = 2;
}

/* The BufferModel with a train_step that updates w and step in place. */
struct InPlaceModel : BufferModel {
  InPlaceModel() {
    kernel(KILN_ENTRY_FORWARD, KILN_MODE_ANY, noop, forward(false));
    kernel(KILN_ENTRY_GRADIENTS, KILN_MODE_ANY, noop, {T(w), T(x), T(t), T(loss), G(w)});
    kernel(KILN_ENTRY_TRAIN_STEP, KILN_MODE_ANY, in_place_step,
           {U(w), U(step), T(rate), T(x), T(t), T(loss), rng()});
  }
};

TEST(RuntimeMetadata, InPlaceUpdatesKeepOneCopyAndTheirAddress) {
  InPlaceModel in_place;
  ValidModel next; // the same model, writing next(w) and next(step)
  kiln_model *a = create_ok(in_place.get());
  kiln_model *b = create_ok(next.get());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  uint64_t bytes_a = 0, bytes_b = 0;
  ASSERT_EQ(kiln_model_arena_bytes(a, &bytes_a), KILN_OK);
  ASSERT_EQ(kiln_model_arena_bytes(b, &bytes_b), KILN_OK);
  // One 64-byte slot fewer each for w and step (kiln/arena.h).
  EXPECT_EQ(bytes_b - bytes_a, 2u * KILN_ARENA_LINE);

  float *before = nullptr, *after = nullptr;
  ASSERT_EQ(kiln_model_parameter(a, 0, nullptr, &before, nullptr), KILN_OK);
  const float x[2] = {0, 0}, target[2] = {0, 0};
  const void *inputs[] = {x};
  float loss = 0;
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(kiln_model_train_step(a, inputs, target, &loss), KILN_OK) << kiln_last_error();
  ASSERT_EQ(kiln_model_parameter(a, 0, nullptr, &after, nullptr), KILN_OK);
  EXPECT_EQ(after, before); // updated where it lives, no flip
  EXPECT_EQ(after[0], 2.0f); // zeros until initialised, plus 1 twice
  EXPECT_EQ(after[1], 2.0f);
  int64_t step = 0;
  ASSERT_EQ(kiln_model_get_step(a, &step), KILN_OK);
  EXPECT_EQ(step, 2);
  EXPECT_EQ(loss, 2.0f);
  kiln_model_destroy(a);
  kiln_model_destroy(b);
}

/* An in-place train_step whose value check fails: as kilnc's guarded
 * kernels do, it leaves w and step as they were and reports element 0. */
void refused_in_place_step(void **args) {
  *static_cast<float *>(args[5]) = 2;
  float *check = static_cast<float *>(args[6]);
  check[0] = 0;
  check[1] = 5;
}

TEST(RuntimeMetadata, InPlaceUpdatesAreValidated) {
  // Beside a value check: accepted; a failed check fails the call, and
  // the kernel has kept the old values.
  InPlaceModel checked;
  int check = checked.tensor("check.BCELoss.input", KILN_ROLE_CHECK, KILN_F32, {2});
  checked.kernels.pop_back();
  checked.kernel(KILN_ENTRY_TRAIN_STEP, KILN_MODE_ANY, refused_in_place_step,
                 {U(checked.w), U(checked.step), T(checked.rate), T(checked.x), T(checked.t),
                  T(checked.loss), T(check), rng()});
  kiln_model *m = create_ok(checked.get());
  ASSERT_NE(m, nullptr);
  const float x[2] = {0, 0}, target[2] = {0, 0};
  const void *inputs[] = {x};
  float loss = 0;
  EXPECT_EQ(kiln_model_train_step(m, inputs, target, &loss), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_last_error()).find("element 0 is 5"), std::string::npos)
      << kiln_last_error();
  int64_t step = -1;
  ASSERT_EQ(kiln_model_get_step(m, &step), KILN_OK);
  EXPECT_EQ(step, 0);
  kiln_model_destroy(m);
  // The same tensor again beside its update would alias it.
  InPlaceModel again;
  again.kernels.pop_back();
  again.kernel(KILN_ENTRY_TRAIN_STEP, KILN_MODE_ANY, in_place_step,
               {U(again.w), U(again.step), T(again.rate), T(again.x), T(again.t),
                T(again.loss), N(again.w), rng()});
  EXPECT_EQ(create_error(again.get()),
            "metadata: kernel 2: updates 'w' in place and passes it again");
  // Inputs are the caller's, never written.
  InPlaceModel input;
  input.kernels[0].args = nullptr;
  static const kiln_kernel_arg update_input[] = {{KILN_ARG_TENSOR_UPDATE, 3}};
  input.kernels[0].args = update_input;
  input.kernels[0].num_args = 1;
  EXPECT_NE(create_error(input.get())
                .find("kernel 0 argument 0: argument kind 5 of input 'x' is not allowed here"),
            std::string::npos);
}

TEST(RuntimeMetadata, TrainingTensorsNeedTrainingKernels) {
  EXPECT_EQ(error_after([](ValidModel &m) { m.kernels.resize(1); }),
            "metadata: target, loss, step, lr, optimizer state, grad sums, the accumulation "
            "and the update_bn kernels need training kernels");
  // Gradient accumulation is all or nothing.
  EXPECT_EQ(error_after([](ValidModel &m) {
              m.tensor("w.grad", KILN_ROLE_GRAD_SUM, KILN_F32, {2});
            }),
            "metadata: gradient accumulation needs accumulate and apply kernels for train mode");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[0].role = KILN_ROLE_GRAD_SUM; }),
            "metadata: kernel 0 argument 0: argument kind 0 of grad sum 'w' is not allowed "
            "here");
  EXPECT_EQ(error_after([](ValidModel &m) { m.kernels.resize(2); }),
            "metadata: a trainable model needs a train_step kernel for train mode (or an "
            "optimizer driver)");
  EXPECT_EQ(error_after([](ValidModel &m) { m.kernels.erase(m.kernels.begin()); }),
            "metadata: no forward kernel for both train and eval mode");
  // A second lr tensor is a second parameter group: it needs its initial
  // lr as a constant initializer.
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensor("lr.2", KILN_ROLE_LR, KILN_F32, {}); }),
            "metadata: lr tensor 'lr.2' (parameter group 1) needs a constant initializer: "
            "its initial lr");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensor("lr.2", KILN_ROLE_LR, KILN_F32, {2}); }),
            "metadata: tensor 9 ('lr.2'): must be an f32 scalar");
}

TEST(RuntimeMetadata, ConstantInitializers) {
  EXPECT_EQ(error_after([](ValidModel &m) {
              m.tensors[2].init = {KILN_INIT_CONSTANT, {1, 0}};
            }),
            "metadata: tensor 2 ('bn.num_batches_tracked'): a constant initializer needs "
            "dtype f32");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[0].init = {KILN_INIT_CONSTANT, {1e39, 0}}; }),
            "metadata: tensor 0 ('w'): a constant initializer needs a finite f32 value and "
            "args[1] = 0");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[0].init = {KILN_INIT_CONSTANT, {1, 2}}; }),
            "metadata: tensor 0 ('w'): a constant initializer needs a finite f32 value and "
            "args[1] = 0");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[0].init = {8, {0, 0}}; }),
            "metadata: tensor 0 ('w'): unknown initializer kind 8");
  // skip_init's empty: any dtype (the int64 num_batches_tracked too), no args.
  {
    ValidModel md;
    md.tensors[2].init = {KILN_INIT_EMPTY, {0, 0}};
    kiln_model *m = create_ok(md.get());
    EXPECT_NE(m, nullptr);
    kiln_model_destroy(m);
  }
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[0].init = {KILN_INIT_EMPTY, {1, 0}}; }),
            "metadata: tensor 0 ('w'): an empty initializer takes no arguments");
}

/* weight_norm's g (norm_of: a parameter's norms) and spectral_norm's u, v
 * (unit_normal): the source must exist, be plain, and match in size. */
TEST(RuntimeMetadata, DerivedInitializers) {
  ValidModel ok;
  ok.tensors[1].init = {KILN_INIT_NORM_OF, {0, 0}};  // running_mean [2]: w's 2 norms
  kiln_model *m = create_ok(ok.get());
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(kiln_model_init_parameters(m, 3), KILN_OK);
  const char *name;
  kiln_dtype dtype;
  void *data;
  int64_t n;
  ASSERT_EQ(kiln_model_buffer(m, 0, &name, &dtype, &data, &n), KILN_OK);
  EXPECT_EQ(static_cast<float *>(data)[0], 1.0f);  // |w[0]| = |1|
  kiln_model_destroy(m);
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[1].init = {KILN_INIT_NORM_OF, {0, -1}}; }),
            "metadata: tensor 'bn.running_mean': norm_of: has 2 elements, but 'w' has one norm");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[1].init = {KILN_INIT_NORM_OF, {3, 0}}; }),
            "metadata: tensor 'bn.running_mean': norm_of reads parameter 3, but there are 1");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[1].init = {KILN_INIT_NORM_OF, {0, 1}}; }),
            "metadata: tensor 'bn.running_mean': norm_of: dimension 1 of 'w' (rank 1)");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[1].init = {KILN_INIT_NORM_OF, {0.5, 0}}; }),
            "metadata: tensor 1 ('bn.running_mean'): norm_of needs a parameter index and a "
            "dimension (or -1)");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[0].init = {KILN_INIT_NORM_OF, {0, 0}}; }),
            "metadata: tensor 'w': norm_of reads 'w', whose initializer is not a plain one");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[0].init = {KILN_INIT_UNIT_NORMAL, {0, 0}}; }),
            "metadata: tensor 0 ('w'): unit_normal needs a finite eps > 0 and args[1] = 0");
  EXPECT_EQ(error_after([](ValidModel &m) { m.tensors[2].init = {KILN_INIT_UNIT_NORMAL, {1, 0}}; }),
            "metadata: tensor 2 ('bn.num_batches_tracked'): a derived initializer needs dtype f32");
}

/* Two parameter groups: lr (0.5, the metadata's) and param_groups.1.lr
 * (0.125, its constant init); the train step reads both. */
struct GroupModel : BufferModel {
  GroupModel() {
    rate2 = tensor("param_groups.1.lr", KILN_ROLE_LR, KILN_F32, {},
                   {KILN_INIT_CONSTANT, {0.125, 0}});
    kernel(KILN_ENTRY_FORWARD, KILN_MODE_ANY, noop, forward(false));
    kernel(KILN_ENTRY_GRADIENTS, KILN_MODE_ANY, gradients_kernel,
           {T(w), T(x), T(t), T(loss), G(w)});
    kernel(KILN_ENTRY_TRAIN_STEP, KILN_MODE_ANY, lr_sum_step,
           {T(w), T(step), T(rate), T(rate2), T(x), T(t), T(loss), N(w), N(step)});
  }
  /* loss = lr + param_groups.1.lr: what the kernel read. */
  static void lr_sum_step(void **args) {
    *static_cast<float *>(args[6]) =
        *static_cast<const float *>(args[2]) + *static_cast<const float *>(args[3]);
    std::memcpy(args[7], args[0], 2 * sizeof(float));
    *static_cast<int64_t *>(args[8]) = *static_cast<const int64_t *>(args[1]) + 1;
  }
  int rate2;
};

TEST_F(RuntimeRng, ParameterGroupsHaveOneLrEach) {
  GroupModel md;
  kiln_model *m = create_ok(md.get());
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(kiln_model_num_param_groups(m), 2);
  float lr = 0, x[2] = {}, t[2] = {}, loss = 0;
  ASSERT_EQ(kiln_model_get_group_lr(m, 1, &lr), KILN_OK);
  EXPECT_EQ(lr, 0.125f);
  ASSERT_EQ(kiln_model_get_lr(m, &lr), KILN_OK);
  EXPECT_EQ(lr, 0.5f);
  const void *in[] = {x};
  ASSERT_EQ(kiln_model_train_step(m, in, t, &loss), KILN_OK);
  EXPECT_EQ(loss, 0.625f);
  ASSERT_EQ(kiln_model_set_group_lr(m, 1, 0.25f), KILN_OK);
  ASSERT_EQ(kiln_model_train_step(m, in, t, &loss), KILN_OK);
  EXPECT_EQ(loss, 0.75f);
  EXPECT_EQ(kiln_model_get_group_lr(m, 2, &lr), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_set_group_lr(m, -1, 1.0f), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_set_group_lr(m, 0, NAN), KILN_ERROR_INVALID_ARGUMENT);

  // The optimizer file holds both; a fresh instance resumes with them.
  const std::string p = path("groups.safetensors");
  ASSERT_EQ(kiln_model_save_optimizer_state(m, p.c_str()), KILN_OK);
  kiln_model *resumed = create_ok(md.get());
  ASSERT_EQ(kiln_model_load_optimizer_state(resumed, p.c_str()), KILN_OK)
      << kiln_model_last_error(resumed);
  ASSERT_EQ(kiln_model_get_group_lr(resumed, 1, &lr), KILN_OK);
  EXPECT_EQ(lr, 0.25f);

  // set_lr sets every group; init_parameters restores the initial ones.
  ASSERT_EQ(kiln_model_set_lr(resumed, 2.0f), KILN_OK);
  ASSERT_EQ(kiln_model_train_step(resumed, in, t, &loss), KILN_OK);
  EXPECT_EQ(loss, 4.0f);
  ASSERT_EQ(kiln_model_init_parameters(resumed, 1), KILN_OK);
  ASSERT_EQ(kiln_model_train_step(resumed, in, t, &loss), KILN_OK);
  EXPECT_EQ(loss, 0.625f);

  // A one-group scheduler does not fit; one over both groups steps each.
  kiln_scheduler *one = nullptr, *two = nullptr;
  const double gamma[] = {1, 0.5}; // StepLR(step_size 1, gamma 0.5)
  ASSERT_EQ(kiln_scheduler_create(KILN_SCHEDULER_STEP, 0.5, gamma, 2, &one), KILN_OK);
  EXPECT_EQ(kiln_model_attach_scheduler(resumed, one), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_scheduler_step(resumed, one), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_model_last_error(resumed)).find("1 parameter group(s), the model 2"),
            std::string::npos);
  const kiln_scheduler_spec spec{KILN_SCHEDULER_STEP, gamma, 2, nullptr, nullptr, nullptr, 0};
  const double base[] = {0.5, 0.125};
  ASSERT_EQ(kiln_scheduler_create_groups(&spec, base, 2, &two), KILN_OK);
  ASSERT_EQ(kiln_model_attach_scheduler(resumed, two), KILN_OK);
  ASSERT_EQ(kiln_model_scheduler_step(resumed, two), KILN_OK);
  ASSERT_EQ(kiln_model_get_group_lr(resumed, 1, &lr), KILN_OK);
  EXPECT_EQ(lr, 0.0625f);
  ASSERT_EQ(kiln_model_get_lr(resumed, &lr), KILN_OK);
  EXPECT_EQ(lr, 0.25f);
  kiln_scheduler_destroy(one);
  kiln_scheduler_destroy(two);
  kiln_model_destroy(resumed);
  kiln_model_destroy(m);
}

} // namespace
