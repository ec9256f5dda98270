#include <kiln/runtime.h>

#include <gtest/gtest.h>

#include "dead_pid.h"

#include <algorithm>

#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace {

class RuntimeSafetensors : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kiln_st_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string &name) const { return (dir_ / name).string(); }

  /* A file with the given header JSON (length prefix computed unless
   * `length` overrides it) followed by `data`. */
  std::string raw_file(const std::string &name, const std::string &header,
                       const std::string &data = "", int64_t length = -1) {
    std::string p = path(name);
    std::ofstream out(p, std::ios::binary);
    uint64_t n = length < 0 ? header.size() : static_cast<uint64_t>(length);
    for (int i = 0; i < 8; ++i)
      out.put(static_cast<char>(n >> (8 * i)));
    out << header << data;
    return p;
  }

  /* Opens `p` expecting failure; returns the message. */
  std::string open_error(const std::string &p, kiln_status expected) {
    kiln_safetensors *file = reinterpret_cast<kiln_safetensors *>(1);
    EXPECT_EQ(kiln_safetensors_open(p.c_str(), &file), expected);
    EXPECT_EQ(file, nullptr);
    std::string message = kiln_last_error();
    EXPECT_NE(message.find(p), std::string::npos) << message;
    return message;
  }

  fs::path dir_;
};

std::string bytes_of(const std::vector<float> &v) {
  return std::string(reinterpret_cast<const char *>(v.data()), v.size() * 4);
}

TEST_F(RuntimeSafetensors, RoundTrip) {
  const float a[6] = {1, 2, 3, 4, 5, 6};
  const int64_t b[3] = {-1, 0, INT64_MAX};
  const float c = 0.5f;
  const int64_t a_shape[2] = {2, 3}, b_shape[1] = {3}, e_shape[2] = {0, 5};
  kiln_tensor_view views[4] = {
      {"layer.weight", KILN_F32, 2, a_shape, a},
      {"idx", KILN_I64, 1, b_shape, b},
      {"scalar", KILN_F32, 0, nullptr, &c},
      {"empty", KILN_F32, 2, e_shape, nullptr},
  };
  const std::string p = path("rt.safetensors");
  ASSERT_EQ(kiln_safetensors_write(p.c_str(), views, 4), KILN_OK) << kiln_last_error();

  kiln_safetensors *file = nullptr;
  ASSERT_EQ(kiln_safetensors_open(p.c_str(), &file), KILN_OK) << kiln_last_error();
  ASSERT_EQ(kiln_safetensors_count(file), 4);
  for (int i = 0; i < 4; ++i) {
    kiln_tensor_view v;
    ASSERT_EQ(kiln_safetensors_get(file, i, &v), KILN_OK);
    EXPECT_STREQ(v.name, views[i].name); // file order is write order
    EXPECT_EQ(v.dtype, views[i].dtype);
    ASSERT_EQ(v.rank, views[i].rank);
    for (int d = 0; d < v.rank; ++d)
      EXPECT_EQ(v.shape[d], views[i].shape[d]);
  }
  kiln_tensor_view v;
  ASSERT_EQ(kiln_safetensors_find(file, "layer.weight", &v), KILN_OK);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data) % 4, 0u);
  EXPECT_EQ(std::memcmp(v.data, a, sizeof a), 0);
  ASSERT_EQ(kiln_safetensors_find(file, "idx", &v), KILN_OK);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data) % 64, 0u); // data section start
  EXPECT_EQ(std::memcmp(v.data, b, sizeof b), 0);
  ASSERT_EQ(kiln_safetensors_find(file, "scalar", &v), KILN_OK);
  EXPECT_EQ(v.rank, 0);
  EXPECT_EQ(*static_cast<const float *>(v.data), 0.5f);
  EXPECT_EQ(kiln_safetensors_find(file, "nope", &v), KILN_ERROR_MISMATCH);
  EXPECT_NE(std::string(kiln_last_error()).find("'nope'"), std::string::npos);
  EXPECT_EQ(kiln_safetensors_get(file, 4, &v), KILN_ERROR_INVALID_ARGUMENT);
  kiln_safetensors_close(file);

  // Layout: data section 8-byte aligned, keys in the given order, no temp file
  // left behind.
  std::ifstream in(p, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), {});
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = n << 8 | static_cast<unsigned char>(all[i]);
  EXPECT_EQ((8 + n) % 8, 0u);
  EXPECT_EQ(all.size(), 8 + n + sizeof a + sizeof b + sizeof c);
  std::string header = all.substr(8, n);
  // Keys in the given order; I64 data first so that it stays 8-byte aligned.
  EXPECT_EQ(header.rfind("{\"layer.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],"
                         "\"data_offsets\":[24,48]},\"idx\":{\"dtype\":\"I64\","
                         "\"shape\":[3],\"data_offsets\":[0,24]},",
                         0),
            0u)
      << header;
  EXPECT_LT(header.find("\"idx\""), header.find("\"scalar\""));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(RuntimeSafetensors, OverwriteIsAtomicReplace) {
  const float x[2] = {1, 2}, y[1] = {7};
  const int64_t s2[1] = {2}, s1[1] = {1};
  kiln_tensor_view first{"x", KILN_F32, 1, s2, x};
  kiln_tensor_view second{"y", KILN_F32, 1, s1, y};
  const std::string p = path("w.safetensors");
  ASSERT_EQ(kiln_safetensors_write(p.c_str(), &first, 1), KILN_OK);
  ASSERT_EQ(kiln_safetensors_write(p.c_str(), &second, 1), KILN_OK);
  kiln_safetensors *file = nullptr;
  ASSERT_EQ(kiln_safetensors_open(p.c_str(), &file), KILN_OK);
  kiln_tensor_view v;
  EXPECT_EQ(kiln_safetensors_find(file, "y", &v), KILN_OK);
  EXPECT_EQ(kiln_safetensors_find(file, "x", &v), KILN_ERROR_MISMATCH);
  kiln_safetensors_close(file);
}

TEST_F(RuntimeSafetensors, EscapedNamesRoundTrip) {
  const float x = 1;
  kiln_tensor_view v{"we\"ird\\name\n\xc3\xa9", KILN_F32, 0, nullptr, &x};
  const std::string p = path("esc.safetensors");
  ASSERT_EQ(kiln_safetensors_write(p.c_str(), &v, 1), KILN_OK);
  kiln_safetensors *file = nullptr;
  ASSERT_EQ(kiln_safetensors_open(p.c_str(), &file), KILN_OK) << kiln_last_error();
  kiln_tensor_view out;
  EXPECT_EQ(kiln_safetensors_find(file, v.name, &out), KILN_OK);
  kiln_safetensors_close(file);

  // \u escapes (including a surrogate pair) decode to UTF-8.
  std::string p2 = raw_file("u.safetensors",
                            "{\"\\u00e9\\ud83d\\ude00\":{\"dtype\":\"F32\","
                            "\"shape\":[],\"data_offsets\":[0,4]}}",
                            std::string(4, '\0'));
  ASSERT_EQ(kiln_safetensors_open(p2.c_str(), &file), KILN_OK) << kiln_last_error();
  EXPECT_EQ(kiln_safetensors_find(file, "\xc3\xa9\xf0\x9f\x98\x80", &out), KILN_OK);
  kiln_safetensors_close(file);
}

TEST_F(RuntimeSafetensors, MisalignedTensorsAreRealigned) {
  // Legal but unaligned: an I64 right after one F32.
  std::string data = bytes_of({1.5f});
  int64_t big = 0x0102030405060708;
  data.append(reinterpret_cast<const char *>(&big), 8);
  std::string p = raw_file("odd.safetensors",
                           "{\"f\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                           "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[4,12]}}",
                           data);
  kiln_safetensors *file = nullptr;
  ASSERT_EQ(kiln_safetensors_open(p.c_str(), &file), KILN_OK) << kiln_last_error();
  kiln_tensor_view v;
  ASSERT_EQ(kiln_safetensors_find(file, "i", &v), KILN_OK);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data) % 8, 0u);
  EXPECT_EQ(*static_cast<const int64_t *>(v.data), big);
  ASSERT_EQ(kiln_safetensors_find(file, "f", &v), KILN_OK);
  EXPECT_EQ(*static_cast<const float *>(v.data), 1.5f);
  kiln_safetensors_close(file);
}

TEST_F(RuntimeSafetensors, MetadataIsSkipped) {
  std::string p = raw_file(
      "meta.safetensors",
      "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\","
      "\"shape\":[2],\"data_offsets\":[0,8]}}   ",
      bytes_of({3, 4}));
  kiln_safetensors *file = nullptr;
  ASSERT_EQ(kiln_safetensors_open(p.c_str(), &file), KILN_OK) << kiln_last_error();
  EXPECT_EQ(kiln_safetensors_count(file), 1);
  kiln_tensor_view v;
  ASSERT_EQ(kiln_safetensors_get(file, 0, &v), KILN_OK);
  EXPECT_EQ(static_cast<const float *>(v.data)[1], 4.0f);
  kiln_safetensors_close(file);
}

TEST_F(RuntimeSafetensors, MissingFile) {
  std::string m = open_error(path("absent.safetensors"), KILN_ERROR_IO);
  EXPECT_NE(m.find("No such file"), std::string::npos) << m;
}

TEST_F(RuntimeSafetensors, ShorterThanLength) {
  std::string p = path("short.safetensors");
  std::ofstream(p, std::ios::binary) << "abcde";
  std::string m = open_error(p, KILN_ERROR_FORMAT);
  EXPECT_NE(m.find("truncated"), std::string::npos) << m;
  EXPECT_NE(m.find("5"), std::string::npos) << m;
}

TEST_F(RuntimeSafetensors, HeaderLengthBeyondFile) {
  std::string p = raw_file("len.safetensors", "{}", "", 1000);
  std::string m = open_error(p, KILN_ERROR_FORMAT);
  EXPECT_NE(m.find("truncated: header length says 1000 bytes"), std::string::npos) << m;
  // A length near 2^64 must not wrap around in the bounds check.
  p = raw_file("huge.safetensors", "{}", "", INT64_MAX);
  open_error(p, KILN_ERROR_FORMAT);
}

struct CorruptCase {
  const char *label;
  std::string header;
  size_t data_bytes;
  kiln_status status;
  std::vector<std::string> message_parts;
};

TEST_F(RuntimeSafetensors, CorruptHeaders) {
  const std::string ok_tensor =
      "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
  std::vector<CorruptCase> cases = {
      {"truncated json", "{\"w\":{\"dtype\":\"F32\",", 8, KILN_ERROR_FORMAT, {"malformed header JSON"}},
      {"not an object", "[1,2]", 0, KILN_ERROR_FORMAT, {"malformed header JSON", "expected '{'"}},
      {"trailing garbage", "{" + ok_tensor + "}x", 8, KILN_ERROR_FORMAT, {"after the header"}},
      {"tensor not object", "{\"w\":3}", 0, KILN_ERROR_FORMAT, {"'w' is not an object"}},
      {"bad escape", "{\"w\\q\":{}}", 0, KILN_ERROR_FORMAT, {"bad escape"}},
      {"end past data", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4,
       KILN_ERROR_FORMAT, {"'w'", "[0, 8]", "outside the data section of 4 bytes"}},
      {"end before begin", "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8,
       KILN_ERROR_FORMAT, {"'w'", "end before they begin"}},
      {"size mismatch", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
       KILN_ERROR_FORMAT, {"'w'", "8 bytes", "needs 12 bytes"}},
      {"overlap",
       "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
       "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
       12, KILN_ERROR_FORMAT, {"'a'", "'b'", "overlap"}},
      {"unsupported dtype", "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
       KILN_ERROR_UNSUPPORTED, {"'h'", "unsupported dtype 'F16'"}},
      {"unknown dtype", "{\"h\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
       KILN_ERROR_UNSUPPORTED, {"unsupported dtype 'Q7'"}},
      {"duplicate name", "{" + ok_tensor + "," + ok_tensor + "}", 8, KILN_ERROR_FORMAT,
       {"duplicate tensor name 'w'"}},
      {"negative dim", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8,
       KILN_ERROR_FORMAT, {"'w'", "negative dimension -2"}},
      {"fractional dim", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8,
       KILN_ERROR_FORMAT, {"expected an integer"}},
      {"numel overflow",
       "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],\"data_offsets\":[0,8]}}", 8,
       KILN_ERROR_FORMAT, {"'w'", "too many elements"}},
      {"huge integer",
       "{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999999],\"data_offsets\":[0,8]}}",
       8, KILN_ERROR_FORMAT, {"too large"}},
      {"missing field", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, KILN_ERROR_FORMAT,
       {"'w'", "no 'data_offsets'"}},
      {"unknown field",
       "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8,
       KILN_ERROR_FORMAT, {"'w'", "unknown field 'x'"}},
      {"three offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", 8,
       KILN_ERROR_FORMAT, {"[begin, end]"}},
      {"metadata not strings", "{\"__metadata__\":{\"a\":1}}", 0, KILN_ERROR_FORMAT,
       {"not a string"}},
      {"control char", std::string("{\"w\x01\":{}}"), 0, KILN_ERROR_FORMAT, {"control character"}},
      {"lone surrogate", "{\"\\udc00\":{}}", 0, KILN_ERROR_FORMAT, {"surrogate"}},
  };
  int i = 0;
  for (const CorruptCase &c : cases) {
    SCOPED_TRACE(c.label);
    std::string p = raw_file("bad" + std::to_string(i++) + ".safetensors", c.header,
                             std::string(c.data_bytes, '\0'));
    std::string m = open_error(p, c.status);
    for (const std::string &part : c.message_parts)
      EXPECT_NE(m.find(part), std::string::npos) << m << "\n  lacks: " << part;
  }
}

TEST_F(RuntimeSafetensors, MutatedFilesNeverCrash) {
  // Every single-byte corruption of the length and header either still
  // parses or fails with a status and a message; none may crash (the
  // sanitizer builds make out-of-bounds reads visible here).
  const float a[6] = {1, 2, 3, 4, 5, 6};
  const int64_t b[1] = {7};
  const int64_t a_shape[2] = {2, 3}, b_shape[1] = {1};
  kiln_tensor_view views[2] = {{"a", KILN_F32, 2, a_shape, a}, {"b", KILN_I64, 1, b_shape, b}};
  const std::string good = path("good.safetensors");
  ASSERT_EQ(kiln_safetensors_write(good.c_str(), views, 2), KILN_OK);
  std::ifstream in(good, std::ios::binary);
  const std::string original((std::istreambuf_iterator<char>(in)), {});
  const size_t header_end = original.size() - sizeof a - sizeof b;
  const std::string p = path("mutated.safetensors");
  for (size_t at = 0; at < header_end; ++at) {
    for (char c : {'\0', '"', '[', '}', '-', '9', ',', '\xff'}) {
      std::string bytes = original;
      bytes[at] = c;
      std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
      kiln_safetensors *file = nullptr;
      kiln_status status = kiln_safetensors_open(p.c_str(), &file);
      if (status == KILN_OK) {
        ASSERT_NE(file, nullptr);
        kiln_tensor_view v;
        for (int i = 0; i < kiln_safetensors_count(file); ++i)
          ASSERT_EQ(kiln_safetensors_get(file, i, &v), KILN_OK);
        kiln_safetensors_close(file);
      } else {
        ASSERT_EQ(file, nullptr);
        ASSERT_NE(std::string(kiln_last_error()), "") << "byte " << at;
      }
    }
  }
  // Truncation anywhere is reported, never read past.
  for (size_t size = 0; size < original.size(); ++size) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << original.substr(0, size);
    kiln_safetensors *file = nullptr;
    ASSERT_NE(kiln_safetensors_open(p.c_str(), &file), KILN_OK) << size;
  }
}

TEST_F(RuntimeSafetensors, WriteErrors) {
  const float x[2] = {1, 2};
  const int64_t shape[1] = {2}, negative[1] = {-1};
  kiln_tensor_view dup[2] = {{"x", KILN_F32, 1, shape, x}, {"x", KILN_F32, 1, shape, x}};
  std::string p = path("dup.safetensors");
  EXPECT_EQ(kiln_safetensors_write(p.c_str(), dup, 2), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_last_error()).find("duplicate tensor name 'x'"), std::string::npos);

  kiln_tensor_view neg{"n", KILN_F32, 1, negative, x};
  EXPECT_EQ(kiln_safetensors_write(p.c_str(), &neg, 1), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_last_error()).find("'n'"), std::string::npos);

  kiln_tensor_view null_data{"d", KILN_F32, 1, shape, nullptr};
  EXPECT_EQ(kiln_safetensors_write(p.c_str(), &null_data, 1), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_safetensors_write(nullptr, &null_data, 1), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_safetensors_write(p.c_str(), nullptr, 1), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_FALSE(fs::exists(p));

  kiln_tensor_view good{"x", KILN_F32, 1, shape, x};
  std::string missing_dir = path("no/such/dir/w.safetensors");
  EXPECT_EQ(kiln_safetensors_write(missing_dir.c_str(), &good, 1), KILN_ERROR_IO);
  std::string m = kiln_last_error();
  EXPECT_NE(m.find(missing_dir), std::string::npos) << m;
  EXPECT_NE(m.find("No such file"), std::string::npos) << m;

  // An empty file list is a valid file.
  EXPECT_EQ(kiln_safetensors_write(p.c_str(), nullptr, 0), KILN_OK);
  kiln_safetensors *file = nullptr;
  ASSERT_EQ(kiln_safetensors_open(p.c_str(), &file), KILN_OK);
  EXPECT_EQ(kiln_safetensors_count(file), 0);
  kiln_safetensors_close(file);
}

/* The reproducers of issue 7 (finding 3), checked in under fixtures/ (see
 * the README there). */
std::string fixture(const std::string &name) {
  return (fs::path(__FILE__).parent_path() / "fixtures" / name).string();
}

std::string read_all(const std::string &p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

TEST_F(RuntimeSafetensors, HeaderLengthOneLessIsRejected) {
  // The length field says 63 for a 64-byte header whose last byte is padding:
  // the JSON still parses, and the data section would start one byte early,
  // so every tensor would load shifted, with status OK.
  std::string m = open_error(fixture("header-length-one-less.safetensors"),
                             KILN_ERROR_FORMAT);
  EXPECT_NE(m.find("cover 16 bytes but the data section after the header has 17"),
            std::string::npos) << m;
  EXPECT_NE(m.find("wrong header length"), std::string::npos) << m;

  // The same for a file of our own writer, length one less and one more.
  const float a[3] = {1, 2, 3};
  const int64_t shape[1] = {3};
  kiln_tensor_view v{"a", KILN_F32, 1, shape, a};
  const std::string good = path("good.safetensors");
  ASSERT_EQ(kiln_safetensors_write(good.c_str(), &v, 1), KILN_OK);
  const std::string bytes = read_all(good);
  for (int delta : {-1, 1}) {
    SCOPED_TRACE(delta);
    std::string changed = bytes;
    changed[0] = static_cast<char>(static_cast<unsigned char>(changed[0]) + delta);
    const std::string p = path("delta.safetensors");
    std::ofstream(p, std::ios::binary | std::ios::trunc) << changed;
    open_error(p, KILN_ERROR_FORMAT);
  }
}

TEST_F(RuntimeSafetensors, TrailingBytesAreRejected) {
  // A valid 16-byte tensor followed by 1000 bytes that belong to nothing.
  std::string m = open_error(fixture("trailing-bytes.safetensors"), KILN_ERROR_FORMAT);
  EXPECT_NE(m.find("1000 bytes belong to no tensor"), std::string::npos) << m;
}

TEST_F(RuntimeSafetensors, TensorsMustTileTheDataSection) {
  const std::string f2 = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":";
  const std::string e0 = "{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":";
  std::vector<CorruptCase> bad = {
      {"gap", "{\"a\":" + f2 + "[0,8]},\"b\":" + f2 + "[12,20]}}", 20, KILN_ERROR_FORMAT,
       {"bytes [8, 12) of the data section belong to no tensor", "'b'"}},
      {"not from 0", "{\"a\":" + f2 + "[4,12]}}", 12, KILN_ERROR_FORMAT,
       {"bytes [0, 4)", "'a'"}},
      {"one trailing byte", "{\"a\":" + f2 + "[0,8]}}", 9, KILN_ERROR_FORMAT,
       {"1 bytes belong to no tensor"}},
      {"no tensors, some data", "{}", 4, KILN_ERROR_FORMAT, {"cover 0 bytes", "has 4"}},
      {"empty tensor inside another", "{\"a\":" + f2 + "[0,8]},\"e\":" + e0 + "[4,4]}}", 8,
       KILN_ERROR_FORMAT, {"'a'", "'e'", "overlap"}},
      {"empty tensor past the end", "{\"a\":" + f2 + "[0,8]},\"e\":" + e0 + "[9,9]}}", 8,
       KILN_ERROR_FORMAT, {"'e'", "outside the data section"}},
      {"duplicate region", "{\"a\":" + f2 + "[0,8]},\"b\":" + f2 + "[0,8]}}", 8,
       KILN_ERROR_FORMAT, {"'a'", "'b'", "overlap"}},
  };
  int i = 0;
  for (const CorruptCase &c : bad) {
    SCOPED_TRACE(c.label);
    std::string p = raw_file("tile" + std::to_string(i++) + ".safetensors", c.header,
                             std::string(c.data_bytes, '\0'));
    std::string m = open_error(p, c.status);
    for (const std::string &part : c.message_parts)
      EXPECT_NE(m.find(part), std::string::npos) << m << "\n  lacks: " << part;
  }

  // Exact tilings in any header order, with empty tensors at boundaries.
  std::vector<std::string> good = {
      "{\"b\":" + f2 + "[8,16]},\"a\":" + f2 + "[0,8]}}",
      "{\"e\":" + e0 + "[0,0]},\"a\":" + f2 + "[0,8]},\"z\":" + e0 + "[8,8]}}",
      "{\"e\":" + e0 + "[0,0]}}",
  };
  std::vector<size_t> sizes = {16, 8, 0};
  for (size_t g = 0; g < good.size(); ++g) {
    SCOPED_TRACE(good[g]);
    std::string p = raw_file("ok" + std::to_string(g) + ".safetensors", good[g],
                             std::string(sizes[g], '\0'));
    kiln_safetensors *file = nullptr;
    EXPECT_EQ(kiln_safetensors_open(p.c_str(), &file), KILN_OK) << kiln_last_error();
    kiln_safetensors_close(file);
  }
}

TEST_F(RuntimeSafetensors, NonRegularFilesFailPromptly) {
  // Opening a FIFO for reading used to wait for a writer forever. The alarm
  // turns a regression into a failure instead of a hang.
  const std::string fifo = path("fifo.safetensors");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ::alarm(10);
  std::string m = open_error(fifo, KILN_ERROR_IO);
  ::alarm(0);
  EXPECT_NE(m.find("not a regular file (a FIFO)"), std::string::npos) << m;

  m = open_error(dir_.string(), KILN_ERROR_IO);
  EXPECT_NE(m.find("not a regular file (a directory)"), std::string::npos) << m;
  m = open_error("/dev/null", KILN_ERROR_IO);
  EXPECT_NE(m.find("not a regular file (a character device)"), std::string::npos) << m;
}

TEST_F(RuntimeSafetensors, NonFiniteValuesLoad) {
  // Weights may legitimately hold NaN and Inf (docs/runtime-abi.md): the
  // reader checks structure, never values, and keeps the bits.
  const float values[4] = {std::numeric_limits<float>::quiet_NaN(), INFINITY, -INFINITY,
                           -0.0f};
  const int64_t shape[1] = {4};
  kiln_tensor_view v{"w", KILN_F32, 1, shape, values};
  const std::string p = path("nan.safetensors");
  ASSERT_EQ(kiln_safetensors_write(p.c_str(), &v, 1), KILN_OK);
  kiln_safetensors *file = nullptr;
  ASSERT_EQ(kiln_safetensors_open(p.c_str(), &file), KILN_OK) << kiln_last_error();
  kiln_tensor_view out;
  ASSERT_EQ(kiln_safetensors_find(file, "w", &out), KILN_OK);
  EXPECT_EQ(std::memcmp(out.data, values, sizeof values), 0);
  kiln_safetensors_close(file);
}

std::vector<std::string> directory_names(const fs::path &dir) {
  std::vector<std::string> names;
  for (const auto &entry : fs::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST_F(RuntimeSafetensors, SaveRemovesStaleTemporariesOfItsTarget) {
  // Temporaries as killed saves leave them: of a dead process, and of this
  // pid but not in flight (an earlier process that had our pid). Those of a
  // live process (the parent here) may be mid-save and stay, as do other
  // targets' and names that are not ours.
  const std::string target = "w.safetensors";
  const std::string dead = std::to_string(kiln_test::dead_pid());
  const std::string self = std::to_string(::getpid());
  const std::string live = std::to_string(::getppid());
  const std::vector<std::string> stale = {target + ".tmp." + dead + ".0",
                                          target + ".tmp." + dead + ".17",
                                          target + ".tmp." + self + ".99999"};
  const std::vector<std::string> kept = {
      target + ".tmp." + live + ".3",   "other.safetensors.tmp." + dead + ".0",
      target + ".tmp." + dead,          target + ".tmp." + dead + ".x",
      target + ".tmp.0.1",              target + ".tmp.-" + dead + ".1",
      target + ".tmp." + dead + ".1.2", target + ".tmp.." + dead,
  };
  for (const std::string &name : stale)
    std::ofstream(path(name)) << "partial";
  for (const std::string &name : kept)
    std::ofstream(path(name)) << "keep";

  const float x = 1;
  kiln_tensor_view v{"x", KILN_F32, 0, nullptr, &x};
  ASSERT_EQ(kiln_safetensors_write(path(target).c_str(), &v, 1), KILN_OK) << kiln_last_error();
  std::vector<std::string> expected = kept;
  expected.push_back(target);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(directory_names(dir_), expected);

  // A relative target (no directory part) is swept in the working directory.
  const fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  std::ofstream(target + ".tmp." + dead + ".5") << "partial";
  EXPECT_EQ(kiln_safetensors_write(target.c_str(), &v, 1), KILN_OK) << kiln_last_error();
  fs::current_path(cwd);
  EXPECT_EQ(directory_names(dir_), expected);
}

TEST_F(RuntimeSafetensors, KilledSavesNeverCorruptTheTarget) {
  // Children save B over the target in a loop and are SIGKILLed while a
  // temporary of theirs exists (mid-save), 20 times. The target is always a
  // complete file, A or B; the temporaries they leave are removed by the
  // next save.
  constexpr int64_t kElems = 1 << 21; // 8 MB: a save takes a while
  const int64_t shape[1] = {kElems};
  std::vector<float> a(kElems, 1.0f), b(kElems, 2.0f);
  kiln_tensor_view va{"w", KILN_F32, 1, shape, a.data()};
  kiln_tensor_view vb{"w", KILN_F32, 1, shape, b.data()};
  const std::string target = path("ckpt.safetensors");
  ASSERT_EQ(kiln_safetensors_write(target.c_str(), &va, 1), KILN_OK);

  auto check_target = [&] {
    kiln_safetensors *file = nullptr;
    ASSERT_EQ(kiln_safetensors_open(target.c_str(), &file), KILN_OK) << kiln_last_error();
    kiln_tensor_view w;
    ASSERT_EQ(kiln_safetensors_find(file, "w", &w), KILN_OK);
    ASSERT_EQ(w.rank, 1);
    ASSERT_EQ(w.shape[0], kElems);
    const float *data = static_cast<const float *>(w.data);
    const float first = data[0];
    EXPECT_TRUE(first == 1.0f || first == 2.0f) << first;
    int64_t differ = 0;
    for (int64_t i = 0; i < kElems; ++i)
      differ += data[i] != first;
    EXPECT_EQ(differ, 0);
    kiln_safetensors_close(file);
  };
  auto temporaries_of = [&](pid_t pid) {
    const std::string prefix = "ckpt.safetensors.tmp." + std::to_string(pid) + ".";
    int n = 0;
    for (const std::string &name : directory_names(dir_))
      n += name.compare(0, prefix.size(), prefix) == 0;
    return n;
  };

  int left = 0;
  for (int round = 0; round < 20; ++round) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      for (;;)
        kiln_safetensors_write(target.c_str(), &vb, 1);
    }
    // Kill it once it has a temporary (or after 5 s at worst).
    for (int wait = 0; wait < 50000 && temporaries_of(child) == 0; ++wait)
      ::usleep(100);
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status));
    left += temporaries_of(child);
    check_target();
  }
  EXPECT_GT(left, 0) << "no kill landed mid-save";
  ASSERT_EQ(kiln_safetensors_write(target.c_str(), &va, 1), KILN_OK) << kiln_last_error();
  EXPECT_EQ(directory_names(dir_), std::vector<std::string>{"ckpt.safetensors"});
  check_target();
}

TEST_F(RuntimeSafetensors, NullArguments) {
  kiln_safetensors *file = nullptr;
  EXPECT_EQ(kiln_safetensors_open(nullptr, &file), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_safetensors_open("x", nullptr), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_safetensors_count(nullptr), 0);
  kiln_safetensors_close(nullptr);
}

} // namespace
