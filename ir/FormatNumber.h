// Numbers that cross a text boundary (descriptor, attributes, headers,
// messages) must read back as exactly the value written: a learning rate of
// 2.5e-4 printed with two decimals became 0 once (issue 6).
#ifndef KILN_IR_FORMATNUMBER_H
#define KILN_IR_FORMATNUMBER_H

#include <charconv>
#include <string>

namespace kiln {

/// The shortest decimal text that parses back to exactly `value`
/// (std::to_chars: locale-independent, "1e-05", "0.1", "-0", "inf", "nan").
inline std::string formatExact(double value) {
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

} // namespace kiln

#endif // KILN_IR_FORMATNUMBER_H
