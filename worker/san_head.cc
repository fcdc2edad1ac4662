// SAN answer module (see san_head.h).
#include "worker/san_head.h"

#include <limits>

#include <torch/torch.h>

#include "common/error.h"
#include "worker/fused_ops.h"

namespace mtdnn::worker {

namespace nn = torch::nn;

SanHeadImpl::SanHeadImpl(const HeadSpec& spec, const BertConfig& config) : TaskHeadImpl(spec) {
  MTDNN_INPUT_CHECK(spec.n_class >= 2, "task '{}': a SAN head needs n_class >= 2, got {}",
                    spec.task, spec.n_class);
  MTDNN_INPUT_CHECK(spec.san_steps >= 1, "task '{}': SAN needs at least one step, got {}",
                    spec.task, spec.san_steps);
  MTDNN_INPUT_CHECK(spec.san_step_dropout >= 0 && spec.san_step_dropout < 1,
                    "task '{}': SAN step dropout must be in [0, 1), got {}", spec.task,
                    spec.san_step_dropout);
  const int64_t H = config.hidden_size;
  query_wsum = register_module("query_wsum", nn::Linear(H, 1));
  attn = register_module("attn", nn::Linear(H, H));
  rnn = register_module("rnn", nn::GRUCell(H, H));  // PyTorch's default uniform init
  classifier = register_module("classifier", nn::Linear(4 * H, spec.n_class));
  torch::NoGradGuard no_grad;
  for (auto* linear : {&query_wsum, &attn, &classifier}) {
    (*linear)->weight.normal_(0, config.initializer_range);
    (*linear)->bias.zero_();
  }
}

namespace {

// Softmax over the tokens where `mask` is true; scores, mask (B, T) -> (B, T).
torch::Tensor masked_softmax(const torch::Tensor& scores, const torch::Tensor& mask) {
  return torch::softmax(scores.masked_fill(mask.logical_not(),
                                           -std::numeric_limits<double>::infinity()),
                        1);
}

// sum_t weights[b, t] * memory[b, t, :]: weights (B, T), memory (B, T, H) -> (B, H).
torch::Tensor weighted_sum(const torch::Tensor& weights, const torch::Tensor& memory) {
  return torch::bmm(weights.unsqueeze(1), memory).squeeze(1);
}

}  // namespace

torch::Tensor SanHeadImpl::step_log_probs(const HeadInput& input) {
  auto memory = ops::dropout(input.sequence, spec().dropout_p, is_training());  // (B, T, H)
  auto real = input.attention_mask != 0;                                         // (B, T)
  auto premise = real.logical_and(input.token_type_ids == 0);
  auto hypothesis = real.logical_and(input.token_type_ids == 1);
  auto has_hypothesis = hypothesis.any(1, /*keepdim=*/true);  // (B, 1)
  hypothesis = torch::where(has_hypothesis, hypothesis, premise);

  // s0: linear self-attention summary of the hypothesis tokens. (B, H)
  auto s = weighted_sum(masked_softmax(query_wsum(memory).squeeze(-1), hypothesis), memory);
  std::vector<torch::Tensor> steps;
  const int64_t K = spec().san_steps;
  for (int64_t t = 0; t < K; ++t) {
    // Bilinear attention of the state over the premise tokens: M_i . (W s + c). (B, T)
    auto scores = torch::bmm(memory, attn(s).unsqueeze(2)).squeeze(2);
    auto x = weighted_sum(masked_softmax(scores, premise), memory);  // (B, H)
    auto features = torch::cat({x, s, (x - s).abs(), x * s}, 1);      // (B, 4H)
    steps.push_back(torch::log_softmax(classifier(features), 1));     // (B, C)
    if (t + 1 < K) s = rnn(x, s);
  }
  return torch::stack(steps, 1);  // (B, K, C)
}

torch::Tensor SanHeadImpl::combine_steps(const torch::Tensor& step_log_probs,
                                         const torch::Tensor& keep) {
  // log(sum_t keep_t P_t / sum_t keep_t), computed in log space: dropped steps get -inf.
  auto log_keep = keep.to(step_log_probs.dtype()).log().unsqueeze(2);  // (B, K, 1)
  auto kept = keep.to(step_log_probs.dtype()).sum(1, /*keepdim=*/true);  // (B, 1)
  return torch::logsumexp(step_log_probs + log_keep, 1) - kept.log();   // (B, C)
}

torch::Tensor SanHeadImpl::sample_keep_mask(int64_t batch, int64_t steps, double p,
                                            const torch::TensorOptions& options) {
  auto keep = torch::bernoulli(torch::full({batch, steps}, 1 - p, options.dtype(torch::kFloat)));
  auto empty = keep.sum(1) == 0;  // rows that dropped every step keep one at random
  if (empty.any().item<bool>()) {
    auto forced = torch::randint(steps, {batch}, options.dtype(torch::kLong));
    auto one_hot = torch::one_hot(forced, steps).to(keep.dtype());
    keep = torch::where(empty.unsqueeze(1), one_hot, keep);
  }
  return keep;  // (B, K)
}

HeadOutput SanHeadImpl::forward(const HeadInput& input, const torch::Tensor& labels) {
  auto steps = step_log_probs(input);  // (B, K, C)
  const int64_t B = steps.size(0), K = steps.size(1);
  auto keep = is_training() && spec().san_step_dropout > 0
                  ? sample_keep_mask(B, K, spec().san_step_dropout, steps.options())
                  : torch::ones({B, K}, steps.options());
  return with_class_loss(combine_steps(steps, keep), labels, /*log_probs=*/true);  // (B, C) log-probabilities
}

TaskHead make_san_head(const HeadSpec& spec, const BertConfig& config) {
  return std::make_shared<SanHeadImpl>(spec, config);
}

}  // namespace mtdnn::worker
