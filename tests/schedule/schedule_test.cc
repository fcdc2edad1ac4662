// The multi-task schedule: mt-dnn's sampler semantics (mix_opt, ratio), temperature
// sampling, ranking groups, determinism and hashing, the generator against known values,
// and slicing a global batch across world sizes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "common/error.h"
#include "schedule/rng.h"
#include "schedule/schedule.h"

namespace mtdnn::schedule {
namespace {

TaskSizes task(const std::string& name, int64_t examples) {
  TaskSizes t;
  t.name = name;
  t.examples = examples;
  return t;
}

// (task, batch) pairs of a schedule.
std::vector<std::pair<int, int64_t>> slots(const EpochSchedule& s) {
  std::vector<std::pair<int, int64_t>> out;
  for (const auto& e : s.entries) out.emplace_back(e.task, e.batch);
  return out;
}

TEST(ScheduleRng, SplitMix64MatchesTheReferenceSequence) {
  // SplitMix64 seeded with 1234567: the published first outputs (also recomputed by an
  // independent Python implementation of the algorithm).
  Rng r(1234567);
  EXPECT_EQ(r.next(), 6457827717110365317ULL);
  EXPECT_EQ(r.next(), 3203168211198807973ULL);
  EXPECT_EQ(r.next(), 9817491932198370423ULL);
}

TEST(ScheduleRng, BoundedDrawsCoverTheRangeEvenly) {
  Rng r = Rng::keyed(1, {2, 3});
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) {
    uint64_t x = r.below(7);
    ASSERT_LT(x, 7u);
    ++counts[x];
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);  // ~4 sigma
  EXPECT_EQ(r.below(1), 0u);
  double u = r.uniform();
  EXPECT_TRUE(u >= 0 && u < 1);
}

TEST(Schedule, MatchesAnIndependentImplementation) {
  // Golden order from a Python transcription of rng.h and the mix_opt = 0 sampler
  // (keyed streams (1, epoch, task) per task, (2, epoch) for the task order):
  // seed 7, epoch 3, tasks of 10, 7, 4 examples, batch size 3.
  ScheduleOptions o;
  o.seed = 7;
  o.batch_size = 3;
  auto s = build_epoch_schedule(o, {task("a", 10), task("b", 7), task("c", 4)}, 3);
  std::vector<std::pair<int, int64_t>> expected = {{0, 2}, {2, 1}, {1, 0}, {0, 0}, {2, 0},
                                                   {0, 1}, {1, 2}, {0, 3}, {1, 1}};
  EXPECT_EQ(slots(s), expected);
}

TEST(Schedule, MixOptZeroRunsEveryBatchOfEveryTaskOnce) {
  ScheduleOptions o;
  o.batch_size = 8;
  std::vector<TaskSizes> tasks = {task("a", 100), task("b", 37), task("c", 5), task("d", 0)};
  tasks[1].loss_weight = 0.5;
  auto s = build_epoch_schedule(o, tasks, 0);
  ASSERT_EQ(s.size(), 13u + 5u + 1u);
  std::map<int, std::set<int64_t>> seen;
  for (const auto& e : s.entries) {
    EXPECT_TRUE(seen[e.task].insert(e.batch).second) << "task " << e.task << " batch " << e.batch << " twice";
    EXPECT_EQ(e.begin, e.batch * 8);
    EXPECT_EQ(e.end, std::min<int64_t>(e.begin + 8, tasks[e.task].examples));
    EXPECT_EQ(e.example_begin, e.begin);
    EXPECT_EQ(e.example_end, e.end);
    EXPECT_EQ(e.loss_weight, e.task == 1 ? 0.5 : 1.0);
  }
  EXPECT_EQ(seen[0].size(), 13u);
  EXPECT_EQ(seen[1].size(), 5u);
  EXPECT_EQ(seen[2].size(), 1u);
  EXPECT_EQ(s.items_per_task(4), (std::vector<int64_t>{100, 37, 5, 0}));
  // The last batch of b is the short one: [32, 37).
  for (const auto& e : s.entries)
    if (e.task == 1 && e.batch == 4) EXPECT_EQ(e.end - e.begin, 5);
  // Tasks are interleaved, not run one after another, and batches are not in index order.
  int switches = 0;
  for (size_t i = 1; i < s.size(); ++i) switches += s.entries[i].task != s.entries[i - 1].task;
  EXPECT_GT(switches, 4);
  std::vector<int64_t> a_order;
  for (const auto& e : s.entries)
    if (e.task == 0) a_order.push_back(e.batch);
  EXPECT_FALSE(std::is_sorted(a_order.begin(), a_order.end()));
}

TEST(Schedule, MixOptPutsAuxiliaryTasksFirstAndTaskZeroLast) {
  ScheduleOptions o;
  o.batch_size = 4;
  o.mix_opt = 1;
  std::vector<TaskSizes> tasks = {task("main", 40), task("x", 24), task("y", 16)};
  auto s = build_epoch_schedule(o, tasks, 2);
  ASSERT_EQ(s.size(), 10u + 6u + 4u);
  for (size_t i = 0; i < s.size(); ++i) EXPECT_EQ(s.entries[i].task == 0, i >= 10) << i;
  // The auxiliary part is shuffled: x and y alternate somewhere.
  int switches = 0;
  for (size_t i = 1; i < 10; ++i) switches += s.entries[i].task != s.entries[i - 1].task;
  EXPECT_GT(switches, 1);
  std::set<int64_t> main_batches;
  for (size_t i = 10; i < s.size(); ++i) main_batches.insert(s.entries[i].batch);
  EXPECT_EQ(main_batches.size(), 10u);
}

TEST(Schedule, RatioKeepsTaskZeroAndSamplesAuxiliaryBatches) {
  ScheduleOptions o;
  o.batch_size = 1;
  o.ratio = 0.5;
  std::vector<TaskSizes> tasks = {task("main", 20), task("x", 30), task("y", 10)};
  for (int64_t epoch = 0; epoch < 5; ++epoch) {
    auto s = build_epoch_schedule(o, tasks, epoch);
    // floor(0.5 * 20) = 10 auxiliary batches, all distinct, plus all 20 of task 0.
    ASSERT_EQ(s.size(), 30u);
    std::set<std::pair<int, int64_t>> distinct;
    int main_count = 0;
    for (const auto& e : s.entries) {
      EXPECT_TRUE(distinct.insert({e.task, e.batch}).second);
      main_count += e.task == 0;
    }
    EXPECT_EQ(main_count, 20);
  }
  // More than the auxiliary tasks hold: all of them, once.
  o.ratio = 5;
  EXPECT_EQ(build_epoch_schedule(o, tasks, 0).size(), 60u);
  // With mix_opt the sampled auxiliary batches come first.
  o.ratio = 0.25;
  o.mix_opt = 1;
  auto s = build_epoch_schedule(o, tasks, 1);
  ASSERT_EQ(s.size(), 25u);
  for (size_t i = 0; i < s.size(); ++i) EXPECT_EQ(s.entries[i].task == 0, i >= 5) << i;
}

TEST(Schedule, TemperatureSamplingFollowsItsProportions) {
  std::vector<TaskSizes> tasks = {task("big", 1000), task("mid", 100), task("small", 10), task("none", 0)};
  ScheduleOptions o;
  o.batch_size = 10;  // 100 + 10 + 1 = 111 batches per epoch
  for (double T : {1.0, 2.0, 1000.0}) {
    o.temperature = T;
    std::vector<double> weights = {std::pow(1000.0, 1 / T), std::pow(100.0, 1 / T), std::pow(10.0, 1 / T)};
    double total = weights[0] + weights[1] + weights[2];
    std::vector<double> counts(4, 0);
    const int epochs = 200;
    for (int64_t epoch = 0; epoch < epochs; ++epoch) {
      auto s = build_epoch_schedule(o, tasks, epoch);
      ASSERT_EQ(s.size(), 111u);
      std::map<int, std::vector<int64_t>> per_task;
      for (const auto& e : s.entries) {
        counts[e.task] += 1;
        per_task[e.task].push_back(e.batch);
        EXPECT_EQ(e.end - e.begin, std::min<int64_t>(10, tasks[e.task].examples - e.begin));
      }
      // A task's batches are dealt without repeats until all have been used once.
      for (auto& [t, b] : per_task) {
        size_t n = std::min<size_t>(b.size(), static_cast<size_t>((tasks[t].examples + 9) / 10));
        EXPECT_EQ(std::set<int64_t>(b.begin(), b.begin() + n).size(), n) << "task " << t;
      }
    }
    // p = (1000, 100, 10)^(1/T) normalised: T=1 (0.901, 0.090, 0.009), T=2 (0.706, 0.223,
    // 0.071), T=1000 ~ (1/3, 1/3, 1/3). 22,200 draws: sigma <= 0.0034.
    for (int t = 0; t < 3; ++t)
      EXPECT_NEAR(counts[t] / (epochs * 111.0), weights[t] / total, 0.015) << "T " << T << " task " << t;
    EXPECT_EQ(counts[3], 0);
  }
}

TEST(Schedule, RankingBatchesWholeGroups) {
  TaskSizes qa = task("qa", 14);
  qa.group_offsets = {0, 3, 5, 9, 10, 14};  // 5 groups of 3, 2, 4, 1, 4 candidates
  ScheduleOptions o;
  o.batch_size = 2;  // groups per batch
  auto s = build_epoch_schedule(o, {qa, task("cls", 3)}, 4);
  ASSERT_EQ(s.size(), 3u + 2u);  // 5 groups in batches of 2; 3 examples in batches of 2
  std::set<int64_t> starts(qa.group_offsets.begin(), qa.group_offsets.end());
  for (const auto& e : s.entries) {
    if (e.task != 0) continue;
    EXPECT_EQ(e.begin, e.batch * 2);
    EXPECT_TRUE(starts.count(e.example_begin) && starts.count(e.example_end));
    EXPECT_EQ(e.example_begin, qa.group_offsets[e.begin]);
    EXPECT_EQ(e.example_end, qa.group_offsets[e.end]);
  }
  EXPECT_EQ(s.items_per_task(2), (std::vector<int64_t>{5, 3}));
}

TEST(Schedule, SameSeedAndEpochGiveTheSameScheduleAndHash) {
  std::vector<TaskSizes> tasks = {task("a", 300), task("b", 70), task("c", 33)};
  ScheduleOptions o;
  o.batch_size = 8;
  auto a = build_epoch_schedule(o, tasks, 5), b = build_epoch_schedule(o, tasks, 5);
  EXPECT_EQ(a.entries, b.entries);
  EXPECT_EQ(a.hash(), b.hash());
  auto next_epoch = build_epoch_schedule(o, tasks, 6);
  EXPECT_NE(slots(a), slots(next_epoch));
  EXPECT_NE(a.hash(), next_epoch.hash());
  o.seed = 2019;
  auto other_seed = build_epoch_schedule(o, tasks, 5);
  EXPECT_NE(slots(a), slots(other_seed));
  EXPECT_NE(a.hash(), other_seed.hash());
  // Any field of any entry changes the hash.
  auto changed = a;
  changed.entries[7].loss_weight = 0.999;
  EXPECT_NE(changed.hash(), a.hash());
  changed = a;
  std::swap(changed.entries[0], changed.entries[1]);
  EXPECT_NE(changed.hash(), a.hash());
}

TEST(Schedule, BadOptionsAreInputErrors) {
  ScheduleOptions o;
  o.batch_size = 0;
  EXPECT_THROW(build_epoch_schedule(o, {task("a", 3)}, 0), InputError);
  o.batch_size = 2;
  o.temperature = 2;
  o.mix_opt = 1;
  EXPECT_THROW(build_epoch_schedule(o, {task("a", 3)}, 0), InputError);
  o = ScheduleOptions();
  TaskSizes qa = task("qa", 5);
  qa.group_offsets = {0, 2, 4};  // ends before the last example
  EXPECT_THROW(build_epoch_schedule(o, {qa}, 0), InputError);
  EXPECT_TRUE(build_epoch_schedule(o, {}, 0).entries.empty());
}

TEST(ScheduleSlice, SlicesCoverTheGlobalBatchInOrderForAnyWorldSize) {
  for (int64_t n = 0; n <= 13; ++n)
    for (int world = 1; world <= 5; ++world) {
      SCOPED_TRACE(testing::Message() << "n " << n << " world " << world);
      int64_t at = 100;
      for (int rank = 0; rank < world; ++rank) {
        auto [b, e] = slice_for_rank(100, 100 + n, rank, world);
        EXPECT_EQ(b, at);  // contiguous, in rank order: disjoint and nothing skipped
        EXPECT_LE(b, e);
        // As even as possible: the first n mod world slices hold one more.
        EXPECT_EQ(e - b, n / world + (rank < n % world ? 1 : 0));
        at = e;
      }
      EXPECT_EQ(at, 100 + n);
    }
  // Fewer items than ranks: the last ranks get empty slices.
  EXPECT_EQ(slice_for_rank(0, 2, 4, 5), (std::pair<int64_t, int64_t>(2, 2)));
  EXPECT_THROW(slice_for_rank(0, 2, 5, 5), Error);
}

}  // namespace
}  // namespace mtdnn::schedule
