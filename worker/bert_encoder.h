// The shared BERT encoder of MT-DNN (Hugging Face's BertModel): embeddings (word +
// position + token type, LayerNorm, dropout), L Transformer layers, and the pooler
// (dense + tanh on [CLS]). named_parameters() equals BertModel's state-dict keys
// (`embeddings.word_embeddings.weight`, `encoder.layer.3.attention.self.query.weight`,
// `pooler.dense.bias`, ...), so Hugging Face import and export are plain copies.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "worker/bert_config.h"
#include "worker/bert_layer.h"

namespace mtdnn::worker {

struct BertEncoderOptions {
  /* implicit */ BertEncoderOptions(BertConfig config) : config_(std::move(config)) {}
  TORCH_ARG(BertConfig, config);
  // Fused CPU kernels (fused_ops.h) where they apply; false = LibTorch reference ops.
  TORCH_ARG(bool, fused) = true;
  // The layers' token-wise work on the real tokens only (token_packing.h); false = on every
  // padded position. The same result either way.
  TORCH_ARG(bool, unpadded) = true;
};

class BertEmbeddingsImpl : public torch::nn::Module {
 public:
  BertEmbeddingsImpl(const BertConfig& config, bool fused);
  // input_ids, token_type_ids (B, T) int64 -> (B, T, H).
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids);

  torch::nn::Embedding word_embeddings{nullptr};        // (V, H)
  torch::nn::Embedding position_embeddings{nullptr};    // (max positions, H)
  torch::nn::Embedding token_type_embeddings{nullptr};  // (type vocab, H)
  torch::nn::LayerNorm LayerNorm{nullptr};              // NOLINT: the Hugging Face name

 private:
  BertConfig config_;
  bool fused_;
};
TORCH_MODULE(BertEmbeddings);

// `encoder` in Hugging Face's naming: the stack `encoder.layer.<i>`.
class BertLayerStackImpl : public torch::nn::Module {
 public:
  BertLayerStackImpl(const BertConfig& config, bool fused);
  torch::nn::ModuleList layer{nullptr};
};
TORCH_MODULE(BertLayerStack);

struct BertEncoderOutput {
  torch::Tensor sequence;  // (B, T, H) last layer's hidden states
  torch::Tensor pooled;    // (B, H) tanh(dense(sequence[:, 0]))
};

class BertEncoderImpl : public torch::nn::Module {
 public:
  explicit BertEncoderImpl(BertEncoderOptions options);
  // input_ids, token_type_ids (B, T) int64; attention_mask (B, T), non-zero = real token.
  // T must not exceed max_position_embeddings (InputError otherwise). `host_mask`: a CPU
  // copy of a GPU attention_mask, if the caller has one (token packing then does not wait
  // for the GPU).
  BertEncoderOutput forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                            const torch::Tensor& attention_mask, const torch::Tensor& host_mask = {});
  // BERT's initialisation: weights ~ N(0, initializer_range), biases 0, LayerNorm 1 and 0,
  // the padding token's embedding row 0. Called by the constructor.
  void reset_parameters();
  const BertConfig& config() const { return options_.config(); }
  const BertEncoderOptions& options() const { return options_; }

  BertEmbeddings embeddings{nullptr};
  BertLayerStack encoder{nullptr};
  Dense pooler{nullptr};  // (H, H), then tanh

 private:
  BertEncoderOptions options_;
};
TORCH_MODULE(BertEncoder);

// Number of parameters of an encoder with this config (for FLOP counts and logs).
int64_t bert_parameter_count(const BertConfig& config);

}  // namespace mtdnn::worker
