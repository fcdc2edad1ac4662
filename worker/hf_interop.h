// Hugging Face interop: BERT weights in `model.safetensors` + `config.json` directories,
// loaded strictly into a BertEncoder or an MtdnnModel and exported back.
// Names accepted on import (a prefix is stripped, then the rest must match exactly):
//   <BertModel key> or bert.<BertModel key>        -> the encoder
//   heads.<task>.<key>                              -> that task's head
//   scoring_list.<i>.<key>                          -> the head of task i (mt-dnn)
//   cls.predictions.<key>, cls.seq_relationship.<key> -> the model's masked-LM / next-
//       sentence head when it has one; ignored otherwise (BertForPreTraining extras)
//   cls.predictions.decoder.{weight,bias}           -> ignored: tied copies of the word
//       embeddings and of cls.predictions.bias (checked equal when both are present)
//   embeddings.position_ids, embeddings.token_type_ids -> ignored (HF buffers)
// Anything else is unexpected; a parameter without a tensor is missing; a shape that
// differs is mis-shaped: each an InputError naming the tensor and the file.
// Export writes the encoder under BertModel keys (no prefix), masked-LM / next-sentence
// heads under cls.predictions / cls.seq_relationship, other heads under heads.<task>.,
// with metadata {"format": "pt"}: a file read by transformers' BertModel.from_pretrained.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "worker/bert_encoder.h"
#include "worker/mtdnn_model.h"

namespace mtdnn::worker {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Copies `tensors` (under parameter names) into `params` (name -> parameter) strictly,
// converting dtype when the source's differs; `where` names the source in errors. Throws
// InputError on a missing, unexpected or mis-shaped tensor before copying anything.
// Buffers Hugging Face may store next to the parameters (`bert_key`: a BertModel key, without
// "bert."); never parameters here, skipped on every import.
bool is_hf_buffer(const std::string& bert_key);

void copy_named_tensors_strict(const std::map<std::string, torch::Tensor>& params,
                               const NamedTensors& tensors, const std::string& where);

// The encoder's tensors under BertModel keys.
NamedTensors bert_state(const BertEncoderImpl& encoder);
// The model's tensors under the export names described above.
NamedTensors mtdnn_export_state(const MtdnnModelImpl& model);

// Loads a BERT directory (model.safetensors + config.json) into a new encoder.
BertEncoder load_hf_bert(const std::string& dir, bool fused = true);
// Loads `model.safetensors` of `dir` into an existing encoder (shapes must match).
void load_hf_bert_into(BertEncoderImpl& encoder, const std::string& dir);
// Loads a safetensors file into a model: every parameter of the model must be present.
void load_mtdnn_model(MtdnnModelImpl& model, const std::string& safetensors_path);
// Loads only the encoder of a model from a BERT directory (heads keep their values):
// what starting MT-DNN training from a pretrained BERT does.
void load_hf_bert_into_model(MtdnnModelImpl& model, const std::string& dir);

// Loads each head of `model` that `dir`'s model.safetensors holds (tensors `heads.<task>.*`
// or `heads.<task>.<role>.*` as mtdnn-train's model folder writes them; for the masked-LM
// and next-sentence heads also Hugging Face's `cls.predictions.*` / `cls.seq_relationship.*`),
// strictly; other heads keep their values. Returns the loaded heads' paths ("<task>" or
// "<task>.<role>"). Fine-tuning from a multi-task model, or continuing pretraining from a
// BertForPreTraining folder, reuses heads this way. `tasks`: only these tasks' heads
// (empty: every task's).
std::vector<std::string> load_matching_heads_into_model(MtdnnModelImpl& model, const std::string& dir,
                                                        const std::vector<std::string>& tasks = {});

// Writes model.safetensors + config.json of the encoder into `dir` (created if needed).
void export_hf_bert(const BertEncoderImpl& encoder, const std::string& dir);
// Writes the whole model (encoder + heads, export names) into `dir`. A model with a
// masked-LM head is written as Hugging Face's BertForPreTraining: encoder under `bert.`,
// `cls.predictions.*` (decoder tied to the word embeddings, so not stored) and
// `cls.seq_relationship.*`; other task heads stay under `heads.<task>[.<role>].`.
void export_mtdnn_model(const MtdnnModelImpl& model, const std::string& dir);

}  // namespace mtdnn::worker
