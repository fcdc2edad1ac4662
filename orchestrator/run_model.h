// The model of a training run: built from the seed on the CPU (the same weights on every
// rank and device), the encoder and heads from --init-checkpoint where given, in training
// mode. The trainer checks the weights across ranks (S2) after this.
#pragma once

#include "orchestrator/rank_placement.h"
#include "orchestrator/run_inputs.h"
#include "orchestrator/train_options.h"
#include "worker/mtdnn_model.h"

namespace mtdnn::orchestrator {

// `log`: rank 0 reports which heads came from the checkpoint.
worker::MtdnnModel build_run_model(const RunInputs& in, const TrainOptions& o, const RankPlacement& place, bool log);

}  // namespace mtdnn::orchestrator
