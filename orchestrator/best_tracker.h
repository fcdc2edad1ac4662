// --best-metric and --early-stop-patience: which evaluation is the best so far, and when the
// evaluations have stopped improving. Rank 0 feeds it each evaluation's records (one step's
// labelled splits); every GLUE metric is better when higher. Torch-free.
//   TASK:METRIC  that metric (a YAML name of the task's metric_meta, e.g. rte:ACC) on the
//                task's first evaluated split (dev; matched_dev for MNLI)
//   mean         GLUE's score: each split's metrics averaged, then averaged over the splits
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator/run_report.h"
#include "task_kinds/task_def.h"

namespace mtdnn::orchestrator {

struct BestMetric {
  bool mean = false;
  std::string task, metric;  // when not mean
  std::string describe() const;  // "rte:ACC" or "mean"
};

// InputError naming --best-metric when `spec` is neither form, or names a task that is not
// trained or a metric the task does not report.
BestMetric parse_best_metric(const std::string& spec, const std::vector<TaskDef>& tasks);

class BestTracker {
 public:
  BestTracker(BestMetric metric, int64_t patience) : metric_(std::move(metric)), patience_(patience) {}

  // The evaluation's score, or nullopt when its records do not hold the metric (or only NaN).
  std::optional<double> score(const std::vector<EvalRecord>& records) const;
  // Counts an evaluation; true when it is strictly better than every earlier one.
  bool update(const std::vector<EvalRecord>& records);
  // Whether `patience` (> 0) evaluations in a row have not improved on the best.
  bool should_stop() const { return patience_ > 0 && since_best_ >= patience_; }

  const BestMetric& metric() const { return metric_; }
  bool has_best() const { return best_step_ >= 0; }
  double best() const { return best_; }
  int64_t best_step() const { return best_step_; }
  int64_t since_best() const { return since_best_; }

 private:
  BestMetric metric_;
  int64_t patience_;
  double best_ = 0;
  int64_t best_step_ = -1, since_best_ = 0;
};

// The "eval" records of a metrics.jsonl, one evaluation (its records of one step) per entry,
// in file order: how a resumed run's tracker learns the evaluations before the checkpoint.
std::vector<std::vector<EvalRecord>> evaluations_in_metrics_log(const std::string& path);

}  // namespace mtdnn::orchestrator
