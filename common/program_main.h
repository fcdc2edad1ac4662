// The main() of every mtdnn executable: names the program in log lines, runs the program,
// and turns an error that escapes it into one "error: ..." line and an exit status — 2 for
// a malformed command line (`UsageError`, the option parser's error type), 1 for anything
// else — so that no executable repeats this and none ends in an uncaught exception.
#pragma once

#include <exception>
#include <string>
#include <utility>

#include "common/log.h"

namespace mtdnn {

// For a program whose option errors are InputErrors (exit status 1 like every other error).
struct NoUsageError final : std::exception {};

struct ProgramErrors {
  std::string usage_hint = "see --help";  // appended to a usage error
  std::string prefix;                     // before "error:", e.g. "rank 3: "
};

// `run` returns the exit status; `after_error` runs after the message (e.g. to end the other
// MPI ranks of the job).
template <typename UsageError, typename Run, typename AfterError>
int program_main(const char* program, Run&& run, const ProgramErrors& errors, AfterError&& after_error) {
  set_log_program(program);
  try {
    return run();
  } catch (const UsageError& e) {
    log_info("{}error: {} ({})", errors.prefix, e.what(), errors.usage_hint);
    after_error();
    return 2;
  } catch (const std::exception& e) {
    log_info("{}error: {}", errors.prefix, e.what());
    after_error();
    return 1;
  }
}

template <typename UsageError, typename Run>
int program_main(const char* program, Run&& run, const ProgramErrors& errors = {}) {
  return program_main<UsageError>(program, std::forward<Run>(run), errors, [] {});
}

}  // namespace mtdnn
