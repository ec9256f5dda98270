#pragma once

#include <stdexcept>
#include <string>

namespace kiln {

/// A position in the user's DSL source. Public entry points take it as a
/// defaulted last argument (`SourceLoc loc = SourceLoc::current()`), so the
/// builtins are evaluated at the user's call site: errors and the model file
/// then point at the user's line, not at the library's.
struct SourceLoc {
  const char* file = "";
  int line = 0;

  static constexpr SourceLoc current(const char* file = __builtin_FILE(),
                                     int line = __builtin_LINE()) {
    return SourceLoc{file, line};
  }
  /// "dir/net.cpp:30" (the path as the compiler saw it), or "" when unknown.
  std::string str() const;
  /// "net.cpp:30": what the model file records, so that it does not depend on
  /// where the sources were checked out.
  std::string short_str() const;
};

/// The only exception type the DSL throws. Messages start with the user's
/// source location when one is known ("net.cpp:30: error: ...").
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
/// Throws Error("<loc>: error: <message>") (just the message without a loc).
[[noreturn]] void fail(SourceLoc loc, const std::string& message);
[[noreturn]] void fail(const std::string& message);
}  // namespace detail

}  // namespace kiln
