// NCCL gradient backend (GPU): LibTorch's c10d ProcessGroupNCCL over the MPI-bootstrapped
// store; each rank drives the GPU of its node-local rank. Compiled only when LibTorch has
// CUDA and NCCL was found (comm/CMakeLists.txt).
#include <c10/cuda/CUDAGuard.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include "comm/c10d_store.h"
#include "comm/grad_comm.h"

namespace mtdnn::comm {

std::unique_ptr<GradComm> make_nccl_grad_comm(const MpiContext& mpi, const CommEndpoints& endpoints) {
  c10::cuda::set_device(static_cast<c10::DeviceIndex>(mpi.local_rank()));
  auto options = c10d::ProcessGroupNCCL::Options::create();
  auto store = make_c10d_store(mpi, endpoints.store_address);
  return std::make_unique<C10dGradComm<c10d::ProcessGroupNCCL>>(
      "nccl", c10::make_intrusive<c10d::ProcessGroupNCCL>(store, mpi.rank(), mpi.size(), options));
}

}  // namespace mtdnn::comm
