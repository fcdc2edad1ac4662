// The task-kind registry: what a YAML `task_type` means, owned in one place per kind.
// A kind says which data formats it reads, how a data file's label becomes shard labels,
// how a batch's rows become each head's targets, which heads the model builds for it,
// how head outputs become predictions, which metrics it reports and what a submission
// file holds. Every layer asks the kind instead of switching on the type: the YAML parser
// (task_def.cc), the preprocessor, the shard format, the batch loader, the model folder,
// the evaluator. Classification, Regression, Ranking and MaskLM live in this folder, one
// file each, registered in registry.cc (docs/adding-a-task-type.md walks through one).
// Torch-free: batches, targets and outputs are plain arrays.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "task_kinds/label_kind.h"
#include "task_kinds/task_def.h"

namespace mtdnn::task_kinds {

// A head the model builds for a task, by the head type's registered name
// ("classification", "regression", "ranking", "masked_lm", "next_sentence"; "san" is
// chosen by the model for a classification head when the task enables SAN).
struct HeadUse {
  std::string role;       // the head's name within the task; "" for a task's only head
  std::string head_type;  // registered head type
  int64_t n_class = 2;    // outputs of classification-like heads
  // The head's loss is a mean over its targets (those not kNoTarget), not over rows: the
  // trainer then weights each rank's share by target counts (the masked LM).
  bool loss_per_target = false;
};

// A target that takes no part in the loss (PyTorch's ignore_index).
inline constexpr int64_t kNoTarget = -100;

// A labeled row's label as the shards store it.
struct ParsedLabel {
  int32_t label = 0;                      // LabelKind::kClass
  float score = 0.0f;                     // LabelKind::kScore
  std::vector<int32_t> candidate_labels;  // grouped kinds: one 0/1 flag per candidate
};

// One head's targets for a batch, row-major: `items` entries of `width` values each (items
// are rows, or groups for grouped kinds). Integer targets in `ints`, real ones in `reals`.
struct Targets {
  int64_t width = 1;
  std::vector<int64_t> ints;
  std::vector<float> reals;
  bool is_real() const { return !reals.empty() || ints.empty(); }
};

// The rows of one batch as the loader made them: (B, T) padded arrays. A kind may rewrite
// `input_ids` (masking); the other arrays are read-only.
struct BatchRows {
  int64_t B = 0, T = 0;
  std::vector<int64_t>* input_ids = nullptr;          // (B, T)
  const std::vector<int64_t>* attention_mask = nullptr;  // (B, T) 1 on real tokens
  LabelKind label_kind = LabelKind::kNone;
  const std::vector<int64_t>* labels = nullptr;       // (B) shard class labels
  const std::vector<float>* scores = nullptr;         // (B) shard scores
  const std::vector<int64_t>* group_sizes = nullptr;  // grouped kinds: rows per group
  const std::vector<int64_t>* example_index = nullptr;  // (B) index in the task's split
  const std::vector<std::string>* uids = nullptr;     // (B), for error messages
};

// What makes targets reproducible: the same (seed, epoch, task, example) gives the same
// targets on any rank, world size or resume.
struct TargetKey {
  uint64_t seed = 0;
  uint64_t epoch = 0;
  uint64_t task_id = 0;
};

// What a task's kind needs at batch time besides the rows, loaded once per task from its
// preprocessed data folder (e.g. the vocabulary for masking). Kinds that need nothing
// return nullptr from TaskKind::load_resources.
class TaskResources {
 public:
  virtual ~TaskResources() = default;
};

// One head's output for an evaluation batch, copied to the host once: `items` x `width`
// floats (logits or scores per row / candidate, or argmax ids for token heads), and its
// summed loss over `loss_count` targets when targets were given.
struct HeadOutputs {
  std::vector<float> values;
  int64_t width = 1;
  double loss_sum = 0.0;
  int64_t loss_count = 0;
};

// What evaluation keeps of each example (candidate, for grouped kinds), in split order,
// plus sums over the split that a kind's metrics read (e.g. masked-LM hits and counts).
struct EvalRows {
  std::vector<int64_t> predicted;   // class id; ranking: 1 for each group's chosen candidate
  std::vector<double> score;        // regression: the score; classification: P(class 1)
  std::vector<int64_t> gold;        // class id (ranking: 1 = positive); -1 without labels
  std::vector<double> gold_score;   // regression targets
  std::map<std::string, double> sums;
  // Each example's scores, row-major, `prob_width` per example (the kind's score_columns):
  // class probabilities (classification), the score (regression), the candidate's
  // probability within its group (ranking). What the scores file holds and ensembles average.
  std::vector<double> probs;
  int64_t prob_width = 0;
};

// What a kind declares about its YAML, given to TaskKind's constructor.
struct KindDefinition {
  std::string_view name;                  // the YAML task_type
  std::vector<DataFormat> data_formats;   // the first is the default
  std::string_view loss;                  // the YAML loss it takes (and defaults to)
};

class TaskKind {
 public:
  explicit TaskKind(KindDefinition definition) : definition_(std::move(definition)) {}
  virtual ~TaskKind() = default;

  // --- definition ---
  std::string_view name() const { return definition_.name; }
  const std::vector<DataFormat>& data_formats() const { return definition_.data_formats; }
  std::string_view loss() const { return definition_.loss; }
  // Checks the keys that depend on the kind (n_class, labels, metrics, ...); `where` starts
  // every message (file:line of the task). Throws InputError.
  virtual void check(const TaskDef& task, const std::string& where) const = 0;
  // Metric names reported for the task (its metric_meta, or the kind's own).
  virtual std::vector<std::string> metric_names(const TaskDef& task) const;

  // --- data files and shards ---
  // Whether examples come from a text corpus (preprocess/corpus_job.h) rather than rows.
  virtual bool reads_corpus() const { return false; }
  virtual LabelKind label_kind() const = 0;  // of labeled splits
  virtual bool grouped() const { return false; }  // one row of data = a group of candidates
  // Shard class labels lie in [0, label_bound).
  virtual int label_bound(const TaskDef& task) const { return task.n_class; }
  // A data file's label text (with `candidates` hypotheses in the row) as shard labels;
  // returns an error message, empty on success.
  virtual std::string parse_label(const TaskDef& task, const std::string& text, size_t candidates,
                                  ParsedLabel* out) const;

  // --- batches ---
  virtual std::unique_ptr<TaskResources> load_resources(const TaskDef&, const std::string& /*task_data_dir*/) const {
    return nullptr;
  }
  // Items of a batch: rows, or groups for grouped kinds.
  int64_t items(const BatchRows& rows) const;
  // One Targets per head (heads() order), items x width. May rewrite rows.input_ids.
  virtual std::vector<Targets> targets(const TaskDef& task, const TaskResources* resources, const TargetKey& key,
                                       BatchRows& rows) const = 0;

  // --- model ---
  virtual std::vector<HeadUse> heads(const TaskDef& task) const = 0;
  // Whether evaluation reads each head's logits (false: the head's argmax predictions).
  virtual bool evaluates_logits() const { return true; }

  // --- evaluation and submission ---
  // Appends one entry per example of an evaluation batch to `out` from the heads' outputs
  // (`targets` as targets() made them; empty when the split has no labels).
  virtual void collect(const TaskDef& task, const BatchRows& rows, const std::vector<Targets>& targets,
                       const std::vector<HeadOutputs>& outputs, EvalRows* out) const = 0;
  // After the whole split is collected (in split order): per-group decisions and such.
  virtual void finish(const std::vector<int64_t>& /*group_sizes*/, EvalRows* /*rows*/) const {}
  // Metric name -> value x100 (losses and perplexities as they are).
  virtual std::map<std::string, double> metrics(const TaskDef& task, const EvalRows& rows,
                                                const std::vector<int64_t>& group_sizes) const = 0;
  // Whether prediction files are written for the task's splits.
  virtual bool writes_submission() const { return true; }
  // The prediction column of GLUE's submission file for example i.
  virtual std::string submission_value(const TaskDef& task, const EvalRows& rows, size_t i) const;

  // --- scores (the scores file beside the submission; ensembles) ---
  // The names of EvalRows::probs' columns, the header of the scores file; empty: the kind
  // has no per-example scores (MaskLM) and writes no scores file.
  virtual std::vector<std::string> score_columns(const TaskDef& /*task*/) const { return {}; }
  // Sets `predicted` and `score` from `probs` (e.g. averaged over several models) as
  // collect() and finish() set them from one model's outputs. Error for kinds without scores.
  virtual void decide(const TaskDef& task, const std::vector<int64_t>& group_sizes, EvalRows* rows) const;

 private:
  KindDefinition definition_;
};

// The registry, keyed by task_type. Registration is explicit (registry.cc lists every kind;
// no static initialisers).
class TaskKindRegistry {
 public:
  void add(std::unique_ptr<TaskKind> kind);  // Error when the name is taken
  const TaskKind* find(std::string_view name) const;  // nullptr when unknown
  std::vector<std::string> names() const;  // in registration order

 private:
  std::vector<std::unique_ptr<TaskKind>> kinds_;
};

// The registry holding the built-in kinds.
const TaskKindRegistry& builtin_task_kinds();
// The kind of a task; Error when its task_type is not registered (the parser already
// refused such a file).
const TaskKind& kind_of(const TaskDef& task);

}  // namespace mtdnn::task_kinds
