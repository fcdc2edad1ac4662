// The rendezvous store for c10d process groups (Gloo, NCCL), bootstrapped over MPI: rank 0
// serves a TCPStore on an ephemeral port and broadcasts its address, so no fixed port
// and no environment variables are needed. On one node the address is 127.0.0.1; across
// nodes it is rank 0's host name, or $MTDNN_STORE_ADDR when set.
#pragma once

#include <torch/csrc/distributed/c10d/Store.hpp>

#include "common/mpi_context.h"

namespace mtdnn {

c10::intrusive_ptr<c10d::Store> make_c10d_store(const MpiContext& mpi);

}  // namespace mtdnn
