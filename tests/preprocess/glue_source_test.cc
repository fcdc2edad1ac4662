// GLUE's files as distributed, read through the GLUE layouts: each quirk on the real
// files (when present), plus the ones whose task is not in the shared data (MNLI '-').
#include <gtest/gtest.h>

#include "common/error.h"
#include "preprocess/row_source.h"
#include "test_support.h"

namespace mtdnn::preprocess {
namespace {

TaskDef glue_task(const std::string& name) {
  auto tasks = load_task_defs((test::source_dir() / "tasks/glue.yml").string());
  return select_tasks(tasks, {name}, "glue.yml").front();
}

std::vector<RawRow> read_rows(RowSource& source, size_t limit = SIZE_MAX) {
  std::vector<RawRow> rows;
  RawRow row;
  while (rows.size() < limit && source.next(&row)) rows.push_back(row);
  return rows;
}

std::string glue_dir() { return (test::data_dir() / "glue").string(); }

TEST(GlueSource, ColaTrainHasNoHeader) {
  MTDNN_REQUIRE_DATA();
  TaskDef cola = glue_task("cola");
  auto source = open_glue_source(glue_dir(), cola, "train");
  ASSERT_TRUE(source);
  EXPECT_EQ(source->relative_path(), "CoLA/train.tsv");
  EXPECT_EQ(source->rows(), 8551);
  auto rows = read_rows(*source);
  ASSERT_EQ(rows.size(), 8551u);
  EXPECT_EQ(rows[0].line, 1);
  EXPECT_EQ(rows[0].uid, "0");
  EXPECT_EQ(rows[0].label, "1");
  EXPECT_EQ(rows[0].premise, "Our friends won't buy this analysis, let alone the next one we propose.");
  EXPECT_TRUE(rows[0].hypotheses.empty());
  for (const auto& r : rows) ASSERT_TRUE(r.error.empty()) << r.line << ": " << r.error;
}

TEST(GlueSource, ColaDevLacksFinalNewline) {
  MTDNN_REQUIRE_DATA();
  auto source = open_glue_source(glue_dir(), glue_task("cola"), "dev");
  EXPECT_EQ(source->rows(), 1043);
  auto rows = read_rows(*source);
  ASSERT_EQ(rows.size(), 1043u);
  EXPECT_FALSE(rows.back().premise.empty());
}

TEST(GlueSource, TestFilesHaveHeaderIndexAndNoLabels) {
  MTDNN_REQUIRE_DATA();
  auto source = open_glue_source(glue_dir(), glue_task("cola"), "test");
  EXPECT_EQ(source->rows(), 1063);
  auto rows = read_rows(*source, 1);
  EXPECT_EQ(rows[0].line, 2);
  EXPECT_EQ(rows[0].uid, "0");
  EXPECT_EQ(rows[0].premise, "Bill whistled past the house.");
  EXPECT_EQ(rows[0].label, "");
}

TEST(GlueSource, Sst2KeepsTrailingSpaceAndUsesRowNumbers) {
  MTDNN_REQUIRE_DATA();
  auto source = open_glue_source(glue_dir(), glue_task("sst"), "train");
  auto rows = read_rows(*source, 2);
  EXPECT_EQ(rows[1].uid, "1");
  EXPECT_EQ(rows[0].premise, "hide new secretions from the parental units ");
  EXPECT_EQ(rows[0].label, "0");
}

TEST(GlueSource, MrpcBomHeaderIsRecognised) {
  MTDNN_REQUIRE_DATA();
  auto source = open_glue_source(glue_dir(), glue_task("mrpc"), "train");
  EXPECT_EQ(source->rows(), 3668);
  auto rows = read_rows(*source);
  ASSERT_EQ(rows.size(), 3668u);
  EXPECT_EQ(rows[0].label, "1");
  EXPECT_EQ(rows[0].premise.substr(0, 20), "Amrozi accused his b");
  ASSERT_EQ(rows[0].hypotheses.size(), 1u);
  for (const auto& r : rows) ASSERT_TRUE(r.error.empty()) << r.line << ": " << r.error;
  auto test = open_glue_source(glue_dir(), glue_task("mrpc"), "test");
  EXPECT_EQ(read_rows(*test, 1)[0].uid, "0");
}

TEST(GlueSource, StsbScoreIsLastColumnAndTestHasNine) {
  MTDNN_REQUIRE_DATA();
  auto rows = read_rows(*open_glue_source(glue_dir(), glue_task("stsb"), "train"), 1);
  EXPECT_EQ(rows[0].label, "5.000");
  EXPECT_EQ(rows[0].premise, "A plane is taking off.");
  EXPECT_EQ(rows[0].hypotheses[0], "An air plane is taking off.");
  auto test = read_rows(*open_glue_source(glue_dir(), glue_task("stsb"), "test"));
  ASSERT_EQ(test.size(), 1379u);
  for (const auto& r : test) ASSERT_TRUE(r.error.empty()) << r.line << ": " << r.error;
}

TEST(GlueSource, QnliUnbalancedQuotesArePlainText) {
  MTDNN_REQUIRE_DATA();
  auto rows = read_rows(*open_glue_source(glue_dir(), glue_task("qnli"), "dev"));
  ASSERT_EQ(rows.size(), 5463u);
  // Line 7 holds a lone '"' that a CSV reader would take as the start of a quoted field.
  EXPECT_EQ(rows[5].line, 7);
  EXPECT_EQ(rows[5].label, "not_entailment");
  EXPECT_NE(rows[5].hypotheses[0].find("\"Wise up or die."), std::string::npos);
  for (const auto& r : rows) ASSERT_TRUE(r.error.empty()) << r.line << ": " << r.error;
}

TEST(GlueSource, MnliDashLabelsAreMarkedAndSplitNamesMapToFiles) {
  test::ScratchDir dir("mnli");
  std::string header =
      "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
      "sentence2_parse\tsentence1\tsentence2\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label\n";
  std::string row = "0\t1\t1n\tfiction\t(x)\t(y)\t(X)\t(Y)\tA man.\tA person.\tentailment\tentailment\t"
                    "neutral\tentailment\tentailment\tentailment\n";
  std::string dash = "1\t2\t2n\tfiction\t(x)\t(y)\t(X)\t(Y)\tA cat.\tA dog.\tneutral\tcontradiction\t"
                     "entailment\tneutral\tcontradiction\t-\n";
  test::write_file(dir / "MNLI/dev_matched.tsv", header + row + dash);
  auto source = open_glue_source(dir.path().string(), glue_task("mnli"), "matched_dev");
  ASSERT_TRUE(source);
  EXPECT_EQ(source->relative_path(), "MNLI/dev_matched.tsv");
  auto rows = read_rows(*source);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].label, "entailment");
  EXPECT_EQ(rows[0].uid, "0");
  EXPECT_EQ(rows[0].hypotheses[0], "A person.");
  EXPECT_FALSE(rows[0].unlabeled);
  EXPECT_TRUE(rows[1].unlabeled);
}

TEST(GlueSource, WrongColumnCountIsRowErrorAndMissingHeaderColumnIsFatal) {
  test::ScratchDir dir("rte");
  test::write_file(dir / "RTE/train.tsv", "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\ta\tb\n");
  auto rows = read_rows(*open_glue_source(dir.path().string(), glue_task("rte"), "train"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows[0].error.empty());
  EXPECT_NE(rows[1].error.find("3 columns, expected 4"), std::string::npos) << rows[1].error;
  EXPECT_EQ(rows[1].line, 3);

  test::write_file(dir / "RTE/dev.tsv", "index\tsentence1\tsentence_2\tlabel\n");
  try {
    open_glue_source(dir.path().string(), glue_task("rte"), "dev");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("RTE/dev.tsv:1: header lacks the column 'sentence2'"), std::string::npos)
        << e.what();
  }
}

// A split of the user's own (scripts/reproduce.sh's slice held out from train) is
// <split>.tsv in the task's layout: labelled, and headerless where train is (CoLA).
TEST(GlueSource, OtherSplitNamesReadTheirOwnFileInTheLabelledLayout) {
  test::ScratchDir dir("heldout");
  test::write_file(dir / "CoLA/heldout.tsv", "gj04\t1\t\tThe cat sat.\nbc01\t0\t*\tSat cat the.\n");
  auto source = open_glue_source(dir.path().string(), glue_task("cola"), "heldout");
  ASSERT_TRUE(source);
  EXPECT_EQ(source->relative_path(), "CoLA/heldout.tsv");
  auto rows = read_rows(*source);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].label, "0");
  EXPECT_EQ(rows[1].premise, "Sat cat the.");

  test::write_file(dir / "RTE/heldout_test.tsv", "index\tsentence1\tsentence2\n0\tA.\tB.\n");
  auto unlabelled = read_rows(*open_glue_source(dir.path().string(), glue_task("rte"), "heldout_test"));
  ASSERT_EQ(unlabelled.size(), 1u);
  EXPECT_TRUE(unlabelled[0].error.empty()) << unlabelled[0].error;
  EXPECT_TRUE(unlabelled[0].label.empty());
}

TEST(RowSource, MissingSplitFileNamesBothLayouts) {
  test::ScratchDir dir("missing");
  try {
    open_row_source(dir.path().string(), glue_task("qnli"), "train");
    FAIL() << "no error";
  } catch (const InputError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("qnli_train.tsv"), std::string::npos) << m;
    EXPECT_NE(m.find("QNLI/train.tsv"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace mtdnn::preprocess
