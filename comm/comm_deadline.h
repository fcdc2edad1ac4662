// What happens when a collective misses its deadline (--comm-timeout), on every backend:
// the rank that notices reports it once through the process's timeout handler. The default
// handler writes the report to stderr and ends the whole job at once with MPI_Abort and
// status kExitCommTimeout, without unwinding (a thread or a destructor could otherwise wait
// on the very collective that hangs); slurm/run-with-requeue.sh resumes such a job from its
// last checkpoint. Tests install a handler that records the report and returns: the wait
// then goes on until the collective completes.
//
// A deadline is the time from when this rank started waiting for a collective to complete:
// one rank that stalls (a wedged file system, a frozen node, a link cut without closing
// its sockets) makes every other rank's wait exceed it. The MPI waits (a control-plane
// request; the end of an MPI gradient reduction) are polled against it (mpi_census.h); Gloo
// and NCCL are given it as their own timeout.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace mtdnn::comm {

// Every rank's exit status after a missed deadline (EX_TEMPFAIL + 11: beside 85, the
// checkpointed stop; both mean "requeue and resume").
inline constexpr int kExitCommTimeout = 86;

using CommTimeoutHandler = std::function<void(const std::string& report)>;
// Replaces the process's handler (any thread may report); returns the previous one.
CommTimeoutHandler set_comm_timeout_handler(CommTimeoutHandler handler);
// Calls the handler with `report` (the default never returns).
void report_comm_timeout(const std::string& report);

// A deadline `seconds` after construction; seconds <= 0: none.
class Deadline {
 public:
  explicit Deadline(double seconds);
  bool passed() const;
  double waited_s() const;

 private:
  std::chrono::steady_clock::time_point start_;
  double seconds_;
};

// Gloo's and NCCL's timeout for `seconds` (<= 0: a year, which is never).
std::chrono::milliseconds backend_timeout(double seconds);

}  // namespace mtdnn::comm
