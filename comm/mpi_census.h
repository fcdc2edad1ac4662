// Waiting for a collective against the deadline (--comm-timeout), and the census that names
// the ranks a missed deadline waited for. The thread that runs the round protocol owns the
// census (on a communicator of its own): while it waits (for a control-plane collective,
// or for the MPI gradient backend's thread to finish a reduction) it answers the census
// requests of other ranks with where it waits; when its own deadline passes it asks every
// other rank, gives them a short grace to answer, and reports (comm_deadline.h) what it
// waited for, how long, the ranks that did not answer (stopped, dead, cut off, or not yet
// at a collective) and where the others wait.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>

namespace mtdnn::comm {

class MpiCensus {
 public:
  // Duplicates `comm` (census messages never mix with collectives) and posts the receive of
  // a request. Collective over `comm`.
  explicit MpiCensus(MPI_Comm comm);
  ~MpiCensus();
  MpiCensus(const MpiCensus&) = delete;
  MpiCensus& operator=(const MpiCensus&) = delete;

  // Polls `done` until it returns true. Meanwhile answers requests with "waiting in <what>
  // for S s"; past `timeout_s` (> 0) reports once "<who>: <what>: no progress after ..." with
  // the census, then (if the report's handler returns) goes on until `done`.
  void wait(const std::function<bool()>& done, double timeout_s, const std::string& who, const std::string& what);

 private:
  void answer(const std::string& what, double waited_s);  // a request that arrived, if any
  std::string ask(const std::string& what, double waited_s, double timeout_s);  // the census part of a report

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  MPI_Request request_ = MPI_REQUEST_NULL;  // the posted receive of a request
  int64_t request_in_[2] = {0, 0};          // {requesting rank, its census number}
  int64_t asked_ = 0;                       // this rank's censuses so far
};

}  // namespace mtdnn::comm
