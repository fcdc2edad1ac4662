// The GPU path against the CPU (run by scripts/gpu-check.sh; ctest label gpu, skipped
// without CUDA): the golden models on the GPU in float32 (forward, losses, gradients) and
// in bf16 within bf16's tolerance; training steps on the GPU (LibTorch operators, the
// optimizer's operator update) against the fused CPU kernels; batches copied to the device;
// the weight checksum and the CUDA generator state of a checkpoint.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "../worker/golden_util.h"
#include "orchestrator/generator_state.h"
#include "orchestrator/trainer.h"
#include "worker/batch_tensors.h"
#include "worker/execution.h"
#include "worker/optimizer.h"

namespace mtdnn::worker::test {
namespace {

const torch::Device kGpu(torch::kCUDA, 0);

// Float32 on the GPU: outputs, losses and gradients at 1e-4 of each tensor's largest
// magnitude (other kernels and summation orders than the CPU's, no TF32).
constexpr double kFp32 = 1e-4;
// bf16: as on the CPU (tests/worker/execution_test.cc).
constexpr double kBf16Outputs = 3e-2, kBf16Gradients = 1e-1, kBf16GradientsOfLargest = 1e-3;

MtdnnModel gpu_golden_model(const std::string& config, Precision precision) {
  MtdnnModelOptions mo = golden_model_options(config, /*fused=*/false);
  mo.precision = precision;
  MtdnnModel model(mo);
  MtdnnModel weights = golden_model(config);
  {
    torch::NoGradGuard no_grad;
    auto source = weights->named_parameters();
    for (auto& item : model->named_parameters()) item.value().copy_(source[item.key()]);
  }
  model->to(kGpu);
  model->eval();
  return model;
}

ModelInput on_gpu(const GoldenBatch& batch, const std::string& task, bool with_labels = true) {
  ExecutionOptions exec;
  exec.device = kGpu;
  return to_device(batch.for_task(task, with_labels), exec);
}

class GpuGolden : public ::testing::TestWithParam<std::tuple<std::string, Precision>> {};

TEST_P(GpuGolden, OutputsLossesAndGradients) {
  const auto [config, precision] = GetParam();
  const bool bf16 = precision == Precision::kBf16;
  MtdnnModel model = gpu_golden_model(config, precision);
  const GoldenBatch batch = golden_inputs(config);
  tensor_io::SafetensorsFile expected((golden_dir(config) / "outputs.safetensors").string());
  torch::Tensor total = torch::zeros({}, torch::TensorOptions().device(kGpu));
  for (const auto& task : model->tasks()) {
    SCOPED_TRACE("task " + task);
    auto out = model->forward(task, on_gpu(batch, task));
    EXPECT_TRUE(out.logits.is_cuda());
    EXPECT_EQ(out.loss.scalar_type(), torch::kFloat);
    EXPECT_TRUE(close(out.logits.cpu(), expected.tensor("logits." + task), bf16 ? kBf16Outputs : kFp32)) << "logits";
    EXPECT_TRUE(close(out.loss.cpu(), expected.tensor("loss." + task), bf16 ? kBf16Outputs : kFp32)) << "loss";
    total = total + out.loss;
  }
  total.backward();
  const auto gradients = golden_gradients(model, expected);
  const double largest = largest_golden_gradient(gradients);
  for (const auto& g : gradients) {
    const torch::Tensor grad = g.parameter.grad();
    EXPECT_EQ(grad.scalar_type(), torch::kFloat);
    EXPECT_TRUE(bf16 ? close(grad.cpu(), g.expected, kBf16Gradients, kBf16GradientsOfLargest * largest)
                     : close(grad.cpu(), g.expected, kFp32, 1e-6 * largest))
        << "gradient of " << g.key;
  }
  EXPECT_GE(gradients.size(), 10u);
}

INSTANTIATE_TEST_SUITE_P(Golden, GpuGolden,
                         ::testing::Combine(::testing::Values("tiny", "mini"),
                                            ::testing::Values(Precision::kFp32, Precision::kBf16)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + to_string(std::get<1>(info.param));
                         });

std::vector<NamedParameter> named(MtdnnModel& model) {
  std::vector<NamedParameter> out;
  for (const auto& item : model->named_parameters()) out.push_back({item.key(), item.value()});
  return out;
}

// Three clipped AdamW steps on the GPU (operators, operator update) against the fused CPU
// kernels and loops (eval mode: no dropout, whose draws differ between the two).
TEST(GpuTraining, StepsEqualTheFusedCpuPath) {
  for (const std::string config : {"tiny", "mini"}) {
    SCOPED_TRACE(config);
    const GoldenBatch batch = golden_inputs(config);
    MtdnnModel cpu = golden_model(config, /*fused=*/true);
    MtdnnModel gpu = gpu_golden_model(config, Precision::kFp32);
    OptimizerOptions oo;
    oo.kind = OptimizerKind::kAdamW;
    oo.eps = 1e-3;  // rounding-noise gradients (the ranking bias) would otherwise step by lr
    Optimizer cpu_opt(named(cpu), oo);
    oo.tensor_ops = true;
    Optimizer gpu_opt(named(gpu), oo);
    for (int step = 0; step < 3; ++step) {
      torch::Tensor lc = torch::zeros({}), lg = torch::zeros({}, torch::TensorOptions().device(kGpu));
      for (const auto& task : cpu->tasks()) {
        lc = lc + cpu->forward(task, batch.for_task(task)).loss;
        lg = lg + gpu->forward(task, on_gpu(batch, task)).loss;
      }
      EXPECT_TRUE(close(lg.cpu(), lc, kFp32)) << "loss at step " << step;
      lc.backward();
      lg.backward();
      const double nc = cpu_opt.grad_norm(), ng = gpu_opt.grad_norm();
      EXPECT_NEAR(ng, nc, kFp32 * nc);
      cpu_opt.step(1e-3, clip_coefficient(nc, 1.0));
      gpu_opt.step(1e-3, clip_coefficient(ng, 1.0));
      cpu_opt.zero_grad();
      gpu_opt.zero_grad();
    }
    auto expected = cpu->named_parameters();
    for (const auto& item : gpu->named_parameters())
      EXPECT_TRUE(close(item.value().cpu(), expected[item.key()], kFp32, 1e-6)) << item.key();
  }
}

TEST(GpuExecution, BatchesReachTheDeviceAndTheMaskStaysOnTheHost) {
  ModelInput in;
  in.input_ids = torch::arange(12, torch::kLong).view({3, 4});
  in.token_type_ids = torch::zeros({3, 4}, torch::kLong);
  in.attention_mask = torch::tensor({1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1}, torch::kLong).view({3, 4});
  in.group_sizes = torch::tensor({2, 1}, torch::kLong);
  in.labels = {torch::tensor({0.5f, 1.5f, 2.5f})};
  ExecutionOptions exec;
  exec.device = kGpu;
  ModelInput out = to_device(in, exec);
  EXPECT_TRUE(out.input_ids.is_cuda() && out.attention_mask.is_cuda() && out.labels[0].is_cuda());
  EXPECT_TRUE(torch::equal(out.input_ids.cpu(), in.input_ids));
  EXPECT_TRUE(torch::equal(out.labels[0].cpu(), in.labels[0]));
  EXPECT_TRUE(out.host_attention_mask.device().is_cpu());
  EXPECT_TRUE(out.group_sizes.device().is_cpu()) << "the ranking head reads group sizes on the host";
  AutocastScope autocast(c10::DeviceType::CUDA, Precision::kBf16);
  auto x = torch::randn({4, 8}, torch::TensorOptions().device(kGpu));
  EXPECT_EQ(torch::nn::functional::linear(x, torch::randn({3, 8}, x.options())).scalar_type(), torch::kBFloat16);
}

TEST(GpuCheckpoint, ChecksumAndGeneratorStateOfGpuTensors) {
  MtdnnModel cpu = golden_model("tiny");
  MtdnnModel gpu = gpu_golden_model("tiny", Precision::kFp32);
  EXPECT_EQ(orchestrator::parameter_checksum(*gpu), orchestrator::parameter_checksum(*cpu))
      << "the same weights give the same checksum on any device";
  const std::string state = orchestrator::cuda_generator_state(0);
  ASSERT_FALSE(state.empty());
  auto ones = torch::ones({1000}, torch::TensorOptions().device(kGpu));
  auto first = torch::dropout(ones, 0.5, true).cpu();
  torch::Tensor saved = torch::empty({static_cast<int64_t>(state.size())}, torch::kUInt8);
  std::memcpy(saved.data_ptr<uint8_t>(), state.data(), state.size());
  orchestrator::set_cuda_generator_state(0, saved);
  EXPECT_TRUE(torch::equal(torch::dropout(ones, 0.5, true).cpu(), first)) << "restored state, same draws";
  EXPECT_EQ(orchestrator::cuda_generator_key(3), "rng/cuda/rank3");
}

}  // namespace
}  // namespace mtdnn::worker::test
