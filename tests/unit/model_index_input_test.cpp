// int64 model inputs (issue 9): the runtime refuses an index outside what
// the ops reading it accept (Embedding's rows, index_select's dimension)
// before any kernel runs, by forward, gradients and train_step alike, and a
// refused call changes nothing. The range reaches the metadata through the
// reshape / broadcast_to that Embedding and index_select put before
// nn.gather (codegen/ModelInterface.cpp).
#include "index_input_embedding.h"

#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

using Model = index_input_embedding_model;

std::vector<float> parameters_of(Model *m) {
  std::vector<float> out;
  for (int i = 0; i < index_input_embedding_num_parameters(m); ++i) {
    float *data;
    int64_t numel;
    EXPECT_EQ(index_input_embedding_parameter(m, i, nullptr, &data, &numel), KILN_OK);
    out.insert(out.end(), data, data + numel);
  }
  return out;
}

TEST(ModelIndexInput, HeaderMarksInt64Inputs) {
  EXPECT_EQ(INDEX_INPUT_EMBEDDING_INPUT0_IS_INT64, 1);
  EXPECT_EQ(INDEX_INPUT_EMBEDDING_INPUT1_IS_INT64, 0);
  EXPECT_EQ(INDEX_INPUT_EMBEDDING_INPUT2_IS_INT64, 1);
}

TEST(ModelIndexInput, OutOfRangeIndicesAreRefusedAndChangeNothing) {
  Model *m = nullptr;
  ASSERT_EQ(index_input_embedding_create(&m), KILN_OK) << kiln_last_error();
  ASSERT_EQ(index_input_embedding_init_parameters(m, 3), KILN_OK);
  std::vector<int64_t> tokens(INDEX_INPUT_EMBEDDING_INPUT0_NUMEL);
  for (size_t i = 0; i < tokens.size(); ++i)
    tokens[i] = static_cast<int64_t>(i % 7); // rows 0..6, padding row 0 included
  std::vector<float> x(INDEX_INPUT_EMBEDDING_INPUT1_NUMEL, 0.5f), target(INDEX_INPUT_EMBEDDING_TARGET_NUMEL, 1.0f),
      out(INDEX_INPUT_EMBEDDING_OUTPUT0_NUMEL);
  std::vector<int64_t> sel = {2, 0};
  const void *inputs[3] = {tokens.data(), x.data(), sel.data()};
  void *outputs[1] = {out.data()};
  float loss = 0;
  ASSERT_EQ(index_input_embedding_train_step(m, inputs, target.data(), &loss), KILN_OK);
  const std::vector<float> before = parameters_of(m);

  struct Bad {
    int input;
    size_t pos;
    int64_t value;
    const char *range;
  };
  for (const Bad &bad : {Bad{0, 0, 7, "[0, 7)"}, Bad{0, 23, -1, "[0, 7)"}, Bad{2, 1, 3, "[0, 3)"},
                         Bad{2, 0, INT64_MIN, "[0, 3)"}}) {
    std::vector<int64_t> t = tokens, s = sel;
    (bad.input == 0 ? t : s)[bad.pos] = bad.value;
    const void *in[3] = {t.data(), x.data(), s.data()};
    EXPECT_EQ(index_input_embedding_train_step(m, in, target.data(), &loss), KILN_ERROR_INVALID_ARGUMENT);
    const std::string message = index_input_embedding_last_error(m);
    const std::string expected = "input " + std::to_string(bad.input) + " ('" +
                                 (bad.input == 0 ? "tokens" : "sel") + "') element " +
                                 std::to_string(bad.pos) + " is " + std::to_string(bad.value) +
                                 ", not an index in " + bad.range;
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_EQ(index_input_embedding_forward(m, in, outputs), KILN_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(index_input_embedding_gradients(m, in, target.data(), &loss), KILN_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(parameters_of(m), before) << "a refused call changed the parameters";
  }
  // Valid again: trains on.
  ASSERT_EQ(index_input_embedding_train_step(m, inputs, target.data(), &loss), KILN_OK);
  EXPECT_NE(parameters_of(m), before);
  index_input_embedding_destroy(m);
}

} // namespace
