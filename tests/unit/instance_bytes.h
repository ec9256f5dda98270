// What training calls may change in a model instance, as bytes, through the
// generic runtime API: tests compare two instances (two builds of a model,
// or one before and after a refused call) byte for byte with it.
#ifndef KILN_TEST_INSTANCE_BYTES_H
#define KILN_TEST_INSTANCE_BYTES_H

#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <vector>

namespace kiln_test {

struct InstanceParts {
  bool gradients = false; // kiln_model_gradient, per parameter
  bool grad_sums = false; // kiln_model_grad_sum (models that accumulate)
};

/* Parameters, [gradients, grad sums,] buffers, optimizer state, step and
 * random state, in that order. `Model` is a generated header's
 * <prefix>_model or kiln_model itself. */
template <typename Model>
std::vector<unsigned char> instance_bytes(Model *model, InstanceParts parts = {}) {
  auto *m = reinterpret_cast<kiln_model *>(model);
  std::vector<unsigned char> bytes;
  auto append = [&](const void *data, size_t n) {
    const auto *b = static_cast<const unsigned char *>(data);
    bytes.insert(bytes.end(), b, b + n);
  };
  for (int i = 0; i < kiln_model_num_parameters(m); ++i) {
    float *data, *grad, *sum;
    int64_t numel;
    EXPECT_EQ(kiln_model_parameter(m, i, nullptr, &data, &numel), KILN_OK);
    append(data, numel * sizeof(float));
    if (parts.gradients) {
      EXPECT_EQ(kiln_model_gradient(m, i, &grad), KILN_OK);
      append(grad, numel * sizeof(float));
    }
    if (parts.grad_sums) {
      EXPECT_EQ(kiln_model_grad_sum(m, i, &sum), KILN_OK);
      append(sum, numel * sizeof(float));
    }
  }
  for (int i = 0; i < kiln_model_num_buffers(m); ++i) {
    void *data;
    int64_t numel;
    kiln_dtype dtype;
    EXPECT_EQ(kiln_model_buffer(m, i, nullptr, &dtype, &data, &numel), KILN_OK);
    append(data, numel * (dtype == KILN_F32 ? 4 : 8));
  }
  for (int i = 0; i < kiln_model_num_states(m); ++i) {
    float *data;
    int64_t numel;
    EXPECT_EQ(kiln_model_state(m, i, nullptr, &data, &numel), KILN_OK);
    append(data, numel * sizeof(float));
  }
  int64_t step;
  EXPECT_EQ(kiln_model_get_step(m, &step), KILN_OK);
  append(&step, sizeof step);
  kiln_rng_state rng;
  EXPECT_EQ(kiln_model_get_rng(m, &rng), KILN_OK);
  append(&rng, sizeof rng);
  return bytes;
}

} // namespace kiln_test

#endif // KILN_TEST_INSTANCE_BYTES_H
