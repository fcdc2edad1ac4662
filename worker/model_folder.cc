// The trained-model folder (see model_folder.h).
#include "worker/model_folder.h"

#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file_util.h"
#include "common/json_util.h"
#include "worker/bert_config.h"
#include "task_kinds/task_kind.h"
#include "worker/hf_interop.h"

namespace fs = std::filesystem;

namespace mtdnn::worker {

std::vector<HeadSpec> head_specs_of(const TaskDef& task, std::optional<double> dropout) {
  std::vector<HeadSpec> specs;
  for (const task_kinds::HeadUse& use : task_kinds::kind_of(task).heads(task)) {
    HeadSpec spec;
    spec.task = task.name;
    spec.role = use.role;
    spec.kind = head_kind_from_name(use.head_type, fmt::format("task '{}'", task.name));
    spec.n_class = use.n_class;
    spec.enable_san = task.enable_san;
    spec.dropout_p = dropout ? *dropout : task.dropout_p.value_or(0.1);
    spec.san_step_dropout = dropout ? *dropout : 0.1;
    specs.push_back(spec);
  }
  return specs;
}

MtdnnModelOptions model_options_of(const BertConfig& config, const std::vector<TaskDef>& tasks,
                                           std::optional<double> dropout) {
  MtdnnModelOptions o;
  o.config = config;
  if (dropout) o.config.hidden_dropout_prob = o.config.attention_probs_dropout_prob = *dropout;
  for (const auto& t : tasks)
    for (HeadSpec& spec : head_specs_of(t, dropout)) o.heads.push_back(std::move(spec));
  return o;
}

void save_model_folder(const MtdnnModelImpl& model, const std::string& task_def_path,
                       const sharding::TokenizerIdentity& tokenizer, const std::string& dir) {
  const fs::path final_dir(dir);
  const fs::path tmp = final_dir.string() + ".tmp-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  export_mtdnn_model(model, tmp.string());
  write_file_atomic((tmp / "task_def.yml").string(), read_file(task_def_path));
  nlohmann::ordered_json info;
  info["format"] = kModelFolderFormat;
  info["version"] = kModelFolderVersion;
  info["tasks"] = model.tasks();
  info["tokenizer"] = tokenizer.to_json();
  write_file_atomic((tmp / "training.json").string(), info.dump(2) + "\n");
  fs::remove_all(final_dir, ec);
  fs::rename(tmp, final_dir, ec);
  if (ec) throw SystemError(fmt::format("{}: cannot rename {} into place: {}", dir, tmp.string(), ec.message()));
  fsync_path(final_dir.parent_path().empty() ? "." : final_dir.parent_path().string());
}

LoadedModel load_model_folder(const std::string& dir) {
  const fs::path d(dir);
  const std::string info_path = (d / "training.json").string();
  MTDNN_INPUT_CHECK(fs::exists(info_path), "{}: not a model folder written by mtdnn-train (no training.json)", dir);
  const nlohmann::json info = parse_json_object(read_file(info_path), info_path);
  MTDNN_INPUT_CHECK(info.value("format", "") == kModelFolderFormat && info.value("version", 0) == kModelFolderVersion,
                    "{}: expected format '{}' version {}, got '{}' version {}", info_path, kModelFolderFormat,
                    kModelFolderVersion, info.value("format", ""), info.value("version", 0));
  LoadedModel out;
  std::vector<std::string> names;
  try {
    names = info.at("tasks").get<std::vector<std::string>>();
    out.tokenizer = sharding::TokenizerIdentity::from_json(info.at("tokenizer"));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: {}", info_path, e.what()));
  }
  const std::string task_def_path = (d / "task_def.yml").string();
  out.tasks = select_tasks(load_task_defs(task_def_path), names, task_def_path);
  BertConfig config = read_bert_config((d / "config.json").string());
  out.model = MtdnnModel(model_options_of(config, out.tasks, std::nullopt));
  load_mtdnn_model(*out.model, (d / "model.safetensors").string());
  out.model->eval();
  return out;
}

}  // namespace mtdnn::worker
