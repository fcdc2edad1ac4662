// Fused Linear and dropout ops (see fused_ops.h). The GEMMs are split across the
// intra-op threads here, each slice running a single-threaded BLAS call, so that one
// thread pool (OpenMP) does all the work and no BLAS threads spin against it.
#include "worker/fused_ops.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/torch.h>

#include "common/error.h"
#include "worker/cpu_kernels.h"
#include "worker/cpu_runtime.h"

namespace mtdnn::worker::ops {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

bool fusable(const Tensor& t) {
  return t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat &&
         t.layout() == torch::kStrided;
}

uint64_t draw_seed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

namespace {

// Runs f(begin, end) over [0, n): in one call when the GEMM backend threads itself (or
// cannot be called from several threads), else split across the intra-op threads, each
// slice a single-threaded BLAS call.
template <typename F>
void split_gemm(int64_t n, int64_t flops_per_unit, const F& f) {
  constexpr int64_t kMinFlopsPerSlice = int64_t{1} << 21;
  if (sgemm_threads_itself() || !sgemm_nested_ok() || n * flops_per_unit < 2 * kMinFlopsPerSlice) {
    f(0, n);
    return;
  }
  const int64_t grain = std::max<int64_t>(1, kMinFlopsPerSlice / std::max<int64_t>(1, flops_per_unit));
  at::parallel_for(0, n, grain, f);
}

// What follows the GEMM of a Linear layer, fused into one pass over its output.
enum Epilogue : int64_t {
  kBias = 0,            // y = z + b
  kBiasGelu = 1,        // y = gelu(z + b); z + b kept for backward
  kBiasDropoutAdd = 2,  // y = dropout(z + b) + residual
};

constexpr int64_t kRowGrain = 64;

// Below this many rows, transposing W costs more than the NT product loses.
constexpr int64_t kTransposeRows = 256;

// z (M, N) = x (M, K) W^T, with `bias` (N) already added when given. For tall x and
// K > N, W is transposed first: oneDNN runs x (M, K) * W^T (K, N) as "NN" about 20% faster
// than "NT" there (the FFN output layer); elsewhere the gain does not pay for the copy.
Tensor linear_gemm(const Tensor& x, const Tensor& w, const float* bias) {
  const int64_t M = x.size(0), K = x.size(1), N = w.size(0);
  Tensor z = torch::empty({M, N}, x.options());
  const float* xp = x.data_ptr<float>();
  float* zp = z.data_ptr<float>();
  if (bias) {  // z = b, then the GEMM accumulates onto it
    at::parallel_for(0, M, 256, [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; ++m) std::memcpy(zp + m * N, bias, N * sizeof(float));
    });
  }
  const bool transpose = M >= kTransposeRows && K > N;
  const Tensor wt = transpose ? w.t().contiguous() : w;  // (K, N) or (N, K)
  const float* wp = wt.data_ptr<float>();
  split_gemm(M, 2 * N * K, [&](int64_t m0, int64_t m1) {
    sgemm(Trans::kNo, transpose ? Trans::kNo : Trans::kYes, m1 - m0, N, K, 1.0f, xp + m0 * K, K,
          wp, transpose ? N : K, bias ? 1.0f : 0.0f, zp + m0 * N, N);
  });
  return z;
}

// dW (N, K) = dz (M, N)^T x (M, K). The product is computed with the smaller of N and K as
// its row count (then transposed when that is K): 10-25% faster in oneDNN.
Tensor weight_gradient(const float* dzp, const Tensor& x, int64_t N) {
  const int64_t M = x.size(0), K = x.size(1);
  const float* xp = x.data_ptr<float>();
  if (N <= K) {
    Tensor dw = torch::empty({N, K}, x.options());
    float* dwp = dw.data_ptr<float>();
    split_gemm(N, 2 * M * K, [&](int64_t n0, int64_t n1) {
      sgemm(Trans::kYes, Trans::kNo, n1 - n0, K, M, 1.0f, dzp + n0, N, xp, K, 0.0f,
            dwp + n0 * K, K);
    });
    return dw;
  }
  Tensor dwt = torch::empty({K, N}, x.options());  // x^T dz
  float* dwtp = dwt.data_ptr<float>();
  split_gemm(K, 2 * M * N, [&](int64_t k0, int64_t k1) {
    sgemm(Trans::kYes, Trans::kNo, k1 - k0, N, M, 1.0f, xp + k0, K, dzp, N, 0.0f,
          dwtp + k0 * N, N);
  });
  return dwt.t().contiguous();
}

// Dropout index spaces are 32-bit (the mask hash counts elements with a uint32).
void check_index_space(int64_t n) {
  MTDNN_CHECK(n < (int64_t{1} << 32), "dropout over {} elements exceeds the 2^32 index space",
              n);
}

constexpr int64_t kElementGrain = 1 << 15;

// y = dropout(x) (+ r): the same mask for the same (seed, p) and element index.
void apply_dropout(uint64_t seed, double p, const Tensor& x, const Tensor* r, Tensor& y) {
  const auto key = kernels::make_dropout_key(seed, p);
  const float* xp = x.data_ptr<float>();
  const float* rp = r ? r->data_ptr<float>() : nullptr;
  float* yp = y.data_ptr<float>();
  at::parallel_for(0, x.numel(), kElementGrain, [&](int64_t i0, int64_t i1) {
    if (rp)
      kernels::dropout_add(key, static_cast<uint32_t>(i0), xp + i0, rp + i0, yp + i0, i1 - i0);
    else
      kernels::dropout(key, static_cast<uint32_t>(i0), xp + i0, yp + i0, i1 - i0);
  });
}

// Dropout's two halves, shared by dropout(x), dropout(x) + r and the Linear epilogue's dropout: the mask is redrawn from
// the saved seed in backward instead of being stored.
Tensor dropout_forward(AutogradContext* ctx, const Tensor& x, const Tensor* residual, double p, int64_t seed) {
  ctx->saved_data["p"] = p;
  ctx->saved_data["seed"] = seed;
  Tensor y = torch::empty_like(x);
  apply_dropout(static_cast<uint64_t>(seed), p, x, residual, y);
  return y;
}
Tensor dropout_backward(AutogradContext* ctx, const Tensor& dy) {
  Tensor dx = torch::empty_like(dy);
  apply_dropout(static_cast<uint64_t>(ctx->saved_data["seed"].toInt()), ctx->saved_data["p"].toDouble(), dy,
                nullptr, dx);
  return dx;
}

struct LinearFunction : public torch::autograd::Function<LinearFunction> {
  // x (M, K), w (N, K), b (N) or empty (0) for no bias, residual (M, N) or empty, all
  // contiguous (custom functions cannot take undefined tensors).
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w, const Tensor& b,
                        const Tensor& residual, int64_t epilogue, double p, int64_t seed) {
    RECORD_FUNCTION("mtdnn::linear", std::vector<c10::IValue>());
    const bool has_bias = b.numel() > 0;
    const float* bp = has_bias ? b.data_ptr<float>() : nullptr;
    ctx->saved_data["has_bias"] = has_bias;
    ctx->saved_data["epilogue"] = epilogue;
    ctx->saved_data["p"] = p;
    ctx->saved_data["seed"] = seed;
    Tensor z = linear_gemm(x, w, epilogue == kBias ? bp : nullptr);  // (M, N)
    const int64_t M = z.size(0), N = z.size(1);
    if (epilogue == kBias) {
      ctx->save_for_backward({x, w});
      return z;
    }
    TORCH_CHECK(has_bias, "fused Linear epilogues need a bias");
    float* zp = z.data_ptr<float>();
    if (epilogue == kBiasGelu) {
      Tensor y = torch::empty_like(z);
      float* yp = y.data_ptr<float>();
      at::parallel_for(0, M, kRowGrain, [&](int64_t m0, int64_t m1) {
        kernels::bias_gelu(zp + m0 * N, bp, yp + m0 * N, m1 - m0, N);
      });
      ctx->save_for_backward({x, w, z});  // z = x W^T + b, the GELU's input
      return y;
    }
    TORCH_CHECK(epilogue == kBiasDropoutAdd, "unknown Linear epilogue ", epilogue);
    const auto key = kernels::make_dropout_key(static_cast<uint64_t>(seed), p);
    const float* rp = residual.data_ptr<float>();
    at::parallel_for(0, M, kRowGrain, [&](int64_t m0, int64_t m1) {
      kernels::bias_dropout_add(key, static_cast<uint32_t>(m0 * N), zp + m0 * N, bp,
                                rp + m0 * N, zp + m0 * N, m1 - m0, N);
    });
    ctx->save_for_backward({x, w});
    return z;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    RECORD_FUNCTION("mtdnn::linear_backward", std::vector<c10::IValue>());
    const auto saved = ctx->get_saved_variables();  // x (M, K), w (N, K)
    const Tensor &x = saved[0], &w = saved[1];
    const int64_t M = x.size(0), K = x.size(1), N = w.size(0);
    const int64_t epilogue = ctx->saved_data["epilogue"].toInt();
    const Tensor dy = grads[0].contiguous();  // (M, N)
    // dz: the gradient at the GEMM's output.
    Tensor dz = dy, dresidual;
    if (epilogue == kBiasGelu) {
      const Tensor& z = saved[2];
      dz = torch::empty_like(dy);
      const float* zp = z.data_ptr<float>();
      const float* dyp = dy.data_ptr<float>();
      float* dzp = dz.data_ptr<float>();
      at::parallel_for(0, M * N, kElementGrain, [&](int64_t i0, int64_t i1) {
        kernels::gelu_backward(zp + i0, dyp + i0, dzp + i0, i1 - i0);
      });
    } else if (epilogue == kBiasDropoutAdd) {
      dresidual = dy;
      if (ctx->saved_data["p"].toDouble() > 0) dz = dropout_backward(ctx, dy);
    }
    const float* dzp = dz.data_ptr<float>();
    Tensor dx, dw, db;
    if (ctx->needs_input_grad(0)) {
      dx = torch::empty({M, K}, x.options());  // dz W
      float* dxp = dx.data_ptr<float>();
      const float* wp = w.data_ptr<float>();
      split_gemm(M, 2 * N * K, [&](int64_t m0, int64_t m1) {
        sgemm(Trans::kNo, Trans::kNo, m1 - m0, K, N, 1.0f, dzp + m0 * N, N, wp, K, 0.0f,
              dxp + m0 * K, K);
      });
    }
    if (ctx->needs_input_grad(1)) dw = weight_gradient(dzp, x, N);  // dz^T x
    if (ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(2)) {
      db = torch::empty({N}, w.options());  // column sums of dz, column blocks in parallel
      float* dbp = db.data_ptr<float>();
      constexpr int64_t kColumns = 128;
      at::parallel_for(0, (N + kColumns - 1) / kColumns, 1, [&](int64_t c0, int64_t c1) {
        const int64_t j0 = c0 * kColumns, j1 = std::min(N, c1 * kColumns);
        kernels::column_sums(dzp + j0, M, j1 - j0, N, dbp + j0);
      });
    }
    return {dx, dw, db, dresidual, Tensor(), Tensor(), Tensor()};
  }
};

struct DropoutFunction : public torch::autograd::Function<DropoutFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, double p, int64_t seed) {
    return dropout_forward(ctx, x, nullptr, p, seed);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {dropout_backward(ctx, grads[0].contiguous()), Tensor(), Tensor()};
  }
};

struct DropoutAddFunction : public torch::autograd::Function<DropoutAddFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& r, double p,
                        int64_t seed) {
    return dropout_forward(ctx, x, &r, p, seed);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    Tensor dy = grads[0].contiguous();
    return {dropout_backward(ctx, dy), dy, Tensor(), Tensor()};
  }
};

struct GeluFunction : public torch::autograd::Function<GeluFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    Tensor y = torch::empty_like(x);
    const float* xp = x.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    at::parallel_for(0, x.numel(), kElementGrain, [&](int64_t i0, int64_t i1) {
      kernels::gelu(xp + i0, yp + i0, i1 - i0);
    });
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const Tensor x = ctx->get_saved_variables()[0];
    const Tensor dy = grads[0].contiguous();
    Tensor dx = torch::empty_like(x);
    const float* xp = x.data_ptr<float>();
    const float* dyp = dy.data_ptr<float>();
    float* dxp = dx.data_ptr<float>();
    at::parallel_for(0, x.numel(), kElementGrain, [&](int64_t i0, int64_t i1) {
      kernels::gelu_backward(xp + i0, dyp + i0, dxp + i0, i1 - i0);
    });
    return {dx};
  }
};

}  // namespace

Tensor gelu(const Tensor& x, bool fused) {
  if (!fused || !fusable(x)) return torch::gelu(x);
  return GeluFunction::apply(x.contiguous());
}

namespace {

// Shared by the Linear entry points: flattens x to (M, K), runs the fused function and
// restores the leading dimensions.
Tensor fused_linear(const Tensor& x, const Tensor& weight, const Tensor& bias,
                    const Tensor& residual, Epilogue epilogue, double p) {
  const int64_t K = x.size(-1);
  TORCH_CHECK(weight.dim() == 2 && weight.size(1) == K, "linear: weight ", weight.sizes(),
              " does not match input ", x.sizes());
  auto out_shape = x.sizes().vec();
  out_shape.back() = weight.size(0);
  const int64_t N = weight.size(0), M = K > 0 ? x.numel() / K : 0;
  if (residual.defined())
    TORCH_CHECK(residual.numel() == M * N, "linear: residual ", residual.sizes(),
                " does not match the output ", c10::IntArrayRef(out_shape));
  const Tensor r = residual.defined() ? residual.reshape({M, N}).contiguous()
                                      : torch::empty({0}, x.options());
  const Tensor b = bias.defined() ? bias.contiguous() : torch::empty({0}, x.options());
  if (epilogue == kBiasDropoutAdd) check_index_space(M * N);
  const int64_t seed = epilogue == kBiasDropoutAdd && p > 0 ? static_cast<int64_t>(draw_seed()) : 0;
  Tensor y = LinearFunction::apply(x.reshape({M, K}).contiguous(), weight.contiguous(), b, r,
                                   static_cast<int64_t>(epilogue), p, seed);
  return y.view(out_shape);
}

bool all_fusable(std::initializer_list<const Tensor*> tensors) {
  for (const Tensor* t : tensors)
    if (!t->defined() || !fusable(*t)) return false;
  return true;
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, bool fused) {
  if (!fused || !all_fusable({&x, &weight}) || (bias.defined() && !fusable(bias)))
    return torch::nn::functional::linear(x, weight, bias);
  return fused_linear(x, weight, bias, Tensor(), kBias, 0.0);
}

Tensor linear_gelu(const Tensor& x, const Tensor& weight, const Tensor& bias, bool fused) {
  if (!fused || !all_fusable({&x, &weight, &bias}))
    return torch::gelu(torch::nn::functional::linear(x, weight, bias));
  return fused_linear(x, weight, bias, Tensor(), kBiasGelu, 0.0);
}

Tensor linear_dropout_add(const Tensor& x, const Tensor& weight, const Tensor& bias,
                          const Tensor& residual, double p, bool training, bool fused) {
  const double drop = training ? p : 0.0;
  if (!fused || !all_fusable({&x, &weight, &bias, &residual}))
    return torch::dropout(torch::nn::functional::linear(x, weight, bias), drop, training) +
           residual;
  return fused_linear(x, weight, bias, residual, kBiasDropoutAdd, drop);
}

Tensor dropout(const Tensor& x, double p, bool training, bool fused) {
  if (!training || p == 0) return x;
  if (!fused || !fusable(x)) return torch::dropout(x, p, training);
  check_index_space(x.numel());
  return DropoutFunction::apply(x.contiguous(), p, static_cast<int64_t>(draw_seed()));
}

Tensor dropout_add(const Tensor& x, const Tensor& residual, double p, bool training,
                   bool fused) {
  if (!training || p == 0) return x + residual;
  if (!fused || !fusable(x) || !fusable(residual) || x.sizes() != residual.sizes())
    return torch::dropout(x, p, training) + residual;
  check_index_space(x.numel());
  return DropoutAddFunction::apply(x.contiguous(), residual.contiguous(), p,
                                   static_cast<int64_t>(draw_seed()));
}

}  // namespace mtdnn::worker::ops
