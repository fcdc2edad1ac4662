// One optimizer step of one task's global batch on every rank: the round protocol's R3-R5
// (comm/round_protocol.h). This rank's slice runs in --grad-accum micro-batches through the
// encoder and the task's heads; each head's loss is scaled by loss_scale below; the
// gradient reducer all-reduces the encoder's and the task's gradients while backward runs
// (the word embeddings row-sparse unless the model ties a head to them); the statistics
// are reduced over ranks (R4); a NaN/Inf step is skipped, otherwise the update is clipped
// and applied (R5). With --precision fp16 the loss is also multiplied by the loss scaler's
// scale before backward and the gradients divided by it in the update (loss_scaler.h). Used by the trainer (orchestrator/trainer.cc), which owns the plan.
#pragma once

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "comm/grad_comm.h"
#include "comm/round_protocol.h"
#include "task_kinds/task_def.h"
#include "worker/execution.h"
#include "worker/grad_reducer.h"
#include "worker/local_batch.h"
#include "worker/loss_scaler.h"
#include "worker/mtdnn_model.h"
#include "worker/optimizer.h"

namespace mtdnn::worker {

// The loss scaling rule, the only one. A head's loss on a rank is its mean over the rank's
// `local` share of the global batch (items: rows or ranking groups; or targets, for a head
// whose loss is a mean over targets, the masked LM). It is multiplied by
//   loss_scale = local x world / global      (0 when global is 0)
// and the reducer divides the summed gradients by `world` (grad_reducer.h), so that each
// rank contributes local / global of its mean: the gradient is the global batch's mean on
// any world size and any accumulation. With one rank and one micro-batch it is 1.
double loss_scale(double local, double global, int world);

struct DistributedStepOptions {
  int64_t grad_accum = 1;  // micro-batches per step (--grad-accum)
  double grad_clip = 0;    // global norm to clip to; <= 0: none (--grad-clip)
  OptimizerOptions optimizer;
  // Dynamic loss scaling (--precision fp16); unset: none.
  std::optional<LossScalerOptions> loss_scaling;
};

// A step's statistics: what every rank agrees on after R4, and what it did with them.
struct StepResult {
  comm::RoundStats stats;  // reduced over ranks
  double loss = NAN;       // global mean loss of the batch
  double grad_norm = NAN;  // NaN when skipped
  double lr = 0;
  bool skipped = false;      // NaN/Inf gradient norm or loss on some rank: no update
  // With loss scaling: the scale this step's loss was multiplied by, and whether its skip
  // was an overflow the scaler absorbed (it halved the scale; not a sign of divergence).
  double loss_scale = NAN;
  bool scaler_overflow = false;
  bool stop_signal = false;  // some rank received a stop signal
};

class DistributedStep {
 public:
  // `comm`: the gradient backend (nullptr: one rank, nothing to reduce). Every parameter of
  // `model` that requires a gradient is optimized; the encoder and each task's heads form
  // the reducer's groups. `protocol` carries R3's target counts and R4.
  DistributedStep(MtdnnModelImpl& model, std::unique_ptr<comm::GradComm> comm, comm::RoundProtocol& protocol,
                  const ExecutionOptions& exec, DistributedStepOptions options);
  ~DistributedStep();

  // R3-R5 for `batch` (this rank's slice of one global batch of `task`) at learning rate
  // `lr`; `stop_signal`: this rank received one. Collective.
  StepResult run(const LocalBatch& batch, const TaskDef& task, double lr, bool stop_signal);

  Optimizer& optimizer() { return *optimizer_; }
  const Optimizer& optimizer() const { return *optimizer_; }
  // The loss scaler with --precision fp16, else nullptr.
  LossScaler* loss_scaler() { return scaler_ ? &*scaler_ : nullptr; }
  const LossScaler* loss_scaler() const { return scaler_ ? &*scaler_ : nullptr; }
  // This rank's time since construction spent waiting for slower ranks to finish backward
  // (load imbalance), and for gradient all-reduces that backward did not hide beyond that.
  double imbalance_wait_s() const { return imbalance_wait_s_; }
  double comm_wait_s() const;

 private:
  // The L2 norm of the step's reduced gradients, the same on every rank: the reducer takes
  // it while writing the gradients back when it reduced on the CPU; otherwise (one rank, a
  // GPU) the optimizer reads it from the gradients. Either way the same sum in double.
  double gradient_norm() const;

  MtdnnModelImpl& model_;
  std::unique_ptr<comm::GradComm> comm_;
  comm::RoundProtocol& protocol_;
  ExecutionOptions exec_;
  DistributedStepOptions options_;
  std::unique_ptr<GradReducer> reducer_;
  std::unique_ptr<Optimizer> optimizer_;
  std::optional<LossScaler> scaler_;
  double imbalance_wait_s_ = 0;
};

}  // namespace mtdnn::worker
