// BertLayer forward pass (see bert_layer.h), written with the fused ops: one QKV GEMM,
// fused attention, dropout folded into the residual add.
#include "worker/bert_layer.h"

#include <torch/torch.h>

#include "worker/fused_ops.h"

namespace mtdnn::worker {

namespace nn = torch::nn;

BertSelfAttentionImpl::BertSelfAttentionImpl(const BertConfig& c) {
  query = register_module("query", nn::Linear(c.hidden_size, c.hidden_size));
  key = register_module("key", nn::Linear(c.hidden_size, c.hidden_size));
  value = register_module("value", nn::Linear(c.hidden_size, c.hidden_size));
}

BertResidualOutputImpl::BertResidualOutputImpl(int64_t in_features, const BertConfig& c) {
  dense = register_module("dense", nn::Linear(in_features, c.hidden_size));
  LayerNorm = register_module(
      "LayerNorm", nn::LayerNorm(nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
}

BertAttentionImpl::BertAttentionImpl(const BertConfig& c) {
  self = register_module("self", BertSelfAttention(c));
  output = register_module("output", BertResidualOutput(c.hidden_size, c));
}

DenseImpl::DenseImpl(int64_t in_features, int64_t out_features) {
  dense = register_module("dense", nn::Linear(in_features, out_features));
}

BertLayerImpl::BertLayerImpl(const BertConfig& c, bool fused) : config_(c), fused_(fused) {
  attention = register_module("attention", BertAttention(c));
  intermediate = register_module("intermediate", Dense(c.hidden_size, c.intermediate_size));
  output = register_module("output", BertResidualOutput(c.intermediate_size, c));
}

torch::Tensor BertLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& key_mask,
                                     const TokenPacking* packing) {
  const bool train = is_training();
  const double p = config_.hidden_dropout_prob;
  const int64_t H = config_.hidden_size;
  const auto& sa = attention->self;
  // The three projections as one (3H, H) GEMM; the concatenation is a 3H x H copy, small
  // next to the (B*T, H) x (H, 3H) product, and autograd splits its gradient back.
  auto w_qkv = torch::cat({sa->query->weight, sa->key->weight, sa->value->weight}, 0);
  auto b_qkv = torch::cat({sa->query->bias, sa->key->bias, sa->value->bias}, 0);
  auto qkv = ops::linear(x, w_qkv, b_qkv, fused_);  // (B, T, 3H) or (N, 3H)
  // Attention runs per sequence: packed tokens go back to their (B, T) places for it.
  if (packing) qkv = packing->pad(qkv);
  auto context = ops::self_attention(qkv, key_mask, config_.num_attention_heads,
                                     config_.attention_probs_dropout_prob, train,
                                     fused_);  // (B, T, H)
  if (packing) context = packing->pack(context);  // (N, H)
  const auto& ao = attention->output;
  // LayerNorm(dropout(context Wo + bo) + x): bias, dropout and residual fused after the GEMM.
  auto h = torch::layer_norm(ops::linear_dropout_add(context, ao->dense->weight, ao->dense->bias,
                                                     x, p, train, fused_),
                             {H}, ao->LayerNorm->weight, ao->LayerNorm->bias,
                             config_.layer_norm_eps);  // (B, T, H)
  auto inner = ops::linear_gelu(h, intermediate->dense->weight, intermediate->dense->bias,
                                fused_);  // (B, T, I)
  return torch::layer_norm(ops::linear_dropout_add(inner, output->dense->weight,
                                                   output->dense->bias, h, p, train, fused_),
                           {H}, output->LayerNorm->weight, output->LayerNorm->bias,
                           config_.layer_norm_eps);  // (B, T, H)
}

}  // namespace mtdnn::worker
