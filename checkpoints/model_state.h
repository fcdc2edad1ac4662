// The model's part of a TrainingState: its tensors under "model/<parameter name>" and its
// description under meta["model"] ({"bert_config": <config.json object>, "heads": [...]})
// so that a checkpoint can be turned back into an MtdnnModel without the training config
// (mtdnn-ckpt export-hf). Used by the trainer and by the Hugging Face conversion.
#pragma once

#include <map>
#include <string>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace torch::nn {
class Module;
}
namespace mtdnn::worker {
struct MtdnnModelOptions;
}

namespace mtdnn::checkpoints {

inline constexpr const char* kModelPrefix = "model/";
// The optimizer state under "optim/<parameter>/exp_avg|exp_sec|step" (Optimizer::state_tensors).
inline constexpr const char* kOptimizerPrefix = "optim/";

// Parameters and buffers of `module` keyed "<prefix><name>": the tensors themselves (not
// copies), so the map serves both as what to save and as targets for
// restore_tensors_strict.
std::map<std::string, at::Tensor> module_tensors(const torch::nn::Module& module,
                                                 const std::string& prefix = kModelPrefix);

// meta["model"] for a model built from `options`, and back (InputError prefixed by
// `where` on a malformed description).
nlohmann::json model_meta(const worker::MtdnnModelOptions& options);
worker::MtdnnModelOptions model_options_from_meta(const nlohmann::json& model,
                                                  const std::string& where);

}  // namespace mtdnn::checkpoints
