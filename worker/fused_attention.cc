// Fused multi-head self-attention (ops::self_attention, declared in fused_ops.h). One task
// per (sequence, head): scores, masked softmax, dropout and the context product run on a
// T x n block that stays in cache, reading Q, K, V in place from the packed projection
// (no head transposes) and writing the context straight into (B, T, H). Keys past the
// last real token of a sequence are skipped (n = its length), so padding costs no FLOPs
// in the key dimension. Backward recomputes the dropout mask from the saved seed.
#include <cmath>
#include <limits>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/torch.h>

#include "common/error.h"
#include "worker/cpu_kernels.h"
#include "worker/cpu_runtime.h"
#include "worker/fused_ops.h"
#include "worker/torch_compat.h"

namespace mtdnn::worker::ops {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Per sequence: n = keys up to the last real one, and a -inf bias row when real and
// masked keys interleave before it (null bias when the mask is a plain prefix).
struct KeyLayout {
  std::vector<int64_t> length;        // (B)
  std::vector<int64_t> bias_offset;   // (B) into `bias`, -1 for none
  std::vector<uint8_t> uniform;       // (B) 1 = no real key: attend uniformly (zero scores)
  std::vector<float> bias;
};

KeyLayout key_layout(const Tensor& key_mask) {
  const Tensor mask = key_mask.to(torch::kCPU, torch::kBool).contiguous();
  const int64_t B = mask.size(0), T = mask.size(1);
  const bool* m = mask.data_ptr<bool>();
  KeyLayout layout;
  layout.length.assign(B, T);
  layout.bias_offset.assign(B, -1);
  layout.uniform.assign(B, 0);
  for (int64_t b = 0; b < B; ++b) {
    const bool* row = m + b * T;
    int64_t last = -1;
    bool hole = false;
    for (int64_t t = 0; t < T; ++t) {
      if (row[t]) {
        if (last != t - 1) hole = true;
        last = t;
      }
    }
    if (last < 0) {
      layout.uniform[b] = 1;
      continue;
    }
    layout.length[b] = last + 1;
    if (hole) {
      layout.bias_offset[b] = static_cast<int64_t>(layout.bias.size());
      for (int64_t t = 0; t <= last; ++t)
        layout.bias.push_back(row[t] ? 0.0f : -std::numeric_limits<float>::infinity());
    }
  }
  return layout;
}

struct AttentionShape {
  int64_t B, T, H, NH, D;
  float scale;
};

AttentionShape attention_shape(const Tensor& qkv, int64_t num_heads) {
  AttentionShape s{};
  s.B = qkv.size(0);
  s.T = qkv.size(1);
  s.H = qkv.size(2) / 3;
  s.NH = num_heads;
  s.D = s.H / num_heads;
  s.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(s.D)));
  return s;
}

// Parallel over (sequence, head) tasks; each worker gets scratch of `scratch_floats`.
template <typename F>
void for_each_head(const AttentionShape& s, int64_t scratch_floats, const F& f) {
  const int64_t tasks = s.B * s.NH;
  // A BLAS with threads of its own gets its GEMMs from one thread (it threads them).
  const int64_t grain = sgemm_nested_ok() ? 1 : tasks;
  at::parallel_for(0, tasks, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch(scratch_floats);
    for (int64_t bh = begin; bh < end; ++bh) f(bh / s.NH, bh % s.NH, bh, scratch.data());
  });
}

struct AttentionFunction : public torch::autograd::Function<AttentionFunction> {
  // qkv (B, T, 3H) contiguous float; key_mask (B, T).
  static Tensor forward(AutogradContext* ctx, const Tensor& qkv, const Tensor& key_mask,
                        int64_t num_heads, double p, int64_t seed) {
    RECORD_FUNCTION("mtdnn::attention", std::vector<c10::IValue>());
    const AttentionShape s = attention_shape(qkv, num_heads);
    const KeyLayout keys = key_layout(key_mask);
    const bool drop = p > 0;
    const auto key = kernels::make_dropout_key(static_cast<uint64_t>(seed), p);
    // probs (B, NH, T, T): block (b, h) holds P as T rows of n = length[b] (row stride n).
    Tensor probs = torch::empty({s.B, s.NH, s.T, s.T}, qkv.options());
    Tensor out = torch::empty({s.B, s.T, s.H}, qkv.options());
    const float* qkvp = qkv.data_ptr<float>();
    float* pp = probs.data_ptr<float>();
    float* op = out.data_ptr<float>();
    for_each_head(s, drop ? s.T * s.T : 0, [&](int64_t b, int64_t h, int64_t bh, float* pd) {
      const int64_t n = keys.length[b], ld = 3 * s.H;
      const float* q = qkvp + b * s.T * ld + h * s.D;
      const float* k = q + s.H;
      const float* v = q + 2 * s.H;
      float* P = pp + bh * s.T * s.T;
      // S = Q K^T / sqrt(D): (T, n). A sequence without real keys gets S = 0 (uniform).
      sgemm(Trans::kNo, Trans::kYes, s.T, n, s.D, keys.uniform[b] ? 0.0f : s.scale, q, ld, k,
            ld, 0.0f, P, n);
      const float* bias = keys.bias_offset[b] >= 0 ? keys.bias.data() + keys.bias_offset[b] : nullptr;
      for (int64_t i = 0; i < s.T; ++i) kernels::softmax_row(P + i * n, bias, n);
      const float* used = P;
      if (drop) {
        // Mask index of (b, h, i, j) on the full T x T grid: independent of n.
        for (int64_t i = 0; i < s.T; ++i)
          kernels::dropout(key, static_cast<uint32_t>((bh * s.T + i) * s.T), P + i * n,
                           pd + i * n, n);
        used = pd;
      }
      // context = P V: (T, D), written into (B, T, H) at the head's columns.
      sgemm(Trans::kNo, Trans::kNo, s.T, s.D, n, 1.0f, used, n, v, ld, 0.0f,
            op + b * s.T * s.H + h * s.D, s.H);
    });
    ctx->save_for_backward({qkv, probs, key_mask});
    ctx->saved_data["num_heads"] = num_heads;
    ctx->saved_data["p"] = p;
    ctx->saved_data["seed"] = seed;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    RECORD_FUNCTION("mtdnn::attention_backward", std::vector<c10::IValue>());
    auto saved = ctx->get_saved_variables();
    const Tensor& qkv = saved[0];
    const Tensor& probs = saved[1];
    const AttentionShape s = attention_shape(qkv, ctx->saved_data["num_heads"].toInt());
    const KeyLayout keys = key_layout(saved[2]);
    const double p = ctx->saved_data["p"].toDouble();
    const bool drop = p > 0;
    const auto key = kernels::make_dropout_key(
        static_cast<uint64_t>(ctx->saved_data["seed"].toInt()), p);
    const Tensor dout = grads[0].contiguous();  // (B, T, H)
    Tensor dqkv = torch::empty_like(qkv);      // (B, T, 3H)
    const float* qkvp = qkv.data_ptr<float>();
    const float* pp = probs.data_ptr<float>();
    const float* dop = dout.data_ptr<float>();
    float* dp_all = dqkv.data_ptr<float>();
    for_each_head(s, (drop ? 2 : 1) * s.T * s.T, [&](int64_t b, int64_t h, int64_t bh,
                                                      float* scratch) {
      const int64_t n = keys.length[b], ld = 3 * s.H;
      const float* q = qkvp + b * s.T * ld + h * s.D;
      const float* k = q + s.H;
      const float* v = q + 2 * s.H;
      float* dq = dp_all + b * s.T * ld + h * s.D;
      float* dk = dq + s.H;
      float* dv = dq + 2 * s.H;
      const float* P = pp + bh * s.T * s.T;
      const float* dO = dop + b * s.T * s.H + h * s.D;
      float* dP = scratch;  // (T, n)
      // dP = dO V^T.
      sgemm(Trans::kNo, Trans::kYes, s.T, n, s.D, 1.0f, dO, s.H, v, ld, 0.0f, dP, n);
      const float* used = P;
      if (drop) {
        float* pd = scratch + s.T * s.T;
        for (int64_t i = 0; i < s.T; ++i)  // one mask draw for P and dP
          kernels::dropout_pair(key, static_cast<uint32_t>((bh * s.T + i) * s.T), P + i * n,
                                pd + i * n, dP + i * n, n);
        used = pd;
      }
      // dV = P_dropped^T dO: (n, D); keys past n get no gradient.
      sgemm(Trans::kYes, Trans::kNo, n, s.D, s.T, 1.0f, used, n, dO, s.H, 0.0f, dv, ld);
      // dS = P * (dP - rowsum(P * dP)) / sqrt(D), in place.
      const float scale = keys.uniform[b] ? 0.0f : s.scale;
      for (int64_t i = 0; i < s.T; ++i) kernels::softmax_backward_row(P + i * n, dP + i * n, n, scale);
      // dQ = dS K: (T, D); dK = dS^T Q: (n, D).
      sgemm(Trans::kNo, Trans::kNo, s.T, s.D, n, 1.0f, dP, n, k, ld, 0.0f, dq, ld);
      sgemm(Trans::kYes, Trans::kNo, n, s.D, s.T, 1.0f, dP, n, q, ld, 0.0f, dk, ld);
      for (int64_t t = n; t < s.T; ++t) {
        std::fill(dk + t * ld, dk + t * ld + s.D, 0.0f);
        std::fill(dv + t * ld, dv + t * ld + s.D, 0.0f);
      }
    });
    return {dqkv, Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

// The reference formulas (Hugging Face's BertSelfAttention), for any device and dtype; on
// GPU with LibTorch 2.x the same through its fused attention operator.
Tensor reference_attention(const Tensor& qkv, const Tensor& key_mask, int64_t num_heads,
                           double p, bool training) {
  const int64_t B = qkv.size(0), T = qkv.size(1), H = qkv.size(2) / 3, D = H / num_heads;
  auto heads = [&](const Tensor& x) {  // (B, T, H) -> (B, NH, T, D)
    return x.view({B, T, num_heads, D}).transpose(1, 2);
  };
  auto parts = qkv.split(H, -1);
  if (qkv.is_cuda() && compat::kHasFusedAttention) {
    // LibTorch's fused kernel; a large finite mask value (-1e30, exact 0 after the softmax)
    // stays finite in bf16, where float's lowest rounds to -inf.
    Tensor bias = ((1 - key_mask.to(qkv.dtype())) * -1e30).view({B, 1, 1, T});
    return compat::fused_attention(heads(parts[0]), heads(parts[1]), heads(parts[2]), bias, p)
        .transpose(1, 2)
        .reshape({B, T, H});
  }
  Tensor scores = torch::matmul(heads(parts[0]), heads(parts[1]).transpose(-1, -2)) /
                  std::sqrt(static_cast<double>(D));  // (B, NH, T, T)
  // The softmax in float32 at least: under bf16 autocast the products above are bf16.
  scores = scores.to(at::promote_types(scores.scalar_type(), torch::kFloat));
  const double lowest = std::numeric_limits<float>::lowest();
  Tensor bias = (1 - key_mask.to(scores.dtype())) * lowest;  // (B, T)
  Tensor probs = torch::softmax(scores + bias.view({B, 1, 1, T}), -1);
  probs = torch::dropout(probs, p, training);
  return torch::matmul(probs, heads(parts[2])).transpose(1, 2).reshape({B, T, H});
}

}  // namespace

Tensor self_attention(const Tensor& qkv, const Tensor& key_mask, int64_t num_heads,
                      double dropout_p, bool training, bool fused) {
  TORCH_CHECK(qkv.dim() == 3 && qkv.size(2) % (3 * num_heads) == 0,
              "self_attention: qkv must be (B, T, 3H) with H divisible by the heads, got ",
              qkv.sizes());
  TORCH_CHECK(key_mask.dim() == 2 && key_mask.size(0) == qkv.size(0) &&
                  key_mask.size(1) == qkv.size(1),
              "self_attention: key_mask ", key_mask.sizes(), " does not match qkv ",
              qkv.sizes());
  const double p = training ? dropout_p : 0.0;
  if (!fused || !fusable(qkv)) return reference_attention(qkv, key_mask, num_heads, p, training);
  const int64_t B = qkv.size(0), T = qkv.size(1);
  MTDNN_CHECK(B * num_heads * T * T < (int64_t{1} << 32),
              "attention dropout index space B*NH*T*T = {} exceeds 2^32", B * num_heads * T * T);
  return AttentionFunction::apply(qkv.contiguous(), key_mask, num_heads, p,
                                  static_cast<int64_t>(p > 0 ? draw_seed() : 0));
}

}  // namespace mtdnn::worker::ops
