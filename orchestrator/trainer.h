// The trainer of mtdnn-train: the driver that sequences a run on every rank. It opens the
// run's inputs (run_inputs.h: shards, evaluation splits, encoder config, the schedule plan),
// builds the model from the seed, makes the distributed step (worker/distributed_step.h),
// resumes from a checkpoint (run_snapshot.h), and runs the rounds of the protocol
// (comm/round_protocol.h): per step one task's global batch, dev evaluation and checkpoints
// when rank 0 says so; at the end the final evaluation, predictions and the model folder.
// Records and console lines go through run_report.h. Output (rank 0): <out>/config.json,
// metrics.jsonl, predictions/, model/, checkpoints/.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "comm/round_protocol.h"
#include "orchestrator/checksums.h"
#include "orchestrator/run_report.h"
#include "orchestrator/train_options.h"

namespace mtdnn::worker {
class MtdnnModelImpl;
}

namespace mtdnn::orchestrator {

struct TrainResult {
  int64_t steps = 0;            // optimizer steps taken (skipped ones included)
  int64_t skipped_steps = 0;    // steps skipped for NaN/Inf gradients
  std::string stop_signal;      // "SIGTERM"/"SIGUSR1" when a signal ended training early
  bool early_stopped = false;   // --early-stop-patience ended training (a clean finish)
  std::vector<uint64_t> schedule_hashes;  // per epoch run
  std::vector<EvalRecord> evaluations;    // rank 0: every dev evaluation, in order
  double seconds = 0;           // the step loop's wall time
  double examples = 0, real_tokens = 0;   // over all ranks
  // This rank's time in the step loop (this run only, not since a resume) spent waiting for
  // the batch loader, for slower ranks to finish backward (load imbalance), and for gradient
  // all-reduces that backward did not hide beyond that (communication).
  double loader_wait_s = 0, imbalance_wait_s = 0, comm_wait_s = 0;
};

class Trainer {
 public:
  // Reads the task definitions and the shards' manifests, checks them (task definition,
  // tokenizer, format version, max length) and plans the steps. Collective over `plane`
  // (S1 of the protocol). Throws InputError naming the key, task or file on bad input.
  Trainer(TrainOptions options, comm::ControlPlane& plane);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // The resolved configuration (what config.json holds).
  std::string resolved_config_json() const;
  // The schedule summary --dry-run prints (dry_run.h).
  std::string schedule_summary() const;
  int64_t total_steps() const;
  int64_t warmup_steps() const;

  // Builds the model (S2), trains, evaluates and writes the outputs. Collective.
  TrainResult run();

  // The model: available after run() (or build_model()).
  worker::MtdnnModelImpl& model();
  // Builds the model from the seed (and --init-checkpoint) without training.
  void build_model();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mtdnn::orchestrator
