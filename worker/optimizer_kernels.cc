// The optimizers' per-element kernels (optimizer_kernels.h).
#include "worker/optimizer_kernels.h"

#include <algorithm>
#include <cmath>

namespace mtdnn::worker {
namespace {

// Adam's moments of one element after gradient `g`: m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2.
inline void adam_moments(const StepScalars& s, float g, float& m, float& v) {
  m = s.beta1 * m + s.one_minus_beta1 * g;
  v = s.beta2 * v + s.one_minus_beta2 * g * g;
}

// LAMB's direction u from the updated moments (the same expression in both passes, so the
// step applies exactly the u whose norm was taken).
inline float lamb_direction(const StepScalars& s, float p, float m, float v) {
  return (m * s.inv_bias1) / (std::sqrt(v * s.inv_bias2) + s.eps) + s.wd * p;
}

}  // namespace

void adamw_kernel(const StepScalars& s, float* __restrict p, const float* __restrict g, float* __restrict m,
                  float* __restrict v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float mi = m[i], vi = v[i];
    adam_moments(s, g[i] * s.grad_scale, mi, vi);
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) * s.inv_sqrt_bias2 + s.eps;
    p[i] = p[i] * s.decay - s.step_size * (mi / denom);
  }
}

void adamax_kernel(const StepScalars& s, float* __restrict p, const float* __restrict g, float* __restrict m,
                   float* __restrict u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i] * s.grad_scale;
    const float mi = s.beta1 * m[i] + s.one_minus_beta1 * gi;
    const float ui = std::max(s.beta2 * u[i], std::fabs(gi) + s.eps);
    m[i] = mi;
    u[i] = ui;
    p[i] = p[i] * s.decay - s.step_size * (mi / ui);
  }
}

std::pair<double, double> lamb_moments_kernel(const StepScalars& s, const float* __restrict p,
                                              const float* __restrict g, float* __restrict m, float* __restrict v,
                                              int64_t n) {
  double pp = 0, uu = 0;
  for (int64_t i = 0; i < n; ++i) {
    float mi = m[i], vi = v[i];
    adam_moments(s, g[i] * s.grad_scale, mi, vi);
    m[i] = mi;
    v[i] = vi;
    const float ui = lamb_direction(s, p[i], mi, vi);
    pp += static_cast<double>(p[i]) * p[i];
    uu += static_cast<double>(ui) * ui;
  }
  return {pp, uu};
}

void lamb_step_kernel(const StepScalars& s, float step, float* __restrict p, const float* __restrict m,
                      const float* __restrict v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] -= step * lamb_direction(s, p[i], m[i], v[i]);
}

}  // namespace mtdnn::worker
