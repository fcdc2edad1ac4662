// One task of a model as Hugging Face's BertForSequenceClassification folder, both ways.
//   export: model.safetensors (the encoder under `bert.`, the task's linear head as
//           `classifier.`), config.json (the BertConfig plus architectures, id2label /
//           label2id, problem_type, classifier_dropout) and the tokenizer's files (vocab.txt,
//           tokenizer_config.json, special_tokens_map.json): a folder that transformers'
//           AutoModelForSequenceClassification and AutoTokenizer.from_pretrained load as it is.
//   import: such a folder (from export, or saved by transformers) as a model with one linear
//           head, for a task whose definition comes from the shards it will predict.
// Hugging Face has a class for the classification and regression heads only: a SAN or
// ranking head is an InputError saying so. Used by `mtdnn-ckpt export-hf --task` and by
// mtdnn-predict.
#pragma once

#include <string>

#include "sharding/shard_format.h"
#include "task_kinds/task_def.h"
#include "worker/model_folder.h"
#include "worker/mtdnn_model.h"

namespace mtdnn::worker {

// Writes `task`'s head of `model` with the encoder into `dir` (created or overwritten).
// `vocab_path` must be the vocabulary `tokenizer` names (its SHA-256 is checked): the
// folder's tokenizer then splits text exactly as the shards the model was trained on.
void export_sequence_classifier(const MtdnnModelImpl& model, const TaskDef& task,
                                const sharding::TokenizerIdentity& tokenizer, const std::string& vocab_path,
                                const std::string& dir);

// Whether `dir` holds a Hugging Face folder whose config.json names
// BertForSequenceClassification among its architectures (and no mtdnn training.json).
bool is_sequence_classifier_folder(const std::string& dir);

// Loads such a folder strictly for `task` (its kind and labels; a SAN task is answered by
// the folder's linear head). The classes must agree: as many as the task has, and labels
// named like the task's (or the generic LABEL_<i> / <i>). The tokenizer identity comes from
// the folder's vocab.txt, or else its tokenizer.json (transformers 5 writes only that), and
// its casing; `max_seq_len` is the shards'.
LoadedModel load_sequence_classifier(const std::string& dir, const TaskDef& task, int64_t max_seq_len);

}  // namespace mtdnn::worker
