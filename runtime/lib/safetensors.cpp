#include "safetensors.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <mutex>
#include <new>
#include <set>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_set>

namespace kiln::rt {
namespace {

/* The reference implementation refuses larger headers; so do we, which also
 * bounds what a corrupt length field can make us allocate up front. */
constexpr uint64_t kMaxHeaderBytes = 100000000;

std::string errno_string(int err) { return std::strerror(err); }

Error io_error(const std::string &path, const std::string &what, int err) {
  return fail(KILN_ERROR_IO, path + ": " + what + ": " + errno_string(err));
}

/* Reads exactly `size` bytes at `offset`; retries short reads and EINTR. */
Error read_exact(int fd, const std::string &path, char *dst, size_t size,
                 off_t offset) {
  while (size > 0) {
    ssize_t got = ::pread(fd, dst, size, offset);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      return io_error(path, "cannot read", errno);
    }
    if (got == 0)
      return fail(KILN_ERROR_IO, path + ": file shrank while being read");
    dst += got;
    size -= static_cast<size_t>(got);
    offset += got;
  }
  return {};
}

Error write_exact(int fd, const std::string &path, const char *src,
                  size_t size) {
  while (size > 0) {
    ssize_t put = ::write(fd, src, size);
    if (put < 0) {
      if (errno == EINTR)
        continue;
      return io_error(path, "cannot write", errno);
    }
    src += put;
    size -= static_cast<size_t>(put);
  }
  return {};
}

const char *file_kind(mode_t mode) {
  return S_ISDIR(mode)    ? "a directory"
         : S_ISFIFO(mode) ? "a FIFO"
         : S_ISCHR(mode)  ? "a character device"
         : S_ISBLK(mode)  ? "a block device"
         : S_ISSOCK(mode) ? "a socket"
                          : "an unknown kind";
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0)
      ::close(fd);
  }
};

/* `dir` and `base` of a path: "a/b/c" gives "a/b" and "c", "c" gives "."
 * and "c", "/c" gives "/" and "c". */
void split_path(const std::string &path, std::string *dir, std::string *base) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    *dir = ".";
    *base = path;
    return;
  }
  *dir = slash == 0 ? "/" : path.substr(0, slash);
  *base = path.substr(slash + 1);
}

/* Numbers temporaries; process-wide so threads never share a name. */
std::atomic<unsigned long> &sequence() {
  static std::atomic<unsigned long> next{0};
  return next;
}

/* The temporaries this process is writing now. A save in another thread
 * sweeps stale temporaries of our own pid only when they are not here: those
 * were left by an earlier process that had the same pid. */
class InFlight {
public:
  std::string name;

  ~InFlight() { release(); }

  void claim(std::string next) {
    release();
    std::lock_guard<std::mutex> lock(mutex());
    names().insert(next);
    name = std::move(next);
  }

  static bool contains(const std::string &name) {
    std::lock_guard<std::mutex> lock(mutex());
    return names().count(name) != 0;
  }

private:
  void release() {
    if (name.empty())
      return;
    std::lock_guard<std::mutex> lock(mutex());
    names().erase(name);
  }
  static std::mutex &mutex() {
    static std::mutex m;
    return m;
  }
  static std::set<std::string> &names() {
    static std::set<std::string> s;
    return s;
  }
};

/* "<pid>.<n>", both decimal without sign, pid >= 1: the suffix our
 * temporaries carry after "<target>.tmp.". */
bool parse_temporary_suffix(const std::string &suffix, long *pid) {
  const size_t dot = suffix.find('.');
  if (dot == std::string::npos || dot == 0 || dot > 9 || dot + 1 == suffix.size())
    return false;
  for (size_t i = 0; i < suffix.size(); ++i)
    if (i != dot && (suffix[i] < '0' || suffix[i] > '9'))
      return false;
  *pid = std::stol(suffix.substr(0, dot));
  return *pid >= 1;
}

/* fsync of the directory that holds a renamed file, so the rename survives a
 * crash. File systems that cannot sync a directory (EINVAL) have nothing to
 * make durable. */
Error sync_directory(const std::string &dir, const std::string &path) {
  Fd d;
  d.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d.fd < 0)
    return io_error(path, "saved, but cannot open its directory '" + dir +
                              "' to sync it", errno);
  if (::fsync(d.fd) != 0 && errno != EINVAL && errno != ENOTSUP)
    return io_error(path, "saved, but cannot sync its directory '" + dir + "'",
                    errno);
  return {};
}

} // namespace

Error read_safetensors(const char *path_c,
                       std::unique_ptr<kiln_safetensors> *out) {
  const std::string path = path_c;
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer
  // forever (and a tty could become our controlling terminal without
  // O_NOCTTY). It changes nothing for the regular files we go on to read.
  Fd file;
  file.fd = ::open(path_c, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (file.fd < 0)
    return io_error(path, "cannot open", errno);
  struct stat st;
  if (::fstat(file.fd, &st) != 0)
    return io_error(path, "cannot stat", errno);
  if (!S_ISREG(st.st_mode))
    return fail(KILN_ERROR_IO,
                path + ": not a regular file (" + file_kind(st.st_mode) + ")");
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8)
    return fail(KILN_ERROR_FORMAT,
                path + ": truncated: the header length takes 8 bytes but the "
                       "file has " + std::to_string(file_size));

  unsigned char length_bytes[8];
  if (Error e = read_exact(file.fd, path, reinterpret_cast<char *>(length_bytes),
                           8, 0))
    return e;
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i)
    header_size = header_size << 8 | length_bytes[i];
  if (header_size > file_size - 8)
    return fail(KILN_ERROR_FORMAT,
                path + ": truncated: header length says " +
                    std::to_string(header_size) + " bytes but only " +
                    std::to_string(file_size - 8) +
                    " bytes follow the length");
  if (header_size > kMaxHeaderBytes)
    return fail(KILN_ERROR_FORMAT, path + ": header of " +
                                       std::to_string(header_size) +
                                       " bytes exceeds the 100 MB limit");
  if (file_size > SIZE_MAX - 128)
    return fail(KILN_ERROR_OUT_OF_MEMORY, path + ": file too large to load");

  auto result = std::make_unique<kiln_safetensors>();
  result->path = path;
  // Shift the file in the buffer so that the data section starts on a 64-byte
  // boundary: then F32/I64 tensors are naturally aligned in place.
  const size_t shift = (64 - (8 + header_size) % 64) % 64;
  result->buffer = kiln_alloc(static_cast<size_t>(file_size) + shift);
  if (!result->buffer)
    return fail(KILN_ERROR_OUT_OF_MEMORY,
                path + ": out of memory loading " + std::to_string(file_size) +
                    " bytes");
  char *bytes = static_cast<char *>(result->buffer) + shift;
  if (Error e = read_exact(file.fd, path, bytes,
                           static_cast<size_t>(file_size), 0))
    return e;

  const char *data = bytes + 8 + header_size;
  const uint64_t data_size = file_size - 8 - header_size;
  if (Error e = parse_safetensors_header(path, bytes + 8,
                                         static_cast<size_t>(header_size),
                                         data_size, &result->tensors))
    return e;
  for (TensorEntry &t : result->tensors) {
    t.data = data + t.begin;
    if (t.begin % dtype_size(t.dtype) != 0) {
      void *copy = kiln_alloc(static_cast<size_t>(t.end - t.begin));
      if (!copy)
        return fail(KILN_ERROR_OUT_OF_MEMORY,
                    path + ": out of memory realigning tensor " + quoted(t.name));
      result->realigned.push_back(copy);
      std::memcpy(copy, t.data, static_cast<size_t>(t.end - t.begin));
      t.data = copy;
    }
  }
  *out = std::move(result);
  return {};
}

Error write_safetensors(const char *path_c, const kiln_tensor_view *views,
                        int count) {
  const std::string path = path_c;
  std::vector<TensorEntry> tensors(static_cast<size_t>(count));
  std::unordered_set<std::string> names;
  for (int i = 0; i < count; ++i) {
    const kiln_tensor_view &v = views[i];
    std::string tensor = path + ": tensor " + std::to_string(i);
    if (!v.name)
      return fail(KILN_ERROR_INVALID_ARGUMENT, tensor + " has a NULL name");
    tensor += " (" + quoted(v.name) + ")";
    if (v.dtype != KILN_F32 && v.dtype != KILN_I64)
      return fail(KILN_ERROR_INVALID_ARGUMENT,
                  tensor + " has an invalid dtype " +
                      std::to_string(static_cast<int>(v.dtype)));
    if (v.rank < 0 || (v.rank > 0 && !v.shape))
      return fail(KILN_ERROR_INVALID_ARGUMENT,
                  tensor + " has rank " + std::to_string(v.rank) +
                      (v.rank < 0 ? "" : " but a NULL shape"));
    TensorEntry &t = tensors[static_cast<size_t>(i)];
    t.name = v.name;
    t.dtype = v.dtype;
    t.shape.assign(v.shape, v.shape + v.rank);
    int64_t numel;
    if (!checked_numel(t.shape, dtype_size(t.dtype), &numel))
      return fail(KILN_ERROR_INVALID_ARGUMENT,
                  tensor + " has an invalid shape " + shape_string(t.shape));
    if (numel > 0 && !v.data)
      return fail(KILN_ERROR_INVALID_ARGUMENT, tensor + " has NULL data");
    if (!names.insert(t.name).second)
      return fail(KILN_ERROR_INVALID_ARGUMENT,
                  path + ": duplicate tensor name " + quoted(t.name));
    t.end = static_cast<uint64_t>(numel) * dtype_size(t.dtype); // size for now
    t.data = v.data;
  }
  // Header keys stay in the caller's order, but the data section holds 8-byte
  // elements first, then 4-byte ones (as the reference writer does): every
  // tensor is then naturally aligned in a reader that aligns the section.
  std::vector<size_t> layout;
  for (size_t pass = 0; pass < 2; ++pass)
    for (size_t i = 0; i < tensors.size(); ++i)
      if ((dtype_size(tensors[i].dtype) == 8) == (pass == 0))
        layout.push_back(i);
  uint64_t offset = 0;
  for (size_t i : layout) {
    TensorEntry &t = tensors[i];
    t.begin = offset;
    offset += t.end;
    t.end = offset;
  }
  const std::string header = build_safetensors_header(tensors);
  unsigned char length_bytes[8];
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i)
    length_bytes[i] = static_cast<unsigned char>(n >> (8 * i));

  remove_stale_temporaries(path);
  std::string dir, base;
  split_path(path, &dir, &base);
  InFlight tmp;
  Fd file;
  // O_EXCL, which also refuses a symbolic link planted under the predictable
  // name: nothing already there is written through. A name still taken (by a
  // process with our pid in another pid namespace) moves on to the next one.
  for (int attempt = 0; file.fd < 0 && attempt < 100; ++attempt) {
    tmp.claim(path + ".tmp." + std::to_string(::getpid()) + "." +
              std::to_string(sequence().fetch_add(1)));
    file.fd = ::open(tmp.name.c_str(),
                     O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (file.fd < 0 && errno != EEXIST)
      break;
  }
  if (file.fd < 0)
    return io_error(path, "cannot create temporary file '" + tmp.name + "'", errno);

  Error e = write_exact(file.fd, tmp.name,
                        reinterpret_cast<const char *>(length_bytes), 8);
  if (!e)
    e = write_exact(file.fd, tmp.name, header.data(), header.size());
  for (size_t i = 0; !e && i < layout.size(); ++i) {
    const TensorEntry &t = tensors[layout[i]];
    e = write_exact(file.fd, tmp.name, static_cast<const char *>(t.data),
                    static_cast<size_t>(t.end - t.begin));
  }
  // The data must be on disk before the rename makes it the target: else a
  // crash could leave the new name pointing at a file still being filled.
  if (!e && ::fsync(file.fd) != 0)
    e = io_error(tmp.name, "cannot sync", errno);
  if (!e) {
    int fd = file.fd;
    file.fd = -1;
    if (::close(fd) != 0)
      e = io_error(tmp.name, "cannot close", errno);
  }
  if (!e && ::rename(tmp.name.c_str(), path_c) != 0)
    e = io_error(path, "cannot rename '" + tmp.name + "' to it", errno);
  if (e) {
    ::unlink(tmp.name.c_str());
    return e;
  }
  // The rename itself is durable once the directory is.
  return sync_directory(dir, path);
}

int remove_stale_temporaries(const std::string &path) {
  std::string dir, base;
  split_path(path, &dir, &base);
  if (base.empty())
    return 0;
  const std::string prefix = base + ".tmp.";
  std::vector<std::string> stale;
  if (DIR *d = ::opendir(dir.c_str())) {
    while (const dirent *entry = ::readdir(d)) {
      const std::string name = entry->d_name;
      long pid;
      if (name.compare(0, prefix.size(), prefix) != 0 ||
          !parse_temporary_suffix(name.substr(prefix.size()), &pid))
        continue;
      // Spelled as write_safetensors names it (InFlight compares strings).
      const std::string full = path + name.substr(base.size());
      bool dead;
      if (pid == static_cast<long>(::getpid()))
        dead = !InFlight::contains(full);
      else
        dead = ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
      if (dead)
        stale.push_back(full);
    }
    ::closedir(d);
  }
  int removed = 0;
  for (const std::string &file : stale)
    removed += ::unlink(file.c_str()) == 0;
  return removed;
}

} // namespace kiln::rt

kiln_safetensors::~kiln_safetensors() {
  for (void *copy : realigned)
    kiln_free(copy);
  kiln_free(buffer);
}

const kiln::rt::TensorEntry *
kiln_safetensors::find(const std::string &name) const {
  for (const kiln::rt::TensorEntry &t : tensors)
    if (t.name == name)
      return &t;
  return nullptr;
}

namespace {
void to_view(const kiln::rt::TensorEntry &t, kiln_tensor_view *out) {
  out->name = t.name.c_str();
  out->dtype = t.dtype;
  out->rank = static_cast<int>(t.shape.size());
  out->shape = t.shape.data();
  out->data = t.data;
}
} // namespace

using kiln::rt::fail;
using kiln::rt::set_thread_error;

extern "C" kiln_status kiln_safetensors_write(const char *path,
                                              const kiln_tensor_view *tensors,
                                              int count) {
  KILN_API_GUARD_BEGIN
  if (!path)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            "kiln_safetensors_write: path is NULL");
  if (count < 0 || (count > 0 && !tensors))
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            std::string(path) +
                                ": kiln_safetensors_write: bad tensor list "
                                "(NULL or negative count)");
  return set_thread_error(kiln::rt::write_safetensors(path, tensors, count));
  KILN_API_GUARD_END(set_thread_error)
}

extern "C" kiln_status kiln_safetensors_open(const char *path,
                                             kiln_safetensors **out) {
  KILN_API_GUARD_BEGIN
  if (out)
    *out = nullptr;
  if (!path || !out)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            "kiln_safetensors_open: NULL argument");
  std::unique_ptr<kiln_safetensors> file;
  if (kiln::rt::Error e = kiln::rt::read_safetensors(path, &file))
    return set_thread_error(e);
  *out = file.release();
  return KILN_OK;
  KILN_API_GUARD_END(set_thread_error)
}

extern "C" void kiln_safetensors_close(kiln_safetensors *file) { delete file; }

extern "C" int kiln_safetensors_count(const kiln_safetensors *file) {
  return file ? static_cast<int>(file->tensors.size()) : 0;
}

extern "C" kiln_status kiln_safetensors_get(const kiln_safetensors *file,
                                            int index, kiln_tensor_view *out) {
  KILN_API_GUARD_BEGIN
  if (!file || !out)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            "kiln_safetensors_get: NULL argument");
  if (index < 0 || index >= static_cast<int>(file->tensors.size()))
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            file->path + ": tensor index " +
                                std::to_string(index) + " out of range [0, " +
                                std::to_string(file->tensors.size()) + ")");
  to_view(file->tensors[static_cast<size_t>(index)], out);
  return KILN_OK;
  KILN_API_GUARD_END(set_thread_error)
}

extern "C" kiln_status kiln_safetensors_find(const kiln_safetensors *file,
                                             const char *name,
                                             kiln_tensor_view *out) {
  KILN_API_GUARD_BEGIN
  if (!file || !name || !out)
    return set_thread_error(KILN_ERROR_INVALID_ARGUMENT,
                            "kiln_safetensors_find: NULL argument");
  const kiln::rt::TensorEntry *t = file->find(name);
  if (!t)
    return set_thread_error(KILN_ERROR_MISMATCH,
                            file->path + ": no tensor named " +
                                kiln::rt::quoted(name));
  to_view(*t, out);
  return KILN_OK;
  KILN_API_GUARD_END(set_thread_error)
}
