// torch.nn.utils.skip_init in a compiled model (skip_init_mix: a Linear
// with skip_init, a BatchNorm1d without, a user module with skip_init whose
// own parameter, weight-normed Linear and BatchNorm1d inherit it, a Linear
// with skip_init false): kiln_model_init_parameters leaves the skipped
// tensors exactly as they were (here a pattern written before it) and
// initializes the others as usual.
#include "model_tensors.h"
#include "skip_init_mix.h"

#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace {

TEST(ModelSkipInit, InitLeavesTheSkippedTensors) {
  skip_init_mix_model *typed = nullptr;
  ASSERT_EQ(skip_init_mix_create(&typed), KILN_OK) << kiln_last_error();
  kiln_model *m = reinterpret_cast<kiln_model *>(typed);
  auto tensors = kiln_test::floatTensors(m);
  const std::vector<std::string> skipped = {
      "fc.weight", "fc.bias", "block.gain", "block.proj.bias", "block.proj.weight_g",
      "block.proj.weight_v", "block.norm.weight", "block.norm.bias", "block.norm.running_mean",
      "block.norm.running_var"};
  for (const std::string &name : skipped) ASSERT_TRUE(tensors.count(name)) << name;
  // A pattern no initializer writes, in every float tensor.
  for (auto &[name, t] : tensors)
    for (int64_t i = 0; i < t.numel; ++i) t.data[i] = 7.25f + static_cast<float>(i);
  ASSERT_EQ(kiln_model_init_parameters(m, 42), KILN_OK) << kiln_last_error();
  for (auto &[name, t] : tensors) {
    bool kept = true;
    for (int64_t i = 0; i < t.numel; ++i) kept = kept && t.data[i] == 7.25f + static_cast<float>(i);
    bool skip = std::find(skipped.begin(), skipped.end(), name) != skipped.end();
    EXPECT_EQ(kept, skip) << name;
  }
  // The others as torch's: bn's weight ones, running_var ones.
  EXPECT_EQ(tensors["bn.weight"].data[0], 1.0f);
  EXPECT_EQ(tensors["bn.running_var"].data[4], 1.0f);
  skip_init_mix_destroy(typed);
}

}  // namespace
