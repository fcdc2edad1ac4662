// Gloo gradient backend: LibTorch's c10d ProcessGroupGloo, which runs each all-reduce on
// its own threads (so it overlaps backward by itself). On one node it binds to the
// loopback address; across nodes to CommEndpoints::gloo_interface when set, else to the
// address the host name resolves to.
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include "comm/c10d_store.h"
#include "comm/comm_deadline.h"
#include "comm/grad_comm.h"

namespace mtdnn::comm {

std::unique_ptr<GradComm> make_gloo_grad_comm(const MpiContext& mpi, const CommEndpoints& endpoints, int) {
  using c10d::ProcessGroupGloo;
  auto options = ProcessGroupGloo::Options::create(backend_timeout(mpi.timeout_s()));  // --comm-timeout
  if (mpi.num_nodes() == 1)
    options->devices.push_back(ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  else if (!endpoints.gloo_interface.empty())
    options->devices.push_back(ProcessGroupGloo::createDeviceForInterface(endpoints.gloo_interface));
  else
    options->devices.push_back(ProcessGroupGloo::createDefaultDevice());
  options->threads = 1;  // the reductions are sequential; more threads only compete with compute
  auto store = make_c10d_store(mpi, endpoints.store_address);
  return std::make_unique<C10dGradComm<ProcessGroupGloo>>(
      "gloo", c10::make_intrusive<ProcessGroupGloo>(store, mpi.rank(), mpi.size(), options));
}

}  // namespace mtdnn::comm
