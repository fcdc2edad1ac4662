// The real tokens of a padded batch as the rows of one matrix. Every token-wise part of an
// encoder layer (the projections, GELU, dropout, residuals, LayerNorm) then runs on the N
// real tokens instead of B x T positions; attention scatters them back to (B, T) and runs
// per sequence over its own keys. The result equals the padded computation (the same rows,
// the same arithmetic), without the work on padding.
#pragma once

#include <cstdint>
#include <optional>

#include <torch/types.h>

namespace mtdnn::worker {

struct TokenPacking {
  torch::Tensor index;  // (N) int64: b * T + t of every real token, in row-major order
  int64_t batch = 0, length = 0;  // B, T

  // (B, T, C) -> (N, C).
  torch::Tensor pack(const torch::Tensor& padded) const;
  // (N, C) -> (B, T, C), zeros at the padding.
  torch::Tensor pad(const torch::Tensor& rows) const;
};

// The packing of an attention mask (B, T) (non-zero = real token) when every sequence is a
// prefix of real tokens followed by padding, holds at least one real token, and some
// padding exists; nullopt otherwise (interleaved or empty rows run padded; a batch without
// padding gains nothing from packing but its copies). `host_mask`: the same mask on the
// CPU when attention_mask is on a GPU (read without waiting for the GPU; the index is
// copied to it asynchronously).
std::optional<TokenPacking> pack_tokens(const torch::Tensor& attention_mask, const torch::Tensor& host_mask = {});

}  // namespace mtdnn::worker
