// An in-memory regular file holding a fuzzer input, so that the targets
// drive the real path-based readers (open, fstat, read) without touching
// the disk: /proc/self/fd/<n> of a memfd is a regular file.
#ifndef KILN_TESTS_FUZZ_MEMFD_FILE_H
#define KILN_TESTS_FUZZ_MEMFD_FILE_H

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace kiln_fuzz {

class MemfdFile {
public:
  MemfdFile(const uint8_t *data, size_t size) {
    fd_ = memfd_create("kiln-fuzz", MFD_CLOEXEC);
    if (fd_ < 0) {
      std::perror("memfd_create");
      std::abort(); // the harness is broken, not the code under test
    }
    for (size_t done = 0; done < size;) {
      ssize_t n = ::write(fd_, data + done, size - done);
      if (n <= 0) {
        std::perror("write");
        std::abort();
      }
      done += static_cast<size_t>(n);
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemfdFile() { ::close(fd_); }
  MemfdFile(const MemfdFile &) = delete;
  MemfdFile &operator=(const MemfdFile &) = delete;

  const char *path() const { return path_.c_str(); }

private:
  int fd_ = -1;
  std::string path_;
};

} // namespace kiln_fuzz

#endif
