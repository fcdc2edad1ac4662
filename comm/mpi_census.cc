// The deadline-polled wait and the census (see mpi_census.h).
#include "comm/mpi_census.h"

#include <algorithm>
#include <map>
#include <thread>
#include <vector>

#include "comm/comm_deadline.h"
#include "comm/mpi_context.h"

namespace mtdnn::comm {

namespace {

constexpr int kRequestTag = 1, kAnswerTag = 2;

// How long a census waits for answers: waiting ranks answer within a poll (microseconds);
// short against any deadline, long against a loaded machine's scheduling.
double grace_s(double timeout_s) { return std::clamp(timeout_s / 4, 0.2, 5.0); }

std::string rank_list(const std::vector<int>& ranks) {
  std::string out;
  for (int r : ranks) out += (out.empty() ? "" : ", ") + std::to_string(r);
  return out;
}

}  // namespace

MpiCensus::MpiCensus(MPI_Comm comm) {
  MTDNN_MPI(MPI_Comm_dup(comm, &comm_));
  MTDNN_MPI(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
  MTDNN_MPI(MPI_Comm_rank(comm_, &rank_));
  MTDNN_MPI(MPI_Comm_size(comm_, &size_));
  MTDNN_MPI(MPI_Irecv(request_in_, 2, MPI_INT64_T, MPI_ANY_SOURCE, kRequestTag, comm_, &request_));
}

MpiCensus::~MpiCensus() {
  if (request_ != MPI_REQUEST_NULL) {
    MPI_Cancel(&request_);
    MPI_Wait(&request_, MPI_STATUS_IGNORE);
  }
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void MpiCensus::wait(const std::function<bool()>& done, double timeout_s, const std::string& who,
                     const std::string& what) {
  const Deadline deadline(timeout_s);
  bool reported = false;
  for (int polls = 0;; ++polls) {
    if (done()) return;
    answer(what, deadline.waited_s());
    if (!reported && deadline.passed()) {
      reported = true;
      const double waited = deadline.waited_s();
      const std::string census = ask(what, waited, timeout_s);
      report_comm_timeout(
          fmt::format("{}: {}: no progress after {:.1f} s (--comm-timeout {:g}){}", who, what, waited, timeout_s, census));
    }
    // Spin first (a collective usually completes within microseconds), then let the other
    // processes of an oversubscribed node run.
    if (polls > 1000) std::this_thread::yield();
  }
}

void MpiCensus::answer(const std::string& what, double waited_s) {
  int arrived = 0;
  MTDNN_MPI(MPI_Test(&request_, &arrived, MPI_STATUS_IGNORE));
  if (!arrived) return;
  const int requester = static_cast<int>(request_in_[0]);
  const std::string text = fmt::format("{} waiting in {} for {:.1f} s", request_in_[1], what, waited_s);
  // Small: sent eagerly, whatever the requester does meanwhile.
  MTDNN_MPI(MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, requester, kAnswerTag, comm_));
  MTDNN_MPI(MPI_Irecv(request_in_, 2, MPI_INT64_T, MPI_ANY_SOURCE, kRequestTag, comm_, &request_));
}

std::string MpiCensus::ask(const std::string& what, double waited_s, double timeout_s) {
  const int64_t number = ++asked_;
  const int64_t request[2] = {rank_, number};
  for (int r = 0; r < size_; ++r)
    if (r != rank_) MTDNN_MPI(MPI_Send(request, 2, MPI_INT64_T, r, kRequestTag, comm_));
  std::map<int, std::string> answers;
  const double grace = grace_s(timeout_s);
  const Deadline census(grace);
  while (static_cast<int>(answers.size()) < size_ - 1 && !census.passed()) {
    int arrived = 0;
    MPI_Status status;
    MTDNN_MPI(MPI_Iprobe(MPI_ANY_SOURCE, kAnswerTag, comm_, &arrived, &status));
    if (arrived) {
      int n = 0;
      MTDNN_MPI(MPI_Get_count(&status, MPI_CHAR, &n));
      std::string text(static_cast<size_t>(n), '\0');
      MTDNN_MPI(MPI_Recv(text.data(), n, MPI_CHAR, status.MPI_SOURCE, kAnswerTag, comm_, MPI_STATUS_IGNORE));
      const size_t space = text.find(' ');
      if (space != std::string::npos && text.substr(0, space) == std::to_string(number))  // not an older census's
        answers[status.MPI_SOURCE] = text.substr(space + 1);
    }
    answer(what, waited_s + census.waited_s());  // another rank's census at the same time
    std::this_thread::yield();
  }
  std::vector<int> silent;
  std::string others;
  for (int r = 0; r < size_; ++r) {
    if (r == rank_) continue;
    if (answers.count(r))
      others += fmt::format("; rank {} is {}", r, answers[r]);
    else
      silent.push_back(r);
  }
  if (silent.empty()) return "; every rank answered: the collective itself is stuck (a link between nodes?)" + others;
  return fmt::format("; rank{} {} did not answer within {:g} s: stopped, dead, cut off, or not yet at this collective{}",
                     silent.size() > 1 ? "s" : "", rank_list(silent), grace, others);
}

}  // namespace mtdnn::comm
