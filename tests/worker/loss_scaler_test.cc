// The dynamic loss scaler (worker/loss_scaler.h) step by step against the rule written out
// by hand: halve on an overflow (never below 1), double after `growth_interval` clean steps
// in a row, an overflow restarts the count; its state round-trips through JSON and a
// malformed state is an error naming the checkpoint. fp16 autocast on the CPU where this
// LibTorch has it, with an injected infinite gradient through a scaled backward.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <limits>

#include "common/error.h"
#include "worker/execution.h"
#include "worker/loss_scaler.h"

namespace mtdnn::worker {
namespace {

TEST(LossScaler, HalvesOnOverflowAndDoublesAfterTheWindow) {
  LossScaler s({1024, 3});
  EXPECT_EQ(s.scale(), 1024);
  s.update(true);  // overflow: halve
  EXPECT_EQ(s.scale(), 512);
  EXPECT_EQ(s.clean_steps(), 0);
  s.update(false);
  s.update(false);
  EXPECT_EQ(s.scale(), 512);  // 2 clean steps of 3
  EXPECT_EQ(s.clean_steps(), 2);
  s.update(true);  // an overflow restarts the count
  EXPECT_EQ(s.scale(), 256);
  for (int i = 0; i < 2; ++i) s.update(false);
  EXPECT_EQ(s.scale(), 256);
  s.update(false);  // the third clean step in a row
  EXPECT_EQ(s.scale(), 512);
  EXPECT_EQ(s.clean_steps(), 0);
}

TEST(LossScaler, NeverFallsBelowOne) {
  LossScaler s({4, 100});
  EXPECT_TRUE(s.can_back_off());
  s.update(true);
  s.update(true);
  EXPECT_EQ(s.scale(), 1);
  EXPECT_FALSE(s.can_back_off());  // an overflow at 1 is not the scaler's to absorb
  s.update(true);
  EXPECT_EQ(s.scale(), 1);
}

TEST(LossScaler, StateRoundTripsAndBadStatesAreNamed) {
  LossScaler a({65536, 5});
  a.update(true);
  a.update(false);
  a.update(false);
  LossScaler b({65536, 5});
  b.restore(a.to_json(), "ckpt-7");
  EXPECT_EQ(b.scale(), 32768);
  EXPECT_EQ(b.clean_steps(), 2);
  for (int i = 0; i < 3; ++i) {  // both continue alike: 3 more clean steps complete the window
    a.update(false);
    b.update(false);
  }
  EXPECT_EQ(a.scale(), 65536);
  EXPECT_EQ(b.to_json(), a.to_json());
  for (const char* bad : {R"({"scale": 3, "clean_steps": 0})", R"({"scale": 0.5, "clean_steps": 0})",
                          R"({"scale": 8, "clean_steps": -1})", R"({"scale": 8})", "[]"}) {
    try {
      b.restore(nlohmann::json::parse(bad), "ckpt-7");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("ckpt-7"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(LossScaler({1000, 5}), InputError);  // not a power of two
  EXPECT_THROW(LossScaler({0.5, 5}), InputError);
  EXPECT_THROW(LossScaler({8, 0}), InputError);
}

// The scaled backward the distributed step runs, on a small fp16-autocast network: the
// gradients divided by the scale equal the unscaled ones (the scale is a power of two), and
// an infinite gradient injected by a hook makes the norm infinite: the step to skip.
TEST(LossScaler, ScaledFp16BackwardUnscalesExactlyAndInjectedInfIsSeen) {
  if (!cpu_fp16_autocast()) GTEST_SKIP() << "this LibTorch has no fp16 autocast on the CPU";
  torch::manual_seed(3);
  torch::nn::Linear layer(8, 4);
  const torch::Tensor x = torch::randn({5, 8});
  auto grads = [&](double scale, bool inject) {
    layer->zero_grad();
    torch::Tensor loss;
    {
      AutocastScope autocast(c10::DeviceType::CPU, Precision::kFp16);
      const torch::Tensor y = layer->forward(x);
      EXPECT_EQ(y.scalar_type(), torch::kHalf);
      loss = y.to(torch::kFloat).pow(2).mean();
    }
    torch::Tensor w = layer->weight;
    if (inject) {
      w.register_hook([](torch::Tensor g) { return g * std::numeric_limits<float>::infinity(); });
    }
    (loss * scale).backward();
    return w.grad().clone() / scale;
  };
  const torch::Tensor plain = grads(1, false), scaled = grads(1024, false);
  EXPECT_EQ(plain.scalar_type(), torch::kFloat);  // float32 master gradients
  EXPECT_TRUE(torch::allclose(plain, scaled, 1e-3, 1e-5)) << (plain - scaled).abs().max();
  const torch::Tensor injected = grads(1024, true);
  EXPECT_FALSE(std::isfinite(injected.norm().item<double>()));
}

}  // namespace
}  // namespace mtdnn::worker
