// Evaluation and prediction of one task split, sharded across ranks: the split is cut into
// evaluation batches that do not depend on the world size (examples sorted by length,
// ranking groups kept whole and in order), batch c goes to rank c mod world, and the
// predictions are gathered so that rank 0 holds all of them in example order. Rank 0 then
// computes the metrics (task_kinds/metrics.h, x100, by their YAML names) and writes GLUE's
// submission TSV. Used by mtdnn-train (dev and test splits) and mtdnn-predict (one process).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "task_kinds/task_kind.h"
#include "sharding/split_reader.h"
#include "worker/execution.h"

namespace mtdnn::worker {
class MtdnnModelImpl;
}

namespace mtdnn::worker {

// One split's predictions, one entry per example (candidate, for ranking), in split order.
struct SplitPredictions {
  std::string task, split;
  bool has_labels = false;
  std::vector<std::string> uids;
  std::vector<int64_t> predicted;   // class id; ranking: 1 for each group's chosen candidate, else 0
  std::vector<double> score;        // regression: the score; classification: P(class 1); ranking: the candidate's
                                    // probability within its group
  std::vector<int64_t> gold;        // class id (ranking: 1 = positive); -1 without labels
  std::vector<double> gold_score;   // regression targets
  std::vector<int64_t> group_sizes; // ranking: candidates per group
  std::map<std::string, double> sums;  // the kind's sums over the split (e.g. masked-LM hits)
  std::vector<double> probs;        // prob_width scores per example, row-major (task_kinds::EvalRows::probs)
  int64_t prob_width = 0;           // the kind's score_columns; 0: no scores (MaskLM)
  size_t size() const { return uids.size(); }
};

// The predictions as the task's kind reads them.
task_kinds::EvalRows eval_rows(const SplitPredictions& p);

// This rank's part of a sharded evaluation: its place among the ranks, and how the ranks'
// packed predictions reach every rank, in rank order (mtdnn-train: the round protocol's R6;
// the default is one process).
struct EvalShare {
  int rank = 0, size = 1;
  std::function<std::vector<std::string>(const std::string&)> gather = [](const std::string& mine) {
    return std::vector<std::string>{mine};
  };
};

// Collective over the ranks of `share`: every rank predicts its share of the batches with
// `model` in evaluation mode (restored afterwards); rank 0 returns every prediction, other
// ranks an empty result. `exec`: where the model is (batches are copied there; each head's
// output comes back to the host once per batch).
SplitPredictions predict_split(MtdnnModelImpl& model, const TaskDef& task,
                               const sharding::SplitReader& reader, int64_t batch_size, const EvalShare& share = {},
                               const ExecutionOptions& exec = {});

// Metric name -> value (x100 for GLUE's metrics) as the task's kind reports them (its
// metric_meta for the GLUE kinds); empty when the split has no labels.
std::map<std::string, double> split_metrics(const TaskDef& task, const SplitPredictions& p);

// GLUE's submission format: a header "index\tprediction", then one line per example (per
// candidate for ranking) with its uid and the prediction: the label text for
// classification (labels mapped back through `labels`), the score with 3 decimals for
// regression, the label text of 1 / 0 (chosen or not) for ranking candidates.
std::string submission_tsv(const TaskDef& task, const SplitPredictions& p);

// "predictions/<task>_<split>.tsv" (relative to the output folder).
std::string prediction_file_name(const std::string& task, const std::string& split);

// The scores file beside a submission file: a header "index" and the kind's score columns
// (classification: each class's label text; regression: "score"; ranking: "probability"),
// then one line per example (candidate) with its uid and its scores (6 decimals).
std::string scores_tsv(const TaskDef& task, const SplitPredictions& p);
// The scores file's name beside the submission file: "x.tsv" -> "x.scores.tsv" (other
// names get ".scores.tsv" appended).
std::string scores_file_name(const std::string& submission_file);

// An ensemble: the models' scores averaged per example (probabilities for classification
// and ranking, scores for regression) and the predictions decided from the average by the
// task's kind. The predictions must be of one task split, in the same order (InputError
// otherwise); labels and group sizes are the first one's.
SplitPredictions average_predictions(const TaskDef& task, const std::vector<SplitPredictions>& models);

}  // namespace mtdnn::worker
