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
/// While alive, the module holder's caller location (`loc`) stands in for
/// any SourceLoc that names kiln/module.h itself: the default SourceLoc of
/// a forward that call_forward had to call without one (a user module, or
/// a built-in layer whose optional inputs come before its SourceLoc: LSTM's
/// state, the Transformer layers' masks). SourceLoc::str and short_str
/// resolve through it, so nodes and errors name the user's line. Scopes
/// nest (a layer called inside a user module's forward); thread-local.
class CallerLocScope {
 public:
  explicit CallerLocScope(SourceLoc loc);
  ~CallerLocScope();
  CallerLocScope(const CallerLocScope&) = delete;
  CallerLocScope& operator=(const CallerLocScope&) = delete;

 private:
  SourceLoc previous_;
};

/// `loc`, or the innermost CallerLocScope's location when `loc` names
/// kiln/module.h and a scope is alive: for a SourceLoc kept beyond the
/// scope (a traced node's).
SourceLoc resolve_caller_loc(SourceLoc loc);

/// Throws Error("<loc>: error: <message>") (just the message without a loc).
[[noreturn]] void fail(SourceLoc loc, const std::string& message);
[[noreturn]] void fail(const std::string& message);
}  // namespace detail

}  // namespace kiln
