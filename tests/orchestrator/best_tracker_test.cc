// --best-metric and --early-stop-patience: the spec's forms and errors, the score of an
// evaluation (one metric, or GLUE's mean), strictly-better bests, patience, and the
// evaluations a resumed run reads back from metrics.jsonl.
#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "orchestrator/best_tracker.h"
#include "test_support.h"

namespace mtdnn::orchestrator {
namespace {

std::vector<TaskDef> tasks() {
  TaskDef rte, stsb;
  rte.name = "rte";
  rte.metric_meta = {Metric::kAcc};
  stsb.name = "stsb";
  stsb.task_type = "Regression";
  stsb.metric_meta = {Metric::kPearson, Metric::kSpearman};
  return {rte, stsb};
}

std::vector<EvalRecord> evaluation(int64_t step, double acc, double pearson, double spearman) {
  return {{"rte", "dev", step, {{"ACC", acc}}}, {"stsb", "dev", step, {{"Pearson", pearson}, {"Spearman", spearman}}}};
}

std::string error_of(const std::string& spec) {
  try {
    parse_best_metric(spec, tasks());
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(BestTracker, SpecFormsAndErrors) {
  EXPECT_TRUE(parse_best_metric("mean", tasks()).mean);
  const BestMetric m = parse_best_metric("stsb:Spearman", tasks());
  EXPECT_EQ(m.task, "stsb");
  EXPECT_EQ(m.metric, "Spearman");
  EXPECT_EQ(m.describe(), "stsb:Spearman");
  EXPECT_NE(error_of("rte").find("expected TASK:METRIC (e.g. rte:ACC) or mean"), std::string::npos);
  EXPECT_NE(error_of("mnli:ACC").find("'mnli' is not one of the trained tasks"), std::string::npos);
  EXPECT_NE(error_of("rte:F1").find("task 'rte' reports ACC"), std::string::npos);
}

TEST(BestTracker, OneMetricStrictlyBetterAndPatience) {
  BestTracker t(parse_best_metric("rte:ACC", tasks()), 2);
  EXPECT_TRUE(t.update(evaluation(10, 60, 0, 0)));
  EXPECT_FALSE(t.update(evaluation(20, 60, 99, 99))) << "equal is not better; other tasks do not count";
  EXPECT_FALSE(t.should_stop());
  EXPECT_TRUE(t.update(evaluation(30, 61, 0, 0)));
  EXPECT_EQ(t.best_step(), 30);
  EXPECT_FALSE(t.update(evaluation(40, 50, 0, 0)));
  EXPECT_FALSE(t.update(evaluation(50, 55, 0, 0)));
  EXPECT_TRUE(t.should_stop());
  EXPECT_EQ(t.since_best(), 2);
  EXPECT_DOUBLE_EQ(t.best(), 61);
}

TEST(BestTracker, MeanIsGlueScoreAndNanIsNoScore) {
  BestTracker t(parse_best_metric("mean", tasks()), 0);
  // rte 70, stsb (80 + 90) / 2 = 85: (70 + 85) / 2.
  EXPECT_DOUBLE_EQ(*t.score(evaluation(1, 70, 80, 90)), 77.5);
  EXPECT_DOUBLE_EQ(*t.score(evaluation(1, 70, NAN, 90)), 80) << "an undefined metric is left out";
  BestTracker one(parse_best_metric("rte:ACC", tasks()), 1);
  EXPECT_FALSE(one.score(evaluation(1, NAN, 1, 1)).has_value());
  EXPECT_FALSE(one.update({})) << "no evaluation: neither better nor a miss";
  EXPECT_FALSE(one.should_stop());
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(t.should_stop()) << "patience 0 never stops";
}

TEST(BestTracker, EvaluationsReadBackFromMetricsLog) {
  test::ScratchDir dir("best-tracker");
  test::write_file(dir / "metrics.jsonl",
                   "{\"type\":\"train\",\"step\":5,\"loss\":1}\n"
                   "{\"type\":\"eval\",\"step\":10,\"epoch\":0,\"task\":\"rte\",\"split\":\"dev\",\"examples\":8,"
                   "\"ACC\":62.5,\"seconds\":0.1}\n"
                   "{\"type\":\"eval\",\"step\":10,\"epoch\":0,\"task\":\"stsb\",\"split\":\"dev\",\"examples\":8,"
                   "\"Pearson\":null,\"Spearman\":40,\"seconds\":0.1}\n"
                   "{\"type\":\"eval\",\"step\":20,\"epoch\":0,\"task\":\"rte\",\"split\":\"dev\",\"examples\":8,"
                   "\"ACC\":50,\"seconds\":0.1}\n");
  const auto evaluations = evaluations_in_metrics_log((dir / "metrics.jsonl").string());
  ASSERT_EQ(evaluations.size(), 2u);
  ASSERT_EQ(evaluations[0].size(), 2u);
  EXPECT_EQ(evaluations[0][0].metrics.at("ACC"), 62.5);
  EXPECT_TRUE(std::isnan(evaluations[0][1].metrics.at("Pearson")));
  EXPECT_EQ(evaluations[0][1].metrics.size(), 2u);
  EXPECT_EQ(evaluations[1][0].step, 20);
}

}  // namespace
}  // namespace mtdnn::orchestrator
