// kiln_model_parameters_to_vector / kiln_model_vector_to_parameters
// (torch.nn.utils.parameters_to_vector and vector_to_parameters) on a
// compiled model: the parameters in index order, flattened, and back;
// a wrong length is refused and copies nothing.
#include "reparam_init.h"

#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace {

std::vector<float> concatenated(reparam_init_model *m) {
  std::vector<float> out;
  for (int i = 0; i < reparam_init_num_parameters(m); ++i) {
    float *p;
    int64_t n;
    EXPECT_EQ(reparam_init_parameter(m, i, nullptr, &p, &n), KILN_OK);
    out.insert(out.end(), p, p + n);
  }
  return out;
}

TEST(ModelParameterVector, RoundTripsInIndexOrder) {
  reparam_init_model *m = nullptr;
  ASSERT_EQ(reparam_init_create(&m), KILN_OK) << kiln_last_error();
  ASSERT_EQ(reparam_init_init_parameters(m, 5), KILN_OK);
  std::vector<float> flat = concatenated(m);
  ASSERT_EQ(reparam_init_parameter_elements(m), static_cast<int64_t>(flat.size()));
  std::vector<float> v(flat.size());
  ASSERT_EQ(reparam_init_parameters_to_vector(m, v.data(), static_cast<int64_t>(v.size())), KILN_OK);
  EXPECT_EQ(v, flat);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.5f;
  ASSERT_EQ(reparam_init_vector_to_parameters(m, v.data(), static_cast<int64_t>(v.size())), KILN_OK);
  EXPECT_EQ(concatenated(m), v);
  // The wrong length: an error naming both counts, nothing written.
  EXPECT_EQ(reparam_init_vector_to_parameters(m, flat.data(), static_cast<int64_t>(flat.size()) - 1),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(kiln_last_error(), "the vector has"), nullptr) << kiln_last_error();
  EXPECT_EQ(concatenated(m), v);
  EXPECT_EQ(reparam_init_parameters_to_vector(m, nullptr, static_cast<int64_t>(v.size())),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_parameter_elements(nullptr), 0);
  reparam_init_destroy(m);
}

}  // namespace
