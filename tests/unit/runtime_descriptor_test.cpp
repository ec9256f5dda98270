#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include <string>

namespace {

void noop(void **) {}

const std::string kValid = "kiln-descriptor 1\n"
                           "name mlp\n"
                           "mode train\n"
                           "input x f32 2 4 3\n"
                           "target t i64 1 4\n"
                           "output logits f32 2 4 2\n"
                           "param fc.weight f32 2 2 3 uniform -0.5 0.5\n"
                           "state fc.weight.momentum_buffer f32 2 2 3 zeros\n"
                           "lr 0.01\n";

/* Creates a model from `text` expecting failure; returns the message. */
std::string create_error(const std::string &text,
                         kiln_status expected = KILN_ERROR_FORMAT) {
  kiln_model *m = reinterpret_cast<kiln_model *>(1);
  EXPECT_EQ(kiln_model_create(text.c_str(), noop, noop, noop, &m), expected) << text;
  EXPECT_EQ(m, nullptr);
  return kiln_last_error();
}

std::string replace_line(std::string text, const std::string &from,
                         const std::string &to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(RuntimeDescriptor, ValidDescriptorWithCommentsAndCRLF) {
  kiln_model *m = nullptr;
  ASSERT_EQ(kiln_model_create(kValid.c_str(), noop, noop, noop, &m), KILN_OK)
      << kiln_last_error();
  kiln_model_destroy(m);

  std::string annotated = "kiln-descriptor 1\r\n\r\nname mlp   # the model\r\n"
                          "mode inference   # or: train\r\n"
                          "# a comment line\r\n"
                          "input x f32 0\r\noutput y f32 1 3\r\n"
                          "param p f32 1 3 normal 0 +1.5e-2";
  ASSERT_EQ(kiln_model_create(annotated.c_str(), noop, nullptr, nullptr, &m), KILN_OK)
      << kiln_last_error();
  EXPECT_EQ(kiln_model_num_parameters(m), 1);
  kiln_model_destroy(m);
}

TEST(RuntimeDescriptor, UnknownRecordNamesTheLine) {
  std::string text = replace_line(kValid, "param fc.weight", "parm fc.weight");
  EXPECT_EQ(create_error(text), "descriptor line 7: unknown record 'parm'");
}

TEST(RuntimeDescriptor, BadShapes) {
  EXPECT_NE(create_error(replace_line(kValid, "input x f32 2 4 3", "input x f32 2 4"))
                .find("descriptor line 4: bad rank 2 for 'x'"),
            std::string::npos);
  EXPECT_NE(create_error(replace_line(kValid, "input x f32 2 4 3", "input x f32 2 4 three"))
                .find("descriptor line 4: bad dimension 'three'"),
            std::string::npos);
  EXPECT_NE(create_error(replace_line(kValid, "input x f32 2 4 3", "input x f32 2 4 -3"))
                .find("line 4: negative dimension -3 in the shape of 'x'"),
            std::string::npos);
  EXPECT_NE(create_error(replace_line(kValid, "input x f32 2 4 3", "input x f32 -1"))
                .find("line 4: bad rank -1"),
            std::string::npos);
  EXPECT_NE(create_error(replace_line(kValid, "input x f32 2 4 3",
                                      "input x f32 3 4294967296 4294967296 4"))
                .find("line 4: shape [4294967296, 4294967296, 4] of 'x' is too large"),
            std::string::npos);
  EXPECT_NE(create_error(replace_line(kValid, "input x f32", "input x f16"))
                .find("line 4: unknown dtype 'f16'"),
            std::string::npos);
}

TEST(RuntimeDescriptor, MissingLines) {
  EXPECT_EQ(create_error(replace_line(kValid, "name mlp\n", "")),
            "descriptor: missing 'name' line");
  EXPECT_EQ(create_error(replace_line(kValid, "mode train\n", "")),
            "descriptor: missing 'mode' line");
  EXPECT_EQ(create_error(replace_line(kValid, "target t i64 1 4\n", "")),
            "descriptor: missing 'target' line");
  EXPECT_EQ(create_error(replace_line(kValid, "lr 0.01\n", "")),
            "descriptor: missing 'lr' line");
  EXPECT_EQ(create_error(""), "descriptor: empty");
  EXPECT_EQ(create_error("name mlp\n"),
            "descriptor line 1: expected 'kiln-descriptor 1' first, got 'name'");
  EXPECT_NE(create_error(replace_line(kValid, "kiln-descriptor 1", "kiln-descriptor 2"),
                         KILN_ERROR_UNSUPPORTED)
                .find("unsupported descriptor version '2'"),
            std::string::npos);
}

TEST(RuntimeDescriptor, FieldErrors) {
  struct {
    const char *from, *to, *message;
  } cases[] = {
      {"name mlp", "name mlp extra", "line 2: unexpected field 'extra'"},
      {"name mlp", "name", "line 2: missing model name in 'name' record"},
      {"mode train", "mode eval", "line 3: unknown mode 'eval'"},
      {"uniform -0.5 0.5", "uniform 0.5 -0.5", "line 7: uniform bounds of 'fc.weight' have LO > HI"},
      {"uniform -0.5 0.5", "uniform -0.5", "line 7: missing uniform HI"},
      {"uniform -0.5 0.5", "uniform -0.5 x", "line 7: bad uniform HI 'x'"},
      {"uniform -0.5 0.5", "uniform -0.5 inf", "line 7: bad uniform HI 'inf'"},
      {"uniform -0.5 0.5", "xavier", "line 7: unknown initializer 'xavier'"},
      {"uniform -0.5 0.5", "normal 0 -1", "line 7: normal STD of 'fc.weight' is negative"},
      {"param fc.weight f32", "param fc.weight i64", "line 7: parameter 'fc.weight' must be f32"},
      {"state fc.weight.momentum_buffer", "state step", "line 8: state name 'step' is reserved"},
      {"lr 0.01", "lr fast", "line 9: bad learning rate 'fast'"},
      {"lr 0.01", "lr 0.01\nlr 0.02", "line 10: second 'lr' record (first on line 9)"},
      {"output logits", "output logits f32 1 2\noutput logits", "line 7: duplicate output name 'logits'"},
      {"target t", "target x", "line 5: duplicate input name 'x'"},
      {"mode train", "mode train\nkiln-descriptor 1", "line 4: second 'kiln-descriptor' record"},
      {"lr 0.01", "lr 0.01\nworkspace -64", "line 10: workspace bytes -64 out of range"},
      {"lr 0.01", "lr 0.01\nworkspace 281474976710657", "line 10: workspace bytes 281474976710657 out of range"},
      {"lr 0.01", "lr 0.01\nworkspace 1kb", "line 10: bad workspace bytes '1kb'"},
      {"lr 0.01", "lr 0.01\nworkspace", "line 10: missing workspace bytes"},
      {"lr 0.01", "lr 0.01\nworkspace 64\nworkspace 64", "line 11: second 'workspace' record (first on line 10)"},
  };
  for (const auto &c : cases) {
    std::string m = create_error(replace_line(kValid, c.from, c.to));
    EXPECT_NE(m.find(c.message), std::string::npos) << m << "\n  lacks: " << c.message;
    EXPECT_EQ(m.rfind("descriptor line ", 0), 0u) << m;
  }
}

TEST(RuntimeDescriptor, TrainOnlyRecordsInInference) {
  std::string text = replace_line(kValid, "mode train", "mode inference");
  EXPECT_EQ(create_error(text), "descriptor line 5: 'target' is only allowed in train mode");
}

TEST(RuntimeDescriptor, MutatedDescriptorsNeverCrash) {
  for (size_t at = 0; at < kValid.size(); ++at) {
    for (char c : {' ', '\n', '-', '9', '#', 'x', '\t'}) {
      std::string text = kValid;
      text[at] = c;
      kiln_model *m = nullptr;
      kiln_status status = kiln_model_create(text.c_str(), noop, noop, noop, &m);
      if (status == KILN_OK) {
        ASSERT_NE(m, nullptr);
        kiln_model_init_parameters(m, 1);
        kiln_model_destroy(m);
      } else {
        ASSERT_EQ(m, nullptr);
        ASSERT_EQ(std::string(kiln_last_error()).rfind("descriptor", 0), 0u)
            << kiln_last_error();
      }
    }
  }
}

TEST(RuntimeDescriptor, NullArguments) {
  kiln_model *m = nullptr;
  EXPECT_EQ(kiln_model_create(nullptr, noop, noop, noop, &m), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_create(kValid.c_str(), noop, noop, noop, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_create(kValid.c_str(), nullptr, noop, noop, &m),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(m, nullptr);
  kiln_model_destroy(nullptr);
}

} // namespace
