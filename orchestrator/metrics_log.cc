// metrics.jsonl (see metrics_log.h).
#include "orchestrator/metrics_log.h"

#include <cmath>

#include "common/error.h"
#include "common/file_util.h"

namespace mtdnn::orchestrator {

MetricsLog::MetricsLog(const std::string& path, bool writer, int64_t resumed_step) : writer_(writer) {
  if (!writer_) return;
  if (resumed_step >= 0) {
    std::string kept;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("step") || j["step"].get<int64_t>() > resumed_step) continue;
      kept += line + "\n";
    }
    write_file_atomic(path, kept);
    out_.open(path, std::ios::app);
  } else {
    out_.open(path, std::ios::trunc);
  }
  MTDNN_INPUT_CHECK(out_.good(), "{}: cannot write the metrics log", path);
}

void MetricsLog::write(const nlohmann::ordered_json& record) {
  if (!writer_) return;
  out_ << record.dump() << "\n";
  out_.flush();
}

nlohmann::ordered_json metric_json(double value) {
  return std::isfinite(value) ? nlohmann::ordered_json(value) : nlohmann::ordered_json(nullptr);
}

}  // namespace mtdnn::orchestrator
