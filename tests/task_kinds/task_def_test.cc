// Task definition parsing: mt-dnn's schema as it is, and an error naming file, line and
// key for each kind of mistake.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "task_kinds/task_def.h"
#include "test_support.h"

namespace mtdnn {
namespace {

std::string error_of(const std::string& yaml) {
  try {
    parse_task_defs(yaml, "tasks.yml");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(TaskDef, ShippedGlueFileHasMtdnnNames) {
  auto tasks = load_task_defs((test::source_dir() / "tasks/glue.yml").string());
  std::vector<std::string> names;
  for (const auto& t : tasks) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"cola", "mnli", "mrpc", "qnli", "qqp", "rte", "sst", "stsb", "wnli"}));
  const TaskDef& mnli = tasks[1];
  EXPECT_EQ(mnli.n_class, 3);
  EXPECT_EQ(mnli.labels[2], "entailment");
  EXPECT_EQ(mnli.label_id("neutral"), 1);
  EXPECT_EQ(mnli.label_id("-"), -1);
  EXPECT_EQ(mnli.split_names.size(), 5u);
  EXPECT_TRUE(mnli.enable_san);
  ASSERT_TRUE(mnli.dropout_p.has_value());
  EXPECT_DOUBLE_EQ(*mnli.dropout_p, 0.3);
  const TaskDef& stsb = tasks[7];
  EXPECT_EQ(stsb.task_type, "Regression");
  EXPECT_EQ(stsb.metric_meta, (std::vector<Metric>{Metric::kPearson, Metric::kSpearman}));
  EXPECT_EQ(tasks[0].label_id("1"), 1);
  EXPECT_EQ(tasks[0].label_id("2"), -1);
  EXPECT_EQ(tasks[0].split_names, (std::vector<std::string>{"train", "dev", "test"}));
}

TEST(TaskDef, JsonRoundTrip) {
  auto tasks = load_task_defs((test::source_dir() / "tasks/glue.yml").string());
  for (const auto& t : tasks) EXPECT_EQ(TaskDef::from_json(t.to_json()).to_json(), t.to_json()) << t.name;
}

TEST(TaskDef, DefaultsFollowTaskType) {
  auto tasks = parse_task_defs("sim:\n  task_type: Regression\n  data_format: PremiseAndOneHypothesis\n  n_class: 1\n"
                               "rank:\n  task_type: Ranking\n  data_format: PremiseAndMultiHypothesis\n  n_class: 1\n",
                               "t.yml");
  EXPECT_EQ(tasks[0].loss, "MseCriterion");
  EXPECT_EQ(tasks[1].loss, "RankCeCriterion");
  EXPECT_FALSE(tasks[0].dropout_p.has_value());
}

// mt-dnn's keys for features mtdnn lacks are refused by name, with the reason, rather than
// accepted and silently without effect.
TEST(TaskDef, UnimplementedMtdnnKeysAreErrorsNamingKeyAndTask) {
  const std::string base = "cola:\n  task_type: Classification\n  data_format: PremiseOnly\n  n_class: 2\n";
  for (const char* key : {"kd_loss: MseCriterion", "adv_loss: SymKlCriterion", "actf: tanh"}) {
    const std::string e = error_of(base + "  " + key + "\n");
    const std::string name = std::string(key).substr(0, std::string(key).find(':'));
    EXPECT_NE(e.find("tasks.yml:5"), std::string::npos) << e;
    EXPECT_NE(e.find("task 'cola' sets '" + name + "'"), std::string::npos) << e;
    EXPECT_NE(e.find("Remove the key"), std::string::npos) << e;
  }
  EXPECT_NE(error_of(base + "  kd_loss: MseCriterion\n").find("no distillation"), std::string::npos);
}

TEST(TaskDef, ErrorsNameFileLineAndKey) {
  std::string base = "good:\n  task_type: Classification\n  data_format: PremiseOnly\n  n_class: 2\n";
  auto e = error_of(base + "  metirc_meta: [ACC]\n");
  EXPECT_NE(e.find("tasks.yml:5"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown key 'metirc_meta'"), std::string::npos) << e;

  e = error_of("my_task:\n  task_type: Classification\n  data_format: PremiseOnly\n  n_class: 2\n");
  EXPECT_NE(e.find("contains '_'"), std::string::npos) << e;
  EXPECT_NE(e.find("'mytask'"), std::string::npos) << e;

  e = error_of("t:\n  task_type: Classification\n  data_format: PremiseOnly\n  n_class: 3\n  labels: [a, b]\n");
  EXPECT_NE(e.find("2 labels but n_class: 3"), std::string::npos) << e;

  e = error_of("t:\n  task_type: Span\n  data_format: PremiseOnly\n  n_class: 2\n");
  EXPECT_NE(e.find("does not support"), std::string::npos) << e;

  e = error_of("t:\n  task_type: Classification\n  data_format: Premise\n  n_class: 2\n");
  EXPECT_NE(e.find("tasks.yml:3: unknown data_format 'Premise'"), std::string::npos) << e;

  e = error_of("t:\n  task_type: Classification\n  data_format: PremiseOnly\n  n_class: 2\n  metric_meta: [ACC, BLEU]\n");
  EXPECT_NE(e.find("unknown metric_meta 'BLEU'"), std::string::npos) << e;

  e = error_of("t:\n  task_type: Regression\n  data_format: PremiseOnly\n  n_class: 1\n  loss: CeCriterion\n");
  EXPECT_NE(e.find("needs loss MseCriterion"), std::string::npos) << e;

  e = error_of("t:\n  task_type: Classification\n  data_format: PremiseOnly\n");
  EXPECT_NE(e.find("lacks the required key 'n_class'"), std::string::npos) << e;

  e = error_of("t:\n  task_type: Classification\n  data_format: PremiseAndMultiHypothesis\n  n_class: 2\n");
  EXPECT_NE(e.find("task_type Classification reads data_format PremiseOnly, PremiseAndOneHypothesis, not "
                   "PremiseAndMultiHypothesis"), std::string::npos) << e;

  e = error_of("t: [1, 2\n");
  EXPECT_NE(e.find("invalid YAML"), std::string::npos) << e;
}

TEST(TaskDef, MaskLmTakesBertDefaultsAndItsOwnKeys) {
  auto tasks = parse_task_defs("wiki:\n  task_type: MaskLM\n  data_format: MLM\n  n_class: 2\n"
                               "  whole_word_mask: true\n  max_predictions_per_seq: 77\n", "p.yml");
  const TaskDef& t = tasks.at(0);
  EXPECT_EQ(t.loss, "MlmCriterion");
  EXPECT_EQ(t.split_names, (std::vector<std::string>{"train", "dev"}));
  EXPECT_DOUBLE_EQ(t.pretrain.mask_prob, 0.15);
  EXPECT_EQ(t.pretrain.max_predictions, 77);
  EXPECT_TRUE(t.pretrain.whole_word);
  EXPECT_TRUE(t.pretrain.next_sentence);
  EXPECT_DOUBLE_EQ(t.pretrain.short_seq_prob, 0.1);
  // Stored in shards as JSON and read back through the same rules.
  const TaskDef back = TaskDef::from_json(t.to_json());
  EXPECT_EQ(back.to_json(), t.to_json());
  EXPECT_EQ(back.pretrain.max_predictions, 77);

  auto error_of = [](const std::string& yaml) {
    try {
      parse_task_defs(yaml, "p.yml");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string e = error_of("t:\n  task_type: Classification\n  data_format: PremiseOnly\n  n_class: 2\n  mask_prob: 0.2\n");
  EXPECT_NE(e.find("p.yml:5: 'mask_prob' is a MaskLM key; task 't' is Classification"), std::string::npos) << e;
  e = error_of("t:\n  task_type: MaskLM\n  data_format: PremiseOnly\n  n_class: 2\n");
  EXPECT_NE(e.find("task_type MaskLM reads data_format MLM"), std::string::npos) << e;
  e = error_of("t:\n  task_type: MaskLM\n  data_format: MLM\n  n_class: 2\n  metric_meta: [ACC]\n");
  EXPECT_NE(e.find("takes no labels, metric_meta or enable_san"), std::string::npos) << e;
}

TEST(TaskDef, SelectTasksNamesUnknown) {
  auto tasks = load_task_defs((test::source_dir() / "tasks/glue.yml").string());
  EXPECT_EQ(select_tasks(tasks, {"rte", "cola"}, "glue.yml")[0].name, "rte");
  try {
    select_tasks(tasks, {"rtee"}, "glue.yml");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("task 'rtee' is not defined in glue.yml"), std::string::npos);
  }
}

}  // namespace
}  // namespace mtdnn
