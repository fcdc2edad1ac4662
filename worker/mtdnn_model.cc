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
  std::set<std::string> seen;
  for (const auto& spec : options_.heads) {
    MTDNN_INPUT_CHECK(!spec.task.empty(), "a task head needs a task name");
    MTDNN_INPUT_CHECK(spec.task.find('.') == std::string::npos,
                      "task name '{}' must not contain '.' (it names parameters)", spec.task);
    MTDNN_INPUT_CHECK(seen.insert(spec.task).second, "task '{}' is defined twice", spec.task);
    std::shared_ptr<torch::nn::Module> head = registry.create(spec, options_.config);
    heads->update(std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>>{
        {spec.task, head}});
    tasks_.push_back(spec.task);
  }
}

bool MtdnnModelImpl::has_task(const std::string& task) const { return heads->contains(task); }

TaskHeadImpl& MtdnnModelImpl::head(const std::string& task) const {
  MTDNN_INPUT_CHECK(heads->contains(task), "the model has no task '{}'", task);
  return *(*heads)[task]->as<TaskHeadImpl>();
}

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

HeadOutput MtdnnModelImpl::forward(const std::string& task, const ModelInput& batch) {
  TaskHeadImpl& task_head = head(task);
  auto encoded = bert->forward(batch.input_ids, batch.token_type_ids, batch.attention_mask);
  return task_head.forward(head_input(encoded, batch), batch.labels);
}

torch::Tensor MtdnnModelImpl::predict(const std::string& task, const ModelInput& batch) {
  TaskHeadImpl& task_head = head(task);
  auto encoded = bert->forward(batch.input_ids, batch.token_type_ids, batch.attention_mask);
  auto in = head_input(encoded, batch);
  return task_head.predict(task_head.forward(in, torch::Tensor()), in);
}

}  // namespace mtdnn::worker
