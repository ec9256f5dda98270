#include "idx_reader.h"

#include <cstdio>
#include <sys/stat.h>
#include <sys/wait.h>

namespace idx {
namespace {

uint32_t read_be32(const uint8_t *p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) |
         (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// Quotes `s` for /bin/sh: '...' with every ' written as '\''.
std::string shell_quote(const std::string &s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'')
      q += "'\\''";
    else
      q += c;
  }
  return q + "'";
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

} // namespace

bool read_gz(const std::string &path, uint32_t expected_magic, Array *out,
             std::string *error) {
  // gzip's own message for a missing file would be less clear; check first.
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    *error = path + ": no such file";
    return false;
  }
  std::string cmd = "gzip -dc -- " + shell_quote(path) + " 2>/dev/null";
  FILE *pipe = popen(cmd.c_str(), "r");
  if (!pipe) {
    *error = path + ": cannot run gzip";
    return false;
  }
  std::vector<uint8_t> bytes;
  uint8_t buf[1 << 16];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, pipe)) > 0)
    bytes.insert(bytes.end(), buf, buf + got);
  int status = pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *error = path + ": gzip -dc failed (not a gzip file, truncated, or gzip "
                    "missing from PATH)";
    return false;
  }
  if (bytes.size() < 4) {
    *error = path + ": too short for an IDX header";
    return false;
  }
  uint32_t magic = read_be32(bytes.data());
  if (magic != expected_magic) {
    *error = path + ": IDX magic number " + hex(magic) + ", expected " +
             hex(expected_magic);
    return false;
  }
  // Magic: two zero bytes, type code (0x08 = unsigned byte), rank.
  size_t rank = magic & 0xff;
  size_t header = 4 + 4 * rank;
  if (bytes.size() < header) {
    *error = path + ": truncated IDX header";
    return false;
  }
  out->dims.clear();
  uint64_t count = 1;
  for (size_t i = 0; i < rank; ++i) {
    out->dims.push_back(read_be32(bytes.data() + 4 + 4 * i));
    count *= out->dims.back();
  }
  if (bytes.size() - header != count) {
    *error = path + ": " + std::to_string(bytes.size() - header) +
             " payload bytes, the header announces " + std::to_string(count);
    return false;
  }
  out->data.assign(bytes.begin() + header, bytes.end());
  return true;
}

bool load_fashion_mnist(const std::string &dir, const std::string &split,
                        Dataset *out, std::string *error) {
  std::string img_path = dir + "/" + split + "-images-idx3-ubyte.gz";
  std::string lbl_path = dir + "/" + split + "-labels-idx1-ubyte.gz";
  Array img, lbl;
  if (!read_gz(img_path, 0x00000803, &img, error) ||
      !read_gz(lbl_path, 0x00000801, &lbl, error))
    return false;
  if (img.dims[1] != 28 || img.dims[2] != 28) {
    *error = img_path + ": images are " + std::to_string(img.dims[1]) + "x" +
             std::to_string(img.dims[2]) + ", expected 28x28";
    return false;
  }
  if (img.dims[0] != lbl.dims[0]) {
    *error = split + ": " + std::to_string(img.dims[0]) + " images but " +
             std::to_string(lbl.dims[0]) + " labels";
    return false;
  }
  out->n = img.dims[0];
  out->images.resize(img.data.size());
  for (size_t i = 0; i < img.data.size(); ++i)
    out->images[i] = float(img.data[i]) / 255.0f;
  out->labels.resize(lbl.data.size());
  for (size_t i = 0; i < lbl.data.size(); ++i) {
    if (lbl.data[i] >= 10) {
      *error = lbl_path + ": label " + std::to_string(lbl.data[i]) +
               " at index " + std::to_string(i) + " is not in [0, 10)";
      return false;
    }
    out->labels[i] = lbl.data[i];
  }
  return true;
}

} // namespace idx
