// Next-sentence head (see nsp_head.h). No dropout of its own, as in BERT.
#include "worker/nsp_head.h"

#include <torch/torch.h>


namespace mtdnn::worker {
namespace {

class NextSentenceHeadImpl : public TaskHeadImpl {
 public:
  NextSentenceHeadImpl(const HeadSpec& spec, const BertConfig& config) : TaskHeadImpl(spec, config, 2) {}

  HeadOutput forward(const HeadInput& input, const torch::Tensor& labels) override {
    return with_class_loss(project_pooled(input, /*dropout=*/false), labels);  // logits (B, 2)
  }
};

}  // namespace

TaskHead make_next_sentence_head(const HeadSpec& spec, const BertConfig& config) {
  return std::make_shared<NextSentenceHeadImpl>(spec, config);
}

}  // namespace mtdnn::worker
