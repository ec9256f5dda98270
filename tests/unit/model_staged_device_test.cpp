// The driver's paths for devices without host memory (a GPU's), run on any
// machine: under kiln::rt::testing::StageCpuModels a CPU model runs on the
// staged CPU (host memory presented as a device's), so inputs, target,
// outputs and the random state go through the staging slots, the
// introspection calls return host copies, checkpoints read and write
// through copies, and the _device calls hand their pointers over as they
// are and order themselves on the caller's stream. The kernels are the
// CPU's, so every result must be bit for bit the plain CPU instance's.
// LBFGS's driver (lbfgs.cpp) takes its host copies of torch's state there.
#include "accum_bn_dropout.h"
#include "bad_batch_bce.h"
#include "clip_nonfinite.h"
#include "concurrency_bn_dropout.h"
#include "gemm_folds.h"
#include "index_input_embedding.h"
#include "instance_bytes.h"
#include "lbfgs_bn.h"
#include "sched_groups.h"
#include "sparse_adam_rows.h"

#include "runtime/lib/comm.h"
#include "runtime/lib/device.h"

#include <kiln/comm.h>
#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using kiln::rt::testing::StageCpuModels;
using kiln_test::instance_bytes;

int64_t numel_of(const kiln_tensor_info &t) {
  int64_t n = 1;
  for (int32_t d = 0; d < t.rank; ++d)
    n *= t.shape[d];
  return n;
}

/* Caller-owned tensors of one call, made from the metadata: f32 data
 * N(0, 1), i64 data uniform over the index range the runtime checks. */
struct Call {
  std::vector<std::vector<unsigned char>> inputs, outputs;
  std::vector<unsigned char> target;
  std::vector<const void *> input_ptrs;
  std::vector<void *> output_ptrs;

  Call(const kiln_model_metadata &md, unsigned seed) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal;
    auto fill = [&](const kiln_tensor_info &t) {
      std::vector<unsigned char> bytes(numel_of(t) * (t.dtype == KILN_F32 ? 4 : 8));
      for (int64_t i = 0; i < numel_of(t); ++i) {
        if (t.dtype == KILN_F32) {
          float v = normal(gen);
          std::memcpy(&bytes[i * 4], &v, 4);
        } else {
          std::uniform_int_distribution<int64_t> index(t.range.lo, t.range.hi - 1);
          int64_t v = t.range.checked ? index(gen) : 0;
          std::memcpy(&bytes[i * 8], &v, 8);
        }
      }
      return bytes;
    };
    for (int32_t i = 0; i < md.num_tensors; ++i) {
      const kiln_tensor_info &t = md.tensors[i];
      if (t.role == KILN_ROLE_INPUT)
        inputs.push_back(fill(t));
      else if (t.role == KILN_ROLE_TARGET)
        target = fill(t);
      else if (t.role == KILN_ROLE_OUTPUT)
        outputs.emplace_back(numel_of(t) * (t.dtype == KILN_F32 ? 4 : 8), 0xab);
    }
    for (auto &v : inputs)
      input_ptrs.push_back(v.data());
    for (auto &v : outputs)
      output_ptrs.push_back(v.data());
  }
  const void *const *in() const { return input_ptrs.data(); }
  void *const *out() { return output_ptrs.data(); }
  const void *tgt() const { return target.empty() ? nullptr : target.data(); }
};

struct Instance {
  kiln_model *m = nullptr;
  Instance(const kiln_model_metadata &md, bool staged) {
    if (staged) {
      StageCpuModels stage;
      EXPECT_EQ(kiln_model_create(&md, &m), KILN_OK) << kiln_last_error();
    } else {
      EXPECT_EQ(kiln_model_create(&md, &m), KILN_OK) << kiln_last_error();
    }
    EXPECT_EQ(kiln_model_init_parameters(m, 21), KILN_OK);
  }
  ~Instance() { kiln_model_destroy(m); }
};

std::string temp_path(const std::string &name) {
  return ::testing::TempDir() + "kiln_staged_" + name + ".safetensors";
}

/* One scripted run, plain and staged side by side: every status, loss,
 * output and instance byte equal. */
void expect_same_run(const kiln_model_metadata &md) {
  SCOPED_TRACE(md.name);
  Instance plain(md, false), staged(md, true);
  auto same_state = [&](const char *after, kiln_test::InstanceParts parts = {}) {
    EXPECT_EQ(instance_bytes(plain.m, parts), instance_bytes(staged.m, parts)) << after;
  };
  same_state("init");
  for (unsigned seed = 1; seed <= 3; ++seed) {
    Call a(md, seed), b(md, seed);
    float la = 0, lb = 1;
    ASSERT_EQ(kiln_model_train_step(plain.m, a.in(), a.tgt(), &la), KILN_OK)
        << kiln_model_last_error(plain.m);
    ASSERT_EQ(kiln_model_train_step(staged.m, b.in(), b.tgt(), &lb), KILN_OK)
        << kiln_model_last_error(staged.m);
    EXPECT_EQ(std::memcmp(&la, &lb, sizeof la), 0) << "loss of step " << seed;
    same_state("train_step", {true});
  }
  {
    Call a(md, 7), b(md, 7);
    ASSERT_EQ(kiln_model_forward(plain.m, a.in(), a.out()), KILN_OK);
    ASSERT_EQ(kiln_model_forward(staged.m, b.in(), b.out()), KILN_OK)
        << kiln_model_last_error(staged.m);
    EXPECT_EQ(a.outputs, b.outputs) << "forward";
    float la = 0, lb = 1;
    ASSERT_EQ(kiln_model_gradients(plain.m, a.in(), a.tgt(), &la), KILN_OK);
    ASSERT_EQ(kiln_model_gradients(staged.m, b.in(), b.tgt(), &lb), KILN_OK);
    EXPECT_EQ(std::memcmp(&la, &lb, sizeof la), 0) << "gradients loss";
    same_state("gradients", {true});
  }
  // Gradient accumulation where the model has it (both say the same if not).
  for (unsigned seed = 8; seed <= 9; ++seed) {
    Call a(md, seed), b(md, seed);
    float la = 0, lb = 1;
    kiln_status sa = kiln_model_accumulate(plain.m, a.in(), a.tgt(), &la);
    ASSERT_EQ(kiln_model_accumulate(staged.m, b.in(), b.tgt(), &lb), sa);
    if (sa == KILN_OK)
      EXPECT_EQ(std::memcmp(&la, &lb, sizeof la), 0) << "accumulate loss";
  }
  ASSERT_EQ(kiln_model_apply(plain.m), kiln_model_apply(staged.m));
  same_state("apply");
  // The _device calls: pointers as they are, the stream ordered twice a call.
  {
    Call a(md, 10), b(md, 10);
    int stream = 0;
    const int calls = StageCpuModels::stream_calls();
    float la = 0, lb = 1;
    ASSERT_EQ(kiln_model_train_step(plain.m, a.in(), a.tgt(), &la), KILN_OK);
    ASSERT_EQ(kiln_model_train_step_device(staged.m, b.in(), b.tgt(), &lb, &stream), KILN_OK)
        << kiln_model_last_error(staged.m);
    EXPECT_EQ(std::memcmp(&la, &lb, sizeof la), 0) << "train_step_device loss";
    ASSERT_EQ(kiln_model_forward(plain.m, a.in(), a.out()), KILN_OK);
    ASSERT_EQ(kiln_model_forward_device(staged.m, b.in(), b.out(), &stream), KILN_OK);
    EXPECT_EQ(a.outputs, b.outputs) << "forward_device";
    EXPECT_EQ(StageCpuModels::stream_calls() - calls, 4);
    same_state("_device calls");
  }
  // Checkpoints move between the two: staged writes, plain reads, and back.
  const std::string path = temp_path(md.name);
  ASSERT_EQ(kiln_model_save_checkpoint(staged.m, path.c_str()), KILN_OK)
      << kiln_model_last_error(staged.m);
  Instance fresh(md, false);
  ASSERT_EQ(kiln_model_load_checkpoint(fresh.m, path.c_str()), KILN_OK);
  EXPECT_EQ(instance_bytes(fresh.m), instance_bytes(staged.m)) << "checkpoint";
  Instance fresh_staged(md, true);
  ASSERT_EQ(kiln_model_save_checkpoint(plain.m, path.c_str()), KILN_OK);
  ASSERT_EQ(kiln_model_load_checkpoint(fresh_staged.m, path.c_str()), KILN_OK)
      << kiln_model_last_error(fresh_staged.m);
  EXPECT_EQ(instance_bytes(fresh_staged.m), instance_bytes(plain.m)) << "checkpoint back";
  std::remove(path.c_str());
  // Eval mode.
  ASSERT_EQ(kiln_model_set_training(plain.m, 0), KILN_OK);
  ASSERT_EQ(kiln_model_set_training(staged.m, 0), KILN_OK);
  Call a(md, 11), b(md, 11);
  ASSERT_EQ(kiln_model_forward(plain.m, a.in(), a.out()), KILN_OK);
  ASSERT_EQ(kiln_model_forward(staged.m, b.in(), b.out()), KILN_OK);
  EXPECT_EQ(a.outputs, b.outputs) << "eval forward";
}

TEST(ModelStagedDevice, RunsLikeTheCpu) {
  for (const kiln_model_metadata *md :
       {&gemm_folds__metadata, &accum_bn_dropout__metadata, &concurrency_bn_dropout__metadata,
        &clip_nonfinite__metadata, &index_input_embedding__metadata, &sched_groups__metadata,
        &sparse_adam_rows__metadata, &lbfgs_bn__metadata})
    expect_same_run(*md);
}

TEST(ModelStagedDevice, AValueCheckRefusesTheBatchAndChangesNothing) {
  // BCELoss's input must lie in [0, 1]: the model's output is its input
  // (model_bad_batch_test.cpp), here N(0, 1), and the runtime reads the
  // check's flag back from the device.
  Instance plain(bad_batch_bce__metadata, false), staged(bad_batch_bce__metadata, true);
  const std::vector<unsigned char> before = instance_bytes(staged.m);
  Call a(bad_batch_bce__metadata, 3), b(bad_batch_bce__metadata, 3);
  float la = 0, lb = 0;
  ASSERT_EQ(kiln_model_train_step(plain.m, a.in(), a.tgt(), &la), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_train_step(staged.m, b.in(), b.tgt(), &lb), KILN_ERROR_INVALID_ARGUMENT);
  const std::string message = kiln_model_last_error(staged.m);
  EXPECT_EQ(message, kiln_model_last_error(plain.m));
  EXPECT_NE(message.find("BCELoss: all elements of input should be between 0 and 1"),
            std::string::npos)
      << message;
  EXPECT_EQ(instance_bytes(staged.m), before);
  EXPECT_EQ(instance_bytes(staged.m), instance_bytes(plain.m));
}

TEST(ModelStagedDevice, OnlyModelsCreatedUnderTheStageAreStaged) {
  kiln_model *staged = nullptr, *plain = nullptr;
  {
    StageCpuModels stage;
    ASSERT_EQ(kiln_model_create(&gemm_folds__metadata, &staged), KILN_OK);
  }
  ASSERT_EQ(kiln_model_create(&gemm_folds__metadata, &plain), KILN_OK);
  int stream = 0;
  Call a(gemm_folds__metadata, 1), b(gemm_folds__metadata, 1);
  EXPECT_EQ(kiln_model_forward_device(staged, a.in(), a.out(), &stream), KILN_OK)
      << kiln_model_last_error(staged);
  EXPECT_EQ(kiln_model_forward_device(plain, b.in(), b.out(), &stream),
            KILN_ERROR_INVALID_ARGUMENT);
  kiln_model_destroy(staged);
  kiln_model_destroy(plain);
}

/* A communicator whose device operation reduces one GPU's memory (NCCL's
 * records its device) attached to a model on another device is refused
 * before anything moves; a model in host memory goes through the host
 * operations and may attach to it. */
TEST(ModelStagedDevice, AttachRefusesACommunicatorOfAnotherDevice) {
  kiln_comm *comm = nullptr;
  ASSERT_EQ(kiln_comm_create_single(&comm), KILN_OK);
  kiln::rt::set_comm_device(comm, 1);
  kiln_model *host = nullptr;
  ASSERT_EQ(kiln_model_create(&gemm_folds__metadata, &host), KILN_OK);
  EXPECT_EQ(kiln_model_attach_comm(host, comm), KILN_OK) << kiln_model_last_error(host);
  kiln_model_destroy(host);
  kiln_model *staged = nullptr;
  {
    StageCpuModels stage;
    ASSERT_EQ(kiln_model_create(&gemm_folds__metadata, &staged), KILN_OK);
  }
  EXPECT_EQ(kiln_model_attach_comm(staged, comm), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_model_last_error(staged))
                .find("the communicator reduces the memory of device 1, the model is on "),
            std::string::npos)
      << kiln_model_last_error(staged);
  kiln::rt::set_comm_device(comm, 0);
  EXPECT_EQ(kiln_model_attach_comm(staged, comm), KILN_OK) << kiln_model_last_error(staged);
  kiln_model_destroy(staged);
  kiln_comm_destroy(comm);
}

} // namespace
