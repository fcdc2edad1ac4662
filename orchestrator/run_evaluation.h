// The evaluations of a training run (the round protocol's R6, and F2 with the test splits):
// every rank predicts its share of each evaluation split, the predictions are gathered
// through the protocol, and rank 0 writes the prediction files (predictions/) and the
// metrics (run_report.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "comm/round_protocol.h"
#include "orchestrator/run_inputs.h"
#include "orchestrator/run_report.h"
#include "worker/execution.h"
#include "worker/mtdnn_model.h"

namespace mtdnn::orchestrator {

// Collective. Evaluates `model` after step `step` of `epoch` on the labelled splits (and the
// test splits too when `with_test`); rank 0 returns the metrics, the other ranks nothing.
std::vector<EvalRecord> evaluate_run(worker::MtdnnModelImpl& model, const RunInputs& in, const TrainOptions& o,
                                     comm::RoundProtocol& protocol, const worker::ExecutionOptions& exec,
                                     RunReport& report, int64_t step, int64_t epoch, bool with_test);

}  // namespace mtdnn::orchestrator
