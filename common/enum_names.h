// The names of an enum's values, written once in a table that printing and parsing both
// read, so that a name cannot be spelled one way in to_string and another in the parser,
// and the parser's error lists exactly the names it accepts.
//
//   constexpr EnumName<Precision> kPrecisionNames[] = {{Precision::kFp32, "fp32"}, {Precision::kBf16, "bf16"}};
//   name_of(kPrecisionNames, Precision::kBf16)  -> "bf16"
//   parse_name(kPrecisionNames, "fp8")           -> InputError "expected fp32 or bf16, got 'fp8'"
#pragma once

#include <cstddef>
#include <string>

#include <fmt/format.h>

#include "common/error.h"

namespace mtdnn {

template <typename E>
struct EnumName {
  E value;
  const char* name;
};

template <typename E, size_t N>
const char* name_of(const EnumName<E> (&names)[N], E value) {
  for (const auto& n : names)
    if (n.value == value) return n.name;
  return "?";  // a value outside the table: only a cast integer can be one
}

// "a, b or c": the accepted names, in the table's order.
template <typename E, size_t N>
std::string name_choices(const EnumName<E> (&names)[N]) {
  std::string out;
  for (size_t i = 0; i < N; ++i) out += fmt::format("{}{}", i == 0 ? "" : i + 1 == N ? " or " : ", ", names[i].name);
  return out;
}

// `what`, when given, starts the error message ("label kind: expected ...").
template <typename E, size_t N>
E parse_name(const EnumName<E> (&names)[N], const std::string& text, const char* what = nullptr) {
  for (const auto& n : names)
    if (text == n.name) return n.value;
  const std::string prefix = what ? fmt::format("{}: ", what) : "";
  throw InputError(fmt::format("{}expected {}, got '{}'", prefix, name_choices(names), text));
}

}  // namespace mtdnn
