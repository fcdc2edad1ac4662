// Golden parity: the C++ model against scripts/make-model-goldens.py, an independent
// plain-torch implementation of BERT and the MT-DNN heads, for a tiny config and for
// BERT-mini, through the fused kernels and through the LibTorch reference ops, each padded
// and unpadded (token_packing.h). Eval mode, float32; tolerances are relative to each
// tensor's largest magnitude. The unpadded path computes nothing at padded positions: its
// per-position outputs are compared at the real tokens (every loss ignores the padding, so
// losses and gradients are compared whole).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "golden_util.h"
#include "worker/hf_interop.h"
#include "worker/token_packing.h"

namespace mtdnn::worker::test {
namespace {

constexpr double kRtol = 1e-5;

class GoldenParity : public ::testing::TestWithParam<std::tuple<std::string, bool, bool>> {
 protected:
  void SetUp() override {
    config_ = std::get<0>(GetParam());
    unpadded_ = std::get<2>(GetParam());
    model_ = golden_model(config_, std::get<1>(GetParam()), unpadded_);
    batch_ = golden_inputs(config_);
    outputs_ = std::make_unique<tensor_io::SafetensorsFile>((golden_dir(config_) / "outputs.safetensors").string());
  }
  torch::Tensor expected(const std::string& name) const { return outputs_->tensor(name); }
  // (B, T, ...) outputs at the real tokens only when unpadded (zero elsewhere on both sides).
  torch::Tensor at_real_tokens(const torch::Tensor& per_position) const {
    if (!unpadded_) return per_position;
    auto mask = batch_.attention_mask.to(per_position.dtype());
    while (mask.dim() < per_position.dim()) mask = mask.unsqueeze(-1);
    return per_position * mask;
  }

  std::string config_;
  bool unpadded_ = true;
  MtdnnModel model_{nullptr};
  GoldenBatch batch_;
  std::unique_ptr<tensor_io::SafetensorsFile> outputs_;
};

TEST_P(GoldenParity, EncoderOutputs) {
  torch::NoGradGuard no_grad;
  if (unpadded_) ASSERT_TRUE(pack_tokens(batch_.attention_mask).has_value()) << "the golden batch runs packed";
  auto out = model_->bert->forward(batch_.input_ids, batch_.token_type_ids, batch_.attention_mask);
  EXPECT_TRUE(close(at_real_tokens(out.sequence), at_real_tokens(expected("sequence_output")), kRtol))
      << "sequence output";
  EXPECT_TRUE(close(out.pooled, expected("pooled_output"), kRtol)) << "pooled output";
}

TEST_P(GoldenParity, HeadLogitsAndLosses) {
  torch::NoGradGuard no_grad;
  for (const auto& task : model_->tasks()) {
    SCOPED_TRACE("task " + task);
    auto out = model_->forward(task, batch_.for_task(task));
    EXPECT_TRUE(close(out.logits, expected("logits." + task), kRtol)) << "logits";
    EXPECT_TRUE(close(out.loss, expected("loss." + task), kRtol)) << "loss";
  }
  if (outputs_->contains("mlm_logits_all")) {
    auto out = model_->forward("mlm", batch_.for_task("mlm", /*with_labels=*/false));
    EXPECT_TRUE(close(at_real_tokens(out.logits), at_real_tokens(expected("mlm_logits_all")), kRtol))
        << "MLM logits, all positions";
  }
}

TEST_P(GoldenParity, GradientsOfSummedLosses) {
  torch::Tensor total = torch::zeros({});
  for (const auto& task : model_->tasks()) total = total + model_->forward(task, batch_.for_task(task)).loss;
  total.backward();
  const auto gradients = golden_gradients(model_, *outputs_);
  for (const auto& g : gradients) EXPECT_TRUE(close(g.parameter.grad(), g.expected, kRtol)) << "gradient of " << g.key;
  EXPECT_GE(gradients.size(), 10u);
}

INSTANTIATE_TEST_SUITE_P(
    Configs, GoldenParity,
    ::testing::Combine(::testing::Values("tiny", "mini"), ::testing::Bool(), ::testing::Bool()),
    [](const auto& info) {
      return std::get<0>(info.param) + (std::get<1>(info.param) ? "_fused" : "_reference") +
             (std::get<2>(info.param) ? "_unpadded" : "_padded");
    });

TEST(GoldenFiles, TinyModelFileHoldsTheHashWeights) {
  auto encoder = load_hf_bert(golden_dir("tiny").string());
  for (const auto& item : encoder->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), golden_weight(item.key(), item.value().sizes())))
        << item.key();
}

}  // namespace
}  // namespace mtdnn::worker::test
