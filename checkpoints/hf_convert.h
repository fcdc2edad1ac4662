// Hugging Face conversion of checkpoints, through worker/hf_interop.h:
//   import: a BERT directory (model.safetensors + config.json, optionally mtdnn.json from
//           an export with heads) -> an initial TrainingState (model tensors only, step 0,
//           meta.kind = "init");
//   export: a checkpoint's model -> model.safetensors (encoder under BertModel keys, heads
//           under heads.<task>., masked-LM / next-sentence heads under cls.*) + config.json
//           + mtdnn.json (head descriptions, source checkpoint and step);
//   export of one task: the checkpoint's task as Hugging Face's BertForSequenceClassification
//           (worker/hf_sequence_classifier.h), its labels and tokenizer from the meta.
// Used by `mtdnn-ckpt import-hf` and `export-hf` (--task).
#pragma once

#include <string>

#include "checkpoints/training_state.h"

namespace mtdnn::checkpoints {

inline constexpr const char* kHfHeadsFile = "mtdnn.json";

// Loads `hf_dir` strictly (InputError naming the tensor and file) into a new model and
// returns its tensors under "model/" with meta {"kind": "init", "epoch": 0, "model": ...,
// "source": {...}}.
TrainingState import_hf(const std::string& hf_dir);

// Writes the model of `state` (needs meta.model, see model_state.h) into `out_dir`.
// `source` names the checkpoint in errors and in mtdnn.json.
void export_hf(const TrainingState& state, const std::string& out_dir, const std::string& source,
               int64_t step);

// Writes task `task` of `state` (meta: model, tasks, tokenizer, as mtdnn-train records them)
// into `out_dir` as a BertForSequenceClassification folder; `vocab_path` must be the
// tokenizer's vocabulary. InputError for a head Hugging Face has no class for.
void export_hf_task(const TrainingState& state, const std::string& task, const std::string& vocab_path,
                    const std::string& out_dir, const std::string& source);

}  // namespace mtdnn::checkpoints
