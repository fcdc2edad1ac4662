// metrics.jsonl: one JSON record per line ("train" records every --log-every steps, "eval"
// records after each evaluation), written by rank 0 and flushed per record. On resume the
// records after the checkpoint's step are dropped (those steps run again), the rest kept.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

namespace mtdnn::orchestrator {

class MetricsLog {
 public:
  // `writer`: rank 0 (the other ranks' log writes nothing). `resumed_step` < 0: a fresh run
  // (the file is truncated). InputError when the file cannot be written.
  MetricsLog(const std::string& path, bool writer, int64_t resumed_step);
  void write(const nlohmann::ordered_json& record);

 private:
  bool writer_;
  std::ofstream out_;
};

// A metric as a JSON number; NaN and Inf (degenerate inputs) as null.
nlohmann::ordered_json metric_json(double value);

}  // namespace mtdnn::orchestrator
