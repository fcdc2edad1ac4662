// Hugging Face import/export of checkpoints (see hf_convert.h).
#include "checkpoints/hf_convert.h"

#include <filesystem>

#include <torch/torch.h>

#include "checkpoints/checkpoint_reader.h"
#include "checkpoints/model_state.h"
#include "common/error.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "common/sha256.h"
#include "worker/bert_config.h"
#include "worker/hf_interop.h"
#include "worker/hf_sequence_classifier.h"
#include "worker/mtdnn_model.h"

namespace mtdnn::checkpoints {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
}  // namespace

TrainingState import_hf(const std::string& hf_dir) {
  const fs::path dir(hf_dir);
  const std::string weights = (dir / "model.safetensors").string();
  json model_desc = {{"bert_config", json::parse(worker::bert_config_to_json(
                                         worker::read_bert_config((dir / "config.json").string())))},
                     {"heads", json::array()}};
  const fs::path heads_file = dir / kHfHeadsFile;
  if (fs::exists(heads_file)) {
    const json heads = parse_json_object(read_file(heads_file.string()), heads_file.string());
    MTDNN_INPUT_CHECK(heads.contains("heads") && heads["heads"].is_array(),
                      "{}: must hold a 'heads' array", heads_file.string());
    model_desc["heads"] = heads["heads"];
  }
  worker::MtdnnModelOptions options = model_options_from_meta(model_desc, hf_dir);
  worker::MtdnnModel model(options);
  if (options.heads.empty())
    worker::load_hf_bert_into(*model->bert, hf_dir);  // heads.* and cls.* are ignored
  else
    worker::load_mtdnn_model(*model, weights);

  TrainingState state;
  for (const auto& [name, t] : module_tensors(*model)) state.tensors.emplace(name, t.detach());
  state.meta = {{"kind", "init"},
                {"epoch", 0},
                {"model", model_meta(options)},
                {"source",
                 {{"hf_dir", fs::absolute(dir).lexically_normal().string()},
                  {"model_safetensors_sha256", sha256_hex_file(weights)}}}};
  return state;
}

void export_hf(const TrainingState& state, const std::string& out_dir, const std::string& source,
               int64_t step) {
  MTDNN_INPUT_CHECK(state.meta.contains("model"),
                    "{}: meta has no 'model' description (bert_config and heads), so the model "
                    "cannot be rebuilt; the trainer that wrote it must record model_meta()",
                    source);
  worker::MtdnnModelOptions options = model_options_from_meta(state.meta["model"], source);
  worker::MtdnnModel model(options);
  restore_tensors_strict(state, module_tensors(*model), kModelPrefix, source);
  worker::export_mtdnn_model(*model, out_dir);
  json sidecar = {{"format", "mtdnn-hf-export"},
                  {"format_version", 1},
                  {"heads", state.meta["model"]["heads"]},
                  {"source_checkpoint", source},
                  {"step", step}};
  write_file_atomic((fs::path(out_dir) / kHfHeadsFile).string(), sidecar.dump(2) + "\n");
}

void export_hf_task(const TrainingState& state, const std::string& task, const std::string& vocab_path,
                    const std::string& out_dir, const std::string& source) {
  MTDNN_INPUT_CHECK(state.meta.contains("model") && state.meta.contains("tasks") && state.meta["tasks"].is_array() &&
                        state.meta.contains("tokenizer"),
                    "{}: meta lacks 'model', 'tasks' or 'tokenizer', which --task needs (the task's labels and "
                    "the shards' tokenizer); export the trained-model folder instead",
                    source);
  const json* found = nullptr;
  for (const auto& t : state.meta["tasks"])
    if (t.is_object() && t.value("name", "") == task) found = &t;
  MTDNN_INPUT_CHECK(found != nullptr, "--task {}: {} was not trained on it", task, source);
  TaskDef def;
  sharding::TokenizerIdentity tokenizer;
  try {
    def = TaskDef::from_json(*found);
    tokenizer = sharding::TokenizerIdentity::from_json(state.meta["tokenizer"]);
  } catch (const json::exception& e) {
    throw InputError(fmt::format("{}: meta: {}", source, e.what()));
  }
  worker::MtdnnModelOptions options = model_options_from_meta(state.meta["model"], source);
  worker::MtdnnModel model(options);
  restore_tensors_strict(state, module_tensors(*model), kModelPrefix, source);
  worker::export_sequence_classifier(*model, def, tokenizer, vocab_path, out_dir);
}

}  // namespace mtdnn::checkpoints
