#ifndef KILN_RUNTIME_LIB_ERROR_H
#define KILN_RUNTIME_LIB_ERROR_H

#include <kiln/runtime.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::rt {

/* The result of an internal operation: KILN_OK or a status plus a message
 * that names the place (file, tensor, descriptor line). Internal code returns
 * Error instead of throwing so that nothing can escape the C API. */
struct Error {
  kiln_status status = KILN_OK;
  std::string message;

  explicit operator bool() const { return status != KILN_OK; }
};

inline Error fail(kiln_status status, std::string message) {
  return Error{status, std::move(message)};
}

/* Stores a failure's message as this thread's kiln_last_error() and returns
 * its status, so API functions can end with `return set_thread_error(err);`.
 * KILN_OK leaves the stored message alone. */
kiln_status set_thread_error(const Error &error);
kiln_status set_thread_error(kiln_status status, std::string message);

/* "[512, 784]": the shape notation used in every message. */
std::string shape_string(const std::vector<int64_t> &shape);
std::string shape_string(const int64_t *shape, int rank);

/* Quotes a user-provided name for messages: 'name'. */
std::string quoted(const std::string &name);

} // namespace kiln::rt

/* Runs an API body, turning escaping C++ exceptions (std::bad_alloc from a
 * std::string or std::vector, mostly) into a status; `on_error` receives the
 * Error so the caller can also record it per instance. */
#define KILN_API_GUARD_BEGIN try {
#define KILN_API_GUARD_END(on_error)                                           \
  }                                                                            \
  catch (const std::bad_alloc &) {                                             \
    return on_error(::kiln::rt::fail(KILN_ERROR_OUT_OF_MEMORY, "out of memory")); \
  }                                                                            \
  catch (...) {                                                                \
    return on_error(                                                           \
        ::kiln::rt::fail(KILN_ERROR_INVALID_ARGUMENT, "internal error: unexpected exception")); \
  }

#endif
