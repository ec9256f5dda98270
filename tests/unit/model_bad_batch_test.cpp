// A bad batch never corrupts a compiled model (issue 7): a class-index
// target out of range is refused before any kernel runs, as torch refuses
// it, and the instance carries on exactly as if the call had not been made.
// Before the check, the loss kernel turned such a target into NaN, and one
// train_step wrote NaN into every parameter.
#include "bad_batch_bag.h"
#include "bad_batch_bce.h"
#include "bad_batch_ctc.h"
#include "bad_batch_ctc_concat.h"
#include "bad_batch_gaussian.h"
#include "bad_batch_nll.h"
#include "bad_batch_packed.h"
#include "concurrency_bn_dropout.h"
#include "instance_bytes.h"
#include "random_inputs.h"

#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr int kClasses = 10; // the model's last Linear

struct Batch {
  std::vector<float> x;
  std::vector<int64_t> target;
  explicit Batch(unsigned seed)
      : x(CONCURRENCY_BN_DROPOUT_INPUT0_NUMEL), target(CONCURRENCY_BN_DROPOUT_TARGET_NUMEL) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal;
    for (float &v : x)
      v = normal(gen);
    for (int64_t &t : target)
      t = static_cast<int64_t>(gen() % kClasses);
  }
};

/* Every byte of the instance's state: parameters, buffers, optimizer state,
 * step and random state. */
std::vector<unsigned char> state_of(concurrency_bn_dropout_model *m) {
  return kiln_test::instance_bytes(m);
}

concurrency_bn_dropout_model *created() {
  concurrency_bn_dropout_model *m = nullptr;
  EXPECT_EQ(concurrency_bn_dropout_create(&m), KILN_OK) << kiln_last_error();
  if (m)
    EXPECT_EQ(concurrency_bn_dropout_init_parameters(m, 11), KILN_OK);
  return m;
}

TEST(ModelBadBatch, OutOfRangeTargetsAreRefusedAndChangeNothing) {
  concurrency_bn_dropout_model *a = created(), *b = created();
  ASSERT_TRUE(a && b);
  const Batch first(1), second(2);
  float loss_a = 0, loss_b = 0;
  const void *in1[1] = {first.x.data()}, *in2[1] = {second.x.data()};
  ASSERT_EQ(concurrency_bn_dropout_train_step(a, in1, first.target.data(), &loss_a), KILN_OK);
  ASSERT_EQ(concurrency_bn_dropout_train_step(b, in1, first.target.data(), &loss_b), KILN_OK);

  // a: every kind of bad class index, by train_step and by gradients.
  const std::vector<unsigned char> before = state_of(a);
  const int64_t bad_values[] = {kClasses, -1, -99, -101, INT64_MAX, INT64_MIN};
  const size_t positions[] = {0, 67, CONCURRENCY_BN_DROPOUT_TARGET_NUMEL - 1};
  for (int64_t v : bad_values)
    for (size_t pos : positions) {
      Batch bad(3);
      bad.target[pos] = v;
      float loss = 42;
      EXPECT_EQ(concurrency_bn_dropout_train_step(a, in2, bad.target.data(), &loss),
                KILN_ERROR_INVALID_ARGUMENT);
      const std::string message = concurrency_bn_dropout_last_error(a);
      const std::string expected = "target ('target') element " + std::to_string(pos) +
                                   " is " + std::to_string(v) +
                                   ", not an index in [0, 10) or the ignore value -100";
      EXPECT_NE(message.find(expected), std::string::npos) << message;
      EXPECT_EQ(concurrency_bn_dropout_gradients(a, in2, bad.target.data(), &loss),
                KILN_ERROR_INVALID_ARGUMENT);
      EXPECT_EQ(loss, 42) << "the loss was written";
      ASSERT_EQ(state_of(a), before) << "a refused call changed the instance";
    }

  // ... and then trains on exactly as b, which never saw a bad batch, also
  // with ignore_index rows.
  Batch third(4);
  third.target[5] = -100;
  const void *in3[1] = {third.x.data()};
  using Call = std::pair<const void *const *, const int64_t *>;
  for (const auto &[inputs, target] :
       {Call{in2, second.target.data()}, Call{in3, third.target.data()}}) {
    ASSERT_EQ(concurrency_bn_dropout_train_step(a, inputs, target, &loss_a), KILN_OK);
    ASSERT_EQ(concurrency_bn_dropout_train_step(b, inputs, target, &loss_b), KILN_OK);
    EXPECT_EQ(std::memcmp(&loss_a, &loss_b, sizeof loss_a), 0) << loss_a << " vs " << loss_b;
    EXPECT_TRUE(std::isfinite(loss_a));
  }
  EXPECT_EQ(state_of(a), state_of(b));
  concurrency_bn_dropout_destroy(a);
  concurrency_bn_dropout_destroy(b);
}

} // namespace

// The same for NLLLoss over a [N, C, d] input (class indices [N, d], a
// class as ignore_index, class weights) with Adam's state: every element
// of the target is checked, the message names it and its value.

namespace {

std::vector<unsigned char> nll_state(bad_batch_nll_model *m) {
  std::vector<unsigned char> bytes;
  auto append = [&](const void *data, size_t n) {
    const auto *b = static_cast<const unsigned char *>(data);
    bytes.insert(bytes.end(), b, b + n);
  };
  for (int i = 0; i < bad_batch_nll_num_parameters(m); ++i) {
    float *data;
    int64_t numel;
    EXPECT_EQ(bad_batch_nll_parameter(m, i, nullptr, &data, &numel), KILN_OK);
    append(data, numel * sizeof(float));
  }
  for (int i = 0; i < bad_batch_nll_num_states(m); ++i) {
    float *data;
    int64_t numel;
    EXPECT_EQ(bad_batch_nll_state(m, i, nullptr, &data, &numel), KILN_OK);
    append(data, numel * sizeof(float));
  }
  int64_t step;
  EXPECT_EQ(bad_batch_nll_get_step(m, &step), KILN_OK);
  append(&step, sizeof step);
  return bytes;
}

TEST(ModelBadBatch, NllLossOutOfRangeTargetsAreRefusedAndChangeNothing) {
  bad_batch_nll_model *a = nullptr, *b = nullptr;
  ASSERT_EQ(bad_batch_nll_create(&a), KILN_OK) << kiln_last_error();
  ASSERT_EQ(bad_batch_nll_create(&b), KILN_OK) << kiln_last_error();
  ASSERT_EQ(bad_batch_nll_init_parameters(a, 5), KILN_OK);
  ASSERT_EQ(bad_batch_nll_init_parameters(b, 5), KILN_OK);
  std::vector<float> x(BAD_BATCH_NLL_INPUT0_NUMEL);
  std::mt19937 gen(7);
  std::normal_distribution<float> normal;
  for (float &v : x)
    v = normal(gen);
  std::vector<int64_t> labels(BAD_BATCH_NLL_TARGET_NUMEL);
  for (int64_t &t : labels)
    t = static_cast<int64_t>(gen() % 5);
  labels[4] = 1; // ignore_index: accepted
  const void *in[1] = {x.data()};
  float loss_a = 0, loss_b = 0;
  ASSERT_EQ(bad_batch_nll_train_step(a, in, labels.data(), &loss_a), KILN_OK);
  ASSERT_EQ(bad_batch_nll_train_step(b, in, labels.data(), &loss_b), KILN_OK);

  const std::vector<unsigned char> before = nll_state(a);
  for (int64_t v : {int64_t{5}, int64_t{1000000}, int64_t{-5}, int64_t{-100}})
    for (size_t pos : {size_t{0}, size_t{7}, size_t{BAD_BATCH_NLL_TARGET_NUMEL - 1}}) {
      std::vector<int64_t> bad = labels;
      bad[pos] = v;
      float loss = 42;
      EXPECT_EQ(bad_batch_nll_train_step(a, in, bad.data(), &loss), KILN_ERROR_INVALID_ARGUMENT);
      const std::string message = bad_batch_nll_last_error(a);
      const std::string expected = "target ('labels') element " + std::to_string(pos) + " is " +
                                   std::to_string(v) + ", not an index in [0, 5)"; // ignore_index 1 is a class
      EXPECT_NE(message.find(expected), std::string::npos) << message;
      EXPECT_EQ(bad_batch_nll_gradients(a, in, bad.data(), &loss), KILN_ERROR_INVALID_ARGUMENT);
      EXPECT_EQ(loss, 42) << "the loss was written";
      ASSERT_EQ(nll_state(a), before) << "a refused call changed the instance";
    }

  ASSERT_EQ(bad_batch_nll_train_step(a, in, labels.data(), &loss_a), KILN_OK);
  ASSERT_EQ(bad_batch_nll_train_step(b, in, labels.data(), &loss_b), KILN_OK);
  EXPECT_EQ(std::memcmp(&loss_a, &loss_b, sizeof loss_a), 0) << loss_a << " vs " << loss_b;
  EXPECT_TRUE(std::isfinite(loss_a));
  EXPECT_EQ(nll_state(a), nll_state(b));
  bad_batch_nll_destroy(a);
  bad_batch_nll_destroy(b);
}

/* CTCLoss reads its labels and both lengths as indices: labels in [0, C),
 * input lengths in [1, T] (torch 1.13 reads uninitialised memory for 0),
 * target lengths in [0, S]. Each is refused by name before any kernel runs,
 * and the instance is unchanged. */
TEST(ModelBadBatch, CtcLossLabelsAndLengthsAreCheckedByName) {
  bad_batch_ctc_model *m = nullptr;
  ASSERT_EQ(bad_batch_ctc_create(&m), KILN_OK) << kiln_last_error();
  ASSERT_EQ(bad_batch_ctc_init_parameters(m, 3), KILN_OK);
  const std::vector<float> x = normal_floats(BAD_BATCH_CTC_INPUT0_NUMEL, 3);
  std::vector<int64_t> il = {6, 4, 1}, tl = {2, 1, 0}, labels = {1, 2, 3, 3, 0, 0};
  auto step = [&](float *loss) {
    const void *in[3] = {x.data(), il.data(), tl.data()};
    return bad_batch_ctc_train_step(m, in, labels.data(), loss);
  };
  float loss = 0;
  ASSERT_EQ(step(&loss), KILN_OK) << bad_batch_ctc_last_error(m);
  EXPECT_TRUE(std::isfinite(loss));
  float *weight;
  int64_t numel;
  ASSERT_EQ(bad_batch_ctc_parameter(m, 0, nullptr, &weight, &numel), KILN_OK);
  const std::vector<float> before(weight, weight + numel);

  struct Bad {
    std::vector<int64_t> *tensor;
    size_t pos;
    int64_t value;
    std::string expected;
  };
  const Bad bad[] = {
      {&il, 2, 0, "'input_lengths') element 2 is 0, not an index in [1, 7)"},
      {&il, 0, 7, "'input_lengths') element 0 is 7, not an index in [1, 7)"},
      {&tl, 1, 3, "'target_lengths') element 1 is 3, not an index in [0, 3)"},
      {&tl, 0, -1, "'target_lengths') element 0 is -1, not an index in [0, 3)"},
      {&labels, 3, 4, "'labels') element 3 is 4, not an index in [0, 4)"},
  };
  for (const Bad &b : bad) {
    int64_t saved = (*b.tensor)[b.pos];
    (*b.tensor)[b.pos] = b.value;
    loss = 42;
    EXPECT_EQ(step(&loss), KILN_ERROR_INVALID_ARGUMENT);
    const std::string message = bad_batch_ctc_last_error(m);
    EXPECT_NE(message.find(b.expected), std::string::npos) << message;
    EXPECT_EQ(loss, 42) << "the loss was written";
    (*b.tensor)[b.pos] = saved;
    ASSERT_EQ(std::vector<float>(weight, weight + numel), before) << "a refused call stepped";
  }
  bad_batch_ctc_destroy(m);
}

/* torch's concatenated CTC targets ([S] labels of every sample, one after
 * another): the target lengths must add up to S (torch's targets.size(0) ==
 * sum(target_lengths)); otherwise the call is refused naming their sum, and
 * nothing changes. */
TEST(ModelBadBatch, CtcConcatenatedTargetLengthsMustAddUp) {
  bad_batch_ctc_concat_model *m = nullptr;
  ASSERT_EQ(bad_batch_ctc_concat_create(&m), KILN_OK) << kiln_last_error();
  ASSERT_EQ(bad_batch_ctc_concat_init_parameters(m, 3), KILN_OK);
  const std::vector<float> x = normal_floats(BAD_BATCH_CTC_CONCAT_INPUT0_NUMEL, 5);
  std::vector<int64_t> il = {6, 5, 4}, tl = {2, 0, 2}, labels = {1, 2, 3, 1};
  auto step = [&](float *loss) {
    const void *in[3] = {x.data(), il.data(), tl.data()};
    return bad_batch_ctc_concat_train_step(m, in, labels.data(), loss);
  };
  float loss = 0;
  ASSERT_EQ(step(&loss), KILN_OK) << bad_batch_ctc_concat_last_error(m);
  EXPECT_TRUE(std::isfinite(loss));
  float *weight;
  int64_t numel;
  ASSERT_EQ(bad_batch_ctc_concat_parameter(m, 0, nullptr, &weight, &numel), KILN_OK);
  const std::vector<float> before(weight, weight + numel);
  for (std::vector<int64_t> lengths : {std::vector<int64_t>{2, 0, 1}, {2, 1, 2}, {4, 4, 4}}) {
    tl = lengths;
    loss = 42;
    EXPECT_EQ(step(&loss), KILN_ERROR_INVALID_ARGUMENT);
    const std::string message = bad_batch_ctc_concat_last_error(m);
    const std::string sum = std::to_string(lengths[0] + lengths[1] + lengths[2]);
    EXPECT_NE(message.find("the target lengths must add up to the number of concatenated "
                           "target labels"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("element 0 is " + sum), std::string::npos) << message;
    EXPECT_EQ(loss, 42) << "the loss was written";
    ASSERT_EQ(std::vector<float>(weight, weight + numel), before) << "a refused call stepped";
  }
  bad_batch_ctc_concat_destroy(m);
}

/* BCELoss's probabilities outside [0, 1] (and NaN) are refused as torch
 * refuses them ("all elements of input should be between 0 and 1"), naming
 * the first such element and its value, and neither train_step nor
 * gradients changes the instance. (The model's output is its input: the
 * Linear's contribution is multiplied by 0.) */
TEST(ModelBadBatch, BceLossProbabilitiesOutsideZeroOneAreRefused) {
  bad_batch_bce_model *m = nullptr;
  ASSERT_EQ(bad_batch_bce_create(&m), KILN_OK) << kiln_last_error();
  ASSERT_EQ(bad_batch_bce_init_parameters(m, 3), KILN_OK);
  std::vector<float> x(BAD_BATCH_BCE_INPUT0_NUMEL), labels(BAD_BATCH_BCE_TARGET_NUMEL);
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = 0.05f + 0.9f * float(i) / float(x.size()); // inside, and the ends exactly:
    labels[i] = float(i % 2);
  }
  x[0] = 0.0f;
  x[1] = 1.0f;
  auto step = [&](float *loss) {
    const void *in[1] = {x.data()};
    return bad_batch_bce_train_step(m, in, labels.data(), loss);
  };
  float loss = 0;
  ASSERT_EQ(step(&loss), KILN_OK) << bad_batch_bce_last_error(m);
  int64_t steps_before = -1;
  ASSERT_EQ(bad_batch_bce_get_step(m, &steps_before), KILN_OK);
  float *weight;
  int64_t numel;
  ASSERT_EQ(bad_batch_bce_parameter(m, 0, nullptr, &weight, &numel), KILN_OK);
  const std::vector<float> before(weight, weight + numel);
  struct Bad {
    size_t pos;
    float value;
    std::string expected;
  };
  const Bad bad[] = {{7, 1.5f, "element 7 is 1.5;"},
                     {3, -0.25f, "element 3 is -0.25;"},
                     // NaN at x[3][2] reaches the whole row 3 through
                     // the Linear (NaN x 0 is NaN): p's element 9 first.
                     {11, NAN, "element 9 is nan;"}};
  for (const Bad &b : bad) {
    float saved = x[b.pos];
    x[b.pos] = b.value;
    loss = 42;
    EXPECT_EQ(step(&loss), KILN_ERROR_INVALID_ARGUMENT);
    std::string message = bad_batch_bce_last_error(m);
    EXPECT_NE(message.find("BCELoss: all elements of input should be between 0 and 1: " + b.expected),
              std::string::npos)
        << message;
    const void *in[1] = {x.data()};
    EXPECT_EQ(bad_batch_bce_gradients(m, in, labels.data(), &loss), KILN_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(loss, 42) << "the loss was written";
    int64_t steps = -1;
    ASSERT_EQ(bad_batch_bce_get_step(m, &steps), KILN_OK);
    EXPECT_EQ(steps, steps_before);
    ASSERT_EQ(std::vector<float>(weight, weight + numel), before) << "a refused call stepped";
    x[b.pos] = saved;
  }
  // Two violations: the first is named.
  x[5] = 2.0f;
  x[9] = -1.0f;
  EXPECT_EQ(step(&loss), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(bad_batch_bce_last_error(m)).find("element 5 is 2;"), std::string::npos)
      << bad_batch_bce_last_error(m);
  bad_batch_bce_destroy(m);
}

/* GaussianNLLLoss's var (here a model input, named in training.loss.inputs)
 * must not be negative ("var has negative entry/entries"); accumulate
 * refuses such a batch too, its grad sums unchanged. */
TEST(ModelBadBatch, GaussianNllLossNegativeVarIsRefused) {
  bad_batch_gaussian_model *m = nullptr;
  ASSERT_EQ(bad_batch_gaussian_create(&m), KILN_OK) << kiln_last_error();
  ASSERT_EQ(bad_batch_gaussian_init_parameters(m, 3), KILN_OK);
  std::vector<float> x(BAD_BATCH_GAUSSIAN_INPUT0_NUMEL, 0.5f), var = {0.5f, 0.0f, 2.0f, 1.0f},
      y(BAD_BATCH_GAUSSIAN_TARGET_NUMEL, 0.25f);
  const void *in[2] = {x.data(), var.data()};
  float loss = 0;
  ASSERT_EQ(bad_batch_gaussian_accumulate(m, in, y.data(), &loss), KILN_OK)
      << bad_batch_gaussian_last_error(m);
  float *sum;
  const int64_t numel = 6; // fc.weight [2, 3]
  ASSERT_EQ(bad_batch_gaussian_grad_sum(m, 0, &sum), KILN_OK);
  const std::vector<float> sums(sum, sum + numel);
  var[2] = -0.5f;
  loss = 42;
  EXPECT_EQ(bad_batch_gaussian_accumulate(m, in, y.data(), &loss), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(bad_batch_gaussian_last_error(m))
                .find("GaussianNLLLoss: var has negative entry/entries: element 2 is -0.5;"),
            std::string::npos)
      << bad_batch_gaussian_last_error(m);
  EXPECT_EQ(loss, 42);
  ASSERT_EQ(bad_batch_gaussian_grad_sum(m, 0, &sum), KILN_OK);
  EXPECT_EQ(std::vector<float>(sum, sum + numel), sums) << "a refused batch was accumulated";
  EXPECT_EQ(bad_batch_gaussian_train_step(m, in, y.data(), &loss), KILN_ERROR_INVALID_ARGUMENT);
  bad_batch_gaussian_destroy(m);
}

/* Value checks in the graph, forward included: EmbeddingBag's offsets must
 * start at 0 and not decrease (torch: "offsets[0] has to be 0"; its lookup
 * fails on decreasing ones), and F.binary_cross_entropy's input must be in
 * [0, 1]. forward and train_step refuse such a batch naming the element. */
TEST(ModelBadBatch, GraphValueChecksRefuseForwardAndTrainStep) {
  bad_batch_bag_model *m = nullptr;
  ASSERT_EQ(bad_batch_bag_create(&m), KILN_OK) << kiln_last_error();
  ASSERT_EQ(bad_batch_bag_init_parameters(m, 3), KILN_OK);
  std::vector<int64_t> tokens = {1, 2, 3, 4, 0, 2}, offsets = {0, 2, 2};
  std::vector<float> p = {0.5f, 0.25f, 1.0f, 0.0f, 0.75f, 0.5f};
  float out = 0, zero = 0, loss = 0;
  const void *in[3] = {tokens.data(), offsets.data(), p.data()};
  void *outs[1] = {&out};
  ASSERT_EQ(bad_batch_bag_forward(m, in, outs), KILN_OK) << bad_batch_bag_last_error(m);
  ASSERT_EQ(bad_batch_bag_train_step(m, in, &zero, &loss), KILN_OK) << bad_batch_bag_last_error(m);
  float *weight;
  int64_t numel;
  ASSERT_EQ(bad_batch_bag_parameter(m, 0, nullptr, &weight, &numel), KILN_OK);
  const std::vector<float> before(weight, weight + numel);

  auto refused = [&](const std::string &expected) {
    EXPECT_EQ(bad_batch_bag_forward(m, in, outs), KILN_ERROR_INVALID_ARGUMENT);
    std::string message = bad_batch_bag_last_error(m);
    EXPECT_EQ(message.rfind("kiln_model_forward: ", 0), 0u) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_EQ(bad_batch_bag_train_step(m, in, &zero, &loss), KILN_ERROR_INVALID_ARGUMENT);
    message = bad_batch_bag_last_error(m);
    EXPECT_EQ(message.rfind("kiln_model_train_step: ", 0), 0u) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_EQ(std::vector<float>(weight, weight + numel), before) << "a refused call stepped";
  };
  offsets = {1, 2, 4};
  refused("EmbeddingBag: offsets[0] has to be 0 and the offsets must not decrease "
          "(offsets, not the input): element 0 is 1;");
  offsets = {0, 4, 2};
  refused("element 2 is 2;");
  offsets = {0, 2, 2};
  p[4] = 1.25f;
  refused("BCELoss: all elements of input should be between 0 and 1: element 4 is 1.25;");
  p[4] = 0.75f;
  EXPECT_EQ(bad_batch_bag_forward(m, in, outs), KILN_OK) << bad_batch_bag_last_error(m);
  bad_batch_bag_destroy(m);
}

/* A packed sequence's lengths (pack_padded_sequence with enforce_sorted):
 * each in [1, T] and decreasing, as torch checks when packing; without
 * total_length, pad_packed_sequence needs the longest to be the compiled T.
 * forward and train_step refuse other lengths before anything changes. */
TEST(ModelBadBatch, PackedSequenceLengthsAreChecked) {
  bad_batch_packed_model *m = nullptr;
  ASSERT_EQ(bad_batch_packed_create(&m), KILN_OK) << kiln_last_error();
  ASSERT_EQ(bad_batch_packed_init_parameters(m, 5), KILN_OK);
  std::vector<float> x(4 * 3 * 2, 0.5f);
  std::vector<int64_t> lengths = {4, 3, 1};
  float out = 0, zero = 0, loss = 0;
  const void *in[2] = {x.data(), lengths.data()};
  void *outs[1] = {&out};
  ASSERT_EQ(bad_batch_packed_forward(m, in, outs), KILN_OK) << bad_batch_packed_last_error(m);
  ASSERT_EQ(bad_batch_packed_train_step(m, in, &zero, &loss), KILN_OK) << bad_batch_packed_last_error(m);
  float *weight;
  int64_t numel;
  ASSERT_EQ(bad_batch_packed_parameter(m, 0, nullptr, &weight, &numel), KILN_OK);
  const std::vector<float> before(weight, weight + numel);
  auto refused = [&](const std::string &expected) {
    EXPECT_EQ(bad_batch_packed_forward(m, in, outs), KILN_ERROR_INVALID_ARGUMENT);
    std::string message = bad_batch_packed_last_error(m);
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_EQ(bad_batch_packed_train_step(m, in, &zero, &loss), KILN_ERROR_INVALID_ARGUMENT);
    message = bad_batch_packed_last_error(m);
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_EQ(std::vector<float>(weight, weight + numel), before) << "a refused call stepped";
  };
  lengths = {4, 0, 0};
  refused("pack_padded_sequence: Length of all samples has to be greater than 0, but found an element in "
          "'lengths' that is <= 0: element 1 is 0;");
  lengths = {4, 1, 3};
  refused("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True "
          "(compile with enforce_sorted false to sidestep this): element 2 is 3;");
  lengths = {3, 2, 1};
  refused("pad_packed_sequence: without total_length the output has as many steps as the longest sequence");
  lengths = {5, 3, 1};
  refused("element 0 is 5, not an index in [0, 5)");
  lengths = {4, 4, 2};
  EXPECT_EQ(bad_batch_packed_forward(m, in, outs), KILN_OK) << bad_batch_packed_last_error(m);
  bad_batch_packed_destroy(m);
}

} // namespace
