// Gloo gradient backend: LibTorch's c10d ProcessGroupGloo, which runs each all-reduce on
// its own threads (so it overlaps backward by itself). On one node it binds to the
// loopback address; across nodes to CommEndpoints::gloo_interface when set, else to the address the
// host name resolves to.
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include "comm/c10d_store.h"
#include "comm/grad_comm.h"

namespace mtdnn::comm {
namespace {

class GlooGradComm : public GradComm {
 public:
  GlooGradComm(const MpiContext& mpi, const CommEndpoints& endpoints) {
    auto options = c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(300));
    if (mpi.num_nodes() == 1)
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else if (!endpoints.gloo_interface.empty())
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(endpoints.gloo_interface));
    else
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    options->threads = 1;  // the reductions are sequential; more threads only compete with compute
    group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(make_c10d_store(mpi, endpoints.store_address), mpi.rank(), mpi.size(), options);
  }

  std::string name() const override { return "gloo"; }

  std::unique_ptr<GradWork> allreduce_sum(const at::Tensor& tensor) override {
    std::vector<at::Tensor> tensors{tensor};
    return std::make_unique<C10dWork>(group_->allreduce(tensors), "gloo");
  }

 private:
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
};

}  // namespace

std::unique_ptr<GradComm> make_gloo_grad_comm(const MpiContext& mpi, const CommEndpoints& endpoints) {
  return std::make_unique<GlooGradComm>(mpi, endpoints);
}

}  // namespace mtdnn::comm
