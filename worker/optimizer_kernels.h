// The optimizers' per-element kernels over one chunk of a parameter: plain loops over raw
// float pointers, in a torch-free translation unit compiled with -O3 -fno-math-errno so
// that GCC vectorises their sqrt and division (with errno to set, every sqrt is a call).
// Vectorised element-wise float operations round exactly as the scalar ones.
#pragma once

#include <cstdint>
#include <utility>

namespace mtdnn::worker {

// One parameter's scalars of a step, computed once in double.
struct StepScalars {
  float decay;       // 1 - lr wd (1 when the parameter is not decayed)
  float grad_scale;  // clipping factor
  float beta1, one_minus_beta1, beta2, one_minus_beta2;
  float step_size;   // lr / (1 - b1^t)
  float inv_sqrt_bias2;  // AdamW: 1 / sqrt(1 - b2^t)
  float eps;
  float inv_bias1, inv_bias2;  // LAMB: 1 / (1 - b1^t), 1 / (1 - b2^t)
  float wd;                    // LAMB: wd (0 when the parameter is not decayed)
};

// AdamW (PyTorch's formulation): m, v updated; p = p decay - step_size m / (sqrt(v) inv_sqrt_bias2 + eps).
void adamw_kernel(const StepScalars& s, float* p, const float* g, float* m, float* v, int64_t n);
// Adamax (mt-dnn's): u = max(b2 u, |g| + eps); p = p decay - step_size m / u.
void adamax_kernel(const StepScalars& s, float* p, const float* g, float* m, float* u, int64_t n);
// LAMB pass 1 over one chunk: updates the moments and returns the sums of p^2 and u^2.
std::pair<double, double> lamb_moments_kernel(const StepScalars& s, const float* p, const float* g, float* m,
                                              float* v, int64_t n);
// LAMB pass 2: p -= step u, step = lr trust.
void lamb_step_kernel(const StepScalars& s, float step, float* p, const float* m, const float* v, int64_t n);

}  // namespace mtdnn::worker
