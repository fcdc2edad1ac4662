// The batch loader over small datasets made with mtdnn-preprocess: padding layout and
// masks, labels and real-token counts, the same batches whatever the prefetch depth and
// world size, length bucketing, errors from the prefetch thread, early destruction, and
// bucketing's padding savings on real GLUE (RTE) when the data is present.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>

#include "common/error.h"
#include "worker/batch_loader.h"
#include "preprocess/preprocess_job.h"
#include "test_support.h"
#include "toy_tasks.h"

namespace fs = std::filesystem;

namespace mtdnn::worker {
namespace {

using test::kToyTasks;
using test::kToyVocab;

// `n` words cycling through the vocabulary, starting at word `from`.
std::string words(int n, int from) {
  static const char* kWords[] = {"the", "cat", "sat", "on", "mat", "dog", "ran", "a", "who"};
  std::string out;
  for (int i = 0; i < n; ++i) out += (i ? " " : "") + std::string(kWords[(from + i) % 9]);
  return out;
}

// A dataset of 23 topic rows (1..7 words), 11 sim pairs and 9 qa groups of 1..4
// candidates, each split in 3 shards so batches cross shard boundaries.
class BatchLoaderData : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::ScratchDir("loader");
    std::string topic, sim, qa;
    for (int i = 0; i < 23; ++i)
      topic += "u" + std::to_string(i) + "\t" + (i % 3 ? "pets" : "other") + "\t" + words(1 + (i * 5) % 7, i) + "\n";
    for (int i = 0; i < 11; ++i)
      sim += "s" + std::to_string(i) + "\t" + std::to_string(i * 0.5) + "\t" + words(1 + i % 4, i) + "\t" +
             words(1 + (i * 3) % 5, i + 2) + "\n";
    for (int g = 0; g < 9; ++g) {
      int k = 1 + g % 4;
      std::string uids, hyps;
      for (int j = 0; j < k; ++j) {
        uids += (j ? "," : "") + std::string("c") + std::to_string(g) + "_" + std::to_string(j);
        hyps += "\t" + words(1 + (g + j) % 3, j);
      }
      qa += "q" + std::to_string(g) + "\t" + uids + "\t" + std::to_string(g % k) + "\t" + words(2, g) + hyps + "\n";
    }
    test::write_file(*dir_ / "vocab.txt", kToyVocab);
    test::write_file(*dir_ / "tasks.yml", kToyTasks);
    test::write_file(*dir_ / "in/topic_train.tsv", topic);
    test::write_file(*dir_ / "in/sim_train.tsv", sim);
    test::write_file(*dir_ / "in/qa_train.tsv", qa);
    preprocess::PreprocessOptions o;
    o.task_def_path = (*dir_ / "tasks.yml").string();
    o.input_dir = (*dir_ / "in").string();
    o.vocab_path = (*dir_ / "vocab.txt").string();
    o.out_dir = (*dir_ / "out").string();
    o.max_seq_len = 16;
    o.shards = 3;
    o.threads = 1;
    o.splits = {"train"};
    preprocess::run_preprocess(o);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  BatchLoaderData()
      : topic_(out(), "topic", "train"), sim_(out(), "sim", "train"), qa_(out(), "qa", "train") {
    tasks_ = {task_sizes_of(topic_), task_sizes_of(sim_), task_sizes_of(qa_)};
    schedule_options_.batch_size = 4;
    schedule_ = schedule::build_epoch_schedule(schedule_options_, tasks_, 1);
  }

  static std::string out() { return (*dir_ / "out").string(); }

  std::unique_ptr<BatchLoader> loader(BatchLoaderOptions o) {
    return std::make_unique<BatchLoader>(std::vector<const sharding::SplitReader*>{&topic_, &sim_, &qa_}, tasks_,
                                         schedule_options_, schedule_, o);
  }

  static std::vector<LocalBatch> drain(BatchLoader& l) {
    std::vector<LocalBatch> out;
    while (auto b = l.next()) out.push_back(std::move(*b));
    return out;
  }

  static test::ScratchDir* dir_;
  sharding::SplitReader topic_, sim_, qa_;
  std::vector<schedule::TaskSizes> tasks_;
  schedule::ScheduleOptions schedule_options_;
  schedule::EpochSchedule schedule_;
};

test::ScratchDir* BatchLoaderData::dir_ = nullptr;

void expect_same(const LocalBatch& a, const LocalBatch& b) {
  EXPECT_EQ(a.step, b.step);
  EXPECT_EQ(a.entry, b.entry);
  EXPECT_EQ(a.B, b.B);
  EXPECT_EQ(a.T, b.T);
  EXPECT_EQ(a.input_ids, b.input_ids);
  EXPECT_EQ(a.token_type_ids, b.token_type_ids);
  EXPECT_EQ(a.attention_mask, b.attention_mask);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.scores, b.scores);
  EXPECT_EQ(a.group_sizes, b.group_sizes);
  EXPECT_EQ(a.uids, b.uids);
  EXPECT_EQ(a.example_index, b.example_index);
  EXPECT_EQ(a.real_tokens, b.real_tokens);
}

// Rows of the world-size batches of one step, concatenated in rank order.
LocalBatch concat(const std::vector<LocalBatch>& parts) {
  LocalBatch all = parts[0];
  all.B = 0;
  all.uids.clear();
  all.example_index.clear();
  all.labels.clear();
  all.scores.clear();
  all.group_sizes.clear();
  all.real_tokens = 0;
  for (const auto& p : parts) {
    all.B += p.B;
    all.uids.insert(all.uids.end(), p.uids.begin(), p.uids.end());
    all.example_index.insert(all.example_index.end(), p.example_index.begin(), p.example_index.end());
    all.labels.insert(all.labels.end(), p.labels.begin(), p.labels.end());
    all.scores.insert(all.scores.end(), p.scores.begin(), p.scores.end());
    all.group_sizes.insert(all.group_sizes.end(), p.group_sizes.begin(), p.group_sizes.end());
    all.real_tokens += p.real_tokens;
  }
  return all;
}

TEST_F(BatchLoaderData, PadsEachRowAndMarksTypesAndMask) {
  BatchLoaderOptions o;
  o.prefetch = 0;
  o.pad_id = 9;  // any id: padding cells must carry it
  auto l = loader(o);
  auto batches = drain(*l);
  ASSERT_EQ(batches.size(), schedule_.size());
  std::vector<int64_t> seen_topic;
  for (const LocalBatch& b : batches) {
    const auto& e = b.entry;
    const sharding::SplitReader& reader = e.task == 0 ? topic_ : e.task == 1 ? sim_ : qa_;
    ASSERT_EQ(b.B, e.example_end - e.example_begin);
    int64_t longest = 0, tokens = 0;
    for (int64_t r = 0; r < b.B; ++r) {
      auto x = reader.get(e.example_begin + r);
      longest = std::max<int64_t>(longest, x.token_ids.size());
      tokens += x.token_ids.size();
      EXPECT_EQ(b.uids[r], x.uid);
      EXPECT_EQ(b.example_index[r], e.example_begin + r);
      if (e.task == 0) seen_topic.push_back(b.example_index[r]);
      for (int64_t j = 0; j < b.T; ++j) {
        size_t cell = static_cast<size_t>(r * b.T + j);
        bool real = j < static_cast<int64_t>(x.token_ids.size());
        EXPECT_EQ(b.input_ids[cell], real ? x.token_ids[j] : 9);
        EXPECT_EQ(b.attention_mask[cell], real ? 1 : 0);
        EXPECT_EQ(b.token_type_ids[cell], real && j >= x.type_boundary ? 1 : 0);
      }
      if (e.task == 1) EXPECT_FLOAT_EQ(b.scores[r], x.score);
      else EXPECT_EQ(b.labels[r], x.label);
    }
    EXPECT_EQ(b.T, longest);
    EXPECT_EQ(b.real_tokens, tokens);
    EXPECT_EQ(b.input_ids.size(), static_cast<size_t>(b.B * b.T));
    if (e.task == 1) EXPECT_TRUE(b.labels.empty());
    else EXPECT_TRUE(b.scores.empty());
  }
  std::sort(seen_topic.begin(), seen_topic.end());
  ASSERT_EQ(seen_topic.size(), 23u);
  for (int64_t i = 0; i < 23; ++i) EXPECT_EQ(seen_topic[i], i);
  // The pair task carries type 1 on its second text.
  bool saw_type_one = false;
  for (const auto& b : batches)
    if (b.entry.task == 1) saw_type_one |= std::count(b.token_type_ids.begin(), b.token_type_ids.end(), 1) > 0;
  EXPECT_TRUE(saw_type_one);
  EXPECT_EQ(l->stats().batches, static_cast<int64_t>(batches.size()));
}

TEST_F(BatchLoaderData, RankingBatchesHoldWholeGroups) {
  EXPECT_EQ(tasks_[2].items(), 9);
  BatchLoaderOptions o;
  o.world = 3;
  for (int rank = 0; rank < 3; ++rank) {
    o.rank = rank;
    auto l = loader(o);
    for (const auto& b : drain(*l)) {
      if (b.entry.task != 2) continue;
      int64_t sum = 0, row = 0;
      for (int64_t k : b.group_sizes) {
        // One positive per group, and the rows of a group share its question's uid prefix.
        EXPECT_EQ(std::count(b.labels.begin() + row, b.labels.begin() + row + k, 1), 1);
        std::string q = b.uids[row].substr(0, b.uids[row].find('_'));
        for (int64_t j = row; j < row + k; ++j) EXPECT_EQ(b.uids[j].substr(0, b.uids[j].find('_')), q);
        row += k;
        sum += k;
      }
      EXPECT_EQ(sum, b.B);
    }
  }
}

TEST_F(BatchLoaderData, SameBatchesWhateverThePrefetchDepth) {
  BatchLoaderOptions o;
  o.prefetch = 0;
  auto reference = drain(*loader(o));
  for (int depth : {1, 2, 5, 64}) {
    SCOPED_TRACE(depth);
    o.prefetch = depth;
    auto got = drain(*loader(o));
    ASSERT_EQ(got.size(), reference.size());
    for (size_t i = 0; i < got.size(); ++i) expect_same(got[i], reference[i]);
  }
  // Resuming at a step yields the tail of the same sequence.
  o.first_step = 5;
  auto tail = drain(*loader(o));
  ASSERT_EQ(tail.size(), reference.size() - 5);
  for (size_t i = 0; i < tail.size(); ++i) expect_same(tail[i], reference[i + 5]);
}

TEST_F(BatchLoaderData, GlobalBatchIsTheSameForEveryWorldSize) {
  for (int64_t window : {0, 3}) {
    BatchLoaderOptions o;
    o.bucket_window = window;
    auto whole = drain(*loader(o));
    for (int world = 2; world <= 5; ++world) {
      SCOPED_TRACE(testing::Message() << "world " << world << " window " << window);
      std::vector<std::vector<LocalBatch>> ranks;
      for (int rank = 0; rank < world; ++rank) {
        o.rank = rank;
        o.world = world;
        ranks.push_back(drain(*loader(o)));
      }
      for (size_t s = 0; s < whole.size(); ++s) {
        std::vector<LocalBatch> parts;
        for (auto& r : ranks) parts.push_back(r[s]);
        LocalBatch all = concat(parts);
        EXPECT_EQ(all.example_index, whole[s].example_index);
        EXPECT_EQ(all.uids, whole[s].uids);
        EXPECT_EQ(all.labels, whole[s].labels);
        EXPECT_EQ(all.scores, whole[s].scores);
        EXPECT_EQ(all.group_sizes, whole[s].group_sizes);
        EXPECT_EQ(all.real_tokens, whole[s].real_tokens);
        for (const auto& p : parts) EXPECT_EQ(p.B == 0, p.T == 0);  // n < world: empty slices
      }
    }
  }
}

TEST_F(BatchLoaderData, LengthBucketingSortsWithinWindowsDeterministically) {
  BatchLoaderOptions o;
  o.bucket_window = 3;  // windows of 3 batches of 4: examples [0, 12), [12, 23)
  auto a = drain(*loader(o));
  auto again = drain(*loader(o));
  int64_t padded = 0, padded_plain = 0;
  o.bucket_window = 0;
  auto plain = drain(*loader(o));
  std::vector<int64_t> all;
  for (size_t s = 0; s < a.size(); ++s) {
    expect_same(a[s], again[s]);
    const LocalBatch& b = a[s];
    padded += b.B * b.T - b.real_tokens;
    padded_plain += plain[s].B * plain[s].T - plain[s].real_tokens;
    if (b.entry.task == 2) EXPECT_EQ(b.example_index, plain[s].example_index);  // ranking: not bucketed
    if (b.entry.task != 0) continue;
    EXPECT_EQ(b.B, b.entry.end - b.entry.begin);
    int64_t window_first = (b.entry.batch / 3) * 12;
    for (int64_t r = 0; r < b.B; ++r) {
      EXPECT_GE(b.example_index[r], window_first);
      EXPECT_LT(b.example_index[r], std::min<int64_t>(window_first + 12, 23));
      all.push_back(b.example_index[r]);
      if (r > 0) EXPECT_LE(topic_.length(b.example_index[r - 1]), topic_.length(b.example_index[r]));
    }
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), 23u);
  for (int64_t i = 0; i < 23; ++i) EXPECT_EQ(all[i], i);  // every example once per epoch
  EXPECT_LT(padded, padded_plain);
}

TEST_F(BatchLoaderData, ScheduleForOtherDataIsRefused) {
  std::vector<schedule::TaskSizes> wrong = tasks_;
  wrong[0].examples = 30;
  EXPECT_THROW(BatchLoader({&topic_, &sim_, &qa_}, wrong, schedule_options_, schedule_, BatchLoaderOptions()),
               InputError);
}

TEST_F(BatchLoaderData, ReadErrorInThePrefetchThreadReachesTheConsumer) {
  // A private copy of the dataset whose shards are cut short after the readers opened them:
  // the thread's reads fail and next() rethrows, naming the shard file.
  test::ScratchDir copy("loader-bad");
  fs::copy(out(), copy.path(), fs::copy_options::recursive);
  sharding::SplitReader topic(copy.path().string(), "topic", "train");
  std::vector<schedule::TaskSizes> tasks = {task_sizes_of(topic)};
  auto schedule = schedule::build_epoch_schedule(schedule_options_, tasks, 0);
  for (const auto& shard : topic.shards()) fs::resize_file(shard.path(), 100);
  BatchLoaderOptions o;
  o.prefetch = 2;
  BatchLoader l({&topic}, tasks, schedule_options_, schedule, o);
  try {
    while (l.next()) {
    }
    FAIL() << "no error";
  } catch (const Error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("train-0000"), std::string::npos) << what;
    EXPECT_NE(what.find("loading step 0"), std::string::npos) << what;
    EXPECT_NE(what.find("task 'topic'"), std::string::npos) << what;
  }
}

TEST_F(BatchLoaderData, DestroyingEarlyStopsTheThread) {
  BatchLoaderOptions o;
  o.prefetch = 2;  // the thread blocks on a full queue
  for (int consumed = 0; consumed < 3; ++consumed) {
    auto l = loader(o);
    for (int i = 0; i < consumed; ++i) ASSERT_TRUE(l->next().has_value());
    l.reset();  // must return promptly; a hang fails the test by timeout
  }
  auto l = loader(o);
  drain(*l);
  EXPECT_FALSE(l->next().has_value());  // past the end stays at the end
  LoaderStats s = l->stats();
  EXPECT_EQ(s.batches, static_cast<int64_t>(schedule_.size()));
  EXPECT_GE(s.wait_seconds, 0.0);
  EXPECT_GT(s.load_seconds, 0.0);
}

TEST(BatchLoaderGlue, BucketingCutsPaddingOnRte) {
  MTDNN_REQUIRE_DATA();
  test::ScratchDir dir("loader-glue");
  preprocess::PreprocessOptions p;
  p.task_def_path = (test::source_dir() / "tasks/glue.yml").string();
  p.input_dir = (test::data_dir() / "glue").string();
  p.vocab_path = (test::data_dir() / "vocab/bert-base-uncased-vocab.txt").string();
  p.out_dir = dir.path().string();
  p.max_seq_len = 128;
  p.shards = 2;
  p.tasks = {"rte"};
  p.splits = {"train"};
  preprocess::run_preprocess(p);
  sharding::SplitReader rte(dir.path().string(), "rte", "train");
  std::vector<schedule::TaskSizes> tasks = {task_sizes_of(rte)};
  schedule::ScheduleOptions so;
  so.batch_size = 32;
  auto schedule = schedule::build_epoch_schedule(so, tasks, 0);
  auto padding = [&](int64_t window) {
    BatchLoaderOptions o;
    o.bucket_window = window;
    BatchLoader l({&rte}, tasks, so, schedule, o);
    int64_t pad = 0, real = 0;
    while (auto b = l.next()) {
      pad += b->B * b->T - b->real_tokens;
      real += b->real_tokens;
    }
    return static_cast<double>(pad) / static_cast<double>(real);
  };
  double plain = padding(0), bucketed = padding(20);
  EXPECT_LT(bucketed, plain / 3) << "padding per real token: " << plain << " -> " << bucketed;
}

}  // namespace
}  // namespace mtdnn::worker
