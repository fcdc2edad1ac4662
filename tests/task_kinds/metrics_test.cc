// GLUE metrics against values computed by hand (the computation is in each comment) and
// the documented results for degenerate inputs.
#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "task_kinds/metrics.h"

namespace mtdnn::task_kinds {
namespace {

// pred 1 0 1 1 0 0 1 0
// gold 1 0 0 1 0 1 1 1
// right at 0, 1, 3, 4, 6 -> ACC 5/8 = 62.5
// tp = {0, 3, 6} = 3, fp = {2} = 1, fn = {5, 7} = 2, tn = {1, 4} = 2
// F1 = 2 tp / (2 tp + fp + fn) = 6 / 9 = 66.6667
// MCC = (tp tn - fp fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn)) = (6 - 2) / sqrt(4*5*3*4)
//     = 4 / sqrt(240) = 0.2581989 -> 25.81989
const std::vector<int64_t> kPred = {1, 0, 1, 1, 0, 0, 1, 0};
const std::vector<int64_t> kGold = {1, 0, 0, 1, 0, 1, 1, 1};

TEST(Metrics, AccuracyF1AndMccOnATwoByTwoConfusionMatrix) {
  EXPECT_DOUBLE_EQ(accuracy(kPred, kGold), 62.5);
  EXPECT_NEAR(f1_binary(kPred, kGold), 200.0 / 3, 1e-9);
  EXPECT_NEAR(matthews_corrcoef(kPred, kGold), 100 * 4 / std::sqrt(240.0), 1e-9);
  // Swapping the roles of the classes keeps MCC and changes F1: tp 2, fp 2, fn 1 -> 4/7.
  std::vector<int64_t> p(kPred), g(kGold);
  for (auto& x : p) x = 1 - x;
  for (auto& x : g) x = 1 - x;
  EXPECT_NEAR(matthews_corrcoef(p, g), 100 * 4 / std::sqrt(240.0), 1e-9);
  EXPECT_NEAR(f1_binary(p, g), 400.0 / 7, 1e-9);
}

TEST(Metrics, MulticlassMcc) {
  // pred 0 1 2 2 1 0, gold 0 1 2 1 1 2: s = 6, correct c = 4 (positions 0, 1, 2, 4)
  // predicted counts p = (2, 2, 2), true counts t = (1, 3, 2)
  // MCC = (c s - sum t_k p_k) / sqrt((s^2 - sum p_k^2)(s^2 - sum t_k^2))
  //     = (24 - (2 + 6 + 4)) / sqrt((36 - 12)(36 - 14)) = 12 / sqrt(528) = 0.5222330
  EXPECT_NEAR(matthews_corrcoef({0, 1, 2, 2, 1, 0}, {0, 1, 2, 1, 1, 2}), 100 * 12 / std::sqrt(528.0), 1e-9);
}

TEST(Metrics, DegenerateClassPredictions) {
  // Constant prediction: MCC's denominator is 0 -> 0, as sklearn.
  EXPECT_EQ(matthews_corrcoef({1, 1, 1, 1}, {0, 1, 0, 1}), 0.0);
  // No positive predicted or gold: F1 = 0 (sklearn's zero_division), accuracy 100.
  EXPECT_EQ(f1_binary({0, 0, 0}, {0, 0, 0}), 0.0);
  EXPECT_EQ(accuracy({0, 0, 0}, {0, 0, 0}), 100.0);
  EXPECT_TRUE(std::isnan(accuracy({}, {})));
  EXPECT_THROW(accuracy({0, 1}, {0}), Error);
}

TEST(Metrics, PearsonAndSpearmanWithTies) {
  // x = 1 2 3 4 5, y = 2 4 5 4 5; means 3 and 4
  // dx = -2 -1 0 1 2, dy = -2 0 1 0 1: sxy = 4 + 0 + 0 + 0 + 2 = 6, sxx = 10, syy = 6
  // Pearson = 6 / sqrt(60) = 0.7745967
  std::vector<double> x = {1, 2, 3, 4, 5}, y = {2, 4, 5, 4, 5};
  EXPECT_NEAR(pearson(x, y), 100 * 6 / std::sqrt(60.0), 1e-9);
  // Ranks of y with ties averaged: 2 -> 1, the 4s -> 2.5, the 5s -> 4.5: 1 2.5 4.5 2.5 4.5
  // dy = -2 -0.5 1.5 -0.5 1.5: sxy = 4 + 0.5 + 0 - 0.5 + 3 = 7, syy = 9, sxx = 10
  // Spearman = 7 / sqrt(90) = 0.7378648
  EXPECT_EQ(average_ranks(y), (std::vector<double>{1, 2.5, 4.5, 2.5, 4.5}));
  EXPECT_NEAR(spearman(x, y), 100 * 7 / std::sqrt(90.0), 1e-9);
  // Perfect and inverse monotone relations.
  EXPECT_NEAR(spearman({1, 2, 3}, {10, 100, 1000}), 100, 1e-9);
  EXPECT_NEAR(pearson({1, 2, 3}, {6, 4, 2}), -100, 1e-9);
  // A constant side has no correlation: NaN, as scipy.
  EXPECT_TRUE(std::isnan(pearson({1, 2, 3}, {2, 2, 2})));
  EXPECT_TRUE(std::isnan(spearman({1, 1, 1}, {1, 2, 3})));
}

TEST(Metrics, AucWithTiesAsSklearn) {
  // sklearn's documented example: y = 0 0 1 1, scores 0.1 0.4 0.35 0.8 -> 0.75.
  EXPECT_NEAR(roc_auc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 75, 1e-9);
  // Ties: positives 0.35 0.8 0.4, negatives 0.1 0.4. Pairs (P x N = 6) where the positive
  // scores higher: 0.35: 1 (over 0.1); 0.8: 2; 0.4: 1 (over 0.1) + 1/2 (tie with 0.4).
  // AUC = 4.5 / 6 = 0.75
  EXPECT_NEAR(roc_auc({0.1, 0.4, 0.35, 0.8, 0.4}, {0, 0, 1, 1, 1}), 75, 1e-9);
  // All scores tied: every pair counts 1/2.
  EXPECT_NEAR(roc_auc({0.5, 0.5, 0.5}, {0, 1, 1}), 50, 1e-9);
  // One class only: undefined (sklearn raises) -> NaN.
  EXPECT_TRUE(std::isnan(roc_auc({0.2, 0.9}, {1, 1})));
}

TEST(Metrics, ComputeMetricsByTaskDefinition) {
  TaskDef cls;
  cls.metric_meta = {Metric::kAcc, Metric::kF1, Metric::kMcc, Metric::kAuc};
  EvalOutputs out;
  out.predictions = kPred;
  out.labels = kGold;
  out.positive_prob = {0.9, 0.2, 0.6, 0.8, 0.1, 0.4, 0.7, 0.3};
  auto m = compute_metrics(cls, out);
  ASSERT_EQ(m.size(), 4u);
  EXPECT_DOUBLE_EQ(m.at("ACC"), 62.5);
  EXPECT_NEAR(m.at("F1"), 200.0 / 3, 1e-9);
  EXPECT_NEAR(m.at("MCC"), 100 * 4 / std::sqrt(240.0), 1e-9);
  // Positives (gold 1) 0.9 0.8 0.4 0.7 0.3, negatives 0.2 0.6 0.1: wins per positive
  // 3 + 3 + 2 + 3 + 2 = 13 of 15 pairs -> 86.667
  EXPECT_NEAR(m.at("AUC"), 100 * 13.0 / 15, 1e-9);

  TaskDef reg;
  reg.metric_meta = {Metric::kPearson, Metric::kSpearman};
  EvalOutputs r;
  r.scores = {1, 2, 3, 4, 5};
  r.gold_scores = {2, 4, 5, 4, 5};
  auto n = compute_metrics(reg, r);
  EXPECT_NEAR(n.at("Pearson"), 100 * 6 / std::sqrt(60.0), 1e-9);
  EXPECT_NEAR(n.at("Spearman"), 100 * 7 / std::sqrt(90.0), 1e-9);
}

TEST(Metrics, RankingGroupsBecomeOnePredictionEach) {
  // Groups of 3 and 2: scores (0.1 0.7 0.2 | 0.5 0.5), positives at 1 and 1.
  // Argmax: 1 in the first; the tie in the second picks the first candidate (0).
  std::vector<int64_t> pred, gold;
  rank_groups({0.1, 0.7, 0.2, 0.5, 0.5}, {0, 1, 0, 0, 1}, {3, 2}, &pred, &gold);
  EXPECT_EQ(pred, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(gold, (std::vector<int64_t>{1, 1}));
  EXPECT_DOUBLE_EQ(accuracy(pred, gold), 50);
  EXPECT_THROW(rank_groups({0.1, 0.2}, {0, 1}, {3}, &pred, &gold), Error);
}

}  // namespace
}  // namespace mtdnn::task_kinds
