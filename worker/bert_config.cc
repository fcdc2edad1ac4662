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
  read_key(j, "vocab_size", &c.vocab_size, where);
  read_key(j, "hidden_size", &c.hidden_size, where);
  read_key(j, "num_hidden_layers", &c.num_hidden_layers, where);
  read_key(j, "num_attention_heads", &c.num_attention_heads, where);
  read_key(j, "intermediate_size", &c.intermediate_size, where);
  read_key(j, "hidden_act", &c.hidden_act, where);
  read_key(j, "hidden_dropout_prob", &c.hidden_dropout_prob, where);
  read_key(j, "attention_probs_dropout_prob", &c.attention_probs_dropout_prob, where);
  read_key(j, "max_position_embeddings", &c.max_position_embeddings, where);
  read_key(j, "type_vocab_size", &c.type_vocab_size, where);
  read_key(j, "layer_norm_eps", &c.layer_norm_eps, where);
  read_key(j, "initializer_range", &c.initializer_range, where);
  read_key(j, "pad_token_id", &c.pad_token_id, where);
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
  j["attention_probs_dropout_prob"] = c.attention_probs_dropout_prob;
  j["hidden_act"] = c.hidden_act;
  j["hidden_dropout_prob"] = c.hidden_dropout_prob;
  j["hidden_size"] = c.hidden_size;
  j["initializer_range"] = c.initializer_range;
  j["intermediate_size"] = c.intermediate_size;
  j["layer_norm_eps"] = c.layer_norm_eps;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["model_type"] = "bert";
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["pad_token_id"] = c.pad_token_id;
  j["position_embedding_type"] = "absolute";
  j["type_vocab_size"] = c.type_vocab_size;
  j["vocab_size"] = c.vocab_size;
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
