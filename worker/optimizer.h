// The training optimizer: AdamW (PyTorch's decoupled weight decay), mt-dnn's Adamax and
// LAMB, with global gradient-norm clipping folded into the update and the learning-rate
// schedule (linear warm-up then linear decay, or constant). An AdamW or Adamax update is
// one fused pass over a parameter (decay, moments and step per element), a LAMB update two
// (moments and both norms, then the step); parameters whose .grad is
// undefined are skipped entirely, so a task head that was not in the batch is not touched
// (not even decayed) and its step count does not advance. Used by the trainer.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

namespace mtdnn::worker {

enum class OptimizerKind {
  // m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
  // p -= lr wd p;  p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
  kAdamW,
  // mt-dnn's Adamax: m = b1 m + (1-b1) g;  u = max(b2 u, |g| + eps)
  // p -= lr wd p;  p -= lr / (1 - b1^t) * m / u
  kAdamax,
  // LAMB (You et al. 2019) with decoupled decay, as NVIDIA's BERT pretraining, per tensor:
  // m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
  // u = (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + wd p
  // trust = ||p|| / ||u|| when both norms are > 0, else 1
  // p -= lr trust u
  // (the trust ratio applies to every tensor, decayed or not; the norms are summed in
  // double in a fixed order, so the update does not depend on the thread count)
  kLamb,
};

// "adamw", "adamax" or "lamb"; InputError otherwise.
OptimizerKind parse_optimizer_kind(const std::string& name);
const char* to_string(OptimizerKind kind);

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::kAdamax;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-6;
  double weight_decay = 0.01;  // decoupled; never applied to bias and LayerNorm parameters
  // The update as LibTorch operators on the parameters' device (GPU; ExecutionOptions
  // other than CPU fp32 loops): the same formulas, equal to the CPU loops up to float
  // rounding. false: the fused CPU loops, which need contiguous CPU float32 parameters.
  bool tensor_ops = false;
};

struct NamedParameter {
  std::string name;     // state-dict name, e.g. bert.encoder.layer.0.output.LayerNorm.weight
  torch::Tensor param;  // float32, contiguous; on the CPU unless OptimizerOptions::tensor_ops
};

// Whether a parameter gets weight decay: not when its name has a `bias` or `LayerNorm`
// component (BERT's and mt-dnn's no_decay list).
bool weight_decay_applies(const std::string& name);

// torch.nn.utils.clip_grad_norm_'s factor: min(1, max_norm / (norm + 1e-6)); 1 when
// max_norm <= 0 (no clipping).
double clip_coefficient(double norm, double max_norm);

class Optimizer {
 public:
  struct ParamState {
    torch::Tensor exp_avg;  // m, shape of the parameter
    torch::Tensor exp_sec;  // v (AdamW, LAMB) or u (Adamax), shape of the parameter
    int64_t steps = 0;      // updates this parameter received (its t)
    bool decay = true;
  };

  Optimizer(std::vector<NamedParameter> params, OptimizerOptions options);

  // L2 norm of all defined gradients, accumulated in double in a fixed order (the same
  // value whatever the thread count). NaN or Inf when a gradient holds one.
  double grad_norm() const;
  // One update at learning rate `lr` of every parameter that has a gradient, reading each
  // gradient multiplied by `grad_scale` (the clipping factor) without modifying it.
  void step(double lr, double grad_scale = 1.0);
  // Drops every gradient (sets .grad undefined).
  void zero_grad();

  const OptimizerOptions& options() const { return options_; }
  const std::vector<NamedParameter>& params() const { return params_; }
  const std::vector<ParamState>& state() const { return state_; }

  // The state as named tensors, what a checkpoint stores: "<parameter>/exp_avg",
  // "<parameter>/exp_sec" (the tensors themselves) and "<parameter>/step" (int64, one value).
  std::map<std::string, torch::Tensor> state_tensors() const;
  // Restores the state: `fill` receives the same names, every tensor allocated, and must
  // fill each in place (a strict checkpoint restore does); the steps are read back after.
  void load_state_tensors(const std::function<void(std::map<std::string, torch::Tensor>&)>& fill);

 private:
  double grad_norm_tensor_ops() const;
  // One parameter's update with LibTorch operators at bias-correction step t.
  void step_tensor_ops(size_t i, double lr, double grad_scale, double t);

  std::vector<NamedParameter> params_;
  std::vector<ParamState> state_;
  OptimizerOptions options_;
};

enum class LrScheduleKind { kLinear, kConstant };

// "linear" or "constant"; InputError otherwise.
LrScheduleKind parse_lr_schedule_kind(const std::string& name);
const char* to_string(LrScheduleKind kind);

// Learning rate of optimizer step s (0-based) of `total_steps`:
//   linear:   s < W: lr (s + 1) / W;  else lr (total - s) / (total - W)
//             (peak lr on step W - 1 and W, lr / (total - W) on the last step, never 0)
//   constant: lr (after the same warm-up when W > 0)
struct LrSchedule {
  LrScheduleKind kind = LrScheduleKind::kLinear;
  double lr = 5e-5;
  int64_t warmup_steps = 0;  // W
  int64_t total_steps = 1;
  double at(int64_t step) const;
};

}  // namespace mtdnn::worker
