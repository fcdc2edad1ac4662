// TCPStore bootstrap over MPI (see c10d_store.h).
#include "comm/c10d_store.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

namespace mtdnn::comm {

c10::intrusive_ptr<c10d::Store> make_c10d_store(const MpiContext& mpi, const std::string& address_override) {
  std::string address = "127.0.0.1";
  if (mpi.num_nodes() > 1) {
    char name[MPI_MAX_PROCESSOR_NAME] = {0};
    int len = 0;
    MTDNN_MPI(MPI_Get_processor_name(name, &len));
    address = std::string(name, static_cast<size_t>(len));
  }
  if (!address_override.empty()) address = address_override;
  c10d::TCPStoreOptions options;
  options.numWorkers = static_cast<size_t>(mpi.size());
  options.timeout = std::chrono::seconds(120);
  c10::intrusive_ptr<c10d::TCPStore> store;
  std::string endpoint;
  if (mpi.rank() == 0) {
    options.isServer = true;
    options.port = 0;  // any free port; the clients learn it below
    options.waitWorkers = false;
    store = c10::make_intrusive<c10d::TCPStore>(address, options);
    endpoint = address + " " + std::to_string(store->getPort());
  }
  mpi.broadcast(&endpoint, 0);
  if (mpi.rank() != 0) {
    auto space = endpoint.rfind(' ');
    options.isServer = false;
    options.port = static_cast<uint16_t>(std::stoi(endpoint.substr(space + 1)));
    store = c10::make_intrusive<c10d::TCPStore>(endpoint.substr(0, space), options);
  }
  return store;
}

}  // namespace mtdnn::comm
