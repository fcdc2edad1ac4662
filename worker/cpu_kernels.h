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

// y = exp(x) for n floats (exposed for tests: within 2 ulp of std::exp, 0 below -87.3).
void exp(const float* x, float* y, int64_t n);

}  // namespace mtdnn::worker::kernels
