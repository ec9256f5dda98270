#ifndef KILN_RUNTIME_LIB_SAFETENSORS_H
#define KILN_RUNTIME_LIB_SAFETENSORS_H

#include "error.h"

#include <memory>
#include <string>
#include <vector>

namespace kiln::rt {

/* "F32" / "I64": the safetensors spelling. */
const char *dtype_name(kiln_dtype dtype);
size_t dtype_size(kiln_dtype dtype);

/* Element count of a shape, or an error when a dimension is negative or the
 * count (or its size in bytes for elem_size) overflows int64. */
bool checked_numel(const std::vector<int64_t> &shape, size_t elem_size,
                   int64_t *numel);

struct TensorEntry {
  std::string name;
  kiln_dtype dtype = KILN_F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0; // data_offsets, relative to the data section
  uint64_t end = 0;
  const void *data = nullptr; // set once the data section is in memory
};

/* Parses and validates a safetensors header (the N bytes after the length):
 * a JSON object of tensors plus an optional "__metadata__" object of strings.
 * Checks dtypes, shapes, sizes against dtype x shape, duplicate names, and
 * that the data_offsets tile the data_size bytes after the header exactly (no
 * gap, overlap or trailing byte), as the reference implementation requires.
 * `where` (the file name) prefixes every message. */
Error parse_safetensors_header(const std::string &where, const char *json,
                               size_t length, uint64_t data_size,
                               std::vector<TensorEntry> *tensors);

/* The header for `tensors` in the given order, padded
 * with spaces so that 8 + header length is a multiple of 8 (the data section
 * starts 8-byte aligned). Preconditions: names unique, shapes valid. */
std::string build_safetensors_header(const std::vector<TensorEntry> &tensors);

} // namespace kiln::rt

/* A validated file held in memory. The data section is placed at a 64-byte
 * aligned address so that tensors at aligned offsets are read in place; a
 * tensor at an offset that is not a multiple of its element size (legal in
 * files from other writers) is copied out so every view is naturally aligned
 * and callers may cast view.data to float* / int64_t*. */
struct kiln_safetensors {
  std::string path;
  void *buffer = nullptr; // kiln_alloc'd, whole file plus alignment slack
  std::vector<void *> realigned; // kiln_alloc'd copies of misaligned tensors
  std::vector<kiln::rt::TensorEntry> tensors;

  kiln_safetensors() = default;
  kiln_safetensors(const kiln_safetensors &) = delete;
  kiln_safetensors &operator=(const kiln_safetensors &) = delete;
  ~kiln_safetensors();

  const kiln::rt::TensorEntry *find(const std::string &name) const;
};

namespace kiln::rt {
/* Opens without blocking (a FIFO or device is refused, never waited on),
 * reads the whole regular file and validates it (parse_safetensors_header). */
Error read_safetensors(const char *path, std::unique_ptr<kiln_safetensors> *out);

/* Writes `tensors` durably and atomically: into `<path>.tmp.<pid>.<n>` in the
 * target's directory, fsync, rename over `path`, fsync the directory. First
 * removes stale temporaries of the same target (remove_stale_temporaries). */
Error write_safetensors(const char *path, const kiln_tensor_view *tensors,
                        int count);

/* Removes `<path>.tmp.<pid>.<n>` files left by saves that can no longer be
 * running: those whose process <pid> does not exist, and those of this
 * process that no save in it has in flight (a dead process whose pid was
 * reused). A temporary of a live process is kept: it may be mid-save.
 * Best effort: nothing here fails a save. Returns how many were removed. */
int remove_stale_temporaries(const std::string &path);
} // namespace kiln::rt

#endif
