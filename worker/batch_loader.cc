// The prefetching batch loader (see batch_loader.h): slicing a global batch for this rank,
// reading it in contiguous runs, and the bounded producer/consumer queue.
#include "worker/batch_loader.h"

#include <algorithm>
#include <numeric>
#include <set>

#include "common/clock.h"
#include "common/error.h"
#include "common/hdf5.h"
#include "schedule/length_buckets.h"

namespace mtdnn::worker {

namespace {

// The shard files holding examples `indices` (for error messages), clamped to the split.
std::string shard_files(const sharding::SplitReader& reader, const std::vector<int64_t>& indices) {
  std::set<size_t> shards;
  for (int64_t i : indices)
    if (i >= 0 && i < reader.size()) shards.insert(reader.locate(i).first);
  std::string out;
  for (size_t s : shards) out += (out.empty() ? "" : ", ") + reader.shards()[s].path();
  return out.empty() ? "no shard" : out;
}

// Reads examples `indices` with one get_range per run of consecutive indices; rows keep
// the order of `indices`.
std::vector<sharding::Example> read_examples(const sharding::SplitReader& reader, const std::vector<int64_t>& indices) {
  std::vector<size_t> order(indices.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return indices[a] < indices[b]; });
  std::vector<sharding::Example> rows(indices.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i + 1;
    while (j < order.size() && indices[order[j]] == indices[order[j - 1]] + 1) ++j;
    auto run = reader.get_range(indices[order[i]], indices[order[j - 1]] + 1);
    for (size_t k = i; k < j; ++k) rows[order[k]] = std::move(run[k - i]);
    i = j;
  }
  return rows;
}

}  // namespace

schedule::TaskSizes task_sizes_of(const sharding::SplitReader& reader, int64_t batch_size, double loss_weight) {
  schedule::TaskSizes t;
  t.name = reader.manifest().task_def.name;
  t.examples = reader.size();
  t.batch_size = batch_size;
  t.loss_weight = loss_weight;
  if (task_kinds::kind_of(reader.manifest().task_def).grouped()) {
    // Shards never split a group: shard s's groups start at its first example plus its own
    // group offsets.
    int64_t first = 0;
    for (const auto& shard : reader.shards()) {
      for (int64_t g = 0; g < shard.num_groups(); ++g) t.group_offsets.push_back(first + shard.group_begin(g));
      first += shard.size();
    }
    t.group_offsets.push_back(first);
  }
  return t;
}

BatchLoader::BatchLoader(std::vector<const sharding::SplitReader*> readers, std::vector<schedule::TaskSizes> tasks,
                         const schedule::ScheduleOptions& schedule_options, schedule::EpochSchedule schedule, BatchLoaderOptions options)
    : readers_(std::move(readers)),
      tasks_(std::move(tasks)),
      schedule_options_(schedule_options),
      schedule_(std::move(schedule)),
      options_(options),
      next_step_(options.first_step) {
  MTDNN_CHECK(options_.world >= 1 && options_.rank >= 0 && options_.rank < options_.world, "rank {} of world {}",
              options_.rank, options_.world);
  MTDNN_CHECK(options_.prefetch >= 0 && options_.bucket_window >= 0, "prefetch {} and bucket window {} must be >= 0",
              options_.prefetch, options_.bucket_window);
  MTDNN_CHECK(options_.first_step >= 0 && options_.first_step <= static_cast<int64_t>(schedule_.size()),
              "first step {} outside a schedule of {} steps", options_.first_step, schedule_.size());
  MTDNN_CHECK(readers_.size() == tasks_.size(), "{} readers for {} tasks", readers_.size(), tasks_.size());
  for (size_t t = 0; t < tasks_.size(); ++t) {
    MTDNN_CHECK(readers_[t] != nullptr, "task {} has no reader", t);
    MTDNN_INPUT_CHECK(readers_[t]->size() == tasks_[t].examples, "task '{}': the schedule was built for {} "
                      "examples but the shards hold {} (preprocessed data changed?)", tasks_[t].name,
                      tasks_[t].examples, readers_[t]->size());
  }
  for (const schedule::ScheduleEntry& e : schedule_.entries) {
    MTDNN_INPUT_CHECK(e.task >= 0 && static_cast<size_t>(e.task) < tasks_.size(), "schedule names task {} of {}",
                      e.task, tasks_.size());
    const schedule::TaskSizes& t = tasks_[static_cast<size_t>(e.task)];
    MTDNN_INPUT_CHECK(0 <= e.begin && e.begin <= e.end && e.end <= t.items() &&
                          e.example_begin == t.example_of(e.begin) && e.example_end == t.example_of(e.end),
                      "task '{}': schedule entry of items [{}, {}) / examples [{}, {}) does not fit its {} items",
                      t.name, e.begin, e.end, e.example_begin, e.example_end, t.items());
  }
  for (const sharding::SplitReader* reader : readers_) {
    const TaskDef& def = reader->manifest().task_def;
    kinds_.push_back(&task_kinds::kind_of(def));
    resources_.push_back(kinds_.back()->load_resources(def, reader->task_dir()));
  }
  if (options_.prefetch > 0) thread_ = std::thread([this] { produce(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  space_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<int64_t> BatchLoader::global_examples(int64_t step) const {
  const schedule::ScheduleEntry& e = schedule_.entries.at(static_cast<size_t>(step));
  const schedule::TaskSizes& t = tasks_[static_cast<size_t>(e.task)];
  if (options_.bucket_window > 0 && !t.ranking()) {
    int64_t bs = t.batch_size > 0 ? t.batch_size : schedule_options_.batch_size;
    const sharding::SplitReader* reader = readers_[static_cast<size_t>(e.task)];
    return schedule::bucketed_batch(t.examples, bs, e.batch, options_.bucket_window,
                          schedule::BucketKey{schedule_options_.seed, schedule_.epoch, e.task},
                          [reader](int64_t i) { return reader->length(i); });
  }
  std::vector<int64_t> out(static_cast<size_t>(e.example_end - e.example_begin));
  std::iota(out.begin(), out.end(), e.example_begin);
  return out;
}

LocalBatch BatchLoader::load(int64_t step) const {
  const schedule::ScheduleEntry& e = schedule_.entries.at(static_cast<size_t>(step));
  const schedule::TaskSizes& t = tasks_[static_cast<size_t>(e.task)];
  const sharding::SplitReader& reader = *readers_[static_cast<size_t>(e.task)];
  std::vector<int64_t> local;
  std::vector<int64_t> group_sizes;
  try {
    if (t.ranking()) {
    // Slice whole groups, then take the examples they cover.
      auto [g0, g1] = schedule::slice_for_rank(e.begin, e.end, options_.rank, options_.world);
      for (int64_t g = g0; g < g1; ++g) group_sizes.push_back(t.example_of(g + 1) - t.example_of(g));
      local.resize(static_cast<size_t>(t.example_of(g1) - t.example_of(g0)));
      std::iota(local.begin(), local.end(), t.example_of(g0));
    } else {
      std::vector<int64_t> global = global_examples(step);
      auto [p0, p1] = schedule::slice_for_rank(0, static_cast<int64_t>(global.size()), options_.rank, options_.world);
      local.assign(global.begin() + p0, global.begin() + p1);
    }
    LocalBatch b = make_local_batch(read_examples(reader, local), reader.label_kind(), options_.pad_id);
    b.step = step;
    b.entry = e;
    b.group_sizes = std::move(group_sizes);
    b.example_index = std::move(local);
    if (b.label_kind != LabelKind::kNone) {
      const auto task = static_cast<size_t>(e.task);
      const task_kinds::TargetKey key{schedule_options_.seed, static_cast<uint64_t>(schedule_.epoch),
                                      static_cast<uint64_t>(e.task)};
      task_kinds::BatchRows rows = batch_rows(b);
      b.targets = kinds_[task]->targets(reader.manifest().task_def, resources_[task].get(), key, rows);
    }
    return b;
  } catch (const std::exception& x) {
    rethrow_with_context(
        x, fmt::format("{}: loading step {} of epoch {} (task '{}', global examples [{}, {}))",
                       shard_files(reader, local.empty() ? std::vector<int64_t>{e.example_begin} : local), step,
                       schedule_.epoch, t.name, e.example_begin, e.example_end));
  }
}

void BatchLoader::produce() {
  // A thread-safe HDF5 keeps one error stack per thread: silence this thread's printing too
  // (the error we rethrow says what failed).
  h5::quiet_errors();
  for (int64_t step = options_.first_step; step < static_cast<int64_t>(schedule_.size()); ++step) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      space_.wait(lock, [&] { return stop_ || static_cast<int>(queue_.size()) < options_.prefetch; });
      if (stop_) return;
    }
    auto start = Clock::now();
    try {
      LocalBatch b = load(step);
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.load_seconds += seconds_since(start);
      queue_.push_back(std::move(b));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
      ready_.notify_all();
      return;
    }
    ready_.notify_all();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  produced_all_ = true;
  ready_.notify_all();
}

std::optional<LocalBatch> BatchLoader::next() {
  auto start = Clock::now();
  if (options_.prefetch == 0) {
    if (next_step_ >= static_cast<int64_t>(schedule_.size())) return std::nullopt;
    LocalBatch b = load(next_step_++);
    double s = seconds_since(start);
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.wait_seconds += s;
    stats_.load_seconds += s;
    ++stats_.batches;
    return b;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait(lock, [&] { return !queue_.empty() || error_ || produced_all_; });
  stats_.wait_seconds += seconds_since(start);
  if (!queue_.empty()) {
    LocalBatch b = std::move(queue_.front());
    queue_.pop_front();
    ++stats_.batches;
    lock.unlock();
    space_.notify_one();
    return b;
  }
  if (error_) std::rethrow_exception(error_);
  return std::nullopt;
}

LoaderStats BatchLoader::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace mtdnn::worker
