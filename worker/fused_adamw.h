// FusedAdamW: AdamW (PyTorch's decoupled weight decay) with global gradient-norm
// clipping, done in two streaming passes over all parameters (norm, then one fused
// update of parameter, m and v per element) instead of a dozen tensor ops per parameter.
// Moments live in two flat buffers. CPU float32 parameters; used by the benchmark and the
// trainer's CPU path.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace mtdnn::worker {

struct FusedAdamWOptions {
  double lr = 5e-5;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
  double max_grad_norm = 1.0;  // <= 0: no clipping
};

class FusedAdamW {
 public:
  FusedAdamW(std::vector<torch::Tensor> params, FusedAdamWOptions options);
  // Clips by the global L2 norm of all gradients (parameters without a gradient are
  // skipped) and applies one AdamW step at `lr` (the options' when < 0). Returns the norm
  // before clipping.
  double step(double lr = -1);
  // Drops the gradients (set to none), so backward hands its fresh gradients over
  // without an accumulate pass.
  void zero_grad();
  int64_t step_count() const { return steps_; }
  int64_t numel() const { return numel_; }
  const torch::Tensor& exp_avg() const { return m_; }     // flat (numel)
  const torch::Tensor& exp_avg_sq() const { return v_; }  // flat (numel)

 private:
  std::vector<torch::Tensor> params_;
  std::vector<int64_t> offsets_;  // start of each parameter in the flat moments
  FusedAdamWOptions options_;
  torch::Tensor m_, v_;
  int64_t numel_ = 0, steps_ = 0;
};

}  // namespace mtdnn::worker
