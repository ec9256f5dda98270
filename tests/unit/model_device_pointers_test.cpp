// The _device entry points (kiln/runtime.h) on a CPU model, whose device
// memory is host memory: they compute exactly what forward, gradients and
// train_step compute, take a NULL loss, keep the index checks, and refuse a
// stream (a CPU model has none). The CUDA side is in
// cuda/model_cuda_test.cpp (label gpu).
#include "gemm_folds.h"
#include "instance_bytes.h"
#include "random_inputs.h"

#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

using kiln_test::instance_bytes;

ClassificationBatch batch(unsigned seed) {
  return ClassificationBatch(GEMM_FOLDS_INPUT0_NUMEL, GEMM_FOLDS_TARGET_NUMEL,
                             GEMM_FOLDS_OUTPUT0_SHAPE[1], seed);
}

struct Pair {
  gemm_folds_model *host = nullptr, *device = nullptr;
  Pair() {
    EXPECT_EQ(gemm_folds_create(&host), KILN_OK);
    EXPECT_EQ(gemm_folds_create(&device), KILN_OK);
    EXPECT_EQ(gemm_folds_init_parameters(host, 11), KILN_OK);
    EXPECT_EQ(gemm_folds_init_parameters(device, 11), KILN_OK);
  }
  ~Pair() {
    gemm_folds_destroy(host);
    gemm_folds_destroy(device);
  }
  kiln_model *d() { return reinterpret_cast<kiln_model *>(device); }
};

TEST(ModelDevicePointers, TrainStepsLikeTheHostEntryPoints) {
  Pair p;
  for (unsigned seed = 1; seed <= 4; ++seed) {
    ClassificationBatch b = batch(seed);
    float host_loss = 0, device_loss = -1;
    ASSERT_EQ(gemm_folds_train_step(p.host, b.inputs(), b.target.data(), &host_loss), KILN_OK);
    // Every other step without a loss: NULL is not written.
    float *loss = seed % 2 ? &device_loss : nullptr;
    ASSERT_EQ(kiln_model_train_step_device(p.d(), b.inputs(), b.target.data(), loss, nullptr),
              KILN_OK)
        << kiln_model_last_error(p.d());
    if (loss)
      EXPECT_EQ(std::memcmp(&host_loss, &device_loss, sizeof host_loss), 0) << seed;
    ASSERT_EQ(instance_bytes(p.host), instance_bytes(p.device)) << "after step " << seed;
  }
}

TEST(ModelDevicePointers, ForwardAndGradientsLikeTheHostEntryPoints) {
  Pair p;
  ClassificationBatch b = batch(7);
  std::vector<float> y_host(GEMM_FOLDS_OUTPUT0_NUMEL), y_device(GEMM_FOLDS_OUTPUT0_NUMEL, -1);
  void *out_host[] = {y_host.data()}, *out_device[] = {y_device.data()};
  ASSERT_EQ(gemm_folds_forward(p.host, b.inputs(), out_host), KILN_OK);
  ASSERT_EQ(kiln_model_forward_device(p.d(), b.inputs(), out_device, nullptr), KILN_OK)
      << kiln_model_last_error(p.d());
  EXPECT_EQ(y_host, y_device);
  float host_loss = 0, device_loss = -1;
  ASSERT_EQ(gemm_folds_gradients(p.host, b.inputs(), b.target.data(), &host_loss), KILN_OK);
  ASSERT_EQ(kiln_model_gradients_device(p.d(), b.inputs(), b.target.data(), &device_loss,
                                        nullptr),
            KILN_OK);
  EXPECT_EQ(std::memcmp(&host_loss, &device_loss, sizeof host_loss), 0);
  EXPECT_EQ(instance_bytes(p.host, {true}), instance_bytes(p.device, {true}));
}

TEST(ModelDevicePointers, ACpuModelRefusesAStream) {
  Pair p;
  ClassificationBatch b = batch(3);
  const std::vector<unsigned char> before = instance_bytes(p.device);
  int not_a_stream = 0;
  float loss = 0;
  EXPECT_EQ(kiln_model_train_step_device(p.d(), b.inputs(), b.target.data(), &loss,
                                         &not_a_stream),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(kiln_model_last_error(p.d())),
            "kiln_model_train_step_device: stream is not NULL, but a cpu model has no "
            "streams: pass NULL");
  std::vector<float> y(GEMM_FOLDS_OUTPUT0_NUMEL);
  void *out[] = {y.data()};
  EXPECT_EQ(kiln_model_forward_device(p.d(), b.inputs(), out, &not_a_stream),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_gradients_device(p.d(), b.inputs(), b.target.data(), &loss,
                                        &not_a_stream),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(instance_bytes(p.device), before);
}

TEST(ModelDevicePointers, ChecksTheTargetAndArgumentsAsTheHostEntryPoints) {
  Pair p;
  ClassificationBatch b = batch(5);
  const std::vector<unsigned char> before = instance_bytes(p.device);
  b.target[3] = GEMM_FOLDS_OUTPUT0_SHAPE[1]; // one past the last class
  EXPECT_EQ(kiln_model_train_step_device(p.d(), b.inputs(), b.target.data(), nullptr, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  const std::string message = kiln_model_last_error(p.d());
  EXPECT_EQ(message.rfind("kiln_model_train_step_device: target (", 0), 0u) << message;
  EXPECT_NE(message.find("element 3 is 9, not an index in [0, 9)"), std::string::npos)
      << message;
  EXPECT_EQ(instance_bytes(p.device), before);
  EXPECT_EQ(kiln_model_train_step_device(p.d(), nullptr, b.target.data(), nullptr, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_forward_device(p.d(), b.inputs(), nullptr, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(kiln_model_last_error(p.d())),
            "kiln_model_forward_device: outputs is NULL");
  EXPECT_EQ(kiln_model_forward_device(nullptr, b.inputs(), nullptr, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(instance_bytes(p.device), before);
}

} // namespace
