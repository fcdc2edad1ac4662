// AdamW / Adamax / LAMB, gradient norm and learning-rate schedule (see optimizer.h). The
// per-element kernels (optimizer_kernels.h) run over fixed chunks of every parameter in one
// parallel region; scalars are computed once per parameter in double.
#include "worker/optimizer.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "common/enum_names.h"
#include "common/error.h"
#include "worker/cpu_kernels.h"
#include "worker/optimizer_kernels.h"
#include "worker/parallel_chunks.h"

namespace mtdnn::worker {

namespace {

constexpr EnumName<OptimizerKind> kOptimizerNames[] = {
    {OptimizerKind::kAdamW, "adamw"}, {OptimizerKind::kAdamax, "adamax"}, {OptimizerKind::kLamb, "lamb"}};
constexpr EnumName<LrScheduleKind> kLrScheduleNames[] = {{LrScheduleKind::kLinear, "linear"},
                                                         {LrScheduleKind::kConstant, "constant"}};

// The scalars of one parameter's update at bias-correction step t, for the CPU kernels.
StepScalars step_scalars(const OptimizerOptions& o, double lr, double grad_scale, double t, bool decay) {
  StepScalars s{};
  s.decay = static_cast<float>(decay ? 1.0 - lr * o.weight_decay : 1.0);
  s.grad_scale = static_cast<float>(grad_scale);
  s.beta1 = static_cast<float>(o.beta1);
  s.one_minus_beta1 = static_cast<float>(1.0 - o.beta1);
  s.beta2 = static_cast<float>(o.beta2);
  s.one_minus_beta2 = static_cast<float>(1.0 - o.beta2);
  s.step_size = static_cast<float>(lr / (1.0 - std::pow(o.beta1, t)));
  s.inv_sqrt_bias2 = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(o.beta2, t)));
  s.eps = static_cast<float>(o.eps);
  s.inv_bias1 = static_cast<float>(1.0 / (1.0 - std::pow(o.beta1, t)));
  s.inv_bias2 = static_cast<float>(1.0 / (1.0 - std::pow(o.beta2, t)));
  s.wd = static_cast<float>(decay ? o.weight_decay : 0.0);
  return s;
}

}  // namespace

OptimizerKind parse_optimizer_kind(const std::string& name) { return parse_name(kOptimizerNames, name); }
const char* to_string(OptimizerKind kind) { return name_of(kOptimizerNames, kind); }

bool weight_decay_applies(const std::string& name) {
  // Dot-separated components: "...attention.output.LayerNorm.weight", "...dense.bias".
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    std::string part = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part == "bias" || part == "LayerNorm") return false;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return true;
}

double clip_coefficient(double norm, double max_norm) {
  if (max_norm <= 0) return 1.0;
  return std::min(1.0, max_norm / (norm + 1e-6));
}

Optimizer::Optimizer(std::vector<NamedParameter> params, OptimizerOptions options)
    : params_(std::move(params)), options_(options) {
  MTDNN_INPUT_CHECK(options_.beta1 >= 0 && options_.beta1 < 1 && options_.beta2 >= 0 && options_.beta2 < 1,
                    "optimizer betas must lie in [0, 1), got {} and {}", options_.beta1, options_.beta2);
  MTDNN_INPUT_CHECK(options_.eps > 0, "optimizer eps must be > 0, got {}", options_.eps);
  MTDNN_INPUT_CHECK(options_.weight_decay >= 0, "weight decay must be >= 0, got {}", options_.weight_decay);
  for (const auto& np : params_) {
    MTDNN_CHECK(np.param.scalar_type() == torch::kFloat && np.param.is_contiguous(),
                "optimizer: parameter {} is not a contiguous float32 tensor", np.name);
    MTDNN_CHECK(options_.tensor_ops || np.param.device().is_cpu(),
                "optimizer: parameter {} is on {}: the CPU loops need CPU parameters (OptimizerOptions::tensor_ops)",
                np.name, np.param.device().str());
    ParamState s;
    s.exp_avg = torch::zeros_like(np.param);
    s.exp_sec = torch::zeros_like(np.param);
    s.decay = weight_decay_applies(np.name);
    state_.push_back(std::move(s));
  }
}

double Optimizer::grad_norm_tensor_ops() const {
  // Summed in double on the device in a fixed order; one value comes back to the host.
  torch::NoGradGuard no_grad;
  torch::Tensor total;
  for (const auto& np : params_) {
    const torch::Tensor& grad = np.param.grad();
    if (!grad.defined()) continue;
    torch::Tensor s = grad.to(torch::kDouble).square().sum();
    total = total.defined() ? total + s : s;
  }
  return total.defined() ? std::sqrt(total.item<double>()) : 0.0;
}

void Optimizer::step_tensor_ops(size_t i, double lr, double grad_scale, double t) {
  torch::Tensor& p = params_[i].param;
  ParamState& st = state_[i];
  const OptimizerOptions& o = options_;
  const double bias1 = 1.0 - std::pow(o.beta1, t), bias2 = 1.0 - std::pow(o.beta2, t);
  const torch::Tensor g = grad_scale == 1.0 ? p.grad() : p.grad().mul(grad_scale);
  torch::Tensor& m = st.exp_avg;
  torch::Tensor& v = st.exp_sec;
  m.mul_(o.beta1).add_(g, 1.0 - o.beta1);
  const double decay = st.decay ? 1.0 - lr * o.weight_decay : 1.0;
  switch (o.kind) {
    case OptimizerKind::kAdamW: {
      v.mul_(o.beta2).addcmul_(g, g, 1.0 - o.beta2);
      const torch::Tensor denom = v.sqrt().mul_(1.0 / std::sqrt(bias2)).add_(o.eps);
      p.mul_(decay).addcdiv_(m, denom, -lr / bias1);
      break;
    }
    case OptimizerKind::kAdamax:
      v.copy_(torch::max(v.mul(o.beta2), g.abs().add_(o.eps)));
      p.mul_(decay).addcdiv_(m, v, -lr / bias1);
      break;
    case OptimizerKind::kLamb: {
      v.mul_(o.beta2).addcmul_(g, g, 1.0 - o.beta2);
      torch::Tensor u = m.mul(1.0 / bias1).div_(v.mul(1.0 / bias2).sqrt_().add_(o.eps));
      if (st.decay) u.add_(p, o.weight_decay);
      // trust = ||p|| / ||u|| when both are > 0, else 1, in double on the device (no sync).
      const torch::Tensor p_norm = p.to(torch::kDouble).norm(), u_norm = u.to(torch::kDouble).norm();
      const torch::Tensor trust =
          torch::where((p_norm > 0).logical_and(u_norm > 0), p_norm / u_norm, torch::ones_like(p_norm));
      p.sub_(u.mul_((trust * lr).to(torch::kFloat)));
      break;
    }
  }
}

double Optimizer::grad_norm() const {
  if (options_.tensor_ops) return grad_norm_tensor_ops();
  std::vector<torch::Tensor> grads;
  std::vector<int64_t> numels;
  for (const auto& np : params_) {
    const torch::Tensor& grad = np.param.grad();
    if (!grad.defined()) continue;
    grads.push_back(grad.contiguous());
    numels.push_back(grads.back().numel());
  }
  const std::vector<Chunk> chunks = chunks_of(numels);
  std::vector<double> partial(chunks.size(), 0.0);
  for_each_chunk(chunks, [&](size_t c, const Chunk& k) {
    partial[c] = kernels::sum_squares(grads[k.tensor].data_ptr<float>() + k.begin, k.size);
  });
  return std::sqrt(sum_in_order(partial));
}

void Optimizer::step(double lr, double grad_scale) {
  torch::NoGradGuard no_grad;
  // The parameters that have a gradient, with their step's scalars and raw pointers.
  struct Active {
    size_t index;
    StepScalars s;
    float *p, *m, *v;
    const float* g;
  };
  std::vector<Active> active;
  std::vector<torch::Tensor> grads;  // keep contiguous copies alive
  std::vector<int64_t> numels;
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& p = params_[i].param;
    const torch::Tensor& grad = p.grad();
    if (!grad.defined()) continue;
    ParamState& st = state_[i];
    torch::Tensor g = grad.contiguous();
    MTDNN_CHECK(g.scalar_type() == torch::kFloat && g.sizes() == p.sizes(),
                "optimizer: gradient of {} is not float32 of the parameter's shape", params_[i].name);
    ++st.steps;
    const double t = static_cast<double>(st.steps);
    if (options_.tensor_ops) {
      step_tensor_ops(i, lr, grad_scale, t);
      continue;
    }
    const StepScalars s = step_scalars(options_, lr, grad_scale, t, st.decay);
    grads.push_back(g);
    active.push_back({i, s, p.data_ptr<float>(), st.exp_avg.data_ptr<float>(), st.exp_sec.data_ptr<float>(),
                      g.data_ptr<float>()});
    numels.push_back(p.numel());
  }
  if (active.empty()) return;
  // One parallel region over every parameter's chunks (LAMB: two, around the per-tensor
  // trust ratios).
  const std::vector<Chunk> chunks = chunks_of(numels);
  if (options_.kind == OptimizerKind::kLamb) {
    std::vector<std::pair<double, double>> partial(chunks.size());
    for_each_chunk(chunks, [&](size_t c, const Chunk& k) {
      const Active& a = active[k.tensor];
      partial[c] = lamb_moments_kernel(a.s, a.p + k.begin, a.g + k.begin, a.m + k.begin, a.v + k.begin, k.size);
    });
    std::vector<double> p_sq(active.size(), 0.0), u_sq(active.size(), 0.0);
    for (size_t c = 0; c < chunks.size(); ++c) {  // chunk order: the norms do not depend on the thread count
      p_sq[chunks[c].tensor] += partial[c].first;
      u_sq[chunks[c].tensor] += partial[c].second;
    }
    std::vector<float> step(active.size());
    for (size_t a = 0; a < active.size(); ++a) {
      const double p_norm = std::sqrt(p_sq[a]), u_norm = std::sqrt(u_sq[a]);
      step[a] = static_cast<float>(lr * (p_norm > 0 && u_norm > 0 ? p_norm / u_norm : 1.0));
    }
    for_each_chunk(chunks, [&](size_t, const Chunk& k) {
      const Active& a = active[k.tensor];
      lamb_step_kernel(a.s, step[k.tensor], a.p + k.begin, a.m + k.begin, a.v + k.begin, k.size);
    });
  } else {
    const bool adamw = options_.kind == OptimizerKind::kAdamW;
    for_each_chunk(chunks, [&](size_t, const Chunk& k) {
      const Active& a = active[k.tensor];
      if (adamw)
        adamw_kernel(a.s, a.p + k.begin, a.g + k.begin, a.m + k.begin, a.v + k.begin, k.size);
      else
        adamax_kernel(a.s, a.p + k.begin, a.g + k.begin, a.m + k.begin, a.v + k.begin, k.size);
    });
  }
  // Written through raw pointers: tell autograd the parameters changed, as in-place ops do.
  for (const Active& a : active) params_[a.index].param.unsafeGetTensorImpl()->bump_version();
}

std::map<std::string, torch::Tensor> Optimizer::state_tensors() const {
  std::map<std::string, torch::Tensor> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string& name = params_[i].name;
    out[name + "/exp_avg"] = state_[i].exp_avg;
    out[name + "/exp_sec"] = state_[i].exp_sec;
    out[name + "/step"] = torch::tensor({state_[i].steps}, torch::kInt64);
  }
  return out;
}

void Optimizer::load_state_tensors(const std::function<void(std::map<std::string, torch::Tensor>&)>& fill) {
  std::map<std::string, torch::Tensor> targets = state_tensors();  // moments alias the state
  fill(targets);
  for (size_t i = 0; i < params_.size(); ++i) state_[i].steps = targets.at(params_[i].name + "/step").item<int64_t>();
}

void Optimizer::zero_grad() {
  for (auto& np : params_) np.param.mutable_grad() = torch::Tensor();
}

LrScheduleKind parse_lr_schedule_kind(const std::string& name) { return parse_name(kLrScheduleNames, name); }
const char* to_string(LrScheduleKind kind) { return name_of(kLrScheduleNames, kind); }

double LrSchedule::at(int64_t step) const {
  if (step < warmup_steps) return lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  if (kind == LrScheduleKind::kConstant) return lr;
  const int64_t decay_steps = std::max<int64_t>(1, total_steps - warmup_steps);
  return lr * static_cast<double>(std::max<int64_t>(0, total_steps - step)) / static_cast<double>(decay_steps);
}

}  // namespace mtdnn::worker
