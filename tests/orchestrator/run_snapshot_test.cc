// The snapshot's meta.json against the run that resumes it: a checkpoint of another task
// list, task definition, tokenizer or step schedule is refused with an error naming both.
#include <gtest/gtest.h>

#include "expect_input_error.h"
#include "orchestrator/run_snapshot.h"
#include "toy_tasks.h"

namespace mtdnn::orchestrator {
namespace {

class RunSnapshotTest : public ::testing::Test {
 protected:
  RunSnapshotTest() {
    in.tasks = parse_task_defs(test::kToyTasks, "toy tasks");
    in.tokenizer.vocab_size = 17;
    in.tokenizer.vocab_sha256 = "abc";
    in.plan.total = 10;
    in.plan.warmup = 1;
    in.bert.vocab_size = 17;
    Progress p;
    p.step = 3;
    meta = RunSnapshot(in, o, nlohmann::json::object(), 0, 1, {}).meta(p);
  }
  void check(const nlohmann::json& m) const {
    RunSnapshot(in, o, nlohmann::json::object(), 0, 1, {}).check_compatible(m, "--resume ckpt-3");
  }
  RunInputs in;
  TrainOptions o;
  nlohmann::json meta;
};

TEST_F(RunSnapshotTest, MetaHoldsTheRunAndIsCompatibleWithIt) {
  EXPECT_EQ(meta.at("step"), 3);
  EXPECT_EQ(meta.at("lr_schedule").at("total_steps"), 10);
  EXPECT_EQ(meta.at("lr_schedule").at("warmup_steps"), 1);
  EXPECT_EQ(meta.at("tasks").size(), 3u);
  EXPECT_EQ(meta.at("world_size"), 1);
  EXPECT_NO_THROW(check(meta));
}

TEST_F(RunSnapshotTest, OtherTasksAreRefused) {
  nlohmann::json m = meta;
  m["tasks"].erase(1);
  test::expect_input_error([&] { check(m); },
                           {"--resume ckpt-3", "the checkpoint trained tasks [topic,qa], this run trains [topic,sim,qa]"});
}

TEST_F(RunSnapshotTest, AnotherTaskDefinitionIsRefused) {
  nlohmann::json m = meta;
  m["tasks"][1]["n_class"] = 3;
  test::expect_input_error([&] { check(m); }, {"--resume ckpt-3", "task 'sim' has another definition"});
}

TEST_F(RunSnapshotTest, AnotherTokenizerIsRefused) {
  nlohmann::json m = meta;
  m["tokenizer"]["vocab_sha256"] = "def";
  test::expect_input_error([&] { check(m); }, {"--resume ckpt-3", "tokenizer", "\"def\"", "\"abc\""});
}

TEST_F(RunSnapshotTest, AnotherStepScheduleIsRefused) {
  nlohmann::json m = meta;
  m["lr_schedule"]["total_steps"] = 12;
  test::expect_input_error([&] { check(m); }, {"--resume ckpt-3", "has 12 steps (1 warm-up), this one 10 (1 warm-up)"});
}

}  // namespace
}  // namespace mtdnn::orchestrator
