#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace kiln {

/// Declares a chainable option like libtorch's TORCH_ARG:
/// `KILN_ARG(bool, bias) = true;` gives `opts.bias(false)` (setter, returns
/// *this) and `opts.bias()` (getter).
#define KILN_ARG(T, name)                         \
 public:                                          \
  auto& name(const T& new_##name) {               \
    this->name##_ = new_##name;                   \
    return *this;                                 \
  }                                               \
  const T& name() const noexcept { return name##_; } \
                                                  \
 private:                                         \
  T name##_

/// One serialized option value. The model file writes every option of a
/// layer, loss or optimizer explicitly, in declaration order; nullptr is
/// written as null, torch's None (BatchNorm's momentum=None).
using OptionValue =
    std::variant<bool, int64_t, double, std::string, std::vector<int64_t>, std::vector<double>, std::nullptr_t>;
using OptionList = std::vector<std::pair<std::string, OptionValue>>;

}  // namespace kiln
