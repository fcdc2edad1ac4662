// What a training run tells its user: the clock of the step loop (rates leave evaluation out
// and count this run only, not since a resume), the "train" and "eval" records of
// metrics.jsonl (metrics_log.h), and the console lines (training records, the progress
// line, the final summary). Rank 0 writes; the other ranks' report writes nothing.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "orchestrator/metrics_log.h"
#include "orchestrator/progress.h"
#include "orchestrator/rank_placement.h"
#include "orchestrator/run_inputs.h"
#include "worker/distributed_step.h"

namespace mtdnn::orchestrator {

struct EvalRecord {
  std::string task, split;
  int64_t step = 0;
  std::map<std::string, double> metrics;  // x100, by the YAML names (ACC, F1, ...)
};

// This rank's time in the step loop (this run only) spent waiting for the batch loader, for
// slower ranks to finish backward (load imbalance), and for gradient all-reduces that
// backward did not hide beyond that (communication).
struct StepWaits {
  double loader_s = 0, imbalance_s = 0, comm_s = 0;
};

// The wall clock of the step loop: rates leave evaluation out and count this run only.
struct RunClock {
  Clock::time_point start = Clock::now(), window_start = Clock::now(), last_progress = Clock::now();
  double eval_s = 0, window_eval_s = 0;
  double train_s() const { return std::max(1e-9, seconds_since(start) - eval_s); }
  double window_s() const { return std::max(1e-9, seconds_since(window_start) - window_eval_s); }
  void new_window();
  void add_eval(double s);
};

// "42s", "3m07s", "2h05m"; "?" when not finite or negative.
std::string format_duration(double s);
// "950", "12.3k", "4.56M".
std::string format_count(double x);

// Seconds of training left to step `total` at the rate from `first_step` (where this run
// started) to `step` over `train_s` seconds; NaN before the first step.
double eta_seconds(int64_t step, int64_t first_step, int64_t total, double train_s);

// One "train" record of metrics.jsonl: the step `p` has reached, of task `task` in `epoch`,
// with the run's estimated seconds left (`eta_s`, null when unknown).
nlohmann::ordered_json train_record(const Progress& p, const worker::StepResult& r, int64_t epoch,
                                    const std::string& task, const RunClock& clock, const StepWaits& waits,
                                    double eta_s);
// Its console line, ending in the ETA.
std::string train_line(const Progress& p, const worker::StepResult& r, int64_t epoch, const std::string& task,
                       int64_t total, const RunClock& clock, double eta_s);
// One "eval" record of metrics.jsonl and its console line.
nlohmann::ordered_json eval_record(const EvalRecord& rec, int64_t epoch, size_t examples, double seconds);
std::string eval_line(const EvalRecord& rec);

class RunReport {
 public:
  // metrics.jsonl in `out_dir`, kept up to `resumed_step` (< 0: a fresh run); `writer`: rank 0.
  RunReport(const std::string& out_dir, bool writer, int64_t resumed_step, int64_t total_steps);

  RunClock& clock() { return clock_; }
  // The run's first lines: a thread-binding warning on any rank; on rank 0 the tasks, ranks,
  // threads, device, backend, steps, the model's `parameters` (numbers) in `tensors`, the CPU
  // runtime, splits not preprocessed.
  void start(const RunInputs& in, int rank, int world, const RankPlacement& place, double parameters,
             size_t tensors) const;
  // The training record of the step `p` has reached; opens a new log window.
  void train(Progress* p, const worker::StepResult& r, int64_t epoch, const std::string& task,
             const StepWaits& waits);
  // Rank 0 on a terminal, at most four times a second: steps/s, tokens/s, ETA.
  void progress(const Progress& p, const Progress& first, int64_t epoch);
  // An evaluation's record of `examples` predictions that took `seconds`.
  void eval(const EvalRecord& rec, int64_t epoch, size_t examples, double seconds);
  // The end of the run: steps and rates of this run, and where the time went.
  void summary(const Progress& last, const Progress& first, double train_s, const StepWaits& waits,
               const std::string& model_dir) const;

 private:
  bool writer_;
  int64_t total_;
  int64_t first_step_;  // where this run started (the resumed step, or 0)
  MetricsLog metrics_;
  RunClock clock_;
};

}  // namespace mtdnn::orchestrator
