// Classification head (see classification_head.h).
#include "worker/classification_head.h"

#include <torch/torch.h>

#include "common/error.h"

namespace mtdnn::worker {
namespace {

class ClassificationHeadImpl : public TaskHeadImpl {
 public:
  ClassificationHeadImpl(const HeadSpec& spec, const BertConfig& config) : TaskHeadImpl(spec) {
    MTDNN_INPUT_CHECK(spec.n_class >= 2, "task '{}': a classification head needs n_class >= 2, got {}",
                      spec.task, spec.n_class);
    register_linear(config.hidden_size, spec.n_class, config.initializer_range);
  }

  HeadOutput forward(const HeadInput& input, const torch::Tensor& labels) override {
    return with_class_loss(project_pooled(input), labels);  // logits (B, C)
  }
};

}  // namespace

TaskHead make_classification_head(const HeadSpec& spec, const BertConfig& config) {
  return std::make_shared<ClassificationHeadImpl>(spec, config);
}

}  // namespace mtdnn::worker
