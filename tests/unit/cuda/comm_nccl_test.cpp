// The NCCL communicator (kiln/comm_nccl.h). Without a GPU (or without
// libnccl.so.2) its functions fail with the reason; with one, a group of
// one GPU runs the device path a larger group takes (ncclAllReduce with
// ncclAvg on the instance's stream, inside train_step) and trains the
// --data-parallel CUDA build exactly like that build alone. Label gpu:
// scripts/gpu-check.sh runs it on a GPU machine. DataParallel (one
// process, several GPUs) rides on the same path.
#include "gemm_folds_cuda_dp.h"
#include "random_inputs.h"

#include "gemm_folds.h"

#include <kiln/comm_nccl.h>
#include <kiln/cuda.h>
#include <kiln/data_parallel.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

bool have_gpu() {
  int count = 0;
  return kiln_cuda_device_count(&count) == KILN_OK && count > 0;
}

TEST(CommNccl, ArgumentsAreChecked) {
  kiln_nccl_id id{};
  kiln_comm *comm = reinterpret_cast<kiln_comm *>(&id); // must be reset to NULL
  EXPECT_EQ(kiln_comm_create_nccl(&id, 2, 2, 0, 10, &comm), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(comm, nullptr);
  EXPECT_EQ(std::string(kiln_last_error()), "kiln_comm_create_nccl: rank 2 is not in [0, size 2)");
  EXPECT_EQ(kiln_comm_create_nccl(&id, 0, 1, 0, 0, &comm), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(kiln_last_error()), "kiln_comm_create_nccl: timeout_seconds must be > 0");
  EXPECT_EQ(kiln_comm_create_nccl(nullptr, 0, 1, 0, 10, &comm), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_comm_create_nccl(&id, 0, 1, 0, 10, nullptr), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_nccl_id_create(nullptr), KILN_ERROR_INVALID_ARGUMENT);
}

TEST(CommNccl, WithoutAGpuCreateFailsWithTheReason) {
  if (have_gpu())
    GTEST_SKIP() << "a CUDA device is present";
  kiln_nccl_id id{};
  kiln_comm *comm = nullptr;
  EXPECT_EQ(kiln_comm_create_nccl(&id, 0, 1, 0, 10, &comm), KILN_ERROR_UNSUPPORTED);
  EXPECT_EQ(comm, nullptr);
  const std::string message = kiln_last_error();
  EXPECT_EQ(message.rfind("kiln_comm_create_nccl: ", 0), 0u) << message;
  EXPECT_TRUE(message.find("NCCL") != std::string::npos ||
              message.find("libcuda.so.1") != std::string::npos ||
              message.find("no CUDA device") != std::string::npos)
      << message;
}

TEST(CommNccl, AGroupOfOneGpuTrainsLikeTheBuildAlone) {
  if (!have_gpu())
    GTEST_SKIP() << "no CUDA device: " << kiln_last_error();
  kiln_nccl_id id;
  if (kiln_nccl_id_create(&id) != KILN_OK)
    GTEST_SKIP() << "no NCCL: " << kiln_last_error();
  kiln_comm *comm = nullptr;
  ASSERT_EQ(kiln_comm_create_nccl(&id, 0, 1, 0, 60, &comm), KILN_OK) << kiln_last_error();
  gemm_folds_cuda_dp_model *alone = nullptr, *grouped = nullptr;
  ASSERT_EQ(gemm_folds_cuda_dp_create(&alone), KILN_OK) << kiln_last_error();
  ASSERT_EQ(gemm_folds_cuda_dp_create(&grouped), KILN_OK) << kiln_last_error();
  ASSERT_EQ(gemm_folds_cuda_dp_init_parameters(alone, 9), KILN_OK);
  ASSERT_EQ(gemm_folds_cuda_dp_init_parameters(grouped, 9), KILN_OK);
  ASSERT_EQ(gemm_folds_cuda_dp_attach_comm(grouped, comm), KILN_OK)
      << gemm_folds_cuda_dp_last_error(grouped);
  EXPECT_EQ(gemm_folds_cuda_dp_world_size(grouped), 1);
  for (unsigned seed = 1; seed <= 4; ++seed) {
    ClassificationBatch batch(GEMM_FOLDS_CUDA_DP_INPUT0_NUMEL, GEMM_FOLDS_CUDA_DP_TARGET_NUMEL,
                              GEMM_FOLDS_CUDA_DP_OUTPUT0_SHAPE[1], seed);
    float la = 0, lb = 1;
    ASSERT_EQ(gemm_folds_cuda_dp_train_step(alone, batch.inputs(), batch.target.data(), &la),
              KILN_OK)
        << gemm_folds_cuda_dp_last_error(alone);
    ASSERT_EQ(gemm_folds_cuda_dp_train_step(grouped, batch.inputs(), batch.target.data(), &lb),
              KILN_OK)
        << gemm_folds_cuda_dp_last_error(grouped);
    EXPECT_EQ(la, lb) << "step " << seed;
  }
  for (int i = 0; i < GEMM_FOLDS_CUDA_DP_NUM_PARAMETERS; ++i) {
    float *a = nullptr, *b = nullptr;
    int64_t numel = 0;
    ASSERT_EQ(gemm_folds_cuda_dp_parameter(alone, i, nullptr, &a, &numel), KILN_OK);
    std::vector<float> copy(a, a + numel);
    ASSERT_EQ(gemm_folds_cuda_dp_parameter(grouped, i, nullptr, &b, &numel), KILN_OK);
    EXPECT_EQ(std::memcmp(copy.data(), b, sizeof(float) * numel), 0) << "parameter " << i;
  }
  gemm_folds_cuda_dp_destroy(alone);
  gemm_folds_cuda_dp_destroy(grouped);
  kiln_comm_destroy(comm);
}

TEST(DataParallel, ArgumentsAreChecked) {
  kiln_data_parallel *dp = nullptr;
  const int twice[] = {0, 0};
  EXPECT_EQ(kiln_data_parallel_create(&gemm_folds_cuda_dp__metadata, 2, twice, 1, 10, &dp),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(dp, nullptr);
  EXPECT_EQ(std::string(kiln_last_error()),
            "kiln_data_parallel_create: device 0 twice (one replica per GPU: NCCL allows no more)");
  const int one[] = {0};
  EXPECT_EQ(kiln_data_parallel_create(&gemm_folds__metadata, 1, one, 1, 10, &dp),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_last_error()).find("not compiled for CUDA"), std::string::npos);
  EXPECT_EQ(kiln_data_parallel_create(&gemm_folds_cuda_dp__metadata, 0, one, 1, 10, &dp),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_data_parallel_num_replicas(nullptr), 0);
  EXPECT_EQ(kiln_data_parallel_replica(nullptr, 0), nullptr);
  float loss = 0;
  EXPECT_EQ(kiln_data_parallel_train_step(nullptr, nullptr, nullptr, &loss),
            KILN_ERROR_INVALID_ARGUMENT);
}

TEST(DataParallel, WithoutAGpuCreateFailsWithTheReason) {
  if (have_gpu())
    GTEST_SKIP() << "a CUDA device is present";
  kiln_data_parallel *dp = nullptr;
  const int devices[] = {0, 1};
  EXPECT_EQ(kiln_data_parallel_create(&gemm_folds_cuda_dp__metadata, 2, devices, 1, 10, &dp),
            KILN_ERROR_UNSUPPORTED);
  EXPECT_EQ(dp, nullptr);
  const std::string message = kiln_last_error();
  EXPECT_EQ(message.rfind("kiln_data_parallel_create: replica 0: ", 0), 0u) << message;
}

/* Replicas on every GPU there is (one on the GPU check's machine): a batch
 * of num_replicas x B rows trains them all alike, and with one GPU exactly
 * like the build alone on the same batch. */
TEST(DataParallel, ReplicasTrainAsOne) {
  int count = 0;
  if (kiln_cuda_device_count(&count) != KILN_OK || count < 1)
    GTEST_SKIP() << "no CUDA device: " << kiln_last_error();
  kiln_nccl_id probe;
  if (kiln_nccl_id_create(&probe) != KILN_OK)
    GTEST_SKIP() << "no NCCL: " << kiln_last_error();
  std::vector<int> devices;
  for (int d = 0; d < count && d < 4; ++d)
    devices.push_back(d);
  const int n = static_cast<int>(devices.size());
  kiln_data_parallel *dp = nullptr;
  ASSERT_EQ(kiln_data_parallel_create(&gemm_folds_cuda_dp__metadata, n, devices.data(), 9, 60,
                                      &dp),
            KILN_OK)
      << kiln_last_error();
  ASSERT_EQ(kiln_data_parallel_num_replicas(dp), n);
  gemm_folds_cuda_dp_model *alone = nullptr;
  ASSERT_EQ(gemm_folds_cuda_dp_create(&alone), KILN_OK);
  ASSERT_EQ(gemm_folds_cuda_dp_init_parameters(alone, 9), KILN_OK);
  for (unsigned seed = 1; seed <= 3; ++seed) {
    ClassificationBatch batch(GEMM_FOLDS_CUDA_DP_INPUT0_NUMEL * n,
                              GEMM_FOLDS_CUDA_DP_TARGET_NUMEL * n,
                              GEMM_FOLDS_CUDA_DP_OUTPUT0_SHAPE[1], seed);
    float loss = 0, alone_loss = 0;
    ASSERT_EQ(kiln_data_parallel_train_step(dp, batch.inputs(), batch.target.data(), &loss),
              KILN_OK)
        << kiln_data_parallel_last_error(dp);
    if (n == 1) {
      ASSERT_EQ(gemm_folds_cuda_dp_train_step(alone, batch.inputs(), batch.target.data(),
                                              &alone_loss),
                KILN_OK);
      EXPECT_EQ(loss, alone_loss) << "step " << seed;
    }
  }
  // Every replica holds the same parameters (and with one GPU, the alone
  // build's).
  for (int i = 0; i < GEMM_FOLDS_CUDA_DP_NUM_PARAMETERS; ++i) {
    float *p0 = nullptr;
    int64_t numel = 0;
    ASSERT_EQ(kiln_model_parameter(kiln_data_parallel_replica(dp, 0), i, nullptr, &p0, &numel),
              KILN_OK);
    std::vector<float> first(p0, p0 + numel);
    for (int r = 1; r < n; ++r) {
      float *pr = nullptr;
      ASSERT_EQ(kiln_model_parameter(kiln_data_parallel_replica(dp, r), i, nullptr, &pr, &numel),
                KILN_OK);
      EXPECT_EQ(std::memcmp(first.data(), pr, sizeof(float) * numel), 0) << "replica " << r;
    }
    if (n == 1) {
      float *pa = nullptr;
      ASSERT_EQ(gemm_folds_cuda_dp_parameter(alone, i, nullptr, &pa, &numel), KILN_OK);
      EXPECT_EQ(std::memcmp(first.data(), pa, sizeof(float) * numel), 0) << "parameter " << i;
    }
  }
  EXPECT_EQ(kiln_data_parallel_sync(dp), KILN_OK) << kiln_data_parallel_last_error(dp);
  gemm_folds_cuda_dp_destroy(alone);
  kiln_data_parallel_destroy(dp);
}

} // namespace
