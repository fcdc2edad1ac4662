// The multi-task epoch schedule (mt-dnn's MultiTaskBatchSampler, made explicit): which
// task and which global batch each training step runs. A pure function of (options, task
// sizes, epoch) drawn from schedule/rng.h, hashed so that ranks verify they agree.
// Rank 0's orchestrator sends the seed, every rank builds and checks; the batch loader
// and the trainer consume the entries.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mtdnn::schedule {

struct ScheduleOptions {
  uint64_t seed = 2018;
  int64_t batch_size = 32;   // items per global batch: examples, or groups for ranking tasks
  // mt-dnn's samplers. mix_opt = 0: every batch of every task once, all shuffled together.
  // mix_opt > 0: auxiliary tasks' batches first (shuffled), task 0's batches last.
  int mix_opt = 0;
  // ratio > 0 (with two or more tasks): all of task 0 plus min(floor(ratio * |task-0
  // batches|), |auxiliary batches|) auxiliary batches drawn without replacement.
  double ratio = 0.0;
  // temperature > 0 replaces the above: each step picks task t with probability
  // proportional to n_t^(1/T) (n_t = the task's items), for as many steps as the tasks have
  // batches in all. T = 1 is proportional sampling, large T tends to uniform over tasks.
  double temperature = 0.0;
};

// One task's training split as the schedule sees it.
struct TaskSizes {
  std::string name;              // for messages
  int64_t examples = 0;
  // Ranking tasks: G + 1 offsets, group g is examples [group_offsets[g], group_offsets[g+1]).
  // Empty for other tasks, where every example is its own item.
  std::vector<int64_t> group_offsets;
  int64_t batch_size = 0;        // 0: ScheduleOptions::batch_size
  double loss_weight = 1.0;      // carried into every entry of this task

  bool ranking() const { return !group_offsets.empty(); }
  // Items: groups for ranking, else examples.
  int64_t items() const { return ranking() ? static_cast<int64_t>(group_offsets.size()) - 1 : examples; }
  // First example of item i (i == items() gives the end).
  int64_t example_of(int64_t item) const { return ranking() ? group_offsets[static_cast<size_t>(item)] : item; }
};

// One training step: a global batch of one task.
struct ScheduleEntry {
  int task = 0;                  // index into the task list
  int64_t batch = 0;             // the batch's index within its task: items [batch * bs, ...)
  int64_t begin = 0, end = 0;    // items (examples, or groups for ranking) [begin, end)
  int64_t example_begin = 0, example_end = 0;  // the examples those items cover
  double loss_weight = 1.0;

  bool operator==(const ScheduleEntry& o) const;
  bool operator!=(const ScheduleEntry& o) const { return !(*this == o); }
};

struct EpochSchedule {
  int64_t epoch = 0;
  std::vector<ScheduleEntry> entries;

  size_t size() const { return entries.size(); }
  // FNV-1a 64 over the epoch and every entry's fields as little-endian 64-bit words (the
  // loss weight by its IEEE-754 bits): equal schedules hash equal on every platform.
  uint64_t hash() const;
  // Items scheduled per task (index = task), for logs and tests.
  std::vector<int64_t> items_per_task(size_t num_tasks) const;
};

// Number of global batches of a task: ceil(items / batch size).
int64_t num_batches(const TaskSizes& task, const ScheduleOptions& options);

// The schedule of `epoch`. Per task, batch k is items [k*bs, min((k+1)*bs, items)): the
// last may be shorter, ranking groups are never split. Batch order within a task is shuffled
// per epoch (stream kBatchOrder, key (epoch, task)); tasks are interleaved by mix_opt, ratio
// or temperature as in ScheduleOptions. Throws InputError on bad options or sizes.
EpochSchedule build_epoch_schedule(const ScheduleOptions& options, const std::vector<TaskSizes>& tasks,
                                   int64_t epoch);

// This rank's part of a global batch of items [begin, end): world contiguous slices in rank
// order, the first (n mod world) one item longer; slices are empty when n < world. Their
// union is always the whole batch, so a global batch does not depend on the world size.
std::pair<int64_t, int64_t> slice_for_rank(int64_t begin, int64_t end, int rank, int world);

}  // namespace mtdnn::schedule
