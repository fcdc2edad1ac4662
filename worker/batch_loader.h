// The training batch loader: walks an epoch schedule and, for each step, reads this rank's
// slice of the global batch from the task's shards, pads it and has the task's kind make
// its targets (LocalBatch; for MaskLM this is where masking happens). A background
// thread keeps the next `prefetch` batches ready; the trainer calls next() once per step.
//
// Threading: while a loader lives, its thread reads the SplitReaders it was given (HDF5 is
// built thread-safe on Debian, so other readers may be used meanwhile). An error in the
// thread is handed to the consumer: next() rethrows it, after the batches loaded before it,
// as the same error type with the step, task, example range and shard file(s) named. The
// destructor stops and joins the thread at any point (also mid-epoch with a full queue).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "worker/local_batch.h"
#include "schedule/schedule.h"
#include "sharding/split_reader.h"

namespace mtdnn::worker {

struct BatchLoaderOptions {
  int rank = 0, world = 1;
  int prefetch = 2;             // batches kept ready ahead; 0 loads in next(), no thread
  int32_t pad_id = 0;           // BERT's [PAD]
  int64_t bucket_window = 0;    // > 0: length bucketing over windows of this many batches
                                // (schedule/length_buckets.h); 0: contiguous batches
  int64_t first_step = 0;       // resume: start at this entry of the schedule
};

struct LoaderStats {
  int64_t batches = 0;          // handed to the consumer
  double wait_seconds = 0;      // the consumer blocked in next() (all loading, if prefetch 0)
  double load_seconds = 0;      // spent reading and padding
};

// The schedule's view of a reader's split: examples and, for ranking tasks, the groups'
// global example offsets (gathered from every shard).
schedule::TaskSizes task_sizes_of(const sharding::SplitReader& reader, int64_t batch_size = 0, double loss_weight = 1.0);

class BatchLoader {
 public:
  // readers[t] reads task t of `tasks` (the sizes the schedule was built from, checked against
  // the readers); `schedule_options` gives the batch sizes and seed used for bucketing.
  // Throws InputError when readers and sizes disagree or an entry lies outside its task.
  BatchLoader(std::vector<const sharding::SplitReader*> readers, std::vector<schedule::TaskSizes> tasks,
              const schedule::ScheduleOptions& schedule_options, schedule::EpochSchedule schedule, BatchLoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // This rank's batch of the next step, or nullopt after the last. Rethrows a loading error.
  std::optional<LocalBatch> next();
  LoaderStats stats() const;
  // Loads step `step` directly on the caller's thread (what the prefetch thread runs).
  LocalBatch load(int64_t step) const;
  // Global example indices of a step's batch, in row order, before slicing across ranks.
  std::vector<int64_t> global_examples(int64_t step) const;

 private:
  void produce();

  std::vector<const sharding::SplitReader*> readers_;
  std::vector<schedule::TaskSizes> tasks_;
  std::vector<const task_kinds::TaskKind*> kinds_;  // per task, from its shards' definition
  std::vector<std::unique_ptr<task_kinds::TaskResources>> resources_;  // per task, what its kind loads
  schedule::ScheduleOptions schedule_options_;
  schedule::EpochSchedule schedule_;
  BatchLoaderOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<LocalBatch> queue_;
  std::exception_ptr error_;
  bool produced_all_ = false, stop_ = false;
  int64_t next_step_ = 0;       // prefetch 0: the next step to load in next()
  LoaderStats stats_;
  std::thread thread_;
};

}  // namespace mtdnn::worker
