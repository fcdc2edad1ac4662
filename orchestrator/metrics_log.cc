// metrics.jsonl (see metrics_log.h).
#include "orchestrator/metrics_log.h"

#include <cmath>
#include <filesystem>

#include "common/error.h"
#include "common/file_util.h"

namespace mtdnn::orchestrator {

namespace {

bool is_event_file(const std::filesystem::path& p) {
  return p.filename().string().find("tfevents") != std::string::npos;
}

}  // namespace

bool is_eval_metric_key(const std::string& key) {
  for (const char* field : {"type", "task", "split", "step", "epoch", "examples", "seconds"})
    if (key == field) return false;
  return true;
}

std::vector<std::pair<std::string, float>> tensorboard_scalars(const nlohmann::ordered_json& record) {
  std::vector<std::pair<std::string, float>> out;
  auto add = [&](const std::string& tag, const nlohmann::json& value) {
    if (value.is_number()) out.emplace_back(tag, value.get<float>());
  };
  const std::string type = record.value("type", "");
  if (type == "train") {
    for (const char* key : {"loss", "loss_avg", "lr", "grad_norm", "loss_scale", "steps_per_s", "tokens_per_s", "eta_s"})
      if (record.contains(key)) add(std::string("train/") + key, record[key]);
  } else if (type == "eval") {
    const std::string prefix = record.value("task", "") + "/" + record.value("split", "") + "/";
    for (auto it = record.begin(); it != record.end(); ++it) {
      const std::string& key = it.key();
      if (is_eval_metric_key(key)) add(prefix + key, it.value());
    }
  }
  return out;
}

MetricsLog::MetricsLog(const std::string& path, bool writer, int64_t resumed_step) : writer_(writer) {
  namespace fs = std::filesystem;
  if (!writer_) return;
  const fs::path tensorboard_dir = fs::path(path).parent_path() / "tensorboard";
  std::vector<fs::path> old_event_files;
  if (fs::is_directory(tensorboard_dir))
    for (const auto& entry : fs::directory_iterator(tensorboard_dir))
      if (is_event_file(entry.path())) old_event_files.push_back(entry.path());
  tensorboard_ = std::make_unique<TfEventsWriter>(tensorboard_dir.string());
  if (resumed_step >= 0) {
    std::string kept;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto j = nlohmann::ordered_json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("step") || j["step"].get<int64_t>() > resumed_step) continue;
      kept += line + "\n";
      add_to_tensorboard(j);
    }
    write_file_atomic(path, kept);
    out_.open(path, std::ios::app);
  } else {
    out_.open(path, std::ios::trunc);
  }
  MTDNN_INPUT_CHECK(out_.good(), "{}: cannot write the metrics log", path);
  // The new event file holds every kept record: the old ones would show the dropped steps.
  for (const auto& f : old_event_files) fs::remove(f);
}

void MetricsLog::add_to_tensorboard(const nlohmann::ordered_json& record) {
  const auto scalars = tensorboard_scalars(record);
  if (!scalars.empty() && record.contains("step"))
    tensorboard_->add_scalars(scalars, record["step"].get<int64_t>(), unix_time_now());
}

void MetricsLog::write(const nlohmann::ordered_json& record) {
  if (!writer_) return;
  out_ << record.dump() << "\n";
  out_.flush();
  add_to_tensorboard(record);
}

nlohmann::ordered_json metric_json(double value) {
  return std::isfinite(value) ? nlohmann::ordered_json(value) : nlohmann::ordered_json(nullptr);
}

}  // namespace mtdnn::orchestrator
