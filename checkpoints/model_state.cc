// Model tensors and description in a TrainingState (see model_state.h).
#include "checkpoints/model_state.h"

#include <torch/nn/module.h>

#include "common/error.h"
#include "worker/bert_config.h"
#include "worker/head_spec.h"
#include "worker/mtdnn_model.h"

namespace mtdnn::checkpoints {
namespace {

using nlohmann::json;
}  // namespace

std::map<std::string, at::Tensor> module_tensors(const torch::nn::Module& module,
                                                 const std::string& prefix) {
  std::map<std::string, at::Tensor> out;
  for (const auto& item : module.named_parameters()) out.emplace(prefix + item.key(), item.value());
  for (const auto& item : module.named_buffers()) out.emplace(prefix + item.key(), item.value());
  return out;
}

json model_meta(const worker::MtdnnModelOptions& options) {
  json heads = json::array();
  for (const auto& h : options.heads) {
    heads.push_back({{"task", h.task},
                     {"role", h.role},
                     {"kind", worker::head_kind_name(h.kind)},
                     {"n_class", h.n_class},
                     {"dropout_p", h.dropout_p},
                     {"enable_san", h.enable_san},
                     {"san_steps", h.san_steps},
                     {"san_step_dropout", h.san_step_dropout}});
  }
  return {{"bert_config", json::parse(worker::bert_config_to_json(options.config))},
          {"heads", std::move(heads)}};
}

worker::MtdnnModelOptions model_options_from_meta(const json& model, const std::string& where) {
  MTDNN_INPUT_CHECK(model.is_object() && model.contains("bert_config") && model.contains("heads") &&
                        model["heads"].is_array(),
                    "{}: meta.model must hold 'bert_config' and a 'heads' array", where);
  worker::MtdnnModelOptions options;
  options.config = worker::parse_bert_config(model["bert_config"].dump(), where + ": meta.model.bert_config");
  for (const auto& h : model["heads"]) {
    const std::string hwhere = where + ": meta.model.heads";
    MTDNN_INPUT_CHECK(h.is_object() && h.contains("task") && h["task"].is_string() &&
                          h.contains("kind") && h["kind"].is_string(),
                      "{}: each head needs a 'task' and a 'kind' string", hwhere);
    worker::HeadSpec spec;
    spec.task = h["task"].get<std::string>();
    spec.role = h.value("role", std::string());
    spec.kind = worker::head_kind_from_name(h["kind"].get<std::string>(), hwhere);
    try {
      spec.n_class = h.value("n_class", spec.n_class);
      spec.dropout_p = h.value("dropout_p", spec.dropout_p);
      spec.enable_san = h.value("enable_san", spec.enable_san);
      spec.san_steps = h.value("san_steps", spec.san_steps);
      spec.san_step_dropout = h.value("san_step_dropout", spec.san_step_dropout);
    } catch (const json::exception& e) {
      throw InputError(fmt::format("{}: head '{}': {}", hwhere, spec.task, e.what()));
    }
    options.heads.push_back(std::move(spec));
  }
  return options;
}

}  // namespace mtdnn::checkpoints
