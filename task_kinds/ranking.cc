// task_type Ranking: a premise with several candidate hypotheses (PremiseAndMultiHypothesis,
// e.g. mt-dnn's QNLI-as-ranking), stored as a group of rows with a 0/1 flag each; a score
// head per candidate with the softmax taken within each group; the prediction is each
// group's best-scored candidate (flag 1 in the submission, 0 for the others); the scores
// file holds each candidate's probability within its group.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "common/error.h"
#include "task_kinds/metrics.h"
#include "task_kinds/task_kind.h"

namespace mtdnn::task_kinds {
namespace {

class Ranking : public TaskKind {
 public:
  Ranking() : TaskKind({"Ranking", {DataFormat::kPremiseAndMultiHypothesis}, "RankCeCriterion"}) {}
  void check(const TaskDef& task, const std::string& where) const override {
    MTDNN_INPUT_CHECK(task.n_class >= 1, "{} needs n_class >= 1, got {}", where, task.n_class);
    MTDNN_INPUT_CHECK(!task.enable_san, "{}: enable_san needs a Classification task", where);
  }

  LabelKind label_kind() const override { return LabelKind::kClass; }
  bool grouped() const override { return true; }
  int label_bound(const TaskDef&) const override { return 2; }  // a 0/1 flag per candidate

  // Either the index of the positive candidate, or one 0/1 flag per candidate.
  std::string parse_label(const TaskDef&, const std::string& text, size_t candidates,
                          ParsedLabel* out) const override {
    out->candidate_labels.assign(candidates, 0);
    if (text.find(',') == std::string::npos) {
      char* end = nullptr;
      const long idx = std::strtol(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || idx < 0 || static_cast<size_t>(idx) >= candidates)
        return fmt::format("ranking label '{}' is neither the index of the positive candidate (0..{}) nor "
                           "a comma-separated 0/1 flag per candidate", text, candidates - 1);
      out->candidate_labels[static_cast<size_t>(idx)] = 1;
      return "";
    }
    std::string_view rest(text);
    size_t i = 0, positives = 0;
    for (;; ++i) {
      const size_t comma = rest.find(',');
      const std::string_view flag = rest.substr(0, comma);
      if (flag != "0" && flag != "1") return fmt::format("ranking label flag '{}' is not 0 or 1", flag);
      if (i < candidates && flag == "1") out->candidate_labels[i] = 1;
      positives += flag == "1";
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (i + 1 != candidates) return fmt::format("ranking label has {} flags for {} candidates", i + 1, candidates);
    if (positives != 1)
      return fmt::format("ranking group has {} positive candidates; exactly one must be positive", positives);
    return "";
  }

  // (G) index of each group's positive candidate.
  std::vector<Targets> targets(const TaskDef&, const TaskResources*, const TargetKey&, BatchRows& rows) const override {
    MTDNN_CHECK(rows.label_kind == LabelKind::kClass, "ranking batch without labels");
    Targets t;
    size_t row = 0;
    for (int64_t k : *rows.group_sizes) {
      int64_t pos = -1;
      for (int64_t c = 0; c < k; ++c)
        if ((*rows.labels)[row + static_cast<size_t>(c)] == 1 && pos < 0) pos = c;
      MTDNN_INPUT_CHECK(pos >= 0, "ranking group of example '{}' has no positive candidate", (*rows.uids)[row]);
      t.ints.push_back(pos);
      row += static_cast<size_t>(k);
    }
    return {t};
  }

  std::vector<HeadUse> heads(const TaskDef&) const override { return {{"", "ranking", 1}}; }

  // Evaluation batches hold whole groups: each candidate's probability is the softmax of
  // the scores within its group (mt-dnn's), and is its score.
  void collect(const TaskDef&, const BatchRows& rows, const std::vector<Targets>&,
               const std::vector<HeadOutputs>& outputs, EvalRows* out) const override {
    const HeadOutputs& o = outputs.at(0);
    MTDNN_CHECK(static_cast<int64_t>(o.values.size()) == rows.B, "{} scores for {} rows", o.values.size(), rows.B);
    MTDNN_CHECK(rows.group_sizes != nullptr, "ranking batch without groups");
    out->prob_width = 1;
    size_t row = 0;
    for (int64_t k : *rows.group_sizes) {
      MTDNN_CHECK(k >= 1 && row + static_cast<size_t>(k) <= o.values.size(), "group of {} at row {} of {}", k, row,
                  o.values.size());
      const float* z = o.values.data() + row;
      const double top = *std::max_element(z, z + k);
      double total = 0;
      for (int64_t c = 0; c < k; ++c) total += std::exp(static_cast<double>(z[c]) - top);
      for (int64_t c = 0; c < k; ++c) {
        const double p = std::exp(static_cast<double>(z[c]) - top) / total;
        out->predicted.push_back(0);  // decided per group in finish()
        out->score.push_back(p);
        out->probs.push_back(p);
        out->gold.push_back(rows.label_kind == LabelKind::kClass ? (*rows.labels)[row + static_cast<size_t>(c)] : -1);
        out->gold_score.push_back(0.0);
      }
      row += static_cast<size_t>(k);
    }
    MTDNN_CHECK(static_cast<int64_t>(row) == rows.B, "groups cover {} of {} rows", row, rows.B);
  }

  void finish(const std::vector<int64_t>& group_sizes, EvalRows* rows) const override {
    std::vector<int64_t> chosen, gold;
    rank_groups(rows->score, rows->gold, group_sizes, &chosen, &gold);
    size_t at = 0;
    for (size_t g = 0; g < group_sizes.size(); ++g) {
      for (int64_t c = 0; c < group_sizes[g]; ++c) rows->predicted[at + static_cast<size_t>(c)] = c == chosen[g];
      at += static_cast<size_t>(group_sizes[g]);
    }
  }

  std::vector<std::string> score_columns(const TaskDef&) const override { return {"probability"}; }
  void decide(const TaskDef&, const std::vector<int64_t>& group_sizes, EvalRows* rows) const override {
    rows->score = rows->probs;
    rows->predicted.assign(rows->score.size(), 0);
    finish(group_sizes, rows);
  }

  std::map<std::string, double> metrics(const TaskDef& task, const EvalRows& rows,
                                        const std::vector<int64_t>& group_sizes) const override {
    EvalOutputs e;
    rank_groups(rows.score, rows.gold, group_sizes, &e.predictions, &e.labels);
    return compute_metrics(task, e);
  }
};

}  // namespace

std::unique_ptr<TaskKind> make_ranking_kind() { return std::make_unique<Ranking>(); }

}  // namespace mtdnn::task_kinds
