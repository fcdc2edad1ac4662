// Shard format: writer -> reader round trip (classification, regression, ranking), and
// validation of damaged or foreign files on open.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/hdf5.h"
#include "sharding/shard_reader.h"
#include "sharding/shard_writer.h"
#include "test_support.h"

namespace mtdnn::sharding {
namespace {

TaskDef make_task(const std::string& yaml) { return parse_task_defs(yaml, "t.yml").front(); }

ShardInfo info_for(const TaskDef& task, LabelKind kind, int64_t vocab_size = 30522) {
  ShardInfo info;
  info.task = task.name;
  info.split = "train";
  info.label_kind = kind;
  info.task_def = task;
  info.tokenizer.vocab_sha256 = "abc";
  info.tokenizer.vocab_size = vocab_size;
  return info;
}

Example make_example(const std::string& uid, std::vector<int32_t> ids, int32_t boundary, int32_t label, float score = 0) {
  Example e;
  e.uid = uid;
  e.token_ids = std::move(ids);
  e.type_boundary = boundary;
  e.label = label;
  e.score = score;
  return e;
}

TEST(Shard, ClassificationRoundTripWithWideVocabulary) {
  test::ScratchDir dir("shard");
  TaskDef task = make_task("t:\n  task_type: Classification\n  data_format: PremiseAndOneHypothesis\n  n_class: 3\n");
  std::string path = (dir / "s.h5").string();
  {
    ShardWriter w(path, info_for(task, LabelKind::kClass, 70000));  // ids need int32 on disk
    w.append(make_example("a", {101, 69999, 102, 5, 102}, 3, 2));
    w.append(make_example("", {101, 102}, 2, 0));
    w.append(make_example("ü-3", {101, 7, 102}, 3, 1));
    w.finish();
  }
  ShardReader r(path);
  ASSERT_EQ(r.size(), 3);
  EXPECT_EQ(r.num_tokens(), 10);
  EXPECT_EQ(r.task(), "t");
  EXPECT_EQ(r.label_kind(), LabelKind::kClass);
  Example e = r.get(0);
  EXPECT_EQ(e.token_ids, (std::vector<int32_t>{101, 69999, 102, 5, 102}));
  EXPECT_EQ(e.type_boundary, 3);
  EXPECT_EQ(e.label, 2);
  EXPECT_EQ(e.uid, "a");
  auto range = r.get_range(1, 3);
  EXPECT_EQ(range[0].uid, "");
  EXPECT_EQ(range[1].uid, "ü-3");
  EXPECT_EQ(range[1].token_ids, (std::vector<int32_t>{101, 7, 102}));
  EXPECT_EQ(r.length(2), 3);
  EXPECT_EQ(r.task_def().to_json(), task.to_json());
}

TEST(Shard, RegressionAndRankingRoundTrip) {
  test::ScratchDir dir("shard");
  TaskDef sim = make_task("sim:\n  task_type: Regression\n  data_format: PremiseAndOneHypothesis\n  n_class: 1\n");
  {
    ShardWriter w((dir / "r.h5").string(), info_for(sim, LabelKind::kScore));
    w.append(make_example("0", {101, 102, 9, 102}, 2, -1, 4.25f));
    w.finish();
  }
  ShardReader r((dir / "r.h5").string());
  EXPECT_FLOAT_EQ(r.get(0).score, 4.25f);

  TaskDef qa = make_task("qa:\n  task_type: Ranking\n  data_format: PremiseAndMultiHypothesis\n  n_class: 1\n");
  {
    ShardWriter w((dir / "q.h5").string(), info_for(qa, LabelKind::kClass));
    w.append_group("q1", {make_example("c1", {101, 5, 102, 6, 102}, 3, 0), make_example("c2", {101, 5, 102, 7, 102}, 3, 1)});
    w.append_group("q2", {make_example("c3", {101, 8, 102, 9, 102}, 3, 1)});
    w.finish();
  }
  ShardReader q((dir / "q.h5").string());
  EXPECT_EQ(q.num_groups(), 2);
  EXPECT_EQ(q.group_begin(0), 0);
  EXPECT_EQ(q.group_begin(1), 2);
  EXPECT_EQ(q.group_begin(2), 3);
  EXPECT_EQ(q.group_uid(1), "q2");
  EXPECT_EQ(q.get(1).label, 1);
  EXPECT_EQ(q.get(1).uid, "c2");
}

TEST(Shard, DamagedOrForeignFilesAreRejectedWithTheirName) {
  test::ScratchDir dir("shard");
  TaskDef task = make_task("t:\n  task_type: Classification\n  data_format: PremiseOnly\n  n_class: 2\n");
  std::string path = (dir / "s.h5").string();
  {
    ShardWriter w(path, info_for(task, LabelKind::kClass));
    for (int i = 0; i < 100; ++i) w.append(make_example(std::to_string(i), {101, 1000 + i, 102}, 3, i % 2));
    w.finish();
  }
  auto expect_error = [&](const std::string& file, const std::string& needle) {
    try {
      ShardReader r(file);
      FAIL() << "no error for " << file;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  // Truncated: HDF5 refuses the file.
  std::string truncated = (dir / "truncated.h5").string();
  std::filesystem::copy_file(path, truncated);
  std::filesystem::resize_file(truncated, std::filesystem::file_size(truncated) / 2);
  expect_error(truncated, "");
  // Not HDF5 at all.
  test::write_file(dir / "text.h5", "hello");
  expect_error((dir / "text.h5").string(), "not an HDF5 file");
  // Missing file.
  expect_error((dir / "absent.h5").string(), "not an HDF5 file");
  // An incomplete shard (never finished) has no magic.
  std::string incomplete = (dir / "incomplete.h5").string();
  {
    ShardWriter w(incomplete, info_for(task, LabelKind::kClass));
    w.append(make_example("x", {101, 102}, 2, 0));
  }
  expect_error(incomplete, "not an mtdnn shard");
  // A damaged JSON attribute is named.
  std::string damaged = (dir / "damaged.h5").string();
  std::filesystem::copy_file(path, damaged);
  {
    h5::Handle f(H5Fopen(damaged.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    ASSERT_GE(H5Adelete(f.get(), "tokenizer"), 0);
    h5::write_attr(f.get(), "tokenizer", std::string("{\"name\": "), damaged);
  }
  expect_error(damaged, "malformed tokenizer attribute");
  // A missing one too.
  std::string missing = (dir / "missing.h5").string();
  std::filesystem::copy_file(path, missing);
  {
    h5::Handle f(H5Fopen(missing.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    ASSERT_GE(H5Adelete(f.get(), "num_tokens"), 0);
  }
  expect_error(missing, "attribute 'num_tokens' is missing");
}

}  // namespace
}  // namespace mtdnn::sharding
