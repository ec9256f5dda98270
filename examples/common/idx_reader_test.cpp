// Checks idx_reader on the installed Fashion-MNIST (skipped when absent) and
// on malformed files. Exit 0 = pass, 77 = skipped, 1 = failure.
#include "idx_reader.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace {

int failures = 0;

void check(bool ok, const std::string &what) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
    ++failures;
  }
}

// Writes `bytes` gzip-compressed to `path` (through the gzip command, like the reader).
void write_gz(const std::string &path, const std::string &bytes) {
  std::string cmd = "gzip -c > '" + path + "'";
  FILE *p = popen(cmd.c_str(), "w");
  std::fwrite(bytes.data(), 1, bytes.size(), p);
  pclose(p);
}

} // namespace

int main(int argc, char **argv) {
  std::string dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  std::string err;

  // Malformed inputs: each must fail with a message naming the file.
  char tmpl[] = "/tmp/idx_reader_test.XXXXXX";
  std::string tmp = mkdtemp(tmpl);
  idx::Array a;
  check(!idx::read_gz(tmp + "/missing.gz", 0x801, &a, &err) &&
            err.find("missing.gz") != std::string::npos,
        "missing file is reported: " + err);
  write_gz(tmp + "/bad_magic.gz", std::string("\0\0\x08\x03", 4));
  check(!idx::read_gz(tmp + "/bad_magic.gz", 0x801, &a, &err) &&
            err.find("magic") != std::string::npos,
        "bad magic is reported: " + err);
  write_gz(tmp + "/short.gz", std::string("\0\0\x08\x01\0\0\0\x05\x01\x02", 10));
  check(!idx::read_gz(tmp + "/short.gz", 0x801, &a, &err) &&
            err.find("payload") != std::string::npos,
        "truncated payload is reported: " + err);
  write_gz(tmp + "/ok.gz", std::string("\0\0\x08\x01\0\0\0\x02\x07\x09", 10));
  check(idx::read_gz(tmp + "/ok.gz", 0x801, &a, &err) && a.dims.size() == 1 &&
            a.dims[0] == 2 && a.data[0] == 7 && a.data[1] == 9,
        "small valid file is read: " + err);
  FILE *f = std::fopen((tmp + "/plain.gz").c_str(), "w");
  std::fputs("not gzip", f);
  std::fclose(f);
  check(!idx::read_gz(tmp + "/plain.gz", 0x801, &a, &err) &&
            err.find("gzip") != std::string::npos,
        "non-gzip file is reported: " + err);
  std::system(("rm -rf '" + tmp + "'").c_str());

  if (access((dir + "/t10k-labels-idx1-ubyte.gz").c_str(), R_OK) != 0) {
    std::fprintf(stderr, "SKIP: no Fashion-MNIST in %s\n", dir.c_str());
    return failures ? 1 : 77;
  }
  idx::Dataset test;
  check(idx::load_fashion_mnist(dir, "t10k", &test, &err), err);
  if (!failures) {
    check(test.n == 10000 && test.images.size() == 10000 * 784,
          "t10k has 10000 images of 784 pixels");
    int hist[10] = {0};
    for (int64_t y : test.labels)
      ++hist[y];
    for (int c = 0; c < 10; ++c)
      check(hist[c] == 1000, "1000 test images per class");
    float lo = 1, hi = 0;
    for (float v : test.images) {
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    check(lo == 0.0f && hi == 1.0f, "pixels scaled to [0, 1]");
  }
  if (failures)
    return 1;
  std::printf("idx_reader_test: OK\n");
  return 0;
}
