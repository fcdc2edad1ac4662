// SAN answer module (stochastic answer network) for pairwise classification, as in the
// MT-DNN paper. Memories: premise tokens (real tokens of type 0, `[CLS] A [SEP]`) and
// hypothesis tokens (type 1, `B [SEP]`; a row without any uses its premise tokens).
//   s0 = sum_j softmax_j(w . M_j + b) M_j over hypothesis tokens     (query_wsum)
//   step t: x_t = sum_i softmax_i(M_i . (W s_t + c)) M_i over premise (attn, bilinear)
//           P_t = softmax(classifier([x_t; s_t; |x_t - s_t|; x_t * s_t]))
//           s_{t+1} = GRUCell(x_t, s_t)                                (rnn)
// Output log(mean of the kept P_t): in training each step is dropped with probability
// san_step_dropout (at least one kept per example); at inference all K steps are kept.
// Parameters: query_wsum.{weight (1, H), bias}, attn.{weight (H, H), bias},
// rnn.{weight_ih, weight_hh (3H, H), bias_ih, bias_hh}, classifier.{weight (C, 4H), bias}.
// Labels (B) int64; logits (B, C) log-probabilities; predictions (B) argmax.
#pragma once

#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>

#include "worker/bert_config.h"
#include "worker/task_head.h"

namespace mtdnn::worker {

class SanHeadImpl : public TaskHeadImpl {
 public:
  SanHeadImpl(const HeadSpec& spec, const BertConfig& config);
  HeadOutput forward(const HeadInput& input, const torch::Tensor& labels) override;

  // Log-probabilities of each step, (B, K, C), for the given memories (tests inspect them).
  torch::Tensor step_log_probs(const HeadInput& input);
  // log(mean over kept steps of P_t): step_log_probs (B, K, C), keep (B, K) of 0/1.
  static torch::Tensor combine_steps(const torch::Tensor& step_log_probs, const torch::Tensor& keep);
  // The training keep mask (B, K): Bernoulli(1 - p), one random step forced per empty row.
  static torch::Tensor sample_keep_mask(int64_t batch, int64_t steps, double p,
                                        const torch::TensorOptions& options);

  torch::nn::Linear query_wsum{nullptr}, attn{nullptr}, classifier{nullptr};
  torch::nn::GRUCell rnn{nullptr};
};

TaskHead make_san_head(const HeadSpec& spec, const BertConfig& config);

}  // namespace mtdnn::worker
