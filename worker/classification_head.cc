// Classification head (see classification_head.h).
#include "worker/classification_head.h"

#include <torch/torch.h>

#include "common/error.h"
#include "worker/fused_ops.h"

namespace mtdnn::worker {

ClassificationHeadImpl::ClassificationHeadImpl(const HeadSpec& spec, const BertConfig& config)
    : TaskHeadImpl(spec) {
  MTDNN_INPUT_CHECK(spec.n_class >= 2, "task '{}': a classification head needs n_class >= 2, got {}",
                    spec.task, spec.n_class);
  register_linear(config.hidden_size, spec.n_class, config.initializer_range);
}

HeadOutput ClassificationHeadImpl::forward(const HeadInput& input, const torch::Tensor& labels) {
  auto x = ops::dropout(input.pooled, spec().dropout_p, is_training());  // (B, H)
  HeadOutput out;
  out.logits = ops::linear(x, weight_, bias_);  // (B, C)
  if (labels.defined()) {
    check_labels(spec(), labels, 1, out.logits.size(0), /*integer=*/true);
    out.loss = torch::cross_entropy_loss(out.logits, labels.to(torch::kLong));
  }
  return out;
}

torch::Tensor ClassificationHeadImpl::predict(const HeadOutput& output, const HeadInput&) const {
  return output.logits.argmax(-1);  // (B)
}

TaskHead make_classification_head(const HeadSpec& spec, const BertConfig& config) {
  return std::make_shared<ClassificationHeadImpl>(spec, config);
}

}  // namespace mtdnn::worker
