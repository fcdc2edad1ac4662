// Resolving and applying a rank's placement (see rank_placement.h).
#include "orchestrator/rank_placement.h"

#include <torch/torch.h>

#include <algorithm>
#include <thread>

#include "worker/cpu_runtime.h"

namespace mtdnn::orchestrator {

std::string RankPlacement::device_and_precision() const {
  return fmt::format("{} {}", exec.cuda() ? "cuda" : "cpu", worker::to_string(exec.precision));
}

void RankPlacement::use() {
  if (exec.cuda())
    torch::set_num_threads(threads);
  else
    cpu_runtime = worker::configure_cpu_runtime({threads});
  worker::use_device(exec);
}

RankPlacement place_rank(const TrainOptions& o, const comm::RoundProtocol& protocol) {
  RankPlacement pl;
  pl.usable_cores = worker::usable_cores();
  const int node_cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  pl.node_share = std::max(1, node_cores / std::max(1, protocol.local_size()));
  pl.threads = worker::rank_threads(o.threads, pl.usable_cores, node_cores, protocol.local_size());
  pl.exec = worker::resolve_execution(o.device, o.precision, protocol.local_rank());
  pl.backend = resolve_backend(o.backend, pl.exec);
  return pl;
}

}  // namespace mtdnn::orchestrator
