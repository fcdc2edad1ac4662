// Where a training run is and what it has counted so far: the part of a checkpoint that is
// not tensors (meta.json: "step", "epoch", "position", "log_window", "counters"). A resumed
// run continues its schedule, its counters and its open log window from it as if it had
// never been interrupted.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

namespace mtdnn::orchestrator {

// The sums of the training steps since the last training record (metrics.jsonl).
struct LogWindowSums {
  double tokens = 0, loss_sum = 0;
  int64_t steps = 0, finite_steps = 0;  // all steps; those with a finite loss

  void add(double real_tokens, double loss, bool skipped);
  double loss_avg() const;  // NaN when no step had a finite loss
};

struct Progress {
  int64_t step = 0;      // optimizer steps taken (skipped ones included)
  int64_t epoch = 0;     // where the next step is: entry `position` of epoch `epoch`'s schedule
  int64_t position = 0;
  int64_t skipped_steps = 0;  // steps skipped for NaN/Inf gradients or loss
  int64_t bad_in_row = 0;     // of them, consecutive up to now
  double examples = 0, real_tokens = 0;  // over all ranks
  LogWindowSums window;

  // After the step at entry `index` of an epoch of `epoch_size` entries.
  void advance(int64_t epoch_now, int64_t index, int64_t epoch_size);

  nlohmann::json to_json() const;
  // InputError naming `where` and the key when a field is missing or mistyped.
  static Progress from_json(const nlohmann::json& meta, const std::string& where);
};

}  // namespace mtdnn::orchestrator
