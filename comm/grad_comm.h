// The gradient data plane: an asynchronous in-place sum of a flat tensor across ranks,
// behind one interface with one backend per engine — MPI (OpenMPI; GPU tensors are staged
// through host memory) and Gloo (LibTorch's c10d) on CPU, NCCL (its C API over the MPI
// bootstrap) on GPU. The table of backends (grad_comm_backends.cc) holds the only #if; each
// backend's source compiles only when its dependency is present. Used by the bucketed
// gradient reducer (worker/grad_reducer.h).
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

#include "comm/mpi_context.h"

namespace mtdnn::comm {

// An all-reduce in flight; wait() returns once the tensor holds the sum (or throws CommError).
class GradWork {
 public:
  virtual ~GradWork() = default;
  virtual void wait() = 0;
};

class GradComm {
 public:
  virtual ~GradComm() = default;
  virtual std::string name() const = 0;
  // Starts summing `tensor` (contiguous; float32, or bf16 on GPU) in place across ranks.
  // Every rank must start the same sequence of reductions on same-sized tensors.
  virtual std::unique_ptr<GradWork> allreduce_sum(const at::Tensor& tensor) = 0;
};

enum class CommBackend { kMpi, kGloo, kNccl };

// Where the c10d backends meet across nodes; the program's main() fills these from the
// environment (MTDNN_STORE_ADDR, MTDNN_GLOO_IFACE), libraries never read it.
struct CommEndpoints {
  std::string store_address;   // rank 0's TCPStore address; "": 127.0.0.1 on one node, else rank 0's host name
  std::string gloo_interface;  // network interface for Gloo across nodes; "": the host name's address
};

// "mpi", "gloo", "nccl"; InputError for anything else.
CommBackend parse_comm_backend(const std::string& name);
const char* to_string(CommBackend backend);
// Whether this build has the backend (NCCL needs LibTorch with CUDA and NCCL; Gloo a
// LibTorch built with c10d's Gloo and Gloo's headers).
bool comm_backend_available(CommBackend backend);
// Creates the backend for the ranks of `mpi` (bootstrapped over MPI); InputError when
// the backend is not compiled in. `cuda_device`: the GPU whose tensors this rank reduces
// (NCCL needs it; the others ignore it). No backend changes the current CUDA device.
std::unique_ptr<GradComm> make_grad_comm(CommBackend backend, const MpiContext& mpi,
                                         const CommEndpoints& endpoints = {}, int cuda_device = -1);

// Makers, one per backend source file (listed only in the table of backends).
std::unique_ptr<GradComm> make_mpi_grad_comm(const MpiContext& mpi, const CommEndpoints& endpoints, int cuda_device);
std::unique_ptr<GradComm> make_gloo_grad_comm(const MpiContext& mpi, const CommEndpoints& endpoints, int cuda_device);
std::unique_ptr<GradComm> make_nccl_grad_comm(const MpiContext& mpi, const CommEndpoints& endpoints, int cuda_device);

}  // namespace mtdnn::comm
