// Fused CPU ops against the LibTorch reference formulas: Linear, attention and dropout,
// forward and backward, with the BLAS multi-threaded (serial GEMM calls) and single-
// threaded (GEMMs split across threads); the vectorised exp.
#include <cmath>
#include <vector>

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "golden_util.h"
#include "worker/cpu_kernels.h"
#include "worker/cpu_runtime.h"
#include "worker/fused_ops.h"

namespace mtdnn::worker {
namespace {

using test::close;

// Runs the test body with the BLAS single-threaded when `split` (the fused ops then split
// GEMMs across OpenMP threads), restoring the BLAS threads afterwards.
class BlasMode : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    saved_ = blas_threads();
    if (GetParam()) set_blas_threads(1);
    at::set_num_threads(2);
  }
  void TearDown() override { set_blas_threads(saved_); }
  int saved_ = 1;
};

TEST_P(BlasMode, LinearMatchesReference) {
  torch::manual_seed(10);
  for (auto shape : std::vector<std::vector<int64_t>>{{300, 70}, {4, 33, 48}, {1, 5}, {513, 600}}) {
    const int64_t K = shape.back(), N = shape.size() == 2 && shape[0] == 1 ? 3 : 96;
    auto x = torch::randn(shape).requires_grad_();
    auto w = torch::randn({N, K}).requires_grad_();
    for (bool with_bias : {true, false}) {
      auto b = with_bias ? torch::randn({N}).requires_grad_() : torch::Tensor();
      auto y = ops::linear(x, w, b);
      auto g = torch::randn_like(y);
      auto grads = torch::autograd::grad({y}, with_bias ? std::vector<torch::Tensor>{x, w, b}
                                                        : std::vector<torch::Tensor>{x, w},
                                         {g});
      auto yr = torch::nn::functional::linear(x, w, b);
      auto gr = torch::autograd::grad({yr}, with_bias ? std::vector<torch::Tensor>{x, w, b}
                                                      : std::vector<torch::Tensor>{x, w},
                                      {g});
      EXPECT_TRUE(close(y, yr, 1e-5));
      for (size_t i = 0; i < grads.size(); ++i) EXPECT_TRUE(close(grads[i], gr[i], 1e-5)) << i;
    }
  }
}

TEST_P(BlasMode, AttentionMatchesReference) {
  torch::manual_seed(11);
  const int64_t B = 5, T = 19, NH = 3, D = 8, H = NH * D;
  auto qkv = torch::randn({B, T, 3 * H}).requires_grad_();
  auto mask = torch::ones({B, T}, torch::kLong);
  mask[1].narrow(0, 11, 8).zero_();  // padded tail
  mask[2][4] = 0;                    // a hole
  mask[2].narrow(0, 15, 4).zero_();
  mask[3].narrow(0, 1, 18).zero_();  // only [CLS]
  auto y = ops::self_attention(qkv, mask, NH, 0.0, false);
  auto yr = ops::self_attention(qkv, mask, NH, 0.0, false, /*fused=*/false);
  EXPECT_TRUE(close(y, yr, 1e-5));
  auto g = torch::randn_like(y);
  auto dq = torch::autograd::grad({y}, {qkv}, {g})[0];
  auto dqr = torch::autograd::grad({yr}, {qkv}, {g})[0];
  EXPECT_TRUE(close(dq, dqr, 1e-5));
}

TEST_P(BlasMode, AttentionDropoutMasksMatchBetweenForwardAndBackward) {
  // With every value row equal to one-hot(j), the output is the dropped probabilities
  // themselves; the gradient must use the same mask.
  torch::manual_seed(12);
  const int64_t B = 2, T = 16, NH = 2, D = 16, H = NH * D;
  auto qkv = torch::zeros({B, T, 3 * H});
  qkv.narrow(2, 0, 2 * H).normal_();
  for (int64_t h = 0; h < NH; ++h)
    qkv.narrow(2, 2 * H + h * D, D).copy_(torch::eye(T).expand({B, T, T}));
  qkv.requires_grad_();
  auto mask = torch::ones({B, T}, torch::kLong);
  auto y = ops::self_attention(qkv, mask, NH, 0.5, /*training=*/true);  // (B, T, H)
  auto probs = ops::self_attention(qkv, mask, NH, 0.0, false).detach();
  auto kept = (y != 0).to(torch::kFloat);
  const double keep_rate = kept.mean().item<double>();
  EXPECT_NEAR(keep_rate, 0.5, 0.06);
  EXPECT_TRUE(close(y, probs * kept * 2, 1e-5)) << "kept entries scaled by 1/(1-p)";
  // d(sum(y * g))/dV for value row j is sum_i P_drop[i, j] g[i]: only kept entries count.
  auto g = torch::randn_like(y);
  auto dqkv = torch::autograd::grad({y}, {qkv}, {g})[0];
  for (int64_t h = 0; h < NH; ++h) {
    auto pd = (probs * kept * 2).narrow(2, h * D, D);  // (B, T, T) for this head
    auto dv = torch::bmm(pd.transpose(1, 2), g.narrow(2, h * D, D));
    EXPECT_TRUE(close(dqkv.narrow(2, 2 * H + h * D, D), dv, 1e-5)) << "head " << h;
  }
}

INSTANTIATE_TEST_SUITE_P(Blas, BlasMode, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "split" : "threaded_blas"; });

TEST(FusedOps, DropoutKeepsOneMinusPAndScales) {
  torch::manual_seed(13);
  auto x = torch::ones({1000, 1000}).requires_grad_();
  auto y = ops::dropout(x, 0.1, true);
  const double kept = (y != 0).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(kept, 0.9, 0.002);
  EXPECT_NEAR(y.max().item<float>(), 1 / 0.9, 1e-6);
  auto dx = torch::autograd::grad({y}, {x}, {torch::ones_like(y)})[0];
  EXPECT_TRUE(torch::equal(dx, y.detach())) << "backward regenerates the same mask";
  EXPECT_TRUE(torch::equal(ops::dropout(x, 0.1, false), x));
  // Neighbouring elements are independent (no visible pattern in the counter hash).
  auto k = (y.detach().reshape(-1) != 0).to(torch::kDouble);
  const double both = (k.narrow(0, 0, k.numel() - 1) * k.narrow(0, 1, k.numel() - 1)).mean().item<double>();
  EXPECT_NEAR(both, 0.81, 0.003);
}

TEST(FusedOps, DropoutAddMatchesDropoutPlusResidual) {
  auto x = torch::randn({64, 48}).requires_grad_();
  auto r = torch::randn({64, 48}).requires_grad_();
  torch::manual_seed(14);
  auto y = ops::dropout_add(x, r, 0.3, true);
  torch::manual_seed(14);
  auto y2 = ops::dropout(x, 0.3, true) + r;
  EXPECT_TRUE(close(y, y2, 1e-6));
  auto g = torch::randn_like(y);
  auto a = torch::autograd::grad({y}, {x, r}, {g});
  auto b = torch::autograd::grad({y2}, {x, r}, {g});
  EXPECT_TRUE(close(a[0], b[0], 1e-6));
  EXPECT_TRUE(close(a[1], b[1], 1e-6));
}

TEST(FusedOps, LinearEpiloguesMatchTheirDefinitions) {
  torch::manual_seed(17);
  auto x = torch::randn({3, 50, 24}).requires_grad_();
  auto w = torch::randn({40, 24}).requires_grad_();
  auto b = torch::randn({40}).requires_grad_();
  auto r = torch::randn({3, 50, 40}).requires_grad_();
  auto g = torch::randn({3, 50, 40});
  // GELU epilogue.
  auto y = ops::linear_gelu(x, w, b);
  auto yr = torch::gelu(torch::nn::functional::linear(x, w, b));
  EXPECT_TRUE(close(y, yr, 1e-5));
  auto a = torch::autograd::grad({y}, {x, w, b}, {g});
  auto e = torch::autograd::grad({yr}, {x, w, b}, {g});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(close(a[i], e[i], 1e-5)) << i;
  // Dropout + residual epilogue: recover the mask from the output, then check values and
  // gradients against dropout(x W^T + b) * mask / (1 - p) + r.
  const double p = 0.25;
  auto d = ops::linear_dropout_add(x, w, b, r, p, /*training=*/true);
  auto lin = torch::nn::functional::linear(x, w, b);
  auto mask = ((d - r).abs() > 1e-6).to(torch::kFloat).detach();
  EXPECT_NEAR(mask.mean().item<double>(), 0.75, 0.03);
  auto dr_ = lin * mask / (1 - p) + r;
  EXPECT_TRUE(close(d, dr_, 1e-5));
  auto ad = torch::autograd::grad({d}, {x, w, b, r}, {g});
  auto ed = torch::autograd::grad({dr_}, {x, w, b, r}, {g});
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(close(ad[i], ed[i], 1e-5)) << i;
  // Not training: no dropout.
  EXPECT_TRUE(close(ops::linear_dropout_add(x, w, b, r, p, false), lin + r, 1e-5));
}

TEST(FusedOps, GeluMatchesExactGelu) {
  torch::manual_seed(16);
  auto x = torch::cat({torch::randn({20000}) * 3, torch::linspace(-12, 12, 4001),
                       torch::tensor({0.0f, -0.0f, 1e-8f, -1e-8f, 40.0f, -40.0f})})
               .requires_grad_();
  auto y = ops::gelu(x);
  auto yr = torch::gelu(x);
  EXPECT_TRUE(close(y, yr, 0, 5e-7));
  auto g = torch::randn_like(y);
  auto dx = torch::autograd::grad({y}, {x}, {g})[0];
  auto dxr = torch::autograd::grad({yr}, {x}, {g})[0];
  EXPECT_TRUE(close(dx, dxr, 0, 5e-7));
}

TEST(CpuKernels, ExpIsAccurate) {
  std::vector<float> x, y(20001);
  for (int i = 0; i <= 20000; ++i) x.push_back(-100.0f + 0.0094f * i);  // up to 88
  kernels::exp(x.data(), y.data(), x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] < -87.3f) {
      EXPECT_EQ(y[i], 0.0f);
      continue;
    }
    const double ref = std::exp(static_cast<double>(x[i]));
    ASSERT_LE(std::abs(y[i] - ref) / ref, 3e-7) << "x = " << x[i];
  }
}

}  // namespace
}  // namespace mtdnn::worker
