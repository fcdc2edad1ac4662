// Tensor shapes as text for error messages: "(32, 128, 256)".
#pragma once

#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/types.h>

namespace mtdnn::tensor_io {

inline std::string shape_of(c10::IntArrayRef sizes) {
  return fmt::format("({})", fmt::join(sizes.begin(), sizes.end(), ", "));
}
inline std::string shape_of(const torch::Tensor& t) {
  return t.defined() ? shape_of(t.sizes()) : std::string("undefined");
}

}  // namespace mtdnn::tensor_io
