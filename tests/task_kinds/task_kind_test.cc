// The task-kind registry and each kind's pure parts: labels from data files, targets from
// batch rows, predictions and metrics from head outputs. The MaskLM kind's targets are
// checked against its masking function on a small vocabulary written to a temp folder.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "common/error.h"
#include "task_kinds/mask_lm/masking.h"
#include "task_kinds/task_kind.h"

namespace mtdnn::task_kinds {
namespace {

namespace fs = std::filesystem;

TaskDef parse_one(const std::string& yaml) { return parse_task_defs(yaml, "t.yml").at(0); }

// A batch view over vectors the test owns.
struct Rows {
  std::vector<int64_t> ids, mask, labels, groups, index;
  std::vector<float> scores;
  std::vector<std::string> uids;
  BatchRows view(int64_t B, int64_t T, LabelKind kind) {
    BatchRows r;
    r.B = B, r.T = T;
    r.input_ids = &ids, r.attention_mask = &mask, r.label_kind = kind;
    r.labels = &labels, r.scores = &scores, r.group_sizes = &groups, r.example_index = &index, r.uids = &uids;
    return r;
  }
};

TEST(TaskKinds, RegistryHoldsTheFourKindsInOrder) {
  EXPECT_EQ(builtin_task_kinds().names(),
            (std::vector<std::string>{"Classification", "Regression", "Ranking", "MaskLM"}));
  EXPECT_EQ(builtin_task_kinds().find("Span"), nullptr);
}

TEST(TaskKinds, ClassificationLabelsTargetsPredictionsAndSubmission) {
  const TaskDef t = parse_one("mnli:\n  task_type: Classification\n  data_format: PremiseAndOneHypothesis\n"
                              "  n_class: 3\n  labels: [contradiction, neutral, entailment]\n  metric_meta: [ACC]\n");
  const TaskKind& k = kind_of(t);
  ParsedLabel l;
  EXPECT_EQ(k.parse_label(t, "neutral", 1, &l), "");
  EXPECT_EQ(l.label, 1);
  EXPECT_NE(k.parse_label(t, "maybe", 1, &l).find("not one of the task's labels"), std::string::npos);
  ASSERT_EQ(k.heads(t).size(), 1u);
  EXPECT_EQ(k.heads(t)[0].head_type, "classification");
  EXPECT_EQ(k.heads(t)[0].n_class, 3);

  Rows rows;
  rows.labels = {2, 0};
  BatchRows view = rows.view(2, 1, LabelKind::kClass);
  auto targets = k.targets(t, nullptr, {}, view);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].ints, (std::vector<int64_t>{2, 0}));

  HeadOutputs out;
  out.width = 3;
  out.values = {0.f, 1.f, 3.f, 2.f, 0.f, 0.f};  // argmax 2, then 0
  EvalRows eval;
  k.collect(t, view, targets, {out}, &eval);
  EXPECT_EQ(eval.predicted, (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(eval.gold, (std::vector<int64_t>{2, 0}));
  EXPECT_NEAR(eval.score[0], std::exp(3.0) / (1 + std::exp(1.0) + std::exp(3.0)), 1e-6);  // P(argmax) for C > 2
  EXPECT_DOUBLE_EQ(k.metrics(t, eval, {}).at("ACC"), 100.0);
  EXPECT_EQ(k.submission_value(t, eval, 0), "entailment");
}

TEST(TaskKinds, RegressionAndRankingTargets) {
  const TaskDef reg = parse_one("stsb:\n  task_type: Regression\n  data_format: PremiseAndOneHypothesis\n  n_class: 1\n");
  Rows rows;
  rows.scores = {0.5f, 4.25f};
  BatchRows view = rows.view(2, 1, LabelKind::kScore);
  auto t = kind_of(reg).targets(reg, nullptr, {}, view);
  EXPECT_EQ(t.at(0).reals, (std::vector<float>{0.5f, 4.25f}));
  EvalRows eval;
  HeadOutputs out;
  out.values = {1.f, 2.f};
  kind_of(reg).collect(reg, view, t, {out}, &eval);
  EXPECT_EQ(kind_of(reg).submission_value(reg, eval, 1), "2.000");

  const TaskDef rank = parse_one("qnli:\n  task_type: Ranking\n  data_format: PremiseAndMultiHypothesis\n  n_class: 1\n"
                                 "  metric_meta: [ACC]\n");
  const TaskKind& k = kind_of(rank);
  EXPECT_TRUE(k.grouped());
  ParsedLabel l;
  EXPECT_EQ(k.parse_label(rank, "0,1,0", 3, &l), "");
  EXPECT_EQ(l.candidate_labels, (std::vector<int32_t>{0, 1, 0}));
  Rows r2;
  r2.labels = {0, 1, 1, 0, 0};  // groups of 2 and 3: positives at 1 and 0
  r2.groups = {2, 3};
  r2.uids = {"a", "a", "b", "b", "b"};
  BatchRows v2 = r2.view(5, 1, LabelKind::kClass);
  EXPECT_EQ(k.items(v2), 2);
  EXPECT_EQ(k.targets(rank, nullptr, {}, v2).at(0).ints, (std::vector<int64_t>{1, 0}));
  r2.labels = {0, 0, 1, 0, 0};
  EXPECT_THROW(k.targets(rank, nullptr, {}, v2), InputError);  // group "a" has no positive
}

// The scores each kind keeps per example (the scores file, ensembles), and decide():
// predictions from (averaged) scores equal to what collect() and finish() give.
TEST(TaskKinds, ScoresPerExampleAndDecisionsFromThem) {
  const TaskDef t = parse_one("mnli:\n  task_type: Classification\n  data_format: PremiseAndOneHypothesis\n"
                              "  n_class: 3\n  labels: [contradiction, neutral, entailment]\n  metric_meta: [ACC]\n");
  const TaskKind& k = kind_of(t);
  EXPECT_EQ(k.score_columns(t), (std::vector<std::string>{"contradiction", "neutral", "entailment"}));
  Rows rows;
  rows.labels = {2, 0};
  BatchRows view = rows.view(2, 1, LabelKind::kClass);
  HeadOutputs out;
  out.width = 3;
  out.values = {0.f, 1.f, 3.f, 2.f, 0.f, 0.f};
  EvalRows eval;
  k.collect(t, view, k.targets(t, nullptr, {}, view), {out}, &eval);
  ASSERT_EQ(eval.prob_width, 3);
  ASSERT_EQ(eval.probs.size(), 6u);
  const double z0 = 1 + std::exp(1.0) + std::exp(3.0), z1 = std::exp(2.0) + 2;
  EXPECT_NEAR(eval.probs[0], 1 / z0, 1e-12);
  EXPECT_NEAR(eval.probs[2], std::exp(3.0) / z0, 1e-12);
  EXPECT_NEAR(eval.probs[3], std::exp(2.0) / z1, 1e-12);
  EXPECT_NEAR(eval.probs[3] + eval.probs[4] + eval.probs[5], 1.0, 1e-12);
  // decide() on the same probabilities gives collect()'s predictions and scores back...
  EvalRows again = eval;
  again.predicted.clear();
  again.score.clear();
  k.decide(t, {}, &again);
  EXPECT_EQ(again.predicted, eval.predicted);
  EXPECT_EQ(again.score, eval.score);
  // ...and on other (averaged) probabilities the most probable class, the first on ties.
  again.probs = {0.2, 0.4, 0.4, 0.5, 0.3, 0.2};
  k.decide(t, {}, &again);
  EXPECT_EQ(again.predicted, (std::vector<int64_t>{1, 0}));
  EXPECT_DOUBLE_EQ(again.score[0], 0.4);

  // Two classes: the score is P(class 1); integer labels name the columns.
  const TaskDef bin = parse_one("cola:\n  task_type: Classification\n  data_format: PremiseOnly\n  n_class: 2\n");
  EXPECT_EQ(kind_of(bin).score_columns(bin), (std::vector<std::string>{"0", "1"}));
  EvalRows b;
  b.probs = {0.7, 0.3, 0.1, 0.9};
  b.prob_width = 2;
  kind_of(bin).decide(bin, {}, &b);
  EXPECT_EQ(b.predicted, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(b.score, (std::vector<double>{0.3, 0.9}));

  // Regression: the score itself.
  const TaskDef reg = parse_one("stsb:\n  task_type: Regression\n  data_format: PremiseAndOneHypothesis\n  n_class: 1\n");
  EXPECT_EQ(kind_of(reg).score_columns(reg), (std::vector<std::string>{"score"}));
  Rows rr;
  rr.scores = {0.5f, 4.25f};
  BatchRows rv = rr.view(2, 1, LabelKind::kScore);
  HeadOutputs ro;
  ro.values = {1.5f, 2.f};
  EvalRows re;
  kind_of(reg).collect(reg, rv, kind_of(reg).targets(reg, nullptr, {}, rv), {ro}, &re);
  EXPECT_EQ(re.probs, (std::vector<double>{1.5, 2.0}));
  EXPECT_EQ(re.prob_width, 1);
  re.probs = {3.25, 0.125};
  kind_of(reg).decide(reg, {}, &re);
  EXPECT_EQ(re.score, (std::vector<double>{3.25, 0.125}));
  EXPECT_EQ(kind_of(reg).submission_value(reg, re, 0), "3.250");

  // Ranking: each candidate's probability within its group; the group's most probable wins.
  const TaskDef rank = parse_one("qnli:\n  task_type: Ranking\n  data_format: PremiseAndMultiHypothesis\n  n_class: 1\n"
                                 "  metric_meta: [ACC]\n");
  const TaskKind& rk = kind_of(rank);
  EXPECT_EQ(rk.score_columns(rank), (std::vector<std::string>{"probability"}));
  Rows r2;
  r2.labels = {0, 1, 1, 0, 0};
  r2.groups = {2, 3};
  r2.uids = {"a", "a", "b", "b", "b"};
  BatchRows v2 = r2.view(5, 1, LabelKind::kClass);
  HeadOutputs o2;
  o2.values = {0.f, 1.f, 2.f, 0.f, 2.f};
  EvalRows e2;
  rk.collect(rank, v2, rk.targets(rank, nullptr, {}, v2), {o2}, &e2);
  rk.finish({2, 3}, &e2);
  EXPECT_NEAR(e2.probs[1], std::exp(1.0) / (1 + std::exp(1.0)), 1e-12);
  EXPECT_NEAR(e2.probs[2] + e2.probs[3] + e2.probs[4], 1.0, 1e-12);
  EXPECT_EQ(e2.predicted, (std::vector<int64_t>{0, 1, 1, 0, 0}));  // ties: the first
  EXPECT_DOUBLE_EQ(rk.metrics(rank, e2, {2, 3}).at("ACC"), 100.0);
  e2.probs = {0.6, 0.4, 0.2, 0.2, 0.6};
  rk.decide(rank, {2, 3}, &e2);
  EXPECT_EQ(e2.predicted, (std::vector<int64_t>{1, 0, 0, 0, 1}));
  EXPECT_DOUBLE_EQ(rk.metrics(rank, e2, {2, 3}).at("ACC"), 0.0);

  // MaskLM has no per-example scores.
  const TaskDef mlm = parse_one("wiki:\n  task_type: MaskLM\n  data_format: MLM\n  n_class: 2\n");
  EXPECT_TRUE(kind_of(mlm).score_columns(mlm).empty());
  EvalRows none;
  EXPECT_THROW(kind_of(mlm).decide(mlm, {}, &none), InputError);
}

TEST(TaskKinds, MaskLmMasksRowsAsItsMaskingFunctionAndKeepsTheNextSentenceLabel) {
  const fs::path dir = fs::temp_directory_path() / ("mtdnn-kind-mlm-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "d", "e"};
  {
    std::ofstream out(dir / "vocab.txt");
    for (const auto& t : vocab) out << t << "\n";
  }
  const TaskDef t = parse_one("wiki:\n  task_type: MaskLM\n  data_format: MLM\n  n_class: 2\n  mask_prob: 0.5\n");
  const TaskKind& k = kind_of(t);
  EXPECT_EQ(k.heads(t).size(), 2u);
  EXPECT_EQ(k.metric_names(t), (std::vector<std::string>{"MLM-ACC", "MLM-loss", "MLM-PPL", "NSP-ACC"}));
  auto resources = k.load_resources(t, dir.string());
  // Two rows, T = 8: [CLS] a b c [SEP] d [SEP] [PAD] and [CLS] e [SEP] a [SEP] [PAD]...
  Rows rows;
  rows.ids = {2, 5, 6, 7, 3, 8, 3, 0, 2, 9, 3, 5, 3, 0, 0, 0};
  rows.mask = {1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0};
  rows.labels = {1, 0};
  rows.index = {40, 7};
  const std::vector<int64_t> original = rows.ids;
  BatchRows view = rows.view(2, 8, LabelKind::kClass);
  const TargetKey key{3, 1, 0};
  auto targets = k.targets(t, resources.get(), key, view);
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].width, 8);
  EXPECT_EQ(targets[1].ints, (std::vector<int64_t>{1, 0}));
  // Row by row the same as the masking function with the example's key.
  MaskingOptions o;
  o.mask_prob = 0.5;
  const MaskingVocab v = masking_vocab(vocab, "v");
  for (int64_t r = 0; r < 2; ++r) {
    std::vector<int64_t> ids(original.begin() + r * 8, original.begin() + r * 8 + (r == 0 ? 7 : 5));
    MaskedLm m = mask_tokens(ids, v, o, MaskingKey{3, 1, 0, rows.index[static_cast<size_t>(r)]});
    ASSERT_FALSE(m.positions.empty());
    for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(rows.ids[static_cast<size_t>(r * 8) + i], ids[i]);
    std::vector<int64_t> expected(8, -100);
    for (size_t i = 0; i < m.positions.size(); ++i) expected[static_cast<size_t>(m.positions[i])] = m.labels[i];
    EXPECT_EQ(std::vector<int64_t>(targets[0].ints.begin() + r * 8, targets[0].ints.begin() + r * 8 + 8), expected);
  }
  // Padding is never a target.
  EXPECT_EQ(targets[0].ints[7], -100);
  fs::remove_all(dir);

  // A missing vocabulary names the file.
  try {
    k.load_resources(t, (dir / "nowhere").string());
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("vocab.txt"), std::string::npos) << e.what();
  }
}

TEST(TaskKinds, MaskLmMetricsFromSums) {
  const TaskDef t = parse_one("wiki:\n  task_type: MaskLM\n  data_format: MLM\n  n_class: 2\n");
  EvalRows rows;
  rows.sums = {{"mlm_hits", 3}, {"mlm_count", 4}, {"mlm_loss_sum", 4 * std::log(5.0)}};
  rows.predicted = {1, 0};
  rows.gold = {1, 1};
  auto m = kind_of(t).metrics(t, rows, {});
  EXPECT_DOUBLE_EQ(m.at("MLM-ACC"), 75.0);
  EXPECT_NEAR(m.at("MLM-loss"), std::log(5.0), 1e-12);
  EXPECT_NEAR(m.at("MLM-PPL"), 5.0, 1e-9);
  EXPECT_DOUBLE_EQ(m.at("NSP-ACC"), 50.0);
  EXPECT_FALSE(kind_of(t).writes_submission());
}

}  // namespace
}  // namespace mtdnn::task_kinds
