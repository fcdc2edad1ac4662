// Vectorised element-wise kernels (see cpu_kernels.h). 16-lane GCC vector types lower to
// one AVX-512 register, two AVX2 registers or four SSE registers; target_clones compiles
// each entry point for those ISAs and the loader picks the best one for the machine.
#include "worker/cpu_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "common/lowbias32.h"

namespace mtdnn::worker::kernels {
namespace {

typedef float vf __attribute__((vector_size(64)));
typedef uint32_t vu __attribute__((vector_size(64)));
typedef int32_t vi __attribute__((vector_size(64)));
constexpr int64_t kW = 16;

#define MTDNN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

__attribute__((always_inline)) inline vf load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
__attribute__((always_inline)) inline void store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
// First k (< 16) lanes from p, the rest `fill`.
__attribute__((always_inline)) inline vf load_partial(const float* p, int64_t k, float fill) {
  float tmp[kW];
  for (int64_t i = 0; i < kW; ++i) tmp[i] = i < k ? p[i] : fill;
  return load(tmp);
}
__attribute__((always_inline)) inline void store_partial(float* p, vf v, int64_t k) {
  float tmp[kW];
  store(tmp, v);
  for (int64_t i = 0; i < k; ++i) p[i] = tmp[i];
}
__attribute__((always_inline)) inline vf splat(float x) { return vf{} + x; }
__attribute__((always_inline)) inline vu splat_u(uint32_t x) { return vu{} + x; }

const vu kLane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

// All-ones lanes where element (base + i + lane) is kept.
__attribute__((always_inline)) inline vi keep_mask(const DropoutKey& key, uint32_t index) {
  vu h = lowbias32(lowbias32((splat_u(index) + kLane) ^ key.k1) ^ key.k2);
  return (vi)(h >= key.threshold);
}
__attribute__((always_inline)) inline vf select(vi mask, vf x) { return (vf)((vi)x & mask); }

// exp(x) for float lanes: Cephes' expf (range reduction by ln 2, degree-6 polynomial);
// lanes below -87.3 (exp underflows the normal range) return 0.
__attribute__((always_inline)) inline vf vexp(vf x) {
  const vf lo = splat(-87.3f), hi = splat(88.3762626647949f);  // 2^n stays finite
  vi under = (vi)(x < lo);
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  vf t = x * 1.44269504088896341f + magic;
  vf n = t - magic;
  vf r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  vf p = splat(1.9875691500E-4f);
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  vf y = p * r * r + r + 1.0f;
  vi e = (__builtin_convertvector(n, vi) + 127) << 23;  // 2^n as float bits
  y = y * (vf)e;
  return (vf)((vi)y & ~under);
}

// Phi(x) = 0.5 (1 + erf(x / sqrt 2)) and phi(x) = exp(-x^2 / 2) / sqrt(2 pi), together.
__attribute__((always_inline)) inline void normal_cdf_pdf(vf x, vf* cdf, vf* pdf) {
  const vf u = x * 0.70710678118654752f;
  const vf au = (vf)((vu)u & 0x7fffffffU);
  const vf t = 1.0f / (1.0f + 0.3275911f * au);
  vf poly = splat(1.061405429f);
  poly = poly * t - 1.453152027f;
  poly = poly * t + 1.421413741f;
  poly = poly * t - 0.284496736f;
  poly = poly * t + 0.254829592f;
  poly = poly * t;
  const vf e = vexp(-au * au);                                  // exp(-x^2 / 2)
  const vf erf_abs = 1.0f - poly * e;
  const vf erf = (vf)((vu)erf_abs | ((vu)u & 0x80000000U));     // odd function
  *cdf = 0.5f * (1.0f + erf);
  *pdf = e * 0.39894228040143268f;
}

__attribute__((always_inline)) inline float hmax(vf v) {
  float m = v[0];
  for (int i = 1; i < kW; ++i) m = v[i] > m ? v[i] : m;
  return m;
}
__attribute__((always_inline)) inline float hsum(vf v) {
  float s = 0;
  for (int i = 0; i < kW; ++i) s += v[i];
  return s;
}

}  // namespace

DropoutKey make_dropout_key(uint64_t seed, double p) {
  DropoutKey key;
  key.k1 = lowbias32(static_cast<uint32_t>(seed) ^ 0x9e3779b9U);
  key.k2 = lowbias32(static_cast<uint32_t>(seed >> 32) + key.k1);
  const double t = std::ldexp(p, 32);
  key.threshold = t >= 4294967295.0 ? 0xffffffffU : static_cast<uint32_t>(t);
  key.scale = p < 1 ? static_cast<float>(1.0 / (1.0 - p)) : 0.0f;
  return key;
}

MTDNN_CLONES void dropout(const DropoutKey& key, uint32_t base, const float* x, float* y,
                          int64_t n) {
  const vf scale = splat(key.scale);
  int64_t i = 0;
  for (; i + kW <= n; i += kW)
    store(y + i, select(keep_mask(key, base + static_cast<uint32_t>(i)), load(x + i) * scale));
  if (i < n) {
    vf v = select(keep_mask(key, base + static_cast<uint32_t>(i)), load_partial(x + i, n - i, 0) * scale);
    store_partial(y + i, v, n - i);
  }
}

MTDNN_CLONES void dropout_add(const DropoutKey& key, uint32_t base, const float* x,
                              const float* r, float* y, int64_t n) {
  const vf scale = splat(key.scale);
  int64_t i = 0;
  for (; i + kW <= n; i += kW)
    store(y + i, select(keep_mask(key, base + static_cast<uint32_t>(i)), load(x + i) * scale) +
                     load(r + i));
  if (i < n) {
    vf v = select(keep_mask(key, base + static_cast<uint32_t>(i)), load_partial(x + i, n - i, 0) * scale) +
           load_partial(r + i, n - i, 0);
    store_partial(y + i, v, n - i);
  }
}

MTDNN_CLONES void softmax_row(float* s, const float* bias, int64_t n) {
  const float ninf = -std::numeric_limits<float>::infinity();
  int64_t i = 0;
  vf vmax = splat(ninf);
  if (bias) {
    for (; i + kW <= n; i += kW) {
      vf v = load(s + i) + load(bias + i);
      store(s + i, v);
      vmax = v > vmax ? v : vmax;
    }
    if (i < n) {
      vf v = load_partial(s + i, n - i, ninf) + load_partial(bias + i, n - i, 0);
      store_partial(s + i, v, n - i);
      vmax = v > vmax ? v : vmax;
    }
  } else {
    for (; i + kW <= n; i += kW) {
      vf v = load(s + i);
      vmax = v > vmax ? v : vmax;
    }
    if (i < n) {
      vf v = load_partial(s + i, n - i, ninf);
      vmax = v > vmax ? v : vmax;
    }
  }
  const float m = hmax(vmax);
  if (m == ninf) {  // every entry masked: all zero (callers avoid this case)
    std::memset(s, 0, n * sizeof(float));
    return;
  }
  vf vsum = {};
  for (i = 0; i + kW <= n; i += kW) {
    vf e = vexp(load(s + i) - m);
    store(s + i, e);
    vsum += e;
  }
  if (i < n) {
    vf e = vexp(load_partial(s + i, n - i, ninf) - m);
    store_partial(s + i, e, n - i);
    vsum += e;
  }
  const vf inv = splat(1.0f / hsum(vsum));
  for (i = 0; i + kW <= n; i += kW) store(s + i, load(s + i) * inv);
  for (; i < n; ++i) s[i] *= inv[0];
}

MTDNN_CLONES void softmax_backward_row(const float* p, float* dp, int64_t n, float scale) {
  vf vdot = {};
  int64_t i = 0;
  for (; i + kW <= n; i += kW) vdot += load(p + i) * load(dp + i);
  if (i < n) vdot += load_partial(p + i, n - i, 0) * load_partial(dp + i, n - i, 0);
  const vf dot = splat(hsum(vdot));
  const vf sc = splat(scale);
  for (i = 0; i + kW <= n; i += kW) store(dp + i, sc * load(p + i) * (load(dp + i) - dot));
  for (; i < n; ++i) dp[i] = scale * p[i] * (dp[i] - dot[0]);
}

MTDNN_CLONES void gelu(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  vf cdf, pdf;
  for (; i + kW <= n; i += kW) {
    const vf v = load(x + i);
    normal_cdf_pdf(v, &cdf, &pdf);
    store(y + i, v * cdf);
  }
  if (i < n) {
    const vf v = load_partial(x + i, n - i, 0);
    normal_cdf_pdf(v, &cdf, &pdf);
    store_partial(y + i, v * cdf, n - i);
  }
}

MTDNN_CLONES void gelu_backward(const float* x, const float* dy, float* dx, int64_t n) {
  int64_t i = 0;
  vf cdf, pdf;
  for (; i + kW <= n; i += kW) {
    const vf v = load(x + i);
    normal_cdf_pdf(v, &cdf, &pdf);
    store(dx + i, load(dy + i) * (cdf + v * pdf));
  }
  if (i < n) {
    const vf v = load_partial(x + i, n - i, 0);
    normal_cdf_pdf(v, &cdf, &pdf);
    store_partial(dx + i, load_partial(dy + i, n - i, 0) * (cdf + v * pdf), n - i);
  }
}

MTDNN_CLONES void bias_gelu(float* z, const float* b, float* y, int64_t rows, int64_t n) {
  vf cdf, pdf;
  for (int64_t r = 0; r < rows; ++r) {
    float* zr = z + r * n;
    float* yr = y + r * n;
    int64_t i = 0;
    for (; i + kW <= n; i += kW) {
      const vf v = load(zr + i) + load(b + i);
      store(zr + i, v);
      normal_cdf_pdf(v, &cdf, &pdf);
      store(yr + i, v * cdf);
    }
    if (i < n) {
      const vf v = load_partial(zr + i, n - i, 0) + load_partial(b + i, n - i, 0);
      store_partial(zr + i, v, n - i);
      normal_cdf_pdf(v, &cdf, &pdf);
      store_partial(yr + i, v * cdf, n - i);
    }
  }
}

MTDNN_CLONES void bias_dropout_add(const DropoutKey& key, uint32_t base, const float* z,
                                   const float* b, const float* r, float* y, int64_t rows,
                                   int64_t n) {
  const vf scale = splat(key.scale);
  const bool drop = key.threshold != 0;
  for (int64_t row = 0; row < rows; ++row) {
    const float* zr = z + row * n;
    const float* rr = r + row * n;
    float* yr = y + row * n;
    const uint32_t rb = base + static_cast<uint32_t>(row * n);
    int64_t i = 0;
    for (; i + kW <= n; i += kW) {
      vf v = load(zr + i) + load(b + i);
      if (drop) v = select(keep_mask(key, rb + static_cast<uint32_t>(i)), v * scale);
      store(yr + i, v + load(rr + i));
    }
    if (i < n) {
      vf v = load_partial(zr + i, n - i, 0) + load_partial(b + i, n - i, 0);
      if (drop) v = select(keep_mask(key, rb + static_cast<uint32_t>(i)), v * scale);
      store_partial(yr + i, v + load_partial(rr + i, n - i, 0), n - i);
    }
  }
}

MTDNN_CLONES void dropout_pair(const DropoutKey& key, uint32_t base, const float* p, float* pd,
                               float* dp, int64_t n) {
  const vf scale = splat(key.scale);
  int64_t i = 0;
  for (; i + kW <= n; i += kW) {
    const vi keep = keep_mask(key, base + static_cast<uint32_t>(i));
    store(pd + i, select(keep, load(p + i) * scale));
    store(dp + i, select(keep, load(dp + i) * scale));
  }
  if (i < n) {
    const vi keep = keep_mask(key, base + static_cast<uint32_t>(i));
    store_partial(pd + i, select(keep, load_partial(p + i, n - i, 0) * scale), n - i);
    store_partial(dp + i, select(keep, load_partial(dp + i, n - i, 0) * scale), n - i);
  }
}

MTDNN_CLONES void column_sums(const float* x, int64_t rows, int64_t cols, int64_t ld,
                              float* out) {
  constexpr int64_t kRowBlock = 256;
  for (int64_t j0 = 0; j0 < cols; j0 += 8 * kW) {  // 128 columns at a time: 8 registers
    const int64_t width = std::min<int64_t>(8 * kW, cols - j0);
    double total[8 * kW] = {};
    for (int64_t r0 = 0; r0 < rows; r0 += kRowBlock) {
      const int64_t r1 = std::min(rows, r0 + kRowBlock);
      vf acc[8] = {};
      for (int64_t r = r0; r < r1; ++r) {
        const float* row = x + r * ld + j0;
        if (width == 8 * kW) {
          for (int v = 0; v < 8; ++v) acc[v] += load(row + v * kW);
        } else {
          for (int v = 0; v * kW < width; ++v)
            acc[v] += load_partial(row + v * kW, std::min<int64_t>(kW, width - v * kW), 0);
        }
      }
      for (int v = 0; v < 8; ++v)
        for (int l = 0; l < kW; ++l) total[v * kW + l] += acc[v][l];
    }
    for (int64_t j = 0; j < width; ++j) out[j0 + j] = static_cast<float>(total[j]);
  }
}

namespace {
typedef float vf8 __attribute__((vector_size(32)));
typedef double vd8 __attribute__((vector_size(64)));

// Sum of x[i]^2 in double lanes (as accurate as a double loop, in a fixed order); with
// `copy_to`, also copies x there in the same pass (one read of x for both).
__attribute__((always_inline)) inline double sum_squares_copy(const float* x, float* copy_to, int64_t n) {
  vd8 acc0 = {}, acc1 = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    vf8 a, b;
    std::memcpy(&a, x + i, sizeof a);
    std::memcpy(&b, x + i + 8, sizeof b);
    if (copy_to) {
      std::memcpy(copy_to + i, &a, sizeof a);
      std::memcpy(copy_to + i + 8, &b, sizeof b);
    }
    const vd8 da = __builtin_convertvector(a, vd8), db = __builtin_convertvector(b, vd8);
    acc0 += da * da;
    acc1 += db * db;
  }
  double total = 0;
  for (int j = 0; j < 8; ++j) total += acc0[j] + acc1[j];
  for (; i < n; ++i) {
    if (copy_to) copy_to[i] = x[i];
    total += static_cast<double>(x[i]) * x[i];
  }
  return total;
}
}  // namespace

MTDNN_CLONES double sum_squares(const float* x, int64_t n) { return sum_squares_copy(x, nullptr, n); }

MTDNN_CLONES double copy_sum_squares(const float* x, float* y, int64_t n) { return sum_squares_copy(x, y, n); }

MTDNN_CLONES void exp(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + kW <= n; i += kW) store(y + i, vexp(load(x + i)));
  if (i < n) store_partial(y + i, vexp(load_partial(x + i, n - i, 0)), n - i);
}

}  // namespace mtdnn::worker::kernels
