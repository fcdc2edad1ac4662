// mtdnn-preprocess end to end: canonical TSV of every data format -> shards -> reader,
// byte-reproducible output, each bad-input case with its file:line message and nothing
// half-written left behind, and the real GLUE tasks without a single bad row.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "preprocess/preprocess_job.h"
#include "preprocess/vocab.h"
#include "preprocess/wordpiece_tokenizer.h"
#include "sharding/split_reader.h"
#include "expect_input_error.h"
#include "test_support.h"
#include "toy_tasks.h"

namespace fs = std::filesystem;

namespace mtdnn::preprocess {
namespace {

using test::kToyTasks;
using test::kToyVocab;

class PreprocessJob : public ::testing::Test {
 protected:
  PreprocessJob() : dir_("job") {
    test::write_file(dir_ / "vocab.txt", kToyVocab);
    test::write_file(dir_ / "tasks.yml", kToyTasks);
    write_input("topic_train.tsv", "u1\tpets\tthe cat sat on the mat.\nu2\tother\twho ran?\nu3\tpets\ta dogs\n");
    write_input("topic_dev.tsv", "d1\tother\tthe dog\n");
    write_input("topic_test.tsv", "t1\t\tthe cat\n");
    write_input("sim_train.tsv", "s1\t4.5\tthe cat sat\tthe dog sat\ns2\t0\ta mat\tthe cat\n");
    write_input("sim_dev.tsv", "s3\t1.25\tthe\tmat\n");
    write_input("sim_test.tsv", "s4\t0\tthe\tmat\n");
    write_input("qa_train.tsv", "q1\tc1,c2,c3\t1\twho sat ?\tthe cat sat\tthe dog ran\ta mat\n"
                                "q2\tc4,c5\t0,1\twho ran ?\tthe mat\tthe dog ran\n");
    write_input("qa_test.tsv", "q3\tc6,c7\t0\twho ?\tthe cat\tthe dog\n");
    options_.task_def_path = (dir_ / "tasks.yml").string();
    options_.input_dir = (dir_ / "in").string();
    options_.vocab_path = (dir_ / "vocab.txt").string();
    options_.out_dir = (dir_ / "out").string();
    options_.max_seq_len = 16;
    options_.threads = 2;
  }

  void write_input(const std::string& name, const std::string& content) { test::write_file(dir_ / "in" / name, content); }

  std::vector<int32_t> ids(const std::string& text) {
    Vocab vocab = Vocab::load(options_.vocab_path);
    WordPieceTokenizer tok(vocab, true);
    std::vector<int32_t> out;
    tok.encode(text, &out);
    return out;
  }

  // Runs the job expecting an InputError whose message contains each needle.
  std::string expect_error(const std::vector<std::string>& needles) {
    return test::expect_input_error([&] { run_preprocess(options_); }, needles);
  }

  test::ScratchDir dir_;
  PreprocessOptions options_;
};

TEST_F(PreprocessJob, EveryDataFormatRoundTrips) {
  auto manifests = run_preprocess(options_);
  ASSERT_EQ(manifests.size(), 3u);
  std::string out = options_.out_dir;

  sharding::SplitReader topic(out, "topic", "train");
  ASSERT_EQ(topic.size(), 3);
  auto e = topic.get(0);
  EXPECT_EQ(e.uid, "u1");
  EXPECT_EQ(e.label, 0);
  std::vector<int32_t> expected = {2};
  for (int32_t id : ids("the cat sat on the mat.")) expected.push_back(id);
  expected.push_back(3);
  EXPECT_EQ(e.token_ids, expected);
  EXPECT_EQ(e.type_boundary, static_cast<int32_t>(expected.size()));
  EXPECT_EQ(topic.get(1).label, 1);
  EXPECT_EQ(topic.get(2).token_ids, (std::vector<int32_t>{2, 12, 10, 14, 3}));  // "a dog ##s"
  EXPECT_EQ(sharding::SplitReader(out, "topic", "test").label_kind(), sharding::LabelKind::kNone);

  sharding::SplitReader sim(out, "sim", "train");
  EXPECT_FLOAT_EQ(sim.get(0).score, 4.5f);
  EXPECT_FLOAT_EQ(sim.get(1).score, 0.0f);
  EXPECT_EQ(sim.get(1).token_ids, (std::vector<int32_t>{2, 12, 9, 3, 5, 6, 3}));
  EXPECT_EQ(sim.get(1).type_boundary, 4);

  sharding::SplitReader qa(out, "qa", "train");
  EXPECT_EQ(qa.size(), 5);
  EXPECT_EQ(qa.num_groups(), 2);
  EXPECT_EQ(qa.shards()[0].group_uid(0), "q1");
  std::vector<int32_t> labels;
  std::vector<std::string> uids;
  for (const auto& x : qa.get_range(0, 5)) {
    labels.push_back(x.label);
    uids.push_back(x.uid);
  }
  EXPECT_EQ(labels, (std::vector<int32_t>{0, 1, 0, 0, 1}));
  EXPECT_EQ(uids, (std::vector<std::string>{"c1", "c2", "c3", "c4", "c5"}));
  qa.verify_checksums();
}

TEST_F(PreprocessJob, TruncatesPairsLongestFirstAndCountsThem) {
  write_input("sim_train.tsv", "s1\t1\tthe cat sat on the mat the cat sat on the mat\tthe dog\n");
  options_.tasks = {"sim"};
  auto m = run_preprocess(options_);
  EXPECT_EQ(m[0].splits[0].truncated, 1);
  auto e = sharding::SplitReader(options_.out_dir, "sim", "train").get(0);
  EXPECT_EQ(e.token_ids.size(), 16u);
  EXPECT_EQ(e.token_ids.size() - e.type_boundary, 3u);  // "the dog [SEP]" kept whole
}

TEST_F(PreprocessJob, BytesDoNotDependOnThreadsOrShardsRun) {
  options_.shards = 2;
  options_.threads = 1;
  options_.emit_jsonl = true;
  run_preprocess(options_);
  PreprocessOptions again = options_;
  again.out_dir = (dir_ / "out2").string();
  again.threads = 2;
  run_preprocess(again);
  size_t files = 0;
  for (const auto& f : fs::recursive_directory_iterator(options_.out_dir)) {
    if (!f.is_regular_file()) continue;
    auto rel = fs::relative(f.path(), options_.out_dir);
    EXPECT_EQ(test::read_file(f.path()), test::read_file(fs::path(again.out_dir) / rel)) << rel;
    ++files;
  }
  EXPECT_GT(files, 10u);
}

TEST_F(PreprocessJob, JsonLinesFollowMtdnnLayout) {
  options_.emit_jsonl = true;
  run_preprocess(options_);
  std::ifstream in(fs::path(options_.out_dir) / "qa" / "qa_train.json");
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["uid"], "q1");
  EXPECT_EQ(j["ruid"], (std::vector<std::string>{"c1", "c2", "c3"}));
  EXPECT_EQ(j["label"], 1);
  EXPECT_EQ(j["token_id"].size(), 3u);
  std::ifstream sim(fs::path(options_.out_dir) / "sim" / "sim_train.json");
  ASSERT_TRUE(std::getline(sim, line));
  j = nlohmann::json::parse(line);
  EXPECT_EQ(j["label"], 4.5);
  EXPECT_EQ(j["token_id"].size(), j["type_id"].size());
  EXPECT_EQ(j["type_id"].back(), 1);
  EXPECT_EQ(j["type_id"].front(), 0);
}

TEST_F(PreprocessJob, EachBadRowIsNamedByFileAndLine) {
  struct Case {
    std::string file, content, message;
  };
  std::vector<Case> cases = {
      {"topic_train.tsv", "u1\tpets\tthe cat\nu2\tpets\n", "topic_train.tsv:2: 2 columns"},
      {"topic_train.tsv", "u1\tpets\tthe cat\textra\n", "topic_train.tsv:1: 4 columns"},
      {"topic_train.tsv", "u1\tpets\tthe cat\nu2\tfish\tthe dog\n", "topic_train.tsv:2: label 'fish' is not one of"},
      {"sim_train.tsv", "s1\tfive\tthe\tcat\n", "sim_train.tsv:1: regression score 'five'"},
      {"topic_train.tsv", "u1\tpets\tthe \xff cat\n", "topic_train.tsv:1: premise text: invalid UTF-8"},
      {"topic_train.tsv", "u1\tpets\t\n", "topic_train.tsv:1: empty premise text"},
      {"sim_train.tsv", "s1\t1\tthe\t\n", "sim_train.tsv:1: empty hypothesis text"},
      {"topic_train.tsv", "u1\tpets\t" + std::string(2 << 20, 'a') + "\n", "topic_train.tsv:1: line longer than"},
      {"qa_train.tsv", "q1\tc1,c2\t0,0\twho\tthe\tcat\n", "qa_train.tsv:1: ranking group has 0 positive"},
      {"qa_train.tsv", "q1\tc1,c2\t1,1\twho\tthe\tcat\n", "qa_train.tsv:1: ranking group has 2 positive"},
      {"qa_train.tsv", "q1\tc1,c2\t5\twho\tthe\tcat\n", "qa_train.tsv:1: ranking label '5'"},
      {"qa_train.tsv", "q1\tc1,c2,c3\t0\twho\tthe\tcat\n", "qa_train.tsv:1: 3 candidate uids but 2 hypotheses"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    test::ScratchDir input("bad");
    for (const auto& f : fs::directory_iterator(dir_ / "in")) fs::copy(f.path(), input / f.path().filename().string());
    test::write_file(input / c.file, c.content);
    options_.input_dir = input.path().string();
    options_.out_dir = (input / "out").string();
    expect_error({c.message});
    // Nothing half-written: the failing task's folder does not exist, no temporary remains.
    std::string task = c.file.substr(0, c.file.find('_'));
    EXPECT_FALSE(fs::exists(fs::path(options_.out_dir) / task));
    for (const auto& f : fs::directory_iterator(options_.out_dir))
      EXPECT_NE(f.path().filename().string().front(), '.') << f.path();
  }
}

TEST_F(PreprocessJob, SkipModeCountsBadRowsPerFile) {
  write_input("topic_train.tsv", "u1\tpets\tthe cat\nu2\tfish\tthe dog\nu3\tother\t\nu4\tother\tthe mat\n");
  options_.skip_bad_rows = true;
  options_.tasks = {"topic"};
  auto m = run_preprocess(options_);
  const auto* train = m[0].find_split("train");
  EXPECT_EQ(train->rows, 4);
  EXPECT_EQ(train->skipped_bad, 2);
  EXPECT_EQ(train->examples, 2);
  EXPECT_EQ(sharding::SplitReader(options_.out_dir, "topic", "train").get(1).uid, "u4");
  EXPECT_NE(summary_table(m, 1.0).find("topic    train"), std::string::npos);
}

TEST_F(PreprocessJob, MissingSplitFileAndBadVocabAreErrors) {
  fs::remove(dir_ / "in" / "sim_dev.tsv");
  expect_error({"missing split file for task 'sim' split 'dev'", "sim_dev.tsv"});
  options_.splits = {"train"};
  options_.tasks = {"sim"};
  run_preprocess(options_);  // only the asked splits are needed

  test::write_file(dir_ / "novocab.txt", "[PAD]\n[UNK]\n[SEP]\nthe\n");
  options_.vocab_path = (dir_ / "novocab.txt").string();
  expect_error({"novocab.txt", "[CLS]"});
}

TEST_F(PreprocessJob, OutputFolderWithAnotherDatasetIsRefusedAndKept) {
  options_.tasks = {"topic"};
  run_preprocess(options_);
  std::string manifest = test::read_file(fs::path(options_.out_dir) / "topic" / "manifest.json");
  options_.lower_case = false;
  expect_error({"already holds a dataset made with another tokenizer", "lower_case"});
  options_.lower_case = true;
  options_.max_seq_len = 32;
  expect_error({"max_seq_len"});
  EXPECT_EQ(test::read_file(fs::path(options_.out_dir) / "topic" / "manifest.json"), manifest);

  // A folder that mtdnn-preprocess did not write is never overwritten.
  options_.max_seq_len = 16;
  options_.tasks = {"sim"};
  test::write_file(fs::path(options_.out_dir) / "sim" / "notes.txt", "mine");
  expect_error({"not a task folder written by mtdnn-preprocess"});
  EXPECT_EQ(test::read_file(fs::path(options_.out_dir) / "sim" / "notes.txt"), "mine");
}

TEST_F(PreprocessJob, FailedRerunKeepsThePreviousCompleteTask) {
  options_.tasks = {"topic"};
  run_preprocess(options_);
  std::string manifest = test::read_file(fs::path(options_.out_dir) / "topic" / "manifest.json");
  write_input("topic_dev.tsv", "d1\tnope\tthe dog\n");
  expect_error({"topic_dev.tsv:1"});
  EXPECT_EQ(test::read_file(fs::path(options_.out_dir) / "topic" / "manifest.json"), manifest);
  sharding::SplitReader(options_.out_dir, "topic", "dev").verify_checksums();
}

TEST_F(PreprocessJob, ReaderRejectsForeignTokenizerAndTaskDefinition) {
  run_preprocess(options_);
  sharding::SplitReader reader(options_.out_dir, "topic", "train");
  sharding::TokenizerIdentity other = reader.manifest().tokenizer;
  other.vocab_sha256 = "0000";
  try {
    reader.expect(reader.manifest().task_def, other);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("vocab_sha256"), std::string::npos) << e.what();
  }
  TaskDef changed = reader.manifest().task_def;
  changed.labels = {"other", "pets"};
  try {
    reader.expect(changed, reader.manifest().tokenizer);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("labels"), std::string::npos) << e.what();
  }
  // A shard changed on disk after preprocessing fails the checksum naming the file.
  auto shard = fs::path(options_.out_dir) / "topic" / "train-00000-of-00001.h5";
  std::string bytes = test::read_file(shard);
  bytes[bytes.size() - 1] ^= 1;
  test::write_file(shard, bytes);
  try {
    reader.verify_checksums();
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("train-00000-of-00001.h5"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sharding::SplitReader(options_.out_dir, "nosuch", "train"), InputError);
  EXPECT_THROW(sharding::SplitReader(options_.out_dir, "topic", "nosuch"), InputError);
}

TEST(PreprocessGlue, EveryPresentGlueTaskWithoutABadRow) {
  MTDNN_REQUIRE_DATA();
  test::ScratchDir out("glue");
  PreprocessOptions o;
  o.task_def_path = (test::source_dir() / "tasks/glue.yml").string();
  o.input_dir = (test::data_dir() / "glue").string();
  o.vocab_path = (test::data_dir() / "vocab/bert-base-uncased-vocab.txt").string();
  o.out_dir = out.path().string();
  o.shards = 3;
  o.tasks = {"cola", "sst", "mrpc", "stsb", "rte", "wnli"};
  auto manifests = run_preprocess(o);
  o.tasks = {"qnli"};
  o.splits = {"dev", "test"};  // GLUE's QNLI train file is not among the shared data
  auto qnli = run_preprocess(o);
  manifests.insert(manifests.end(), qnli.begin(), qnli.end());

  // Official GLUE row counts (PROVENANCE.md), every row kept.
  std::map<std::string, int64_t> official = {
      {"cola/train", 8551}, {"cola/dev", 1043}, {"cola/test", 1063}, {"sst/train", 67349}, {"sst/dev", 872},
      {"sst/test", 1821},   {"mrpc/train", 3668}, {"mrpc/dev", 408}, {"mrpc/test", 1725}, {"stsb/train", 5749},
      {"stsb/dev", 1500},   {"stsb/test", 1379}, {"rte/train", 2490}, {"rte/dev", 277},   {"rte/test", 3000},
      {"wnli/train", 635},  {"wnli/dev", 71},    {"wnli/test", 146},  {"qnli/dev", 5463}, {"qnli/test", 5463}};
  size_t checked = 0;
  for (const auto& m : manifests)
    for (const auto& s : m.splits) {
      std::string key = m.task_def.name + "/" + s.split;
      ASSERT_TRUE(official.count(key)) << key;
      EXPECT_EQ(s.rows, official[key]) << key;
      EXPECT_EQ(s.examples, official[key]) << key;
      EXPECT_EQ(s.skipped_bad, 0) << key;
      EXPECT_EQ(s.shards.size(), 3u) << key;
      sharding::SplitReader reader(o.out_dir, m.task_def.name, s.split);
      reader.verify_checksums();
      ++checked;
    }
  EXPECT_EQ(checked, official.size());
  // Spot values: RTE's labels map through the task's label list; STS-B keeps its scores.
  sharding::SplitReader rte(o.out_dir, "rte", "dev");
  EXPECT_EQ(rte.get(0).uid, "0");
  sharding::SplitReader stsb(o.out_dir, "stsb", "train");
  EXPECT_FLOAT_EQ(stsb.get(0).score, 5.0f);
}

TEST(PreprocessCli, HelpConfigAndExitCodes) {
  std::string exe = (test::bin_dir() / "mtdnn-preprocess").string();
  std::string out;
  ASSERT_EQ(test::run_command(exe + " --help", &out), 0) << out;
  for (const char* flag : {"--task-def", "--input", "--vocab", "--uncased", "--cased", "--max-seq-len", "--shards",
                           "--threads", "--out", "--tasks", "--emit-jsonl", "--on-bad-row", "--config"})
    EXPECT_NE(out.find(flag), std::string::npos) << flag;
  EXPECT_EQ(test::run_command(exe + " --no-such-flag", &out), 2) << out;
  EXPECT_EQ(test::run_command(exe + " --task-def x.yml", &out), 2) << out;  // required options missing

  test::ScratchDir dir("cli");
  test::write_file(dir / "vocab.txt", kToyVocab);
  test::write_file(dir / "tasks.yml", kToyTasks);
  test::write_file(dir / "in/topic_train.tsv", "u1\tpets\tthe cat\n");
  test::write_file(dir / "run.ini", "task-def = " + (dir / "tasks.yml").string() + "\ninput = " +
                                        (dir / "in").string() + "\nvocab = " + (dir / "vocab.txt").string() +
                                        "\nout = " + (dir / "out").string() + "\ntasks = topic\nsplits = train\n");
  ASSERT_EQ(test::run_command(exe + " --config " + (dir / "run.ini").string(), &out), 0) << out;
  EXPECT_NE(out.find("topic    train"), std::string::npos) << out;
  test::write_file(dir / "in/topic_train.tsv", "u1\tpet\tthe cat\n");
  EXPECT_EQ(test::run_command(exe + " --config " + (dir / "run.ini").string() + " --out " + (dir / "out2").string(), &out), 1);
  EXPECT_NE(out.find("topic_train.tsv:1: label 'pet'"), std::string::npos) << out;
}

}  // namespace
}  // namespace mtdnn::preprocess
