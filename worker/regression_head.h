// Regression head (text similarity, e.g. STS-B): dropout on the pooled [CLS] vector,
// Linear(H, 1), mean squared error. Parameters `weight` (1, H), `bias` (1).
// Labels (B) float scores; logits (B) predicted scores; predictions = logits.
#pragma once

#include "worker/bert_config.h"
#include "worker/task_head.h"

namespace mtdnn::worker {

TaskHead make_regression_head(const HeadSpec& spec, const BertConfig& config);

}  // namespace mtdnn::worker
