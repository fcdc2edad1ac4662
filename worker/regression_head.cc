// Regression head (see regression_head.h).
#include "worker/regression_head.h"

#include <torch/torch.h>

#include "worker/fused_ops.h"

namespace mtdnn::worker {

RegressionHeadImpl::RegressionHeadImpl(const HeadSpec& spec, const BertConfig& config)
    : TaskHeadImpl(spec) {
  register_linear(config.hidden_size, 1, config.initializer_range);
}

HeadOutput RegressionHeadImpl::forward(const HeadInput& input, const torch::Tensor& labels) {
  auto x = ops::dropout(input.pooled, spec().dropout_p, is_training());  // (B, H)
  HeadOutput out;
  out.logits = ops::linear(x, weight_, bias_).squeeze(-1);  // (B)
  if (labels.defined()) {
    check_labels(spec(), labels, 1, out.logits.size(0), /*integer=*/false);
    out.loss = torch::mse_loss(out.logits, labels.to(out.logits.dtype()));
  }
  return out;
}

torch::Tensor RegressionHeadImpl::predict(const HeadOutput& output, const HeadInput&) const {
  return output.logits;
}

TaskHead make_regression_head(const HeadSpec& spec, const BertConfig& config) {
  return std::make_shared<RegressionHeadImpl>(spec, config);
}

}  // namespace mtdnn::worker
