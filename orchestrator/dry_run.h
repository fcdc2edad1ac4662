// What mtdnn-train --dry-run prints after the resolved configuration: batches per task per
// epoch, total and warm-up steps, the evaluation splits, and an estimate of one rank's
// memory. Made from the run's inputs alone (no model is built).
#pragma once

#include <string>

#include "orchestrator/run_inputs.h"
#include "orchestrator/train_options.h"

namespace mtdnn::orchestrator {

// The summary of a run of `in` on `world` ranks.
std::string dry_run_summary(const RunInputs& in, const TrainOptions& o, int world);

// Memory one rank needs, estimated from the configuration without building the model (one
// line, "memory per rank (estimate): <N> parameters; ...").
std::string memory_estimate(const RunInputs& in, const TrainOptions& o, int world);

}  // namespace mtdnn::orchestrator
