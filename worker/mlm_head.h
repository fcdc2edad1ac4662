// BERT's masked-language-model head (pretraining; Hugging Face's `cls.predictions`):
// transform = dense (H, H) + GELU + LayerNorm, then the decoder tied to the encoder's word
// embeddings plus an output bias (V). Parameters `transform.dense.{weight, bias}`,
// `transform.LayerNorm.{weight, bias}`, `bias` (V).
// Labels (B, T) int64 token ids, -100 where no prediction is wanted. With labels, logits
// are computed only at the labelled positions, (N, V) in row-major order of the
// positions, and the loss is their mean cross-entropy; without labels, logits (B, T, V).
// Predictions: argmax token ids.
#pragma once

#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "worker/bert_config.h"
#include "worker/task_head.h"

namespace mtdnn::worker {

constexpr int64_t kIgnoreIndex = -100;

class MlmTransformImpl : public torch::nn::Module {
 public:
  explicit MlmTransformImpl(const BertConfig& config);
  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT: the Hugging Face name
};
TORCH_MODULE(MlmTransform);

class MaskedLmHeadImpl : public TaskHeadImpl {
 public:
  MaskedLmHeadImpl(const HeadSpec& spec, const BertConfig& config);
  HeadOutput forward(const HeadInput& input, const torch::Tensor& labels) override;
  // Vocabulary logits of hidden states (..., H) -> (..., V).
  torch::Tensor logits(const torch::Tensor& hidden, const torch::Tensor& word_embeddings);
  bool ties_word_embeddings() const override { return true; }  // the decoder is E

  MlmTransform transform{nullptr};
  torch::Tensor output_bias;  // registered as `bias`

 private:
  double eps_;
};

TaskHead make_masked_lm_head(const HeadSpec& spec, const BertConfig& config);

}  // namespace mtdnn::worker
