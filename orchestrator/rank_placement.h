// Where one rank of mtdnn-train computes: its device and precision, its intra-op threads
// (its share of the node's cores) and the gradient backend; resolved from the options and
// the rank's place on its node. The model is built there (run_model.h).
#pragma once

#include <string>

#include "comm/grad_comm.h"
#include "comm/round_protocol.h"
#include "orchestrator/train_options.h"
#include "worker/execution.h"

namespace mtdnn::orchestrator {

struct RankPlacement {
  worker::ExecutionOptions exec;  // --device, --precision
  comm::CommBackend backend = comm::CommBackend::kMpi;  // --backend, auto resolved
  int threads = 1;          // intra-op threads of this rank
  int usable_cores = 1;     // the cores its CPU affinity allows
  int node_share = 1;       // the node's cores / ranks on the node
  std::string host;         // this node's host name
  int local_rank = 0, local_size = 1;  // this rank among the ranks of its node (its GPU)

  // "rank 2 of 4 on node2: node-local rank 0 of 2, cpu fp32, 1 thread(s)"
  std::string describe(int rank, int world) const;
  std::string cpu_runtime;  // what configure_cpu_runtime set (CPU execution), after use()

  // "cpu fp32", "cuda bf16": what every rank must agree on (S1).
  std::string device_and_precision() const;
  // Sets this process up for the placement: threads (or the CPU runtime) and the device.
  void use();
};

RankPlacement place_rank(const TrainOptions& o, const comm::RoundProtocol& protocol);

}  // namespace mtdnn::orchestrator
