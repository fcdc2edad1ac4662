// NCCL gradient backend (GPU): LibTorch's c10d ProcessGroupNCCL over the MPI-bootstrapped
// store; each rank drives the GPU of its node-local rank. Compiled only when LibTorch has
// CUDA and NCCL was found (comm/CMakeLists.txt).
#include <c10/cuda/CUDAGuard.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include "comm/c10d_store.h"
#include "comm/grad_comm.h"

namespace mtdnn::comm {
namespace {

class NcclGradComm : public GradComm {
 public:
  NcclGradComm(const MpiContext& mpi, const CommEndpoints& endpoints) {
    c10::cuda::set_device(static_cast<c10::DeviceIndex>(mpi.local_rank()));
    auto options = c10d::ProcessGroupNCCL::Options::create();
    group_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(make_c10d_store(mpi, endpoints.store_address), mpi.rank(), mpi.size(), options);
  }

  std::string name() const override { return "nccl"; }

  std::unique_ptr<GradWork> allreduce_sum(const at::Tensor& tensor) override {
    MTDNN_CHECK(tensor.is_cuda(), "the NCCL backend reduces GPU tensors");
    std::vector<at::Tensor> tensors{tensor};
    return std::make_unique<C10dWork>(group_->allreduce(tensors), "nccl");
  }

 private:
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> group_;
};

}  // namespace

std::unique_ptr<GradComm> make_nccl_grad_comm(const MpiContext& mpi, const CommEndpoints& endpoints) {
  return std::make_unique<NcclGradComm>(mpi, endpoints);
}

}  // namespace mtdnn::comm
