// The trained-model folder mtdnn-train writes (<out>/model/) and mtdnn-predict reads:
//   model.safetensors  encoder under Hugging Face BertModel keys, heads under heads.<task>.
//   config.json        Hugging Face BertConfig             (both via worker/hf_interop.h)
//   task_def.yml       copy of the task definition file used for training
//   training.json      {"format": "mtdnn-model", "version": 1, "tasks": [...], "tokenizer": {...}}
// The folder is written under a temporary name and renamed, so it is complete or absent.
// Also how task definitions become head specs, shared by training and prediction.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "task_kinds/task_def.h"
#include "sharding/shard_format.h"
#include "worker/mtdnn_model.h"

namespace mtdnn::worker {

inline constexpr const char* kModelFolderFormat = "mtdnn-model";
inline constexpr int kModelFolderVersion = 1;

// The heads of a task, as its kind lists them (task_kinds::TaskKind::heads; the model
// builds SAN for a classification head when enable_san). Dropout: `dropout` when given, else the task's
// dropout_p, else 0.1; the SAN step dropout is `dropout` when given, else 0.1.
std::vector<HeadSpec> head_specs_of(const TaskDef& task, std::optional<double> dropout);
MtdnnModelOptions model_options_of(const BertConfig& config, const std::vector<TaskDef>& tasks,
                                           std::optional<double> dropout);

// Writes the folder `dir` (replacing an existing one) from the model, the task definition
// file and the tokenizer identity of the training shards.
void save_model_folder(const MtdnnModelImpl& model, const std::string& task_def_path,
                       const sharding::TokenizerIdentity& tokenizer, const std::string& dir);

struct LoadedModel {
  MtdnnModel model{nullptr};
  std::vector<TaskDef> tasks;            // in head order
  sharding::TokenizerIdentity tokenizer;
};

// Reads a folder written by save_model_folder (strictly: every tensor present and shaped);
// InputError naming the file on anything missing or malformed.
LoadedModel load_model_folder(const std::string& dir);

}  // namespace mtdnn::worker
