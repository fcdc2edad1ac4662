// Message output on stderr (see log.h).
#include "common/log.h"

#include <unistd.h>

#include <cstdio>
#include <mutex>

namespace mtdnn {
namespace {
std::mutex g_log_mutex;   // guards the two below; messages come from several threads
std::string g_program = "mtdnn";
bool g_progress_shown = false;
}  // namespace

void set_log_program(const std::string& name) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_program = name;
}

bool log_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

void log_message(const std::string& text) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  if (g_progress_shown) std::fputs("\r\033[K", stderr);
  g_progress_shown = false;
  std::fprintf(stderr, "%s: %s\n", g_program.c_str(), text.c_str());
}

void log_progress(const std::string& text) {
  if (!log_is_terminal()) return;
  std::lock_guard<std::mutex> lock(g_log_mutex);
  std::fprintf(stderr, "\r\033[K%s: %s", g_program.c_str(), text.c_str());
  std::fflush(stderr);
  g_progress_shown = true;
}

}  // namespace mtdnn
