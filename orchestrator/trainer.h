// The trainer of mtdnn-train: opens and checks the shards, plans the schedule, builds the
// model from the seed, and runs the step loop of the round protocol (round_protocol.h) on
// every rank: per step one task's global batch, this rank's slice of it (in --grad-accum
// micro-batches), backward with the gradients of the encoder and that task's head
// all-reduced, NaN/Inf check, clipping, optimizer step and learning-rate schedule; dev
// evaluation when rank 0 says so; at the end the final evaluation, predictions and the
// model folder. Output (rank 0): <out>/config.json, metrics.jsonl, predictions/, model/.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "comm/round_protocol.h"
#include "orchestrator/train_options.h"

namespace mtdnn::worker {
class MtdnnModelImpl;
}

namespace mtdnn::orchestrator {

struct EvalRecord {
  std::string task, split;
  int64_t step = 0;
  std::map<std::string, double> metrics;  // x100, by the YAML names (ACC, F1, ...)
};

struct TrainResult {
  int64_t steps = 0;            // optimizer steps taken (skipped ones included)
  int64_t skipped_steps = 0;    // steps skipped for NaN/Inf gradients
  std::string stop_signal;      // "SIGTERM"/"SIGUSR1" when a signal ended training early
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
  // The schedule summary --dry-run prints: batches per task per epoch, total and warm-up steps.
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

// FNV-1a 64 over every parameter's name and float bytes, in registration order.
uint64_t parameter_checksum(const worker::MtdnnModelImpl& model);

}  // namespace mtdnn::orchestrator
