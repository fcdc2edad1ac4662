// The device and precision seam on the CPU (worker/execution.h): option parsing and device
// resolution; the LibTorch-operator path (what runs on GPUs) against the fused CPU kernels
// over a few training steps on the golden model; bf16 autocast on the CPU against the
// golden float32 values within bf16's tolerance, with float32 losses, gradients and
// weights; the optimizer's operator update against its CPU loops; batches and autocast
// scopes. The same comparisons on a GPU are in tests/gpu/.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"
#include "golden_util.h"
#include "worker/batch_tensors.h"
#include "worker/execution.h"
#include "worker/optimizer.h"

namespace mtdnn::worker::test {
namespace {

TEST(Execution, ParsesAndNamesChoices) {
  EXPECT_EQ(parse_device_kind("auto"), DeviceKind::kAuto);
  EXPECT_EQ(parse_device_kind("cuda"), DeviceKind::kCuda);
  EXPECT_STREQ(to_string(parse_device_kind("cpu")), "cpu");
  EXPECT_THROW(parse_device_kind("gpu"), InputError);
  EXPECT_EQ(parse_precision("bf16"), Precision::kBf16);
  EXPECT_STREQ(to_string(parse_precision("fp32")), "fp32");
  EXPECT_EQ(parse_precision("fp16"), Precision::kFp16);
  EXPECT_THROW(parse_precision("fp8"), InputError);
}

TEST(Execution, ResolvesTheDeviceOfTheRank) {
  const ExecutionOptions cpu = resolve_execution(DeviceKind::kCpu, Precision::kFp32, 3);
  EXPECT_TRUE(cpu.device.is_cpu());
  EXPECT_TRUE(cpu.fused_kernels());
  EXPECT_EQ(cpu.describe(), "cpu fp32");
  EXPECT_FALSE(resolve_execution(DeviceKind::kCpu, Precision::kBf16, 0).fused_kernels()) << "bf16 runs the operators";
  // fp16 on the CPU: where LibTorch autocasts to it (2.4+), the operators with loss scaling;
  // elsewhere an error naming the flag and the version.
  if (cpu_fp16_autocast()) {
    const ExecutionOptions fp16 = resolve_execution(DeviceKind::kCpu, Precision::kFp16, 0);
    EXPECT_FALSE(fp16.fused_kernels());
    EXPECT_TRUE(fp16.loss_scaling());
    EXPECT_EQ(fp16.describe(), "cpu fp16");
  } else {
    try {
      resolve_execution(DeviceKind::kCpu, Precision::kFp16, 0);
      ADD_FAILURE() << "fp16 on a CPU without fp16 autocast was accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("--precision fp16 on the CPU needs LibTorch 2.4"), std::string::npos)
          << e.what();
    }
  }
  EXPECT_FALSE(cpu.loss_scaling());
  const ExecutionOptions automatic = resolve_execution(DeviceKind::kAuto, Precision::kFp32, 1);
  if (cuda_device_count() == 0) {
    EXPECT_TRUE(automatic.device.is_cpu());
    try {
      resolve_execution(DeviceKind::kCuda, Precision::kFp32, 0);
      FAIL() << "no error";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("--device cuda"), std::string::npos) << e.what();
    }
  } else {
    EXPECT_TRUE(automatic.cuda());
    EXPECT_EQ(automatic.device.index(), 1 % cuda_device_count()) << "node-local rank 1's GPU";
    EXPECT_FALSE(automatic.fused_kernels());
  }
}

TEST(Execution, CpuBatchesStayAsTheyAre) {
  ModelInput in;
  in.input_ids = torch::ones({2, 3}, torch::kLong);
  in.token_type_ids = torch::zeros({2, 3}, torch::kLong);
  in.attention_mask = torch::ones({2, 3}, torch::kLong);
  in.labels = {torch::zeros({2}, torch::kLong)};
  ModelInput out = to_device(in, ExecutionOptions{});
  EXPECT_TRUE(out.input_ids.is_same(in.input_ids));
  EXPECT_TRUE(out.labels[0].is_same(in.labels[0]));
  EXPECT_FALSE(out.host_attention_mask.defined());
}

TEST(Execution, AutocastScopeCastsMatrixProductsAndRestores) {
  const auto x = torch::randn({4, 8});
  const auto w = torch::randn({6, 8});
  {
    AutocastScope fp32(c10::DeviceType::CPU, Precision::kFp32);
    EXPECT_EQ(torch::nn::functional::linear(x, w).scalar_type(), torch::kFloat) << "fp32: no autocast";
  }
  {
    AutocastScope outer(c10::DeviceType::CPU, Precision::kBf16);
    EXPECT_EQ(torch::nn::functional::linear(x, w).scalar_type(), torch::kBFloat16);
    {
      AutocastScope inner(c10::DeviceType::CPU, Precision::kBf16);
      EXPECT_EQ(torch::matmul(x, w.t()).scalar_type(), torch::kBFloat16);
    }
    EXPECT_EQ(torch::nn::functional::linear(x, w).scalar_type(), torch::kBFloat16) << "the inner scope ended only itself";
  }
  EXPECT_EQ(torch::nn::functional::linear(x, w).scalar_type(), torch::kFloat) << "restored";
}

// The sum of every task's loss on the golden batch (what the parity tests differentiate).
torch::Tensor summed_losses(MtdnnModel& model, const GoldenBatch& batch) {
  torch::Tensor total = torch::zeros({});
  for (const auto& task : model->tasks()) total = total + model->forward(task, batch.for_task(task)).loss;
  return total;
}

std::vector<NamedParameter> named(MtdnnModel& model) {
  std::vector<NamedParameter> out;
  for (const auto& item : model->named_parameters()) out.push_back({item.key(), item.value()});
  return out;
}

// The operator path (fused = false: what CUDA runs) takes the same training steps as the
// fused CPU kernels: losses at each step and the weights after them, in eval mode (no
// dropout: the two paths draw different masks), with clipping.
class OperatorPath : public ::testing::TestWithParam<std::string> {};

TEST_P(OperatorPath, TrainingStepsEqualTheFusedKernels) {
  const std::string config = GetParam();
  const GoldenBatch batch = golden_inputs(config);
  MtdnnModel fused = golden_model(config, /*fused=*/true);
  MtdnnModel ops = golden_model(config, /*fused=*/false);
  OptimizerOptions oo;
  oo.kind = OptimizerKind::kAdamW;
  // Adam turns a gradient that is pure rounding noise (the ranking head's bias: its softmax
  // ignores a shift) into a step of up to lr: a large eps keeps that below the tolerance.
  oo.eps = 1e-3;
  Optimizer fused_opt(named(fused), oo);
  oo.tensor_ops = true;  // the GPU's update too
  Optimizer ops_opt(named(ops), oo);
  constexpr int kSteps = 3;
  for (int step = 0; step < kSteps; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    torch::Tensor lf = summed_losses(fused, batch), lo = summed_losses(ops, batch);
    EXPECT_TRUE(close(lo, lf, 1e-5)) << "loss";
    lf.backward();
    lo.backward();
    const double nf = fused_opt.grad_norm(), no = ops_opt.grad_norm();
    EXPECT_NEAR(no, nf, 1e-4 * nf);
    fused_opt.step(1e-3, clip_coefficient(nf, 1.0));
    ops_opt.step(1e-3, clip_coefficient(no, 1.0));
    fused_opt.zero_grad();
    ops_opt.zero_grad();
  }
  auto expected = fused->named_parameters();
  int compared = 0;
  for (const auto& item : ops->named_parameters()) {
    EXPECT_TRUE(close(item.value(), expected[item.key()], 1e-5, 1e-6)) << item.key();
    ++compared;
  }
  EXPECT_GT(compared, 10);
}

INSTANTIATE_TEST_SUITE_P(Golden, OperatorPath, ::testing::Values("tiny", "mini"));

// bf16 on the CPU (LibTorch's CPU autocast) against the golden float32 values. Tolerances,
// relative to each tensor's largest magnitude: outputs and losses 3e-2, gradients 1e-1 plus
// 1e-3 of the largest gradient of the model (bf16 keeps 8 significant bits; errors grow
// through the layers and backward, and gradients that are zero but for float32 rounding,
// such as the attention keys' biases, come out at bf16's rounding).
constexpr double kBf16Outputs = 3e-2, kBf16Gradients = 1e-1, kBf16GradientsOfLargest = 1e-3;

TEST(Bf16Cpu, GoldenOutputsLossesAndGradientsWithinTolerance) {
  for (const std::string config : {"tiny", "mini"}) {
    SCOPED_TRACE(config);
    MtdnnModelOptions mo = golden_model_options(config, /*fused=*/false);
    mo.precision = Precision::kBf16;
    MtdnnModel model(mo);
    {
      MtdnnModel weights = golden_model(config);
      torch::NoGradGuard no_grad;
      auto source = weights->named_parameters();
      for (auto& item : model->named_parameters()) item.value().copy_(source[item.key()]);
    }
    model->eval();
    const GoldenBatch batch = golden_inputs(config);
    tensor_io::SafetensorsFile expected((golden_dir(config) / "outputs.safetensors").string());
    MtdnnModel fp32 = golden_model(config, /*fused=*/false);
    for (const auto& task : model->tasks()) {
      SCOPED_TRACE("task " + task);
      torch::NoGradGuard no_grad;
      auto out = model->forward(task, batch.for_task(task));
      EXPECT_EQ(out.logits.scalar_type(), torch::kFloat) << "the heads run in float32";
      EXPECT_EQ(out.loss.scalar_type(), torch::kFloat) << "the losses are float32";
      EXPECT_TRUE(close(out.logits, expected.tensor("logits." + task), kBf16Outputs)) << "logits";
      EXPECT_TRUE(close(out.loss, expected.tensor("loss." + task), kBf16Outputs)) << "loss";
      // bf16 did run: the logits differ from float32's.
      auto reference = fp32->forward(task, batch.for_task(task));
      EXPECT_GT((out.logits - reference.logits).abs().max().item<double>(), 0.0) << "autocast did not engage";
    }
    summed_losses(model, batch).backward();
    const auto gradients = golden_gradients(model, expected);
    const double largest = largest_golden_gradient(gradients);
    for (const auto& g : gradients) {
      EXPECT_EQ(g.parameter.grad().scalar_type(), torch::kFloat) << "float32 gradient of " << g.key;
      EXPECT_TRUE(close(g.parameter.grad(), g.expected, kBf16Gradients, kBf16GradientsOfLargest * largest))
          << "gradient of " << g.key;
    }
    EXPECT_GE(gradients.size(), 10u);
    for (const auto& item : model->named_parameters())
      EXPECT_EQ(item.value().scalar_type(), torch::kFloat) << "float32 master weight " << item.key();
  }
}

// The optimizer's operator update (GPU) equals its CPU loops over steps with clipping, for
// every kind, including a parameter without a gradient in one step.
class OptimizerOps : public ::testing::TestWithParam<OptimizerKind> {};

TEST_P(OptimizerOps, EqualTheCpuLoops) {
  torch::manual_seed(3);
  const std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
      {"bert.encoder.layer.0.output.dense.weight", {40, 33}},
      {"bert.encoder.layer.0.output.dense.bias", {40}},
      {"bert.encoder.layer.0.output.LayerNorm.weight", {33}}};
  std::vector<NamedParameter> a, b;
  for (const auto& [name, shape] : shapes) {
    auto p = torch::randn(shape);
    a.push_back({name, p.clone().requires_grad_()});
    b.push_back({name, p.clone().requires_grad_()});
  }
  OptimizerOptions oo;
  oo.kind = GetParam();
  oo.weight_decay = 0.1;
  Optimizer loops(a, oo);
  oo.tensor_ops = true;
  Optimizer ops(b, oo);
  for (int step = 0; step < 4; ++step) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (step == 2 && i == 1) continue;  // no gradient: untouched, its step count stays
      auto g = torch::randn(a[i].param.sizes()) * (step == 0 ? 3.0 : 0.5);
      a[i].param.mutable_grad() = g.clone();
      b[i].param.mutable_grad() = g.clone();
    }
    const double na = loops.grad_norm(), nb = ops.grad_norm();
    EXPECT_NEAR(nb, na, 1e-9 * na);
    loops.step(0.01, clip_coefficient(na, 1.0));
    ops.step(0.01, clip_coefficient(nb, 1.0));
    loops.zero_grad();
    ops.zero_grad();
  }
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(close(b[i].param, a[i].param, 1e-6, 1e-7)) << a[i].name;
    EXPECT_TRUE(close(ops.state()[i].exp_avg, loops.state()[i].exp_avg, 1e-6, 1e-8)) << a[i].name;
    EXPECT_TRUE(close(ops.state()[i].exp_sec, loops.state()[i].exp_sec, 1e-6, 1e-8)) << a[i].name;
    EXPECT_EQ(ops.state()[i].steps, loops.state()[i].steps);
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, OptimizerOps,
                         ::testing::Values(OptimizerKind::kAdamW, OptimizerKind::kAdamax, OptimizerKind::kLamb),
                         [](const auto& info) { return std::string(to_string(info.param)); });

}  // namespace
}  // namespace mtdnn::worker::test
