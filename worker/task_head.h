// The interface every task head implements, and what it sees: the encoder's outputs and
// the batch's masks. One subclass per head type (classification_head.h, ...), built through
// the HeadRegistry. Labels, outputs and losses per type are documented on each head.
#pragma once

#include <memory>
#include <utility>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "worker/bert_config.h"
#include "worker/head_spec.h"

namespace mtdnn::worker {

struct HeadInput {
  torch::Tensor sequence;         // (B, T, H) encoder output
  torch::Tensor pooled;           // (B, H) pooler output
  torch::Tensor attention_mask;   // (B, T) non-zero = real token
  torch::Tensor token_type_ids;   // (B, T) 0 = premise ([CLS] A [SEP]), 1 = hypothesis
  torch::Tensor group_sizes;      // (G) int64, ranking: candidates per group, in row order
  torch::Tensor word_embeddings;  // (V, H) the encoder's word embeddings (MLM decoder)
};

struct HeadOutput {
  torch::Tensor logits;  // the head's raw output (shape per head type)
  torch::Tensor loss;    // scalar mean loss; undefined when no labels were given
};

class TaskHeadImpl : public torch::nn::Module {
 public:
  explicit TaskHeadImpl(HeadSpec spec) : spec_(std::move(spec)) {}
  // A head with one projection of the pooled vector: `weight` (out, H) ~ N(0, the config's
  // initializer_range) and `bias` (out) = 0, the layout of a torch Linear (and of mt-dnn's
  // `scoring_list.<i>` entries).
  TaskHeadImpl(HeadSpec spec, const BertConfig& config, int64_t out_features);
  // Computes the head's output and, when `labels` is defined, its loss.
  virtual HeadOutput forward(const HeadInput& input, const torch::Tensor& labels) = 0;
  // Predictions from an output of forward(): class ids, scores or chosen candidates. By
  // default the argmax over the last dimension of the logits (class or token ids).
  virtual torch::Tensor predict(const HeadOutput& output, const HeadInput& input) const;
  const HeadSpec& spec() const { return spec_; }
  // Whether the head's output layer is tied to the encoder's word embeddings (the masked
  // LM's decoder): then every row of their gradient may be non-zero.
  virtual bool ties_word_embeddings() const { return false; }

 protected:
  // Linear(weight_, bias_) of the pooled vector (B, H), after the head's dropout unless
  // `dropout` is false.
  torch::Tensor project_pooled(const HeadInput& input, bool dropout = true);
  // `logits` (N, C) and, when `labels` (N) class ids are given, their mean cross-entropy;
  // with `log_probs` the logits already are log-probabilities (negative log-likelihood).
  HeadOutput with_class_loss(torch::Tensor logits, const torch::Tensor& labels, bool log_probs = false) const;
  torch::Tensor weight_, bias_;

 private:
  HeadSpec spec_;
};

using TaskHead = std::shared_ptr<TaskHeadImpl>;

// Checks `labels` for a head: defined, `dims`-dimensional with `rows` rows, of a dtype
// class (integer or floating). Throws InputError naming the task.
void check_labels(const HeadSpec& spec, const torch::Tensor& labels, int64_t dims, int64_t rows,
                  bool integer);

}  // namespace mtdnn::worker
