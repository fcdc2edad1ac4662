// Fused CPU operations of the encoder, each a custom autograd function with a plain
// LibTorch fallback: Linear with GEMMs split across the intra-op threads, dropout with a
// counter-based mask regenerated in backward (no mask tensor, no Bernoulli sampling),
// dropout + residual add, and multi-head self-attention computed head by head in cache.
// The fused path runs for contiguous CPU float32 tensors when `fused` is true; any other
// case (GPU, half precision, fused = false) uses the LibTorch reference formulas.
#pragma once

#include <torch/types.h>

namespace mtdnn::worker::ops {

// True when the fused kernels handle tensors like `t` (CPU, float32).
bool fusable(const torch::Tensor& t);

// y = x W^T + b. x (..., K), weight (N, K), bias (N) or undefined -> (..., N).
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight,
                     const torch::Tensor& bias, bool fused = true);

// gelu(x W^T + b): the bias and the activation applied in one pass after the GEMM.
torch::Tensor linear_gelu(const torch::Tensor& x, const torch::Tensor& weight,
                          const torch::Tensor& bias, bool fused = true);
// dropout(x W^T + b) + residual, the residual branch of a Transformer sub-layer, with the
// bias, dropout (in training, probability p) and residual add in one pass after the GEMM.
torch::Tensor linear_dropout_add(const torch::Tensor& x, const torch::Tensor& weight,
                                 const torch::Tensor& bias, const torch::Tensor& residual,
                                 double p, bool training, bool fused = true);

// Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p).
// Identity when !training or p == 0. Seeds come from LibTorch's default CPU generator,
// so torch::manual_seed makes runs repeatable.
torch::Tensor dropout(const torch::Tensor& x, double p, bool training, bool fused = true);
// dropout(x) + residual in one pass (the residual branch of a Transformer sub-layer).
torch::Tensor dropout_add(const torch::Tensor& x, const torch::Tensor& residual, double p,
                          bool training, bool fused = true);

// Exact (erf) GELU, as Hugging Face's "gelu"; the fused kernel's erf is within 1.5e-7.
torch::Tensor gelu(const torch::Tensor& x, bool fused = true);

// Multi-head self-attention core. qkv (B, T, 3H) holds [Q | K | V] of each token (heads
// contiguous within each, D = H / num_heads); key_mask (B, T), non-zero = real token.
// Returns (B, T, H): per head softmax(Q K^T / sqrt(D) + mask) V, with dropout p on the
// attention probabilities in training. Masked keys get probability exactly 0 (as Hugging
// Face's additive finfo.min mask gives); a row with no real key attends uniformly.
torch::Tensor self_attention(const torch::Tensor& qkv, const torch::Tensor& key_mask,
                             int64_t num_heads, double dropout_p, bool training,
                             bool fused = true);

// A fresh 64-bit seed from LibTorch's default CPU generator.
uint64_t draw_seed();

}  // namespace mtdnn::worker::ops
