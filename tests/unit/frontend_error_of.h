// What the DSL's layer tests share: the message of a kiln::Error.
#pragma once

#include <string>

#include "kiln/error.h"

namespace kiln_test {

/// The message of the kiln::Error thrown by `f` ("" when none is thrown).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const kiln::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace kiln_test
