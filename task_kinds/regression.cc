// task_type Regression: one real score per row (STS-B); a linear head on [CLS], mean
// squared error; Pearson / Spearman on the scores; the submission holds the score with
// three decimals, as GLUE's server expects (the scores file: in full).
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "common/error.h"
#include "task_kinds/metrics.h"
#include "task_kinds/task_kind.h"

namespace mtdnn::task_kinds {
namespace {

class Regression : public TaskKind {
 public:
  Regression()
      : TaskKind({"Regression", {DataFormat::kPremiseOnly, DataFormat::kPremiseAndOneHypothesis}, "MseCriterion"}) {}
  void check(const TaskDef& task, const std::string& where) const override {
    MTDNN_INPUT_CHECK(task.n_class == 1 && task.labels.empty(), "{}: a regression task needs n_class: 1 and no labels",
                      where);
    MTDNN_INPUT_CHECK(!task.enable_san, "{}: enable_san needs a Classification task", where);
  }

  LabelKind label_kind() const override { return LabelKind::kScore; }
  std::string parse_label(const TaskDef&, const std::string& text, size_t, ParsedLabel* out) const override {
    char* end = nullptr;
    errno = 0;
    const float v = std::strtof(text.c_str(), &end);
    if (text.empty() || *end != '\0' || errno != 0 || !std::isfinite(v))
      return fmt::format("regression score '{}' is not a finite number", text);
    out->score = v;
    return "";
  }

  std::vector<Targets> targets(const TaskDef&, const TaskResources*, const TargetKey&, BatchRows& rows) const override {
    MTDNN_CHECK(rows.label_kind == LabelKind::kScore, "regression batch without scores");
    Targets t;
    t.reals = *rows.scores;  // (B)
    return {t};
  }

  std::vector<HeadUse> heads(const TaskDef&) const override { return {{"", "regression", 1}}; }

  void collect(const TaskDef&, const BatchRows& rows, const std::vector<Targets>& targets,
               const std::vector<HeadOutputs>& outputs, EvalRows* out) const override {
    const HeadOutputs& o = outputs.at(0);
    MTDNN_CHECK(static_cast<int64_t>(o.values.size()) == rows.B, "{} scores for {} rows", o.values.size(), rows.B);
    out->prob_width = 1;
    for (int64_t r = 0; r < rows.B; ++r) {
      out->predicted.push_back(0);
      out->score.push_back(o.values[static_cast<size_t>(r)]);
      out->probs.push_back(o.values[static_cast<size_t>(r)]);
      out->gold.push_back(-1);
      out->gold_score.push_back(targets.empty() ? 0.0 : targets[0].reals[static_cast<size_t>(r)]);
    }
  }

  std::map<std::string, double> metrics(const TaskDef& task, const EvalRows& rows,
                                        const std::vector<int64_t>&) const override {
    EvalOutputs e;
    e.scores = rows.score;
    e.gold_scores = rows.gold_score;
    return compute_metrics(task, e);
  }

  std::string submission_value(const TaskDef&, const EvalRows& rows, size_t i) const override {
    return fmt::format("{:.3f}", rows.score[i]);
  }

  std::vector<std::string> score_columns(const TaskDef&) const override { return {"score"}; }
  void decide(const TaskDef&, const std::vector<int64_t>&, EvalRows* rows) const override {
    rows->score = rows->probs;
    rows->predicted.assign(rows->score.size(), 0);
  }
};

}  // namespace

std::unique_ptr<TaskKind> make_regression_kind() { return std::make_unique<Regression>(); }

}  // namespace mtdnn::task_kinds
