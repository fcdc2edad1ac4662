// Resolving and applying a rank's placement (see rank_placement.h).
#include "orchestrator/rank_placement.h"

#include <unistd.h>

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

std::string RankPlacement::describe(int rank, int world) const {
  return fmt::format("rank {} of {} on {}: node-local rank {} of {}, {}, {} thread(s)", rank, world, host, local_rank,
                     local_size, exec.describe(), threads);
}

RankPlacement place_rank(const TrainOptions& o, const comm::RoundProtocol& protocol) {
  RankPlacement pl;
  pl.usable_cores = worker::usable_cores();
  const int node_cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  pl.node_share = std::max(1, node_cores / std::max(1, protocol.local_size()));
  pl.threads = worker::rank_threads(o.threads, pl.usable_cores, node_cores, protocol.local_size());
  pl.local_rank = protocol.local_rank();
  pl.local_size = protocol.local_size();
  char host[256] = {0};
  pl.host = ::gethostname(host, sizeof host - 1) == 0 ? host : "?";
  pl.exec = worker::resolve_execution(o.device, o.precision, protocol.local_rank());
  pl.backend = resolve_backend(o.backend, pl.exec);
  return pl;
}

}  // namespace mtdnn::orchestrator
