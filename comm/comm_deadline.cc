// The collectives' deadline and its report (see comm_deadline.h).
#include "comm/comm_deadline.h"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace mtdnn::comm {

namespace {

void abort_job(const std::string& report) {
  std::fprintf(stderr, "%s\nmtdnn: ending every rank (exit status %d: resume from the last checkpoint)\n",
               report.c_str(), kExitCommTimeout);
  std::fflush(stderr);
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, kExitCommTimeout);
  std::_Exit(kExitCommTimeout);
}

std::mutex& handler_mutex() {
  static std::mutex m;
  return m;
}

CommTimeoutHandler& handler() {
  static CommTimeoutHandler h = abort_job;
  return h;
}

}  // namespace

CommTimeoutHandler set_comm_timeout_handler(CommTimeoutHandler h) {
  std::lock_guard<std::mutex> lock(handler_mutex());
  CommTimeoutHandler previous = std::move(handler());
  handler() = h ? std::move(h) : CommTimeoutHandler(abort_job);
  return previous;
}

void report_comm_timeout(const std::string& report) {
  CommTimeoutHandler h;
  {
    std::lock_guard<std::mutex> lock(handler_mutex());
    h = handler();
  }
  h(report);
}

Deadline::Deadline(double seconds) : start_(std::chrono::steady_clock::now()), seconds_(seconds) {}

double Deadline::waited_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

bool Deadline::passed() const { return seconds_ > 0 && waited_s() >= seconds_; }

std::chrono::milliseconds backend_timeout(double seconds) {
  if (seconds <= 0) return std::chrono::hours(24 * 365);
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

}  // namespace mtdnn::comm
