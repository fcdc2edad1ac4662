// The run's console formatting and records: durations, counts, a training record and its
// line, an evaluation record and its line.
#include <gtest/gtest.h>

#include <cmath>

#include "orchestrator/run_report.h"

namespace mtdnn::orchestrator {
namespace {

TEST(RunReport, DurationsAndCounts) {
  EXPECT_EQ(format_duration(42.4), "42s");
  EXPECT_EQ(format_duration(187), "3m07s");
  EXPECT_EQ(format_duration(7500), "2h05m");
  EXPECT_EQ(format_duration(NAN), "?");
  EXPECT_EQ(format_duration(-1), "?");
  EXPECT_EQ(format_count(950), "950");
  EXPECT_EQ(format_count(12345), "12.3k");
  EXPECT_EQ(format_count(4560000), "4.56M");
}

TEST(RunReport, TrainingRecordAndLine) {
  Progress p;
  p.step = 7;
  p.examples = 28;
  p.real_tokens = 300;
  p.window.add(120, 0.5, false);
  p.window.add(180, 0.25, false);
  worker::StepResult r;
  r.loss = 0.25;
  r.lr = 2e-5;
  r.grad_norm = NAN;  // a skipped step
  RunClock clock;
  const StepWaits waits{1.5, 0.25, 0.125};
  const auto j = train_record(p, r, 1, "rte", clock, waits, 125);
  EXPECT_EQ(j.at("type"), "train");
  EXPECT_EQ(j.at("step"), 7);
  EXPECT_EQ(j.at("epoch"), 1);
  EXPECT_EQ(j.at("task"), "rte");
  EXPECT_EQ(j.at("loss"), 0.25);
  EXPECT_EQ(j.at("loss_avg"), 0.375);
  EXPECT_TRUE(j.at("grad_norm").is_null());
  EXPECT_EQ(j.at("examples"), 28);
  EXPECT_EQ(j.at("loader_wait_s"), 1.5);
  EXPECT_EQ(j.at("imbalance_wait_s"), 0.25);
  EXPECT_EQ(j.at("comm_wait_s"), 0.125);
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"type", "step", "epoch", "task", "loss", "loss_avg", "lr", "grad_norm",
                                            "examples", "real_tokens", "elapsed_s", "steps_per_s", "tokens_per_s",
                                            "skipped_steps", "loader_wait_s", "imbalance_wait_s", "comm_wait_s",
                                            "eta_s"}));
  EXPECT_EQ(j.at("eta_s"), 125);
  EXPECT_TRUE(train_record(p, r, 1, "rte", clock, waits, NAN).at("eta_s").is_null());
  const std::string line = train_line(p, r, 1, "rte", 20, clock, 125);
  EXPECT_EQ(line.rfind("step 7/20 epoch 1 rte loss 0.2500 (avg 0.3750) lr 2.00e-05 | ", 0), 0u) << line;
  EXPECT_NE(line.find(" steps/s "), std::string::npos) << line;
  EXPECT_NE(line.find(" tok/s | ETA 2m05s"), std::string::npos) << line;
}

// The ETA counts this run's steps only (a resumed run's earlier steps took no time here).
TEST(RunReport, EtaFromThisRunsRate) {
  EXPECT_DOUBLE_EQ(eta_seconds(30, 10, 110, 40), 160);  // 20 steps in 40 s: 80 left at 0.5/s
  EXPECT_DOUBLE_EQ(eta_seconds(110, 10, 110, 200), 0);
  EXPECT_TRUE(std::isnan(eta_seconds(10, 10, 110, 5)));
  EXPECT_EQ(format_duration(eta_seconds(10, 10, 110, 5)), "?");
}

TEST(RunReport, EvaluationRecordAndLine) {
  const EvalRecord rec{"mrpc", "dev", 12, {{"ACC", 81.25}, {"F1", 87.5}}};
  const auto j = eval_record(rec, 2, 408, 1.5);
  EXPECT_EQ(j.dump(), "{\"type\":\"eval\",\"step\":12,\"epoch\":2,\"task\":\"mrpc\",\"split\":\"dev\",\"examples\":408,"
                      "\"ACC\":81.25,\"F1\":87.5,\"seconds\":1.5}");
  EXPECT_EQ(eval_line(rec), "step 12: mrpc/dev ACC 81.25 F1 87.50");
}

}  // namespace
}  // namespace mtdnn::orchestrator
