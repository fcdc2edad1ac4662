// Tokenizer identity and naming rules of the shard format (see shard_format.h).
#include "sharding/shard_format.h"

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace mtdnn::sharding {

nlohmann::json TokenizerIdentity::to_json() const {
  return {{"name", name},
          {"vocab_sha256", vocab_sha256},
          {"vocab_size", vocab_size},
          {"lower_case", lower_case},
          {"max_seq_len", max_seq_len}};
}

TokenizerIdentity TokenizerIdentity::from_json(const nlohmann::json& j) {
  TokenizerIdentity t;
  t.name = j.at("name").get<std::string>();
  t.vocab_sha256 = j.at("vocab_sha256").get<std::string>();
  t.vocab_size = j.at("vocab_size").get<int64_t>();
  t.lower_case = j.at("lower_case").get<bool>();
  t.max_seq_len = j.at("max_seq_len").get<int64_t>();
  return t;
}

bool TokenizerIdentity::operator==(const TokenizerIdentity& o) const {
  return name == o.name && vocab_sha256 == o.vocab_sha256 && vocab_size == o.vocab_size &&
         lower_case == o.lower_case && max_seq_len == o.max_seq_len;
}

std::string TokenizerIdentity::difference(const TokenizerIdentity& o) const {
  std::string out;
  auto add = [&](const char* key, const auto& a, const auto& b) {
    if (a != b) out += fmt::format("{}{} {} vs {}", out.empty() ? "" : ", ", key, a, b);
  };
  add("tokenizer", name, o.name);
  add("vocab_sha256", vocab_sha256, o.vocab_sha256);
  add("vocab_size", vocab_size, o.vocab_size);
  add("lower_case", lower_case, o.lower_case);
  add("max_seq_len", max_seq_len, o.max_seq_len);
  return out;
}

std::string shard_file_name(const std::string& split, int64_t index, int64_t count) {
  return fmt::format("{}-{:05d}-of-{:05d}.h5", split, index, count);
}

}  // namespace mtdnn::sharding
