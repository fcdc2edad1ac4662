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
  // Throws an error of this one's own type with another message (a message with more
  // context); every subclass overrides it, so that adding context never changes the type.
  [[noreturn]] virtual void rethrow_with(const std::string& what) const { throw Error(what); }
};

// Bad user input: a data file, a task definition, a vocabulary, a flag.
// The message says where (file:line) and what to fix.
class InputError : public Error {
 public:
  explicit InputError(const std::string& what) : Error(what) {}
  [[noreturn]] void rethrow_with(const std::string& what) const override { throw InputError(what); }
};

// A failed call into a system library (HDF5, MPI, the file system).
class SystemError : public Error {
 public:
  explicit SystemError(const std::string& what) : Error(what) {}
  [[noreturn]] void rethrow_with(const std::string& what) const override { throw SystemError(what); }
};

// Rethrows `e` with `context` before its message, as the same type when it is one of ours
// (a plain Error otherwise).
[[noreturn]] inline void rethrow_with_context(const std::exception& e, const std::string& context) {
  const std::string what = context + ": " + e.what();
  if (const auto* ours = dynamic_cast<const Error*>(&e)) ours->rethrow_with(what);
  throw Error(what);
}

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
