// BertEncoder: embeddings, layer stack and pooler (see bert_encoder.h).
#include "worker/bert_encoder.h"

#include <torch/torch.h>

#include "common/error.h"
#include "tensor_io/shape_format.h"
#include "worker/fused_ops.h"
#include "worker/token_packing.h"

namespace mtdnn::worker {

namespace nn = torch::nn;

BertEmbeddingsImpl::BertEmbeddingsImpl(const BertConfig& c, bool fused)
    : config_(c), fused_(fused) {
  word_embeddings = register_module(
      "word_embeddings",
      nn::Embedding(nn::EmbeddingOptions(c.vocab_size, c.hidden_size).padding_idx(c.pad_token_id)));
  position_embeddings =
      register_module("position_embeddings", nn::Embedding(c.max_position_embeddings, c.hidden_size));
  token_type_embeddings =
      register_module("token_type_embeddings", nn::Embedding(c.type_vocab_size, c.hidden_size));
  LayerNorm = register_module(
      "LayerNorm", nn::LayerNorm(nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
}

torch::Tensor BertEmbeddingsImpl::forward(const torch::Tensor& input_ids,
                                          const torch::Tensor& token_type_ids) {
  const int64_t T = input_ids.size(1);
  MTDNN_INPUT_CHECK(T <= config_.max_position_embeddings,
                    "sequence length {} exceeds max_position_embeddings {}", T,
                    config_.max_position_embeddings);
  // padding_idx: like Hugging Face, the [PAD] row receives no gradient.
  auto words = torch::embedding(word_embeddings->weight, input_ids, config_.pad_token_id);
  auto types = torch::embedding(token_type_embeddings->weight, token_type_ids);
  auto positions = position_embeddings->weight.narrow(0, 0, T);  // (T, H), broadcast over B
  auto x = torch::layer_norm(words + types + positions, {config_.hidden_size},
                             LayerNorm->weight, LayerNorm->bias, config_.layer_norm_eps);
  return ops::dropout(x, config_.hidden_dropout_prob, is_training(), fused_);  // (B, T, H)
}

BertLayerStackImpl::BertLayerStackImpl(const BertConfig& c, bool fused) {
  layer = register_module("layer", nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layer->push_back(BertLayer(c, fused));
}

BertEncoderImpl::BertEncoderImpl(BertEncoderOptions options) : options_(std::move(options)) {
  const BertConfig& c = options_.config();
  c.validate("BertEncoder");
  embeddings = register_module("embeddings", BertEmbeddings(c, options_.fused()));
  encoder = register_module("encoder", BertLayerStack(c, options_.fused()));
  pooler = register_module("pooler", Dense(c.hidden_size, c.hidden_size));
  reset_parameters();
}

void BertEncoderImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  const double std = options_.config().initializer_range;
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* linear = module->as<nn::Linear>()) {
      linear->weight.normal_(0, std);
      linear->bias.zero_();
    } else if (auto* embedding = module->as<nn::Embedding>()) {
      embedding->weight.normal_(0, std);
    } else if (auto* norm = module->as<nn::LayerNorm>()) {
      norm->weight.fill_(1);
      norm->bias.zero_();
    }
  }
  embeddings->word_embeddings->weight[options_.config().pad_token_id].zero_();
}

BertEncoderOutput BertEncoderImpl::forward(const torch::Tensor& input_ids,
                                           const torch::Tensor& token_type_ids,
                                           const torch::Tensor& attention_mask,
                                           const torch::Tensor& host_mask) {
  MTDNN_INPUT_CHECK(input_ids.dim() == 2 && token_type_ids.sizes() == input_ids.sizes() &&
                        attention_mask.sizes() == input_ids.sizes(),
                    "encoder inputs must all be (B, T): input_ids {}, token_type_ids {}, "
                    "attention_mask {}",
                    tensor_io::shape_of(input_ids), tensor_io::shape_of(token_type_ids), tensor_io::shape_of(attention_mask));
  auto x = embeddings->forward(input_ids, token_type_ids);  // (B, T, H)
  const std::optional<TokenPacking> packing =
      options_.unpadded() ? pack_tokens(attention_mask, host_mask) : std::optional<TokenPacking>();
  if (packing) x = packing->pack(x);  // (N, H)
  for (const auto& layer : *encoder->layer)
    x = layer->as<BertLayer>()->forward(x, attention_mask, packing ? &*packing : nullptr);
  if (packing) x = packing->pad(x);  // (B, T, H)
  auto cls = x.select(1, 0);  // (B, H)
  auto pooled = torch::tanh(ops::linear(cls, pooler->dense->weight, pooler->dense->bias,
                                        options_.fused()));  // (B, H)
  return {x, pooled};
}

int64_t bert_parameter_count(const BertConfig& c) {
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  const int64_t embeddings = (c.vocab_size + c.max_position_embeddings + c.type_vocab_size) * H + 2 * H;
  const int64_t layer = 4 * (H * H + H) + 2 * H * I + I + H + 4 * H;
  return embeddings + c.num_hidden_layers * layer + H * H + H;
}

}  // namespace mtdnn::worker
