// Next-sentence head (see nsp_head.h). No dropout of its own, as in BERT.
#include "worker/nsp_head.h"

#include <torch/torch.h>

#include "worker/fused_ops.h"

namespace mtdnn::worker {

NextSentenceHeadImpl::NextSentenceHeadImpl(const HeadSpec& spec, const BertConfig& config)
    : TaskHeadImpl(spec) {
  register_linear(config.hidden_size, 2, config.initializer_range);
}

HeadOutput NextSentenceHeadImpl::forward(const HeadInput& input, const torch::Tensor& labels) {
  HeadOutput out;
  out.logits = ops::linear(input.pooled, weight_, bias_);  // (B, 2)
  if (labels.defined()) {
    check_labels(spec(), labels, 1, out.logits.size(0), /*integer=*/true);
    out.loss = torch::cross_entropy_loss(out.logits, labels.to(torch::kLong));
  }
  return out;
}

torch::Tensor NextSentenceHeadImpl::predict(const HeadOutput& output, const HeadInput&) const {
  return output.logits.argmax(-1);
}

TaskHead make_next_sentence_head(const HeadSpec& spec, const BertConfig& config) {
  return std::make_shared<NextSentenceHeadImpl>(spec, config);
}

}  // namespace mtdnn::worker
