// Reader for the gzip-compressed IDX files of MNIST / Fashion-MNIST.
//
// No zlib dependency: the file is decompressed by `gzip -dc` through popen(),
// so `gzip` must be on PATH. Every function returns false and fills *error
// with a message naming the file when the data is missing or malformed.
#ifndef KILN_EXAMPLES_COMMON_IDX_READER_H
#define KILN_EXAMPLES_COMMON_IDX_READER_H

#include <cstdint>
#include <string>
#include <vector>

namespace idx {

// One decoded IDX file of unsigned bytes (type code 0x08).
struct Array {
  std::vector<uint32_t> dims;  // e.g. {60000, 28, 28}
  std::vector<uint8_t> data;   // product(dims) bytes, row-major
};

// Reads `path` (gzip'ed IDX) and checks its magic number (0x00000801 for a
// 1-d label file, 0x00000803 for 3-d images) and that the payload holds
// exactly product(dims) bytes.
bool read_gz(const std::string &path, uint32_t expected_magic, Array *out,
             std::string *error);

// A Fashion-MNIST split as the model consumes it: images as float32 in [0, 1]
// with shape [n, 1, 28, 28], labels as int64 class indices in [0, 10).
struct Dataset {
  int64_t n = 0;
  std::vector<float> images;   // n * 784
  std::vector<int64_t> labels; // n
};

// Loads `<dir>/<split>-images-idx3-ubyte.gz` and `<dir>/<split>-labels-idx1-ubyte.gz`
// (split: "train" or "t10k"); checks 28x28 images, matching counts and labels < 10.
bool load_fashion_mnist(const std::string &dir, const std::string &split,
                        Dataset *out, std::string *error);

} // namespace idx

#endif // KILN_EXAMPLES_COMMON_IDX_READER_H
