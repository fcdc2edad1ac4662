// task_type Classification: one class per row (PremiseOnly or PremiseAndOneHypothesis),
// labels by name (`labels`) or as integers 0..n_class-1; a classification head on [CLS]
// (the SAN head when enable_san), cross-entropy; predictions are the argmax class with
// P(class 1) as the score (AUC); the submission holds the label text, the scores file
// each class's probability.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/error.h"
#include "task_kinds/metrics.h"
#include "task_kinds/task_kind.h"

namespace mtdnn::task_kinds {
namespace {

class Classification : public TaskKind {
 public:
  Classification()
      : TaskKind({"Classification", {DataFormat::kPremiseOnly, DataFormat::kPremiseAndOneHypothesis}, "CeCriterion"}) {}
  void check(const TaskDef& task, const std::string& where) const override {
    MTDNN_INPUT_CHECK(task.n_class >= 2, "{} needs n_class >= 2, got {}", where, task.n_class);
  }

  LabelKind label_kind() const override { return LabelKind::kClass; }
  std::string parse_label(const TaskDef& task, const std::string& text, size_t, ParsedLabel* out) const override {
    const int id = task.label_id(text);
    if (id >= 0) {
      out->label = id;
      return "";
    }
    if (!task.labels.empty()) {
      std::string known;
      for (const auto& l : task.labels) known += (known.empty() ? "'" : ", '") + l + "'";
      return fmt::format("label '{}' is not one of the task's labels ({})", text, known);
    }
    return fmt::format("label '{}' is not an integer in [0, {}) (the task has no 'labels' list)", text, task.n_class);
  }

  std::vector<Targets> targets(const TaskDef&, const TaskResources*, const TargetKey&, BatchRows& rows) const override {
    MTDNN_CHECK(rows.label_kind == LabelKind::kClass, "classification batch without class labels");
    Targets t;
    t.ints = *rows.labels;  // (B) class ids
    return {t};
  }

  std::vector<HeadUse> heads(const TaskDef& task) const override { return {{"", "classification", task.n_class}}; }

  void collect(const TaskDef&, const BatchRows& rows, const std::vector<Targets>& targets,
               const std::vector<HeadOutputs>& outputs, EvalRows* out) const override {
    // (B, C) class scores (log-probabilities for SAN heads): softmax gives probabilities either way.
    const HeadOutputs& o = outputs.at(0);
    const size_t C = static_cast<size_t>(o.width);
    out->prob_width = o.width;
    for (int64_t r = 0; r < rows.B; ++r) {
      const float* z = o.values.data() + static_cast<size_t>(r) * C;
      const double top = *std::max_element(z, z + C);
      double total = 0;
      for (size_t c = 0; c < C; ++c) total += std::exp(static_cast<double>(z[c]) - top);
      for (size_t c = 0; c < C; ++c) out->probs.push_back(std::exp(static_cast<double>(z[c]) - top) / total);
      int64_t predicted = 0;
      double score = 0;
      decide_row(out->probs.data() + out->probs.size() - C, C, &predicted, &score);
      out->predicted.push_back(predicted);
      out->score.push_back(score);
      out->gold.push_back(targets.empty() ? -1 : targets[0].ints[static_cast<size_t>(r)]);
      out->gold_score.push_back(0.0);
    }
  }

  std::vector<std::string> score_columns(const TaskDef& task) const override {
    std::vector<std::string> names;
    for (int c = 0; c < task.n_class; ++c) names.push_back(task.label_text(c));
    return names;
  }
  void decide(const TaskDef&, const std::vector<int64_t>&, EvalRows* rows) const override {
    const size_t C = static_cast<size_t>(rows->prob_width);
    MTDNN_CHECK(C >= 1 && rows->probs.size() % C == 0, "{} probabilities in rows of {}", rows->probs.size(), C);
    const size_t n = rows->probs.size() / C;
    rows->predicted.resize(n);
    rows->score.resize(n);
    for (size_t i = 0; i < n; ++i) decide_row(rows->probs.data() + i * C, C, &rows->predicted[i], &rows->score[i]);
  }
  std::map<std::string, double> metrics(const TaskDef& task, const EvalRows& rows,
                                        const std::vector<int64_t>&) const override {
    EvalOutputs e;
    e.predictions = rows.predicted;
    e.labels = rows.gold;
    e.positive_prob = rows.score;
    return compute_metrics(task, e);
  }

 private:
  // The most probable class (the first on ties); the score is P(class 1) for two classes
  // (AUC), else the predicted class's probability.
  static void decide_row(const double* p, size_t C, int64_t* predicted, double* score) {
    size_t arg = 0;
    for (size_t c = 1; c < C; ++c)
      if (p[c] > p[arg]) arg = c;
    *predicted = static_cast<int64_t>(arg);
    *score = C == 2 ? p[1] : p[arg];
  }
};

}  // namespace

std::unique_ptr<TaskKind> make_classification_kind() { return std::make_unique<Classification>(); }

}  // namespace mtdnn::task_kinds
