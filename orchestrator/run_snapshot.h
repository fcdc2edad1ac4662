// The part of a training run a checkpoint holds beyond the tensors the model and optimizer
// name: meta.json in both directions (written from the run; on resume checked against the
// run: same tasks and definitions, tokenizer and step schedule) and the generators' states
// of every rank (the round protocol's C1 gathers them). Used by the trainer's checkpoint
// and resume; the tensors' layout is checkpoints/training_state.h's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "checkpoints/training_state.h"
#include "comm/round_protocol.h"
#include "orchestrator/progress.h"
#include "orchestrator/run_inputs.h"
#include "orchestrator/train_options.h"
#include "worker/execution.h"
#include "worker/loss_scaler.h"
#include "worker/mtdnn_model.h"
#include "worker/optimizer.h"

namespace mtdnn::orchestrator {

class RunSnapshot {
 public:
  // `config`: the run's resolved configuration (config.json); `rank` of `world`; `exec`:
  // this rank's device (a GPU's generator is saved and restored too).
  RunSnapshot(const RunInputs& in, const TrainOptions& o, nlohmann::json config, int rank, int world,
              const worker::ExecutionOptions& exec);

  // meta.json of a checkpoint taken when the run is at `p`.
  nlohmann::json meta(const Progress& p) const;
  // InputError naming `where` unless `meta` comes from a run of the same tasks (names and
  // definitions) with the same tokenizer and the same total and warm-up steps.
  void check_compatible(const nlohmann::json& meta, const std::string& where) const;

  // This rank's generator states, for C1: the CPU's, and on a GPU the device's.
  std::string cpu_generator() const;
  std::optional<std::string> cuda_generator() const;
  // Rank 0, after C1: the full state at `p`; `scaler`: fp16's loss scaler (meta.json's
  // "loss_scaler"), or nullptr.
  checkpoints::TrainingState capture(const Progress& p, const worker::MtdnnModelImpl& model,
                                     const worker::Optimizer& optimizer, const worker::LossScaler* scaler,
                                     const comm::RoundProtocol::GeneratorStates& generators) const;
  // Checks `loaded` (check_compatible), then restores the weights and optimizer state
  // (strictly), the loss scaler's state (when this run scales and the checkpoint's did;
  // otherwise the scaler starts at --loss-scale-init) and this rank's generators: its own
  // stream on the same world size, otherwise a fresh one keyed by the step. `where` names
  // the checkpoint in errors.
  void restore(const checkpoints::TrainingState& loaded, worker::MtdnnModelImpl& model, worker::Optimizer& optimizer,
               worker::LossScaler* scaler, const std::string& where) const;

 private:
  void restore_generators(const checkpoints::TrainingState& loaded, const std::string& where) const;

  const RunInputs& in_;
  const TrainOptions& o_;
  nlohmann::json config_;
  int rank_, world_;
  worker::ExecutionOptions exec_;
};

}  // namespace mtdnn::orchestrator
