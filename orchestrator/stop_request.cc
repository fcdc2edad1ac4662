// Signal flags for stop requests (see stop_request.h).
#include "orchestrator/stop_request.h"

#include <csignal>

namespace mtdnn::orchestrator {
namespace {
// The one piece of process-global state the signal handlers may touch.
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int signal) { g_stop_signal = signal; }
}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // a read or write in progress is not interrupted
  sigaction(SIGUSR1, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool stop_requested() { return g_stop_signal != 0; }

std::string stop_signal_name() {
  switch (g_stop_signal) {
    case SIGUSR1: return "SIGUSR1";
    case SIGTERM: return "SIGTERM";
    default: return "";
  }
}

void reset_stop_request() { g_stop_signal = 0; }

}  // namespace mtdnn::orchestrator
