// Packing real tokens (see token_packing.h).
#include "worker/token_packing.h"

#include <vector>

#include <torch/torch.h>

namespace mtdnn::worker {

torch::Tensor TokenPacking::pack(const torch::Tensor& padded) const {
  return padded.reshape({batch * length, padded.size(-1)}).index_select(0, index);
}

torch::Tensor TokenPacking::pad(const torch::Tensor& rows) const {
  const int64_t C = rows.size(-1);
  return torch::zeros({batch * length, C}, rows.options()).index_copy(0, index, rows).view({batch, length, C});
}

std::optional<TokenPacking> pack_tokens(const torch::Tensor& attention_mask, const torch::Tensor& host_mask) {
  const torch::Tensor mask = (host_mask.defined() ? host_mask : attention_mask).to(torch::kCPU, torch::kBool).contiguous();
  const int64_t B = mask.size(0), T = mask.size(1);
  const bool* m = mask.data_ptr<bool>();
  std::vector<int64_t> index;
  index.reserve(static_cast<size_t>(B * T));
  for (int64_t b = 0; b < B; ++b) {
    const bool* row = m + b * T;
    int64_t n = 0;
    while (n < T && row[n]) ++n;
    if (n == 0) return std::nullopt;
    for (int64_t t = n; t < T; ++t)
      if (row[t]) return std::nullopt;
    for (int64_t t = 0; t < n; ++t) index.push_back(b * T + t);
  }
  if (static_cast<int64_t>(index.size()) == B * T) return std::nullopt;
  TokenPacking p;
  p.index = torch::tensor(index, torch::kLong);
  if (attention_mask.is_cuda()) p.index = p.index.pin_memory().to(attention_mask.device(), /*non_blocking=*/true);
  p.batch = B;
  p.length = T;
  return p;
}

}  // namespace mtdnn::worker
