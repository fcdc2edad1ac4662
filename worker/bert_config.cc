// BertConfig parsing and writing (see bert_config.h) with nlohmann-json.
#include "worker/bert_config.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_util.h"

namespace mtdnn::worker {
namespace {

using nlohmann::json;

template <typename T>
void read_key(const json& j, const char* key, T* out, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;  // keep the default, as HF does
  try {
    if constexpr (std::is_integral_v<T>) {
      MTDNN_INPUT_CHECK(it->is_number_integer(), "{}: '{}' must be an integer, got {}", where,
                        key, it->dump());
    } else if constexpr (std::is_floating_point_v<T>) {
      MTDNN_INPUT_CHECK(it->is_number(), "{}: '{}' must be a number, got {}", where, key,
                        it->dump());
    } else {
      MTDNN_INPUT_CHECK(it->is_string(), "{}: '{}' must be a string, got {}", where, key,
                        it->dump());
    }
    *out = it->get<T>();
  } catch (const json::exception& e) {
    throw InputError(fmt::format("{}: bad value for '{}': {}", where, key, e.what()));
  }
}

// Every key of config.json this project reads and writes, once: the visitor receives the
// key and a pointer to the field. config.json's keys are the fields' own names.
template <typename Config, typename Visit>
void for_each_key(Config& c, Visit&& visit) {
#define MTDNN_CONFIG_KEY(field) visit(#field, &c.field)
  MTDNN_CONFIG_KEY(vocab_size); MTDNN_CONFIG_KEY(hidden_size); MTDNN_CONFIG_KEY(num_hidden_layers);
  MTDNN_CONFIG_KEY(num_attention_heads); MTDNN_CONFIG_KEY(intermediate_size); MTDNN_CONFIG_KEY(hidden_act);
  MTDNN_CONFIG_KEY(hidden_dropout_prob); MTDNN_CONFIG_KEY(attention_probs_dropout_prob);
  MTDNN_CONFIG_KEY(max_position_embeddings); MTDNN_CONFIG_KEY(type_vocab_size); MTDNN_CONFIG_KEY(layer_norm_eps);
  MTDNN_CONFIG_KEY(initializer_range); MTDNN_CONFIG_KEY(pad_token_id);
#undef MTDNN_CONFIG_KEY
}

}  // namespace

void BertConfig::validate(const std::string& where) const {
  MTDNN_INPUT_CHECK(vocab_size > 0 && hidden_size > 0 && num_hidden_layers > 0 &&
                        num_attention_heads > 0 && intermediate_size > 0 &&
                        max_position_embeddings > 0 && type_vocab_size > 0,
                    "{}: every size must be positive (vocab_size {}, hidden_size {}, "
                    "num_hidden_layers {}, num_attention_heads {}, intermediate_size {}, "
                    "max_position_embeddings {}, type_vocab_size {})",
                    where, vocab_size, hidden_size, num_hidden_layers, num_attention_heads,
                    intermediate_size, max_position_embeddings, type_vocab_size);
  MTDNN_INPUT_CHECK(hidden_size % num_attention_heads == 0,
                    "{}: hidden_size {} is not a multiple of num_attention_heads {}", where,
                    hidden_size, num_attention_heads);
  // HF's "gelu" is the exact erf form; the tanh approximations would silently change
  // every output, so they are refused rather than mapped.
  MTDNN_INPUT_CHECK(hidden_act == "gelu",
                    "{}: hidden_act '{}' is not supported (only \"gelu\", the exact erf form)",
                    where, hidden_act);
  MTDNN_INPUT_CHECK(hidden_dropout_prob >= 0 && hidden_dropout_prob < 1 &&
                        attention_probs_dropout_prob >= 0 && attention_probs_dropout_prob < 1,
                    "{}: dropout probabilities must be in [0, 1)", where);
  MTDNN_INPUT_CHECK(pad_token_id >= 0 && pad_token_id < vocab_size,
                    "{}: pad_token_id {} is outside the vocabulary of {}", where, pad_token_id,
                    vocab_size);
  MTDNN_INPUT_CHECK(layer_norm_eps > 0 && initializer_range > 0,
                    "{}: layer_norm_eps and initializer_range must be positive", where);
}

BertConfig parse_bert_config(const std::string& json_text, const std::string& where) {
  const json j = parse_json_object(json_text, where);
  if (auto it = j.find("model_type"); it != j.end() && it->is_string()) {
    MTDNN_INPUT_CHECK(*it == "bert", "{}: model_type '{}' is not a BERT model", where,
                      it->get<std::string>());
  }
  if (auto it = j.find("position_embedding_type"); it != j.end() && it->is_string()) {
    MTDNN_INPUT_CHECK(*it == "absolute",
                      "{}: position_embedding_type '{}' is not supported (only \"absolute\")",
                      where, it->get<std::string>());
  }
  BertConfig c;
  for_each_key(c, [&](const char* key, auto* field) { read_key(j, key, field, where); });
  c.validate(where);
  return c;
}

BertConfig read_bert_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MTDNN_INPUT_CHECK(in.good(), "{}: cannot open the BERT config", path);
  std::stringstream text;
  text << in.rdbuf();
  return parse_bert_config(text.str(), path);
}

std::string bert_config_to_json(const BertConfig& c) {
  json j = json::object();  // nlohmann::json keeps keys sorted
  j["architectures"] = json::array({"BertModel"});
  j["model_type"] = "bert";
  j["position_embedding_type"] = "absolute";
  for_each_key(c, [&](const char* key, const auto* field) { j[key] = *field; });
  return j.dump(2) + "\n";
}

void write_bert_config(const BertConfig& config, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  MTDNN_INPUT_CHECK(out.good(), "{}: cannot create the BERT config", path);
  out << bert_config_to_json(config);
  out.close();
  if (!out) throw SystemError(fmt::format("{}: write failed", path));
}

BertConfig bert_mini_config() {
  BertConfig c;
  c.hidden_size = 256;
  c.num_hidden_layers = 4;
  c.num_attention_heads = 4;
  c.intermediate_size = 1024;
  return c;
}

BertConfig bert_base_config() { return BertConfig{}; }

}  // namespace mtdnn::worker
