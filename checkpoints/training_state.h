// TrainingState: everything a checkpoint holds, as the trainer hands it over and gets it
// back: named tensors plus one JSON document. The checkpoint code never interprets the
// tensors (they are bytes with a dtype and a shape) and only reads the meta keys listed
// below, so the trainer decides what a "full state" is. Used by the writer, the reader
// and mtdnn-ckpt.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace mtdnn::checkpoints {

struct TrainingState {
  // Name -> tensor, any dtype safetensors knows (F32, BF16, I64, U8, ...), any device and
  // layout (copied to contiguous CPU memory when saved). Naming convention:
  //   model/<parameter name>          model/bert.encoder.layer.3.attention.self.query.weight
  //   optim/<parameter name>/<slot>   optim/bert.pooler.dense.weight/exp_avg
  //   rng/<generator>                 rng/cpu, rng/cuda:0 (uint8 state tensors)
  // Names must be non-empty and unique (a std::map); '/' separates groups.
  std::map<std::string, at::Tensor> tensors;

  // Free-form JSON object owned by the trainer. Keys with a meaning here (all optional):
  //   "epoch", "position" (where in the epoch's schedule), "lr_schedule", "config"
  //   (resolved configuration), "tasks" (task definitions), "tokenizer", "world_size",
  //   "model": {"bert_config": <config.json object>, "heads": [<HeadSpec as JSON>]}
  //   (model_state.h; needed by `mtdnn-ckpt export-hf`), "kind": "init" for a checkpoint
  //   made by `mtdnn-ckpt import-hf` (model tensors only).
  // The global step is not stored here: it is the argument of save() and the folder name.
  nlohmann::json meta = nlohmann::json::object();
};

}  // namespace mtdnn::checkpoints
