// Regression head (text similarity, e.g. STS-B): dropout on the pooled [CLS] vector,
// Linear(H, 1), mean squared error. Parameters `weight` (1, H), `bias` (1).
// Labels (B) float scores; logits (B) predicted scores; predictions = logits.
#pragma once

#include "worker/bert_config.h"
#include "worker/task_head.h"

namespace mtdnn::worker {

class RegressionHeadImpl : public TaskHeadImpl {
 public:
  RegressionHeadImpl(const HeadSpec& spec, const BertConfig& config);
  HeadOutput forward(const HeadInput& input, const torch::Tensor& labels) override;
  torch::Tensor predict(const HeadOutput& output, const HeadInput& input) const override;
};

TaskHead make_regression_head(const HeadSpec& spec, const BertConfig& config);

}  // namespace mtdnn::worker
