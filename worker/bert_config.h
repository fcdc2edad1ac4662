// BertConfig: the hyper-parameters of a BERT encoder, read from (and written to) a
// Hugging Face `config.json`. Used by the encoder, the task heads and the HF import/export.
// Torch-free, so that tools which only inspect checkpoints need not include LibTorch.
#pragma once

#include <cstdint>
#include <string>

namespace mtdnn::worker {

struct BertConfig {
  int64_t vocab_size = 30522;              // V
  int64_t hidden_size = 768;               // H
  int64_t num_hidden_layers = 12;          // L
  int64_t num_attention_heads = 12;        // NH; head size D = H / NH
  int64_t intermediate_size = 3072;        // feed-forward width
  std::string hidden_act = "gelu";         // only exact (erf) GELU is supported
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  double initializer_range = 0.02;
  int64_t pad_token_id = 0;                // its embedding row gets no gradient (HF)

  int64_t head_size() const { return hidden_size / num_attention_heads; }
  // Throws InputError (prefixed by `where`) when sizes are not positive or H % NH != 0.
  void validate(const std::string& where) const;
};

// Parses a config.json text; `where` names the file in error messages. Keys that
// Hugging Face writes but the encoder does not use (architectures, model_type, ...) are
// accepted; a known key with a wrong type or an unsupported value is an InputError.
BertConfig parse_bert_config(const std::string& json_text, const std::string& where);
// Reads and parses a config.json file.
BertConfig read_bert_config(const std::string& path);
// The config.json text Hugging Face's BertConfig would write for this config.
std::string bert_config_to_json(const BertConfig& config);
void write_bert_config(const BertConfig& config, const std::string& path);

// Well-known sizes: BERT-mini (L=4, H=256, NH=4, I=1024) and BERT-base.
BertConfig bert_mini_config();
BertConfig bert_base_config();

}  // namespace mtdnn::worker
