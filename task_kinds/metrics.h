// Evaluation metrics as GLUE defines them (sklearn / scipy semantics), reported x100 as
// mt-dnn does: ACC, F1, MCC on predicted classes, Pearson and Spearman on scores, AUC on
// the positive-class probability. Plain vectors in, numbers out; the trainer's evaluation
// gathers predictions from all ranks and rank 0 calls compute_metrics.
//
// Degenerate inputs (documented choices; every function throws Error on length mismatch):
//   empty input                         -> NaN for every metric
//   F1 with no positive predicted and no positive gold (2tp + fp + fn = 0) -> 0 (sklearn)
//   MCC with a constant prediction or constant gold (denominator 0)       -> 0 (sklearn)
//   Pearson / Spearman with a constant side (zero variance)               -> NaN (scipy)
//   AUC with only one gold class                                          -> NaN (sklearn raises)
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "task_kinds/task_def.h"

namespace mtdnn::task_kinds {

// Class-prediction metrics; predictions and gold are class ids. F1 is binary with class 1
// as the positive class.
double accuracy(const std::vector<int64_t>& pred, const std::vector<int64_t>& gold);
double f1_binary(const std::vector<int64_t>& pred, const std::vector<int64_t>& gold);
double matthews_corrcoef(const std::vector<int64_t>& pred, const std::vector<int64_t>& gold);

// Score metrics.
double pearson(const std::vector<double>& x, const std::vector<double>& y);
// Pearson of the average ranks (ties share the mean of the ranks they span), as scipy.
double spearman(const std::vector<double>& x, const std::vector<double>& y);
// Area under the ROC curve of `score` for gold == 1; tied scores count one half, which is
// what sklearn's trapezoidal roc_auc_score gives: AUC = (R+ - P(P+1)/2) / (P N) with R+ the
// sum of the positives' average ranks.
double roc_auc(const std::vector<double>& score, const std::vector<int64_t>& gold);

// 1-based average ranks of x (the ranking scipy.stats.rankdata(method='average') returns).
std::vector<double> average_ranks(const std::vector<double>& x);

// What one task's evaluation produced, one entry per evaluated item.
struct EvalOutputs {
  std::vector<int64_t> predictions;   // predicted class (classification, ranking)
  std::vector<int64_t> labels;        // gold class
  std::vector<double> scores;         // regression outputs
  std::vector<double> gold_scores;    // regression targets
  std::vector<double> positive_prob;  // P(class 1), for AUC
};

// metric name (to_string(Metric): "ACC", "F1", "MCC", "Pearson", "Spearman", "AUC") -> value
// x100, for each metric of task.metric_meta. Pearson and Spearman compare scores with
// gold_scores; the others use predictions / positive_prob against labels.
std::map<std::string, double> compute_metrics(const TaskDef& task, const EvalOutputs& out);

// Ranking evaluation: per-candidate scores and gold labels (1 = positive) with the group
// sizes (K per group, summing to the candidates) become one prediction per group (index of
// the best-scored candidate, the first on ties) and one gold index (the positive's).
void rank_groups(const std::vector<double>& scores, const std::vector<int64_t>& candidate_labels,
                 const std::vector<int64_t>& group_sizes, std::vector<int64_t>* predictions,
                 std::vector<int64_t>* gold);

}  // namespace mtdnn::task_kinds
