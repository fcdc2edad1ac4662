// MtdnnModel: shared encoder + per-task heads (see mtdnn_model.h).
#include "worker/mtdnn_model.h"

#include <set>

#include <torch/torch.h>

#include "common/error.h"

namespace mtdnn::worker {

MtdnnModelImpl::MtdnnModelImpl(MtdnnModelOptions options, const HeadRegistry& registry)
    : options_(std::move(options)) {
  bert = register_module("bert", BertEncoder(BertEncoderOptions(options_.config).fused(options_.fused).unpadded(options_.unpadded)));
  heads = register_module("heads", torch::nn::ModuleDict());
  // Group each task's heads: one head sits at heads.<task>, several in a ModuleDict by role.
  std::vector<std::vector<const HeadSpec*>> groups;
  for (const auto& spec : options_.heads) {
    MTDNN_INPUT_CHECK(!spec.task.empty(), "a task head needs a task name");
    MTDNN_INPUT_CHECK(spec.task.find('.') == std::string::npos && spec.role.find('.') == std::string::npos,
                      "task name '{}' and head role '{}' must not contain '.' (they name parameters)", spec.task,
                      spec.role);
    if (!groups.empty() && groups.back().front()->task == spec.task) {
      groups.back().push_back(&spec);
      continue;
    }
    MTDNN_INPUT_CHECK(task_heads_.count(spec.task) == 0, "task '{}' is defined twice", spec.task);
    groups.push_back({&spec});
    task_heads_[spec.task];
    tasks_.push_back(spec.task);
  }
  for (const auto& group : groups) {
    const std::string& task = group.front()->task;
    if (group.size() == 1 && group.front()->role.empty()) {
      TaskHead head = registry.create(*group.front(), options_.config);
      heads->update(std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>>{{task, head}});
      task_heads_[task].push_back(head.get());
      continue;
    }
    torch::nn::ModuleDict roles;
    for (const HeadSpec* spec : group) {
      MTDNN_INPUT_CHECK(!spec->role.empty() && !roles->contains(spec->role),
                        "task '{}': each of its {} heads needs its own role", task, group.size());
      TaskHead head = registry.create(*spec, options_.config);
      roles->update(std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>>{{spec->role, head}});
      task_heads_[task].push_back(head.get());
    }
    heads->update(std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>>{{task, roles.ptr()}});
  }
}

bool MtdnnModelImpl::ties_word_embeddings(const std::string& task) const {
  for (const TaskHeadImpl* head : heads_of(task))
    if (head->ties_word_embeddings()) return true;
  return false;
}

bool MtdnnModelImpl::has_task(const std::string& task) const { return task_heads_.count(task) != 0; }

const std::vector<TaskHeadImpl*>& MtdnnModelImpl::heads_of(const std::string& task) const {
  auto it = task_heads_.find(task);
  MTDNN_INPUT_CHECK(it != task_heads_.end(), "the model has no task '{}'", task);
  return it->second;
}

TaskHeadImpl& MtdnnModelImpl::head(const std::string& task) const { return *heads_of(task).front(); }

HeadInput MtdnnModelImpl::head_input(const BertEncoderOutput& encoded, const ModelInput& batch) const {
  HeadInput in;
  in.sequence = encoded.sequence;
  in.pooled = encoded.pooled;
  in.attention_mask = batch.attention_mask;
  in.token_type_ids = batch.token_type_ids;
  in.group_sizes = batch.group_sizes;
  in.word_embeddings = bert->embeddings->word_embeddings->weight;
  return in;
}

BertEncoderOutput MtdnnModelImpl::encode(const ModelInput& batch) {
  if (options_.precision == Precision::kFp32)
    return bert->forward(batch.input_ids, batch.token_type_ids, batch.attention_mask, batch.host_attention_mask);
  BertEncoderOutput out;
  {
    AutocastScope autocast(bert->pooler->dense->weight.device().type(), options_.precision);
    out = bert->forward(batch.input_ids, batch.token_type_ids, batch.attention_mask, batch.host_attention_mask);
  }
  out.sequence = out.sequence.to(torch::kFloat);
  out.pooled = out.pooled.to(torch::kFloat);
  return out;
}

std::vector<HeadOutput> MtdnnModelImpl::forward_heads(const std::string& task, const ModelInput& batch) {
  const auto& task_heads = heads_of(task);
  MTDNN_INPUT_CHECK(batch.labels.empty() || batch.labels.size() == task_heads.size(),
                    "task '{}': {} label tensors for {} heads", task, batch.labels.size(), task_heads.size());
  auto encoded = encode(batch);
  const HeadInput in = head_input(encoded, batch);
  std::vector<HeadOutput> out;
  for (size_t h = 0; h < task_heads.size(); ++h)
    out.push_back(task_heads[h]->forward(in, batch.labels.empty() ? torch::Tensor() : batch.labels[h]));
  return out;
}

HeadOutput MtdnnModelImpl::forward(const std::string& task, const ModelInput& batch) {
  std::vector<HeadOutput> outs = forward_heads(task, batch);
  HeadOutput out = outs.front();
  for (size_t h = 1; h < outs.size(); ++h)
    if (out.loss.defined()) out.loss = out.loss + outs[h].loss;
  return out;
}

torch::Tensor MtdnnModelImpl::predict(const std::string& task, const ModelInput& batch) {
  TaskHeadImpl& task_head = head(task);
  auto encoded = encode(batch);
  auto in = head_input(encoded, batch);
  return task_head.predict(task_head.forward(in, torch::Tensor()), in);
}

}  // namespace mtdnn::worker
