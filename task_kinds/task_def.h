// Task definitions: mt-dnn's task_def.yml schema, read as it is, so a user's existing
// file works unchanged. Used by mtdnn-preprocess (labels, data format), by the shard
// format (the definition is stored in every shard) and by training (heads, metrics).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mtdnn {

enum class DataFormat { kPremiseOnly, kPremiseAndOneHypothesis, kPremiseAndMultiHypothesis, kMlm };
enum class Metric { kAcc, kF1, kMcc, kPearson, kSpearman, kAuc };

// MaskLM tasks: how the corpus becomes sentence pairs (preprocessing) and how they are
// masked (at batch time). BERT's defaults.
struct PretrainOptions {
  double mask_prob = 0.15;      // mask_prob: share of a row's real tokens predicted
  int max_predictions = 20;     // max_predictions_per_seq: cap per row
  bool whole_word = false;      // whole_word_mask: mask whole words (all their pieces)
  bool next_sentence = true;    // next_sentence: sentence pairs with the NSP label
  double short_seq_prob = 0.1;  // short_seq_prob: rows shorter than the maximum on purpose
  double dev_fraction = 0.01;   // dev_fraction: documents held out as the dev split
};

struct TaskDef {
  std::string name;                       // the YAML key; never contains '_'
  std::string task_type = "Classification";  // a registered task kind (task_kind.h)
  DataFormat data_format = DataFormat::kPremiseOnly;
  int n_class = 0;
  std::vector<std::string> labels;        // class id = index; empty: labels are integers
  std::vector<Metric> metric_meta;
  std::string loss;                       // CeCriterion, MseCriterion, RankCeCriterion
  std::optional<double> dropout_p;        // unset: the model's default
  bool enable_san = false;
  std::vector<std::string> split_names;   // default train, dev, test (MaskLM: train, dev)
  PretrainOptions pretrain;               // MaskLM only

  // Class id of a label as written in a data file, or -1 when it is not a label of
  // this task. Without `labels`, integer strings 0..n_class-1 are the labels.
  int label_id(std::string_view text) const;
  // Text of a class id (for prediction files).
  std::string label_text(int id) const;
  // Whether a split carries labels: GLUE and mt-dnn test splits do not.
  static bool split_has_labels(std::string_view split);

  // Canonical JSON form, stored in shards and manifests and compared on load.
  nlohmann::json to_json() const;
  static TaskDef from_json(const nlohmann::json& j);
};

const char* to_string(DataFormat f);
const char* to_string(Metric m);

// Parses a task definition file; tasks keep the file's order. Every problem is an
// InputError naming the file and line: unknown keys, unknown enum values, a '_' in a
// task name, `labels` that disagree with `n_class`, a loss that does not fit the type
// (the task kind checks its own keys: task_kind.h).
std::vector<TaskDef> load_task_defs(const std::string& path);
std::vector<TaskDef> parse_task_defs(const std::string& yaml_text, const std::string& origin);

// The definitions named in `names` (comma-separated list already split), in that order;
// an unknown name is an InputError listing the known ones. Empty `names`: all.
std::vector<TaskDef> select_tasks(const std::vector<TaskDef>& all,
                                  const std::vector<std::string>& names,
                                  const std::string& origin);

}  // namespace mtdnn
