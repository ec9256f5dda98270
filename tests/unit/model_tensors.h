// The float32 state_dict tensors of a model instance by name (its
// parameters and float32 buffers, in host memory): what the model tests
// that inspect or write an instance's state share.
#ifndef KILN_TESTS_UNIT_MODEL_TENSORS_H
#define KILN_TESTS_UNIT_MODEL_TENSORS_H

#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace kiln_test {

struct HostTensor {
  float *data = nullptr;
  int64_t numel = 0;
  std::vector<float> values() const { return std::vector<float>(data, data + numel); }
};

/* Every parameter and float32 buffer of `m` by state_dict name. */
inline std::map<std::string, HostTensor> floatTensors(kiln_model *m) {
  std::map<std::string, HostTensor> out;
  for (int i = 0; i < kiln_model_num_parameters(m); ++i) {
    const char *n;
    HostTensor t;
    EXPECT_EQ(kiln_model_parameter(m, i, &n, &t.data, &t.numel), KILN_OK);
    out[n] = t;
  }
  for (int i = 0; i < kiln_model_num_buffers(m); ++i) {
    const char *n;
    kiln_dtype dtype;
    void *p;
    int64_t numel;
    EXPECT_EQ(kiln_model_buffer(m, i, &n, &dtype, &p, &numel), KILN_OK);
    if (dtype == KILN_F32) out[n] = HostTensor{static_cast<float *>(p), numel};
  }
  return out;
}

/* The tensor `name` of `m` (a failure and {} when it has none). */
inline HostTensor floatTensor(kiln_model *m, const std::string &name) {
  auto all = floatTensors(m);
  auto it = all.find(name);
  if (it == all.end()) {
    ADD_FAILURE() << "no float32 tensor " << name;
    return {};
  }
  return it->second;
}

/* Its current values. */
inline std::vector<float> tensorValues(kiln_model *m, const std::string &name) {
  return floatTensor(m, name).values();
}

}  // namespace kiln_test

#endif
