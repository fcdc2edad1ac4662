// Typed errors and the checks that raise them. Every library reports problems by
// throwing mtdnn::Error (or a subclass) with a message that names the file, line,
// shard or dataset involved; only main() turns an error into an exit status.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace mtdnn {

// Base of every error the project throws on purpose.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Bad user input: a data file, a task definition, a vocabulary, a flag.
// The message says where (file:line) and what to fix.
class InputError : public Error {
 public:
  explicit InputError(const std::string& what) : Error(what) {}
};

// A failed call into a system library (HDF5, MPI, the file system).
class SystemError : public Error {
 public:
  explicit SystemError(const std::string& what) : Error(what) {}
};

}  // namespace mtdnn

// Throws InputError with a formatted message. For conditions that depend on input.
#define MTDNN_INPUT_CHECK(cond, ...)                                     \
  do {                                                                   \
    if (!(cond)) throw ::mtdnn::InputError(fmt::format(__VA_ARGS__));    \
  } while (0)

// Throws Error for violated internal invariants; stays on in release builds.
#define MTDNN_CHECK(cond, ...)                                                        \
  do {                                                                                \
    if (!(cond))                                                                      \
      throw ::mtdnn::Error(fmt::format("{}:{}: check '{}' failed: {}", __FILE__,      \
                                       __LINE__, #cond, fmt::format(__VA_ARGS__)));   \
  } while (0)
