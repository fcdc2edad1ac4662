// The best evaluation and early stopping (see best_tracker.h).
#include "orchestrator/best_tracker.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include <fmt/ranges.h>  // fmt::join

#include "common/error.h"
#include "orchestrator/metrics_log.h"

namespace mtdnn::orchestrator {

std::string BestMetric::describe() const { return mean ? "mean" : task + ":" + metric; }

BestMetric parse_best_metric(const std::string& spec, const std::vector<TaskDef>& tasks) {
  BestMetric m;
  if (spec == "mean") {
    m.mean = true;
    return m;
  }
  const size_t colon = spec.find(':');
  MTDNN_INPUT_CHECK(colon != std::string::npos && colon > 0 && colon + 1 < spec.size(),
                    "--best-metric: expected TASK:METRIC (e.g. rte:ACC) or mean, got '{}'", spec);
  m.task = spec.substr(0, colon);
  m.metric = spec.substr(colon + 1);
  const auto task = std::find_if(tasks.begin(), tasks.end(), [&](const TaskDef& t) { return t.name == m.task; });
  MTDNN_INPUT_CHECK(task != tasks.end(), "--best-metric {}: '{}' is not one of the trained tasks", spec, m.task);
  std::vector<std::string> names;
  for (Metric metric : task->metric_meta) names.push_back(to_string(metric));
  // Without metric_meta a task reports its kind's default metrics, known only when evaluated.
  MTDNN_INPUT_CHECK(names.empty() || std::find(names.begin(), names.end(), m.metric) != names.end(),
                    "--best-metric {}: task '{}' reports {}", spec, m.task, fmt::join(names, ", "));
  return m;
}

std::optional<double> BestTracker::score(const std::vector<EvalRecord>& records) const {
  if (!metric_.mean) {
    for (const EvalRecord& r : records) {
      if (r.task != metric_.task) continue;
      const auto it = r.metrics.find(metric_.metric);
      if (it == r.metrics.end() || !std::isfinite(it->second)) return std::nullopt;
      return it->second;
    }
    return std::nullopt;
  }
  double sum = 0;
  int splits = 0;
  for (const EvalRecord& r : records) {
    double split_sum = 0;
    int n = 0;
    for (const auto& [name, value] : r.metrics)
      if (std::isfinite(value)) split_sum += value, ++n;
    if (n > 0) sum += split_sum / n, ++splits;
  }
  if (splits == 0) return std::nullopt;
  return sum / splits;
}

bool BestTracker::update(const std::vector<EvalRecord>& records) {
  const std::optional<double> s = score(records);
  if (records.empty() || !s) return false;  // nothing evaluated: neither better nor a miss
  if (!has_best() || *s > best_) {
    best_ = *s;
    best_step_ = records.front().step;
    since_best_ = 0;
    return true;
  }
  ++since_best_;
  return false;
}

std::vector<std::vector<EvalRecord>> evaluations_in_metrics_log(const std::string& path) {
  std::vector<std::vector<EvalRecord>> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || j.value("type", "") != "eval") continue;
    EvalRecord r{j.value("task", ""), j.value("split", ""), j.value("step", int64_t{0}), {}};
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!is_eval_metric_key(it.key())) continue;
      if (it.value().is_number())
        r.metrics[it.key()] = it.value().get<double>();
      else if (it.value().is_null())
        r.metrics[it.key()] = NAN;  // undefined metric (metric_json wrote null)
    }
    if (out.empty() || out.back().front().step != r.step) out.emplace_back();
    out.back().push_back(std::move(r));
  }
  return out;
}

}  // namespace mtdnn::orchestrator
