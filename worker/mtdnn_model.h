// The multi-task model of MT-DNN: one shared BERT encoder and the heads of each task (one
// for most task kinds; MaskLM has two, `mlm` and `nsp`). forward(task, batch) runs the
// encoder and only that task's heads. Parameter names: `bert.<Hugging Face BertModel key>`
// for the encoder and `heads.<task>.<head key>` (`heads.<task>.<role>.<head key>` for a
// task with several heads; see each head's header), so a state dict reads like mt-dnn's
// with `scoring_list.<i>` spelled by task name. Used by the trainer, predictor and checkpoints.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/moduledict.h>
#include <torch/nn/pimpl.h>

#include "worker/bert_encoder.h"
#include "worker/execution.h"
#include "worker/head_registry.h"
#include "worker/head_spec.h"
#include "worker/task_head.h"

namespace mtdnn::worker {

// One padded batch of one task.
struct ModelInput {
  torch::Tensor input_ids;       // (B, T) int64
  torch::Tensor token_type_ids;  // (B, T) int64
  torch::Tensor attention_mask;  // (B, T) non-zero = real token
  std::vector<torch::Tensor> labels;  // one per head of the task (see each head's header); empty = no loss
  torch::Tensor group_sizes;     // (G) int64, ranking tasks only
  torch::Tensor host_attention_mask;  // a CPU copy of a GPU batch's attention_mask (to_device), or undefined
};

struct MtdnnModelOptions {
  BertConfig config;
  std::vector<HeadSpec> heads;  // per task in task-id order (mt-dnn's scoring_list), a task's heads together
  bool fused = true;            // fused CPU kernels (fused_ops.h); ExecutionOptions::fused_kernels()
  bool unpadded = true;         // the encoder's token-wise work on real tokens only (token_packing.h)
  // bf16: the encoder runs under autocast on its parameters' device (execution.h); its
  // outputs are cast back to float32, so the heads and their losses run in float32.
  Precision precision = Precision::kFp32;
};

class MtdnnModelImpl : public torch::nn::Module {
 public:
  // Builds the encoder and every head through `registry`. Task names must be non-empty and
  // free of '.' (they become parameter-name components); a task's heads are consecutive,
  // with distinct roles when there are several: InputError.
  explicit MtdnnModelImpl(MtdnnModelOptions options,
                          const HeadRegistry& registry = builtin_head_registry());

  // Encoder + the heads of `task`: the first head's logits and, when batch.labels holds one
  // tensor per head, the sum of the heads' losses.
  HeadOutput forward(const std::string& task, const ModelInput& batch);
  // Encoder + the heads of `task`: each head's output (with its loss when labels are given).
  std::vector<HeadOutput> forward_heads(const std::string& task, const ModelInput& batch);
  // Predictions of the head of `task` (class ids, scores or chosen candidates), from a
  // forward pass in the module's current mode without labels.
  torch::Tensor predict(const std::string& task, const ModelInput& batch);

  TaskHeadImpl& head(const std::string& task) const;  // the first (most often only) head
  const std::vector<TaskHeadImpl*>& heads_of(const std::string& task) const;
  bool has_task(const std::string& task) const;
  // Whether a head of `task` ties its output layer to the word embeddings (the masked LM):
  // a step of that task may touch every row of their gradient, not only the ids it looks up.
  bool ties_word_embeddings(const std::string& task) const;
  const std::vector<std::string>& tasks() const { return tasks_; }  // in task-id order
  const MtdnnModelOptions& options() const { return options_; }

  BertEncoder bert{nullptr};
  torch::nn::ModuleDict heads{nullptr};

 private:
  HeadInput head_input(const BertEncoderOutput& encoded, const ModelInput& batch) const;
  // The encoder in the options' precision; float32 outputs.
  BertEncoderOutput encode(const ModelInput& batch);
  MtdnnModelOptions options_;
  std::vector<std::string> tasks_;
  std::map<std::string, std::vector<TaskHeadImpl*>> task_heads_;
};
TORCH_MODULE(MtdnnModel);

}  // namespace mtdnn::worker
