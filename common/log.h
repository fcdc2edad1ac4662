// Progress and status messages on stderr, prefixed with the program's name. Data and
// summaries go to stdout; messages go here so that they never mix with results.
#pragma once

#include <string>

#include <fmt/format.h>

namespace mtdnn {

// Set once by each executable's main ("mtdnn-preprocess").
void set_log_program(const std::string& name);
void log_message(const std::string& text);
// Whether stderr is a terminal (live progress lines are drawn only then).
bool log_is_terminal();
// Overwrites the current terminal line (no-op when stderr is not a terminal).
void log_progress(const std::string& text);

template <typename... Args>
void log_info(fmt::format_string<Args...> format, Args&&... args) {
  log_message(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace mtdnn
