#include "frontend/import/Limits.h"

#include <nlohmann/json.hpp>

namespace kiln::import {

std::string quotedName(const std::string &name) {
  // nlohmann escapes control characters and quotes; replace invalid UTF-8
  // instead of throwing.
  return nlohmann::json(name).dump(-1, ' ', /*ensure_ascii=*/true,
                                    nlohmann::json::error_handler_t::replace);
}

static bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static std::string charsetProblem(const std::string &name, const char *extra,
                                  const char *what) {
  if (name.empty())
    return "is empty";
  if (name.size() > kMaxNameLength)
    return "is longer than " + std::to_string(kMaxNameLength) + " characters";
  for (char c : name)
    if (!isAlnum(c) && std::string(extra).find(c) == std::string::npos)
      return std::string("must consist of ") + what;
  return "";
}

std::string cIdentifierProblem(const std::string &name) {
  std::string p = charsetProblem(name, "_", "letters, digits and '_' (a C identifier)");
  if (p.empty() && name[0] >= '0' && name[0] <= '9')
    return "must not start with a digit (a C identifier)";
  return p;
}

std::string moduleNameProblem(const std::string &name) {
  return charsetProblem(name, "_", "letters, digits and '_'");
}

std::string valueNameProblem(const std::string &name) {
  return charsetProblem(name, "_.-", "letters, digits, '_', '.' and '-'");
}

std::string shapeProblem(const std::vector<int64_t> &shape) {
  int64_t elements = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 1 || shape[i] > kMaxDimension)
      return "dimension " + std::to_string(i) + " is " + std::to_string(shape[i]) +
             " (dimensions are 1 to " + std::to_string(kMaxDimension) + ")";
    // Both factors are at most 2^40 and 2^31: the product fits in int64.
    elements *= shape[i];
    if (elements > kMaxElements)
      return "has more than 2^40 elements";
  }
  return "";
}

} // namespace kiln::import
