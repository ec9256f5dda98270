// kiln_model_init_parameters on torch.nn.utils' re-parametrizations
// (frontend/import/Reparametrize.h): weight_norm's g starts as the norm of
// v's initial value (KILN_INIT_NORM_OF: per output channel, and over
// everything for dim None), spectral_norm's u and v as unit vectors
// (KILN_INIT_UNIT_NORMAL), a pruning mask as ones; torch's initial
// re-parametrized weight is the layer's own initial weight. Parity with
// torch (the computation itself) is tests/parity/models/reparam_*.json.
#include "reparam_init.h"

#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace {

using Model = reparam_init_model;

std::map<std::string, std::vector<float>> state(Model *m) {
  std::map<std::string, std::vector<float>> out;
  for (int i = 0; i < reparam_init_num_parameters(m); ++i) {
    const char *name;
    float *p;
    int64_t n;
    EXPECT_EQ(reparam_init_parameter(m, i, &name, &p, &n), KILN_OK);
    out[name].assign(p, p + n);
  }
  for (int i = 0; i < reparam_init_num_buffers(m); ++i) {
    const char *name;
    void *p;
    int64_t n;
    kiln_dtype dtype;
    EXPECT_EQ(reparam_init_buffer(m, i, &name, &dtype, &p, &n), KILN_OK);
    out[name].assign(static_cast<float *>(p), static_cast<float *>(p) + n);
  }
  return out;
}

double norm(const std::vector<float> &v, size_t begin, size_t end) {
  double sum = 0;
  for (size_t i = begin; i < end; ++i)
    sum += static_cast<double>(v[i]) * v[i];
  return std::sqrt(sum);
}

TEST(ModelReparamInit, DerivedInitializers) {
  Model *m = nullptr;
  ASSERT_EQ(reparam_init_create(&m), KILN_OK) << kiln_last_error();
  ASSERT_EQ(reparam_init_init_parameters(m, 7), KILN_OK) << kiln_last_error();
  auto s = state(m);
  // conv.weight_g [4, 1, 1, 1]: each output channel's norm of v [4, 3, 2, 2].
  const std::vector<float> &v = s.at("conv.weight_v"), &g = s.at("conv.weight_g");
  ASSERT_EQ(g.size(), 4u);
  for (size_t o = 0; o < 4; ++o)
    EXPECT_NEAR(g[o], norm(v, o * 12, (o + 1) * 12), 1e-6 * g[o]) << o;
  EXPECT_NE(g[0], g[1]);
  // fc1.weight_g []: the norm of all of v.
  const std::vector<float> &v1 = s.at("fc1.weight_v");
  ASSERT_EQ(s.at("fc1.weight_g").size(), 1u);
  EXPECT_NEAR(s.at("fc1.weight_g")[0], norm(v1, 0, v1.size()), 1e-6 * norm(v1, 0, v1.size()));
  // fc2.weight_u [5], fc2.weight_v [6]: random unit vectors.
  for (const char *name : {"fc2.weight_u", "fc2.weight_v"}) {
    const std::vector<float> &u = s.at(name);
    EXPECT_NEAR(norm(u, 0, u.size()), 1.0, 1e-6) << name;
    EXPECT_NE(u[0], u[1]) << name;
  }
  EXPECT_EQ(s.at("fc2.weight_u").size(), 5u);
  EXPECT_EQ(s.at("fc2.weight_v").size(), 6u);
  EXPECT_EQ(s.at("fc2.bias_mask"), std::vector<float>(5, 1.0f));
  // Another seed draws another v, and g follows it.
  ASSERT_EQ(reparam_init_init_parameters(m, 8), KILN_OK);
  auto t = state(m);
  EXPECT_NE(t.at("conv.weight_v"), v);
  EXPECT_NEAR(t.at("conv.weight_g")[2], norm(t.at("conv.weight_v"), 24, 36), 1e-6 * t.at("conv.weight_g")[2]);
  reparam_init_destroy(m);
}

}  // namespace
