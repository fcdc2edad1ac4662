// One post-LayerNorm Transformer layer of BERT (multi-head self-attention, then a GELU
// feed-forward block, each followed by dropout, residual add and LayerNorm). Submodule
// names reproduce Hugging Face's BertLayer so parameters are named like
// `attention.self.query.weight` or `output.LayerNorm.bias`. Used by BertEncoder.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "worker/bert_config.h"
#include "worker/token_packing.h"

namespace mtdnn::worker {

// attention.self: the Q, K, V projections, each (H, H). At forward time they are used as
// one (3H, H) matrix, so one GEMM computes all three.
class BertSelfAttentionImpl : public torch::nn::Module {
 public:
  explicit BertSelfAttentionImpl(const BertConfig& config);
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr};
};
TORCH_MODULE(BertSelfAttention);

// attention.output and output: dense projection, then dropout + residual + LayerNorm.
class BertResidualOutputImpl : public torch::nn::Module {
 public:
  BertResidualOutputImpl(int64_t in_features, const BertConfig& config);
  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT: the Hugging Face name
};
TORCH_MODULE(BertResidualOutput);

class BertAttentionImpl : public torch::nn::Module {
 public:
  explicit BertAttentionImpl(const BertConfig& config);
  BertSelfAttention self{nullptr};
  BertResidualOutput output{nullptr};
};
TORCH_MODULE(BertAttention);

// A module that holds one projection named `dense`, as Hugging Face's BertIntermediate
// (H -> I) and BertPooler (H -> H) do.
class DenseImpl : public torch::nn::Module {
 public:
  DenseImpl(int64_t in_features, int64_t out_features);
  torch::nn::Linear dense{nullptr};  // (out, in)
};
TORCH_MODULE(Dense);

class BertLayerImpl : public torch::nn::Module {
 public:
  BertLayerImpl(const BertConfig& config, bool fused);
  // x (B, T, H), or the packed real tokens (N, H) of `packing`; key_mask (B, T) non-zero
  // for real tokens -> the same shape as x.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& key_mask,
                        const TokenPacking* packing = nullptr);

  BertAttention attention{nullptr};
  Dense intermediate{nullptr};  // (I, H)
  BertResidualOutput output{nullptr};

 private:
  BertConfig config_;
  bool fused_;
};
TORCH_MODULE(BertLayer);

}  // namespace mtdnn::worker
