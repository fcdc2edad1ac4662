// Building a run's model (see run_model.h).
#include "orchestrator/run_model.h"

#include <algorithm>

#include <fmt/ranges.h>  // fmt::join (its home since fmt 11)

#include "common/log.h"
#include "orchestrator/generator_state.h"
#include "task_kinds/task_kind.h"
#include "worker/hf_interop.h"
#include "worker/model_folder.h"

namespace mtdnn::orchestrator {

namespace {

// Heads from --init-checkpoint: every task's with --init-heads; a MaskLM task's always (its
// pretraining heads, from our names or Hugging Face's cls.*).
void load_init_heads(worker::MtdnnModelImpl& model, const RunInputs& in, const TrainOptions& o, bool log) {
  std::vector<std::string> head_tasks;
  for (const auto& t : in.tasks)
    if (o.init_heads || task_kinds::kind_of(t).reads_corpus()) head_tasks.push_back(t.name);
  if (o.init_checkpoint.empty() || head_tasks.empty()) return;
  const auto loaded = worker::load_matching_heads_into_model(model, o.init_checkpoint, head_tasks);
  std::vector<std::string> fresh;
  for (const auto& task : head_tasks)
    for (const worker::TaskHeadImpl* head : model.heads_of(task)) {
      const std::string path = worker::head_path(head->spec());
      if (std::find(loaded.begin(), loaded.end(), path) == loaded.end()) fresh.push_back(path);
    }
  auto list = [](const std::vector<std::string>& v) {
    return v.empty() ? std::string("none") : fmt::format("{}", fmt::join(v, ", "));
  };
  if (log) log_info("heads from {}: {}; fresh heads: {}", o.init_checkpoint, list(loaded), list(fresh));
}

}  // namespace

worker::MtdnnModel build_run_model(const RunInputs& in, const TrainOptions& o, const RankPlacement& place, bool log) {
  seed_for_weights(o.seed);
  worker::MtdnnModelOptions mo = worker::model_options_of(in.bert, in.tasks, o.dropout);
  mo.fused = place.exec.fused_kernels();
  mo.precision = place.exec.precision;
  worker::MtdnnModel model(mo);
  if (!o.init_checkpoint.empty()) worker::load_hf_bert_into_model(*model, o.init_checkpoint);
  load_init_heads(*model, in, o, log);
  model->train();
  return model;
}

}  // namespace mtdnn::orchestrator
