#include "error.h"

#include <new>

namespace kiln::rt {
namespace {
/* Per thread, like errno: a failure on one thread never overwrites the
 * message another thread is about to read. Successful calls leave it alone. */
thread_local std::string t_last_error;
} // namespace

kiln_status set_thread_error(const Error &error) {
  if (!error)
    return KILN_OK; // success keeps the previous message, like errno
  try {
    t_last_error = error.message;
  } catch (...) {
    t_last_error.clear(); // keep the status even if the copy could not be made
  }
  return error.status;
}

kiln_status set_thread_error(kiln_status status, std::string message) {
  return set_thread_error(Error{status, std::move(message)});
}

std::string shape_string(const int64_t *shape, int rank) {
  std::string s = "[";
  for (int i = 0; i < rank; ++i) {
    if (i)
      s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::string shape_string(const std::vector<int64_t> &shape) {
  return shape_string(shape.data(), static_cast<int>(shape.size()));
}

std::string quoted(const std::string &name) { return "'" + name + "'"; }

} // namespace kiln::rt

extern "C" const char *kiln_last_error(void) {
  return kiln::rt::t_last_error.c_str();
}
