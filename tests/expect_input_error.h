// Expecting an InputError: the shape of most bad-input tests.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"

namespace mtdnn::test {

// Runs `f`; the test fails unless it throws an InputError whose message holds every needle.
// Returns the message ("" when nothing was thrown).
template <typename F>
std::string expect_input_error(F&& f, const std::vector<std::string>& needles) {
  try {
    f();
  } catch (const InputError& e) {
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no InputError";
  return "";
}

}  // namespace mtdnn::test
