// The multi-task epoch schedule (see schedule.h). The interleaving follows mt-dnn's
// MultiTaskBatchSampler._gen_task_indices; its random draws come from our own keyed
// SplitMix64 streams instead of Python's global RNG.
#include "schedule/schedule.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/error.h"
#include "schedule/rng.h"

namespace mtdnn::schedule {

namespace {

int64_t batch_size_of(const TaskSizes& t, const ScheduleOptions& o) { return t.batch_size > 0 ? t.batch_size : o.batch_size; }

void check_inputs(const ScheduleOptions& o, const std::vector<TaskSizes>& tasks) {
  MTDNN_INPUT_CHECK(o.batch_size > 0, "batch size must be positive, got {}", o.batch_size);
  MTDNN_INPUT_CHECK(o.mix_opt >= 0, "mix_opt must be >= 0, got {}", o.mix_opt);
  MTDNN_INPUT_CHECK(o.ratio >= 0 && std::isfinite(o.ratio), "ratio must be >= 0, got {}", o.ratio);
  MTDNN_INPUT_CHECK(o.temperature >= 0 && std::isfinite(o.temperature), "temperature must be >= 0, got {}",
                    o.temperature);
  MTDNN_INPUT_CHECK(o.temperature == 0 || (o.mix_opt == 0 && o.ratio == 0),
                    "temperature sampling replaces mix_opt and ratio: set only one of them "
                    "(temperature {}, mix_opt {}, ratio {})", o.temperature, o.mix_opt, o.ratio);
  for (const TaskSizes& t : tasks) {
    MTDNN_INPUT_CHECK(t.examples >= 0 && t.batch_size >= 0, "task '{}': negative size", t.name);
    MTDNN_INPUT_CHECK(std::isfinite(t.loss_weight), "task '{}': loss weight {} is not finite", t.name, t.loss_weight);
    if (!t.ranking()) continue;
    MTDNN_INPUT_CHECK(t.group_offsets.front() == 0 && t.group_offsets.back() == t.examples,
                      "task '{}': ranking groups span [{}, {}] but the task has {} examples", t.name,
                      t.group_offsets.front(), t.group_offsets.back(), t.examples);
    for (size_t g = 1; g < t.group_offsets.size(); ++g)
      MTDNN_INPUT_CHECK(t.group_offsets[g] > t.group_offsets[g - 1], "task '{}': ranking group {} is empty",
                        t.name, g - 1);
  }
}

ScheduleEntry make_entry(const std::vector<TaskSizes>& tasks, const ScheduleOptions& o, int task, int64_t batch) {
  const TaskSizes& t = tasks[static_cast<size_t>(task)];
  int64_t bs = batch_size_of(t, o);
  ScheduleEntry e;
  e.task = task;
  e.batch = batch;
  e.begin = batch * bs;
  e.end = std::min(e.begin + bs, t.items());
  e.example_begin = t.example_of(e.begin);
  e.example_end = t.example_of(e.end);
  e.loss_weight = t.loss_weight;
  return e;
}

// Each task's batch indices in this epoch's shuffled order.
std::vector<std::vector<int64_t>> shuffled_batches(const ScheduleOptions& o, const std::vector<TaskSizes>& tasks,
                                                   int64_t epoch) {
  std::vector<std::vector<int64_t>> order(tasks.size());
  for (size_t t = 0; t < tasks.size(); ++t) {
    order[t].resize(static_cast<size_t>(num_batches(tasks[t], o)));
    for (size_t k = 0; k < order[t].size(); ++k) order[t][k] = static_cast<int64_t>(k);
    Rng rng = Rng::keyed(o.seed, {static_cast<uint64_t>(RngPurpose::kBatchOrder), static_cast<uint64_t>(epoch), t});
    rng.shuffle(order[t]);
  }
  return order;
}

// mt-dnn's task order: one slot per batch, a slot holds the task index.
std::vector<int> mtdnn_task_order(const ScheduleOptions& o, const std::vector<std::vector<int64_t>>& batches,
                                  int64_t epoch) {
  Rng rng = Rng::keyed(o.seed, {static_cast<uint64_t>(RngPurpose::kTaskOrder), static_cast<uint64_t>(epoch)});
  std::vector<int> aux, order;
  for (size_t t = 1; t < batches.size(); ++t) aux.insert(aux.end(), batches[t].size(), static_cast<int>(t));
  std::vector<int> main(batches.empty() ? 0 : batches[0].size(), 0);
  if (batches.size() > 1 && o.ratio > 0) {
    // A uniformly random subset of the auxiliary slots, in random order: the prefix of a
    // shuffle (what numpy's choice(replace=False) is).
    auto picks = static_cast<size_t>(std::floor(static_cast<double>(main.size()) * o.ratio));
    rng.shuffle(aux);
    aux.resize(std::min(picks, aux.size()));
  } else if (o.mix_opt > 0) {
    rng.shuffle(aux);
  }
  order = std::move(aux);
  order.insert(order.end(), main.begin(), main.end());
  if (o.mix_opt == 0) rng.shuffle(order);
  return order;
}

// Temperature sampling: `steps` draws of a task with p_t proportional to items_t^(1/T).
// A task's batches are handed out in its shuffled order; when they run out, the next pass
// over that task uses a fresh shuffle (key (epoch, task, pass)).
std::vector<ScheduleEntry> temperature_schedule(const ScheduleOptions& o, const std::vector<TaskSizes>& tasks,
                                                const std::vector<std::vector<int64_t>>& batches, int64_t epoch) {
  std::vector<double> cumulative(tasks.size());
  double total = 0;
  int64_t steps = 0;
  size_t last = 0;  // the last task with batches: where rounding at u ~ total lands
  for (size_t t = 0; t < tasks.size(); ++t) {
    if (!batches[t].empty()) {
      total += std::pow(static_cast<double>(tasks[t].items()), 1.0 / o.temperature);
      last = t;
    }
    cumulative[t] = total;
    steps += static_cast<int64_t>(batches[t].size());
  }
  Rng rng = Rng::keyed(o.seed, {static_cast<uint64_t>(RngPurpose::kTemperature), static_cast<uint64_t>(epoch)});
  std::vector<std::vector<int64_t>> current = batches;
  std::vector<size_t> next(tasks.size(), 0), pass(tasks.size(), 0);
  std::vector<ScheduleEntry> out;
  out.reserve(static_cast<size_t>(steps));
  for (int64_t s = 0; s < steps; ++s) {
    double u = rng.uniform() * total;
    size_t t = 0;
    // First task whose cumulative weight exceeds u, skipping empty tasks (zero width).
    while (t < last && (cumulative[t] <= u || batches[t].empty())) ++t;
    if (next[t] == current[t].size()) {
      ++pass[t];
      Rng again = Rng::keyed(o.seed, {static_cast<uint64_t>(RngPurpose::kBatchOrder), static_cast<uint64_t>(epoch),
                                      t, pass[t]});
      again.shuffle(current[t]);
      next[t] = 0;
    }
    out.push_back(make_entry(tasks, o, static_cast<int>(t), current[t][next[t]++]));
  }
  return out;
}

// Byte-wise FNV-1a over a 64-bit word's little-endian bytes. (The S2/S4 weight checksums,
// orchestrator/checksums.cc, feed whole words instead; why both exist is written there.)
void fnv1a(uint64_t& h, uint64_t word) {
  for (int i = 0; i < 8; ++i) {
    h ^= (word >> (8 * i)) & 0xFF;
    h *= 0x100000001B3ULL;
  }
}

}  // namespace

bool ScheduleEntry::operator==(const ScheduleEntry& o) const {
  return task == o.task && batch == o.batch && begin == o.begin && end == o.end && example_begin == o.example_begin &&
         example_end == o.example_end && loss_weight == o.loss_weight;
}

uint64_t EpochSchedule::hash() const {
  uint64_t h = 0xCBF29CE484222325ULL;
  fnv1a(h, static_cast<uint64_t>(epoch));
  fnv1a(h, entries.size());
  for (const ScheduleEntry& e : entries) {
    uint64_t weight_bits;
    std::memcpy(&weight_bits, &e.loss_weight, sizeof weight_bits);
    for (uint64_t w : {static_cast<uint64_t>(e.task), static_cast<uint64_t>(e.batch), static_cast<uint64_t>(e.begin),
                       static_cast<uint64_t>(e.end), static_cast<uint64_t>(e.example_begin),
                       static_cast<uint64_t>(e.example_end), weight_bits})
      fnv1a(h, w);
  }
  return h;
}

std::vector<int64_t> EpochSchedule::items_per_task(size_t num_tasks) const {
  std::vector<int64_t> n(num_tasks, 0);
  for (const ScheduleEntry& e : entries) n.at(static_cast<size_t>(e.task)) += e.end - e.begin;
  return n;
}

int64_t num_batches(const TaskSizes& task, const ScheduleOptions& options) {
  int64_t bs = batch_size_of(task, options);
  return (task.items() + bs - 1) / bs;
}

EpochSchedule build_epoch_schedule(const ScheduleOptions& options, const std::vector<TaskSizes>& tasks,
                                   int64_t epoch) {
  check_inputs(options, tasks);
  EpochSchedule schedule;
  schedule.epoch = epoch;
  std::vector<std::vector<int64_t>> batches = shuffled_batches(options, tasks, epoch);
  if (options.temperature > 0) {
    schedule.entries = temperature_schedule(options, tasks, batches, epoch);
    return schedule;
  }
  std::vector<size_t> next(tasks.size(), 0);
  for (int t : mtdnn_task_order(options, batches, epoch)) {
    auto ti = static_cast<size_t>(t);
    schedule.entries.push_back(make_entry(tasks, options, t, batches[ti][next[ti]++]));
  }
  return schedule;
}

std::pair<int64_t, int64_t> slice_for_rank(int64_t begin, int64_t end, int rank, int world) {
  MTDNN_CHECK(world >= 1 && rank >= 0 && rank < world, "rank {} of world {}", rank, world);
  MTDNN_CHECK(begin <= end, "range [{}, {})", begin, end);
  int64_t n = end - begin, base = n / world, extra = n % world;
  int64_t first = begin + rank * base + std::min<int64_t>(rank, extra);
  return {first, first + base + (rank < extra ? 1 : 0)};
}

}  // namespace mtdnn::schedule
