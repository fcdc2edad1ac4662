// The control plane: the few small collectives the round protocol (comm/round_protocol.h)
// needs, over MPI, or in one process where every collective is an identity (the trainer's
// reference run in tests). Only RoundProtocol issues them; gradients travel on the data
// plane (comm/grad_comm.h). The tests' recording plane (tests/recording_plane.h) wraps one.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace mtdnn::comm {

class MpiContext;

// Every call but the placement getters, begin_step and mpi() is collective.
class ControlPlane {
 public:
  virtual ~ControlPlane() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual int local_size() const = 0;   // ranks on this node
  virtual int local_rank() const = 0;   // this rank among them (which GPU it takes)
  virtual void broadcast(std::string* bytes, int root) = 0;
  // Throws CommError naming `what`, rank 0's value and every disagreeing rank's value.
  virtual void check_agreement(const std::string& what, const std::string& value) = 0;
  // Element-wise sum (first `sum_count` values) and maximum (the rest) over ranks, in place.
  virtual void allreduce(std::vector<double>* values, size_t sum_count) = 0;
  virtual std::vector<std::string> allgather(const std::string& bytes) = 0;
  virtual void barrier() = 0;
  // The MPI context behind it (for the gradient backends), or nullptr in one process.
  virtual const MpiContext* mpi() const = 0;
  // The protocol step ("R4") whose collectives follow; RoundProtocol names each step before
  // issuing its collectives. The transports ignore it; a recording plane files calls under it.
  virtual void begin_step(const char* step) { (void)step; }
};

// The job's ranks over MPI (every call checked: CommError naming the call and the rank).
std::unique_ptr<ControlPlane> make_mpi_control_plane(const MpiContext& mpi);
// One process, rank 0 of 1: collectives are identities.
std::unique_ptr<ControlPlane> make_local_control_plane();

}  // namespace mtdnn::comm
