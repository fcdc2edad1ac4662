// The tokenizer settings a pretrained model folder carries, so that shards are made the way
// the encoder was pretrained: `vocab.txt` and the casing of Hugging Face's
// `tokenizer_config.json` (`do_lower_case`; absent key or file: lower case, as Hugging Face's
// BertTokenizer defaults). Read by `mtdnn-preprocess --encoder DIR`.
#pragma once

#include <string>

namespace mtdnn::preprocess {

struct EncoderTokenizer {
  std::string vocab_path;  // <dir>/vocab.txt
  bool lower_case = true;
};

// InputError naming the folder or file when the folder has no vocab.txt or its
// tokenizer_config.json is not JSON or has a non-boolean do_lower_case.
EncoderTokenizer read_encoder_tokenizer(const std::string& dir);

}  // namespace mtdnn::preprocess
