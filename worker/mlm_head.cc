// Masked-LM head (see mlm_head.h).
#include "worker/mlm_head.h"

#include <torch/torch.h>

#include "common/error.h"
#include "worker/fused_ops.h"
#include "tensor_io/shape_format.h"

namespace mtdnn::worker {

namespace nn = torch::nn;

MlmTransformImpl::MlmTransformImpl(const BertConfig& c) {
  dense = register_module("dense", nn::Linear(c.hidden_size, c.hidden_size));
  LayerNorm = register_module(
      "LayerNorm", nn::LayerNorm(nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
  torch::NoGradGuard no_grad;
  dense->weight.normal_(0, c.initializer_range);
  dense->bias.zero_();
}

MaskedLmHeadImpl::MaskedLmHeadImpl(const HeadSpec& spec, const BertConfig& config)
    : TaskHeadImpl(spec), eps_(config.layer_norm_eps) {
  transform = register_module("transform", MlmTransform(config));
  output_bias = register_parameter("bias", torch::zeros({config.vocab_size}));
}

torch::Tensor MaskedLmHeadImpl::logits(const torch::Tensor& hidden,
                                       const torch::Tensor& word_embeddings) {
  MTDNN_INPUT_CHECK(word_embeddings.defined() && word_embeddings.dim() == 2 &&
                        word_embeddings.size(0) == output_bias.size(0),
                    "task '{}': the MLM decoder needs the word embeddings (V, H), got {}",
                    spec().task, tensor_io::shape_of(word_embeddings));
  auto h = ops::gelu(ops::linear(hidden, transform->dense->weight, transform->dense->bias));
  h = torch::layer_norm(h, {h.size(-1)}, transform->LayerNorm->weight,
                        transform->LayerNorm->bias, eps_);
  return ops::linear(h, word_embeddings, output_bias);  // (..., V), decoder tied to E
}

HeadOutput MaskedLmHeadImpl::forward(const HeadInput& input, const torch::Tensor& labels) {
  HeadOutput out;
  if (!labels.defined()) {
    out.logits = logits(input.sequence, input.word_embeddings);  // (B, T, V)
    return out;
  }
  MTDNN_INPUT_CHECK(labels.sizes() == input.sequence.sizes().slice(0, 2),
                    "task '{}': MLM labels {} must be (B, T) like the sequence {}", spec().task,
                    tensor_io::shape_of(labels), tensor_io::shape_of(input.sequence));
  // Only labelled positions need the (V)-wide decoder: gather them first. (N, H)
  auto flat_labels = labels.reshape({-1}).to(input.sequence.device(), torch::kLong);
  auto positions = (flat_labels != kIgnoreIndex).nonzero().squeeze(1);
  auto hidden = input.sequence.reshape({-1, input.sequence.size(-1)}).index_select(0, positions);
  // Mean over labelled positions (NaN when there are none, as torch's cross-entropy).
  return with_class_loss(logits(hidden, input.word_embeddings), flat_labels.index_select(0, positions));  // (N, V)
}

TaskHead make_masked_lm_head(const HeadSpec& spec, const BertConfig& config) {
  return std::make_shared<MaskedLmHeadImpl>(spec, config);
}

}  // namespace mtdnn::worker
