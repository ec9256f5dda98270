// SparseAdam through the compiled train_step (models/sparse_adam_rows.json:
// Embedding(6, 2, sparse=True, padding_idx=1) -> Linear head; SparseAdam for
// the embedding, AdamW for the head). What the PyTorch-parity cases check
// numerically (tests/parity/gen_sparse_cases.py), checked here as
// properties of the runtime's tensors: a row no index reads keeps its bytes
// and its moments, however many steps it sat out, also when the steps
// accumulate gradients over several batches.
#include "sparse_adam_rows.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

using M = sparse_adam_rows_model;

/// The embedding's weight, exp_avg and exp_avg_sq ([6, 2] each), copied.
struct EmbeddingState {
  std::vector<float> weight, exp_avg, exp_avg_sq;
};

EmbeddingState embedding_state(M *m) {
  EmbeddingState s;
  const char *name = nullptr;
  float *data = nullptr;
  int64_t numel = 0;
  EXPECT_EQ(sparse_adam_rows_parameter(m, 0, &name, &data, &numel), KILN_OK);
  EXPECT_STREQ(name, "emb.weight");
  s.weight.assign(data, data + numel);
  for (int i = 0; i < sparse_adam_rows_num_states(m); ++i) {
    EXPECT_EQ(sparse_adam_rows_state(m, i, &name, &data, &numel), KILN_OK);
    if (std::strcmp(name, "emb.weight.exp_avg") == 0)
      s.exp_avg.assign(data, data + numel);
    if (std::strcmp(name, "emb.weight.exp_avg_sq") == 0)
      s.exp_avg_sq.assign(data, data + numel);
  }
  EXPECT_EQ(s.exp_avg.size(), s.weight.size());
  EXPECT_EQ(s.exp_avg_sq.size(), s.weight.size());
  return s;
}

/// Row r ([2] floats) of a [6, 2] tensor.
std::vector<float> row(const std::vector<float> &t, int r) {
  return {t[2 * r], t[2 * r + 1]};
}

void step(M *m, const std::vector<int64_t> &indices) {
  ASSERT_EQ(indices.size(), size_t(SPARSE_ADAM_ROWS_INPUT0_NUMEL));
  std::vector<float> target(SPARSE_ADAM_ROWS_TARGET_NUMEL, 0.5f);
  const void *in[1] = {indices.data()};
  float loss = 0;
  ASSERT_EQ(sparse_adam_rows_train_step(m, in, target.data(), &loss), KILN_OK)
      << sparse_adam_rows_last_error(m);
}

TEST(ModelSparse, SparseAdamLeavesUnreadRowsAlone) {
  M *m = nullptr;
  ASSERT_EQ(sparse_adam_rows_create(&m), KILN_OK);
  ASSERT_EQ(sparse_adam_rows_init_parameters(m, 3), KILN_OK);
  const EmbeddingState init = embedding_state(m);

  // Step 1 reads rows 0, 2 and the padding row 1 (no gradient entry).
  step(m, {0, 2, 1, 2});
  const EmbeddingState one = embedding_state(m);
  for (int r : {1, 3, 4, 5}) {
    EXPECT_EQ(row(one.weight, r), row(init.weight, r)) << "row " << r;
    EXPECT_EQ(row(one.exp_avg, r), (std::vector<float>{0, 0})) << "row " << r;
    EXPECT_EQ(row(one.exp_avg_sq, r), (std::vector<float>{0, 0})) << "row " << r;
  }
  for (int r : {0, 2}) {
    EXPECT_NE(row(one.weight, r), row(init.weight, r)) << "row " << r;
    EXPECT_NE(row(one.exp_avg_sq, r), (std::vector<float>{0, 0})) << "row " << r;
  }

  // Step 2 reads row 3 only: rows 0 and 2 have moments now, which a dense
  // Adam would decay and apply; SparseAdam keeps their bytes.
  step(m, {3, 3, 3, 3});
  const EmbeddingState two = embedding_state(m);
  for (int r : {0, 1, 2, 4, 5}) {
    EXPECT_EQ(row(two.weight, r), row(one.weight, r)) << "row " << r;
    EXPECT_EQ(row(two.exp_avg, r), row(one.exp_avg, r)) << "row " << r;
    EXPECT_EQ(row(two.exp_avg_sq, r), row(one.exp_avg_sq, r)) << "row " << r;
  }
  EXPECT_NE(row(two.weight, 3), row(one.weight, 3));

  sparse_adam_rows_destroy(m);
}

void accumulate(M *m, const std::vector<int64_t> &indices) {
  ASSERT_EQ(indices.size(), size_t(SPARSE_ADAM_ROWS_INPUT0_NUMEL));
  std::vector<float> target(SPARSE_ADAM_ROWS_TARGET_NUMEL, 0.5f);
  const void *in[1] = {indices.data()};
  float loss = 0;
  ASSERT_EQ(sparse_adam_rows_accumulate(m, in, target.data(), &loss), KILN_OK)
      << sparse_adam_rows_last_error(m);
}

// Gradient accumulation steps on the rows any accumulated batch read
// (torch's summed sparse gradient holds their union), and apply's
// zero_grad starts the next union afresh.
TEST(ModelSparse, AccumulatedSparseAdamUpdatesTheUnionOfRows) {
  M *m = nullptr;
  ASSERT_EQ(sparse_adam_rows_create(&m), KILN_OK);
  ASSERT_EQ(sparse_adam_rows_init_parameters(m, 3), KILN_OK);
  const EmbeddingState init = embedding_state(m);

  accumulate(m, {0, 0, 1, 0}); // row 0 (and the padding row 1)
  accumulate(m, {4, 1, 4, 4}); // row 4
  ASSERT_EQ(sparse_adam_rows_apply(m), KILN_OK) << sparse_adam_rows_last_error(m);
  const EmbeddingState one = embedding_state(m);
  for (int r : {1, 2, 3, 5})
    EXPECT_EQ(row(one.weight, r), row(init.weight, r)) << "row " << r;
  for (int r : {0, 4}) {
    EXPECT_NE(row(one.weight, r), row(init.weight, r)) << "row " << r;
    EXPECT_NE(row(one.exp_avg_sq, r), (std::vector<float>{0, 0})) << "row " << r;
  }
  for (int i = 0; i < SPARSE_ADAM_ROWS_NUM_PARAMETERS; ++i) {
    float *sum = nullptr;
    ASSERT_EQ(sparse_adam_rows_grad_sum(m, i, &sum), KILN_OK);
    const char *name = nullptr;
    float *data = nullptr;
    int64_t numel = 0;
    ASSERT_EQ(sparse_adam_rows_parameter(m, i, &name, &data, &numel), KILN_OK);
    for (int64_t k = 0; k < numel; ++k)
      EXPECT_EQ(sum[k], 0.0f) << name << " element " << k << " after apply";
  }

  // The next round reads row 5 only: rows 0 and 4 sit it out.
  accumulate(m, {5, 5, 5, 5});
  ASSERT_EQ(sparse_adam_rows_apply(m), KILN_OK) << sparse_adam_rows_last_error(m);
  const EmbeddingState two = embedding_state(m);
  for (int r : {0, 1, 2, 3, 4}) {
    EXPECT_EQ(row(two.weight, r), row(one.weight, r)) << "row " << r;
    EXPECT_EQ(row(two.exp_avg, r), row(one.exp_avg, r)) << "row " << r;
  }
  EXPECT_NE(row(two.weight, 5), row(one.weight, 5));
  sparse_adam_rows_destroy(m);
}

} // namespace
