// Classification head (see classification_head.h).
#include "worker/classification_head.h"

#include <algorithm>

#include <torch/torch.h>

#include "common/error.h"

namespace mtdnn::worker {
namespace {

class ClassificationHeadImpl : public TaskHeadImpl {
 public:
  ClassificationHeadImpl(const HeadSpec& spec, const BertConfig& config)
      : TaskHeadImpl(spec, config, std::max<int64_t>(spec.n_class, 2)) {
    MTDNN_INPUT_CHECK(spec.n_class >= 2, "task '{}': a classification head needs n_class >= 2, got {}",
                      spec.task, spec.n_class);
  }

  HeadOutput forward(const HeadInput& input, const torch::Tensor& labels) override {
    return with_class_loss(project_pooled(input), labels);  // logits (B, C)
  }
};

}  // namespace

TaskHead make_classification_head(const HeadSpec& spec, const BertConfig& config) {
  return std::make_shared<ClassificationHeadImpl>(spec, config);
}

TaskHead make_next_sentence_head(const HeadSpec& spec, const BertConfig& config) {
  HeadSpec two_classes = spec;  // BERT's next-sentence head has no dropout of its own
  two_classes.n_class = 2;
  two_classes.dropout_p = 0;
  return std::make_shared<ClassificationHeadImpl>(two_classes, config);
}

}  // namespace mtdnn::worker
