// FusedAdamW (see fused_adamw.h): per-element work in cpu_kernels.cc, parallel over the
// concatenation of all parameters so small tensors do not serialise the pass.
#include "worker/fused_adamw.h"

#include <algorithm>
#include <cmath>

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/torch.h>

#include "common/error.h"
#include "worker/cpu_kernels.h"

namespace mtdnn::worker {

FusedAdamW::FusedAdamW(std::vector<torch::Tensor> params, FusedAdamWOptions options)
    : params_(std::move(params)), options_(options) {
  for (const auto& p : params_) {
    MTDNN_CHECK(p.device().is_cpu() && p.scalar_type() == torch::kFloat && p.is_contiguous(),
                "FusedAdamW takes contiguous CPU float32 parameters");
    offsets_.push_back(numel_);
    numel_ += p.numel();
  }
  offsets_.push_back(numel_);
  m_ = torch::zeros({numel_});
  v_ = torch::zeros({numel_});
}

void FusedAdamW::zero_grad() {
  for (auto& p : params_) p.mutable_grad() = torch::Tensor();
}

namespace {

// Calls f(parameter index, first element, element count) for the parts of the flat
// range [begin, end) that fall in each parameter.
template <typename F>
void for_each_segment(const std::vector<int64_t>& offsets, int64_t begin, int64_t end, const F& f) {
  auto it = std::upper_bound(offsets.begin(), offsets.end(), begin);
  for (size_t i = it - offsets.begin() - 1; i + 1 < offsets.size() && offsets[i] < end; ++i) {
    const int64_t lo = std::max(begin, offsets[i]), hi = std::min(end, offsets[i + 1]);
    if (hi > lo) f(i, lo - offsets[i], hi - lo);
  }
}

constexpr int64_t kGrain = 1 << 16;

}  // namespace

double FusedAdamW::step(double lr) {
  RECORD_FUNCTION("mtdnn::adamw_step", std::vector<c10::IValue>());
  if (lr < 0) lr = options_.lr;
  std::vector<const float*> grads(params_.size(), nullptr);
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& g = params_[i].grad();
    if (!g.defined()) continue;
    MTDNN_CHECK(g.is_contiguous() && g.scalar_type() == torch::kFloat,
                "FusedAdamW: gradient {} is not contiguous float32", i);
    grads[i] = g.data_ptr<float>();
  }
  // Pass 1: global gradient norm.
  const int64_t chunks = (numel_ + kGrain - 1) / kGrain;
  std::vector<double> partial(std::max<int64_t>(chunks, 1), 0.0);
  at::parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double s = 0;
      for_each_segment(offsets_, c * kGrain, std::min(numel_, (c + 1) * kGrain),
                       [&](size_t i, int64_t first, int64_t n) {
                         if (grads[i]) s += kernels::sum_squares(grads[i] + first, n);
                       });
      partial[c] = s;
    }
  });
  double sq = 0;
  for (double s : partial) sq += s;  // fixed order: the norm does not depend on threads
  const double norm = std::sqrt(sq);
  double scale = 1.0;
  if (options_.max_grad_norm > 0 && norm > options_.max_grad_norm)
    scale = options_.max_grad_norm / (norm + 1e-6);  // torch.nn.utils.clip_grad_norm_
  // Pass 2: the update.
  ++steps_;
  const double bias1 = 1 - std::pow(options_.beta1, static_cast<double>(steps_));
  const double bias2 = 1 - std::pow(options_.beta2, static_cast<double>(steps_));
  kernels::AdamWStep s{};
  s.grad_scale = static_cast<float>(scale);
  s.beta1 = static_cast<float>(options_.beta1);
  s.beta2 = static_cast<float>(options_.beta2);
  s.decay = static_cast<float>(1 - lr * options_.weight_decay);
  s.step_size = static_cast<float>(lr / bias1);
  s.inv_sqrt_bias2 = static_cast<float>(1 / std::sqrt(bias2));
  s.eps = static_cast<float>(options_.eps);
  float* m = m_.data_ptr<float>();
  float* v = v_.data_ptr<float>();
  at::parallel_for(0, numel_, kGrain, [&](int64_t begin, int64_t end) {
    for_each_segment(offsets_, begin, end, [&](size_t i, int64_t first, int64_t n) {
      if (!grads[i]) return;
      const int64_t flat = offsets_[i] + first;
      kernels::adamw(s, params_[i].data_ptr<float>() + first, grads[i] + first, m + flat,
                     v + flat, n);
    });
  });
  // Written through raw pointers: tell autograd the parameters changed, as in-place ops do.
  for (size_t i = 0; i < params_.size(); ++i)
    if (grads[i]) params_[i].unsafeGetTensorImpl()->bump_version();
  return norm;
}

}  // namespace mtdnn::worker
