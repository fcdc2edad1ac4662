// Element-wise CPU kernels behind the fused ops: counter-based dropout masks, row softmax
// and its backward. Raw float pointers, single-threaded (callers parallelise), written
// with GCC vector types and compiled for AVX-512, AVX2 and baseline x86-64 (picked at
// load time). Torch-free.
#pragma once

#include <cstdint>

namespace mtdnn::worker::kernels {

// The dropout mask is a pure function of (key, element index): element i is kept iff
// hash(key, i) >= threshold. The backward pass regenerates it instead of storing it.
struct DropoutKey {
  uint32_t k1 = 0, k2 = 0;
  uint32_t threshold = 0;  // p * 2^32
  float scale = 1.0f;      // 1 / (1 - p)
};
DropoutKey make_dropout_key(uint64_t seed, double p);

// y[i] = keep(base + i) ? x[i] * scale : 0, for i in [0, n). y may equal x.
void dropout(const DropoutKey& key, uint32_t base, const float* x, float* y, int64_t n);
// y[i] = (keep(base + i) ? x[i] * scale : 0) + r[i].
void dropout_add(const DropoutKey& key, uint32_t base, const float* x, const float* r,
                 float* y, int64_t n);

// In place over one row of n scores: s = softmax(s + bias) where bias (n floats, 0 or
// -inf) may be null. Masked entries become exactly 0.
void softmax_row(float* s, const float* bias, int64_t n);
// In place: dp = scale * p * (dp - sum(p * dp)) over one row of n.
void softmax_backward_row(const float* p, float* dp, int64_t n, float scale);

// Exact (erf) GELU: y = x * Phi(x), and its backward dx = dy * (Phi(x) + x * phi(x)).
// erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7).
void gelu(const float* x, float* y, int64_t n);
void gelu_backward(const float* x, const float* dy, float* dx, int64_t n);

// Epilogues of a Linear layer over rows x n (row-major), bias b (n):
//   bias_gelu:        z += b (kept for backward), y = gelu(z)
//   bias_dropout_add: y = dropout(z + b) + r, mask index base + row * n + j; y may equal z
void bias_gelu(float* z, const float* b, float* y, int64_t rows, int64_t n);
void bias_dropout_add(const DropoutKey& key, uint32_t base, const float* z, const float* b,
                      const float* r, float* y, int64_t rows, int64_t n);
// Attention backward: pd = dropout(p) and dp = dropout(dp) with one mask draw.
void dropout_pair(const DropoutKey& key, uint32_t base, const float* p, float* pd, float* dp,
                  int64_t n);

// out[j] = sum over rows i of x[i * ld + j], j < cols (float lanes within blocks of rows,
// double across blocks): the bias gradient of a Linear layer.
void column_sums(const float* x, int64_t rows, int64_t cols, int64_t ld, float* out);

// Sum of x[i]^2, accumulated in double.
double sum_squares(const float* x, int64_t n);
// y = x, returning sum_squares(x): the gradient norm taken while gradients are copied.
double copy_sum_squares(const float* x, float* y, int64_t n);

// y = exp(x) for n floats (exposed for tests): within 2 ulp of std::exp on [-87.3, 88.37],
// 0 below -87.3, exp(88.376) above (callers pass x <= 0).
void exp(const float* x, float* y, int64_t n);

}  // namespace mtdnn::worker::kernels
