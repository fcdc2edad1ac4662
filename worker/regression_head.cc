// Regression head (see regression_head.h).
#include "worker/regression_head.h"

#include <torch/torch.h>


namespace mtdnn::worker {
namespace {

class RegressionHeadImpl : public TaskHeadImpl {
 public:
  RegressionHeadImpl(const HeadSpec& spec, const BertConfig& config) : TaskHeadImpl(spec, config, 1) {}

  HeadOutput forward(const HeadInput& input, const torch::Tensor& labels) override {
    HeadOutput out;
    out.logits = project_pooled(input).squeeze(-1);  // (B)
    if (labels.defined()) {
      check_labels(spec(), labels, 1, out.logits.size(0), /*integer=*/false);
      out.loss = torch::mse_loss(out.logits, labels.to(out.logits.dtype()));
    }
    return out;
  }

  // The scores themselves.
  torch::Tensor predict(const HeadOutput& output, const HeadInput&) const override { return output.logits; }
};

}  // namespace

TaskHead make_regression_head(const HeadSpec& spec, const BertConfig& config) {
  return std::make_shared<RegressionHeadImpl>(spec, config);
}

}  // namespace mtdnn::worker
