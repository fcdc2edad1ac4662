// MPI as the control plane: process start-up and shutdown (RAII), rank, world size and
// node-local placement, and the small collectives rank 0 uses to decide and broadcast
// (bytes, integers, agreement checks). Every MPI call is checked and a failure throws
// CommError naming the call, the source location and the rank. Every collective waits
// against the deadline (set_timeout, --comm-timeout; comm_deadline.h): past it, the rank
// asks the others where they are (mpi_census.h) and reports the step, the collective, the
// time waited and which ranks did not answer. Works with mpirun, srun
// and without a launcher (one rank). Used by mtdnn-train and the gradient backends.
#pragma once

#include <mpi.h>

#include "comm/comm_deadline.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "comm/comm_error.h"

namespace mtdnn::comm {

class MpiCensus;

class MpiContext {
 public:
  // Initialises MPI (MPI_THREAD_MULTIPLE: the gradient thread reduces while the main
  // thread runs backward) unless it is already initialised, and duplicates COMM_WORLD.
  MpiContext(int* argc, char*** argv);
  ~MpiContext();  // frees the communicator and finalises MPI if this object initialised it
  MpiContext(const MpiContext&) = delete;
  MpiContext& operator=(const MpiContext&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }  // rank among the processes of this node
  int local_size() const { return local_size_; }
  int num_nodes() const { return num_nodes_; }
  MPI_Comm comm() const { return comm_; }

  void barrier() const;
  // Broadcasts `bytes` from `root` (the receivers' vector is resized).
  void broadcast(std::vector<uint8_t>* bytes, int root) const;
  void broadcast(std::string* text, int root) const;
  // Every rank's value, in rank order.
  std::vector<int64_t> allgather(int64_t value) const;
  std::vector<std::string> allgather(const std::string& text) const;
  // Checks that every rank passes the same value; otherwise throws CommError naming
  // `what`, rank 0's value and each disagreeing rank's value.
  void check_agreement(const std::string& what, const std::string& value) const;

  // Ends every rank of the job (used by main after an error on one rank).
  static void abort(int code);

  // The deadline of every collective, in seconds (<= 0: none); 600 until set. Read by the
  // gradient backends too. Set once, by the program, before the first collective it times.
  void set_timeout(double seconds) { timeout_s_ = seconds; }
  double timeout_s() const { return timeout_s_; }
  // The round-protocol step the next collectives belong to ("R4"), for the report.
  void set_phase(const char* step) const { phase_ = step; }
  // Waits for `request`, a collective on this context's communicator called `what`
  // ("allreduce"); past the deadline, the census and report_comm_timeout(), then (if the
  // handler returns) on until it completes. Only the thread that issues the control-plane
  // collectives calls it (and wait_until).
  void wait(MPI_Request* request, const char* what) const;
  // The same for any condition: polls `done` (which must not block) against the deadline,
  // answering and asking the census as wait() does; `what` names what it waits for.
  void wait_until(const std::function<bool()>& done, const std::string& what) const;

 private:
  double timeout_s_ = 600;
  mutable const char* phase_ = "start-up";
  std::unique_ptr<MpiCensus> census_;  // the control plane's (mpi_census.h)
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1, num_nodes_ = 1;
  bool owns_init_ = false;
};

[[noreturn]] void mpi_fail(int code, const char* call, const char* file, int line);

}  // namespace mtdnn::comm

// Checks an MPI call's return code; throws CommError with the call, place and rank.
#define MTDNN_MPI(call)                                                           \
  do {                                                                            \
    int mtdnn_mpi_rc = (call);                                                    \
    if (mtdnn_mpi_rc != MPI_SUCCESS) ::mtdnn::comm::mpi_fail(mtdnn_mpi_rc, #call, __FILE__, __LINE__); \
  } while (0)
