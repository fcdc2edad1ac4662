#include "preprocess/encoder_tokenizer.h"

#include <filesystem>

#include "common/error.h"
#include "common/file_util.h"
#include "common/json_util.h"

namespace mtdnn::preprocess {

EncoderTokenizer read_encoder_tokenizer(const std::string& dir) {
  namespace fs = std::filesystem;
  EncoderTokenizer out;
  out.vocab_path = (fs::path(dir) / "vocab.txt").string();
  MTDNN_INPUT_CHECK(fs::is_regular_file(out.vocab_path),
                    "{}: no vocab.txt in the encoder folder (a BERT WordPiece vocabulary is needed)", dir);
  const std::string config_path = (fs::path(dir) / "tokenizer_config.json").string();
  if (fs::exists(config_path)) {
    const nlohmann::json config = parse_json_object(read_file(config_path), config_path);
    if (config.contains("do_lower_case") && !config["do_lower_case"].is_null()) {
      MTDNN_INPUT_CHECK(config["do_lower_case"].is_boolean(), "{}: do_lower_case must be true or false, got {}",
                        config_path, config["do_lower_case"].dump());
      out.lower_case = config["do_lower_case"].get<bool>();
    }
  }
  return out;
}

}  // namespace mtdnn::preprocess
