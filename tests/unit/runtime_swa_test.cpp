// kiln_averaged_model's contract beyond torch parity (which is
// Schedulers.swa_torch_parity): bad arguments, a model of another shape,
// strict all-or-nothing loading, and the averaged values readable and
// stored back into an instance.
#include "metadata_builder.h"

#include <kiln/swa.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

using kiln_test::MetadataBuilder;

void noop(void **) {}

/* w [3] parameter, bn.running_mean [3] f32 buffer, a forward that does
 * nothing. */
struct Tiny : MetadataBuilder {
  explicit Tiny(int64_t width = 3) : MetadataBuilder("tiny") {
    w = tensor("w", KILN_ROLE_PARAMETER, KILN_F32, {width});
    mean = tensor("bn.running_mean", KILN_ROLE_BUFFER, KILN_F32, {width});
    const int x = tensor("x", KILN_ROLE_INPUT, KILN_F32, {1});
    const int y = tensor("y", KILN_ROLE_OUTPUT, KILN_F32, {1});
    kernel(KILN_ENTRY_FORWARD, KILN_MODE_ANY, noop, {kiln_test::T(x), kiln_test::T(y)});
  }
  int w, mean;
};

kiln_model *create(MetadataBuilder &md) {
  kiln_model *m = nullptr;
  EXPECT_EQ(kiln_model_create(md.get(), &m), KILN_OK) << kiln_last_error();
  return m;
}

float *param(kiln_model *m) {
  float *data = nullptr;
  EXPECT_EQ(kiln_model_parameter(m, 0, nullptr, &data, nullptr), KILN_OK);
  return data;
}

std::string path(const std::string &name) { return testing::TempDir() + "swa_" + name; }

TEST(RuntimeSwa, EqualAverageAndStore) {
  Tiny md;
  kiln_model *m = create(md);
  kiln_averaged_model *avg = nullptr;
  ASSERT_EQ(kiln_averaged_model_create(m, KILN_AVERAGE_EQUAL, 0, 0, &avg), KILN_OK);
  const float values[3][3] = {{1, 2, 3}, {3, 2, 1}, {5, 5, 5}};
  for (const auto &v : values) {
    std::memcpy(param(m), v, sizeof v);
    ASSERT_EQ(kiln_averaged_model_update(avg, m), KILN_OK);
  }
  int64_t n = 0;
  ASSERT_EQ(kiln_averaged_model_n_averaged(avg, &n), KILN_OK);
  EXPECT_EQ(n, 3);
  const float *a = nullptr;
  const char *name = nullptr;
  int64_t numel = 0;
  ASSERT_EQ(kiln_averaged_model_parameter(avg, 0, &name, &a, &numel), KILN_OK);
  EXPECT_STREQ(name, "w");
  ASSERT_EQ(numel, 3);
  EXPECT_EQ(a[0], 3.0f);
  EXPECT_EQ(a[1], 3.0f);
  EXPECT_EQ(a[2], 3.0f);
  EXPECT_EQ(kiln_averaged_model_parameter(avg, 1, &name, &a, &numel), KILN_ERROR_INVALID_ARGUMENT);
  ASSERT_EQ(kiln_averaged_model_store(avg, m), KILN_OK);
  EXPECT_EQ(param(m)[0], 3.0f);
  kiln_averaged_model_destroy(avg);
  kiln_model_destroy(m);
}

TEST(RuntimeSwa, BadArgumentsAndOtherModelsAreRefused) {
  Tiny md, wide_md(4);
  kiln_model *m = create(md), *wide = create(wide_md);
  kiln_averaged_model *avg = nullptr;
  EXPECT_EQ(kiln_averaged_model_create(m, 2, 0, 0, &avg), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(avg, nullptr);
  EXPECT_EQ(kiln_averaged_model_create(m, KILN_AVERAGE_EMA, 1.5, 0, &avg),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_averaged_model_create(m, KILN_AVERAGE_EQUAL, 0, 2, &avg),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_averaged_model_create(nullptr, KILN_AVERAGE_EQUAL, 0, 0, &avg),
            KILN_ERROR_INVALID_ARGUMENT);
  ASSERT_EQ(kiln_averaged_model_create(m, KILN_AVERAGE_EMA, 0.9, 1, &avg), KILN_OK);
  EXPECT_EQ(kiln_averaged_model_update(avg, wide), KILN_ERROR_MISMATCH);
  EXPECT_NE(std::string(kiln_last_error()).find("differs from the averaged model's"),
            std::string::npos)
      << kiln_last_error();
  EXPECT_EQ(kiln_averaged_model_store(avg, wide), KILN_ERROR_MISMATCH);
  int64_t n = -1;
  ASSERT_EQ(kiln_averaged_model_n_averaged(avg, &n), KILN_OK);
  EXPECT_EQ(n, 0);
  kiln_averaged_model_destroy(avg);
  kiln_model_destroy(m);
  kiln_model_destroy(wide);
}

TEST(RuntimeSwa, LoadIsStrictAndAllOrNothing) {
  Tiny md;
  kiln_model *m = create(md);
  kiln_averaged_model *avg = nullptr;
  ASSERT_EQ(kiln_averaged_model_create(m, KILN_AVERAGE_EQUAL, 0, 0, &avg), KILN_OK);
  const float v[3] = {1, 2, 3};
  std::memcpy(param(m), v, sizeof v);
  ASSERT_EQ(kiln_averaged_model_update(avg, m), KILN_OK);
  const std::string good = path("good.safetensors");
  ASSERT_EQ(kiln_averaged_model_save(avg, good.c_str()), KILN_OK);

  const int64_t three[] = {3};
  const float zeros[3] = {};
  const int64_t minus = -1, two = 2;
  struct Bad {
    const char *what;
    std::vector<kiln_tensor_view> tensors;
    kiln_status status;
  };
  const Bad bad[] = {
      {"missing tensor 'n_averaged'",
       {{"module.w", KILN_F32, 1, three, zeros}, {"module.bn.running_mean", KILN_F32, 1, three, zeros}},
       KILN_ERROR_MISMATCH},
      {"unexpected tensor 'w'",
       {{"n_averaged", KILN_I64, 0, nullptr, &two},
        {"module.w", KILN_F32, 1, three, zeros},
        {"module.bn.running_mean", KILN_F32, 1, three, zeros},
        {"w", KILN_F32, 1, three, zeros}},
       KILN_ERROR_MISMATCH},
      {"'n_averaged' is negative",
       {{"n_averaged", KILN_I64, 0, nullptr, &minus},
        {"module.w", KILN_F32, 1, three, zeros},
        {"module.bn.running_mean", KILN_F32, 1, three, zeros}},
       KILN_ERROR_MISMATCH},
  };
  for (const Bad &b : bad) {
    const std::string p = path("bad.safetensors");
    ASSERT_EQ(kiln_safetensors_write(p.c_str(), b.tensors.data(), static_cast<int>(b.tensors.size())),
              KILN_OK);
    EXPECT_EQ(kiln_averaged_model_load(avg, p.c_str()), b.status) << b.what;
    EXPECT_NE(std::string(kiln_last_error()).find(b.what), std::string::npos) << kiln_last_error();
    int64_t n = 0;
    ASSERT_EQ(kiln_averaged_model_n_averaged(avg, &n), KILN_OK);
    EXPECT_EQ(n, 1) << "a refused file changed the averaged model";
    const float *a = nullptr;
    ASSERT_EQ(kiln_averaged_model_parameter(avg, 0, nullptr, &a, nullptr), KILN_OK);
    EXPECT_EQ(a[2], 3.0f);
    std::remove(p.c_str());
  }
  ASSERT_EQ(kiln_averaged_model_load(avg, good.c_str()), KILN_OK);
  std::remove(good.c_str());
  kiln_averaged_model_destroy(avg);
  kiln_model_destroy(m);
}

} // namespace
