// BertConfig: parsing Hugging Face config.json files, validation errors that name the
// file, and the write/read round trip.
#include <gtest/gtest.h>

#include "common/error.h"
#include "test_support.h"
#include "worker/bert_config.h"

namespace mtdnn::worker {
namespace {

constexpr const char* kBertBase = R"({
  "architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1,
  "gradient_checkpointing": false, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
  "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
  "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
  "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 0,
  "position_embedding_type": "absolute", "transformers_version": "4.6.0.dev0",
  "type_vocab_size": 2, "use_cache": true, "vocab_size": 30522})";

TEST(BertConfig, ParsesHuggingFaceBertBase) {
  auto c = parse_bert_config(kBertBase, "bert-base/config.json");
  EXPECT_EQ(c.vocab_size, 30522);
  EXPECT_EQ(c.hidden_size, 768);
  EXPECT_EQ(c.num_hidden_layers, 12);
  EXPECT_EQ(c.num_attention_heads, 12);
  EXPECT_EQ(c.intermediate_size, 3072);
  EXPECT_EQ(c.head_size(), 64);
  EXPECT_EQ(c.max_position_embeddings, 512);
  EXPECT_EQ(c.type_vocab_size, 2);
  EXPECT_DOUBLE_EQ(c.layer_norm_eps, 1e-12);
  EXPECT_DOUBLE_EQ(c.initializer_range, 0.02);
  EXPECT_DOUBLE_EQ(c.hidden_dropout_prob, 0.1);
  EXPECT_EQ(c.hidden_act, "gelu");
}

TEST(BertConfig, MissingKeysKeepDefaults) {
  auto c = parse_bert_config(R"({"hidden_size": 256, "num_attention_heads": 4})", "x.json");
  EXPECT_EQ(c.hidden_size, 256);
  EXPECT_EQ(c.vocab_size, 30522);
  EXPECT_EQ(c.num_hidden_layers, 12);
}

void expect_input_error(const std::string& json, const std::string& fragment) {
  try {
    parse_bert_config(json, "models/m/config.json");
    ADD_FAILURE() << "no error for " << json;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("models/m/config.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(BertConfig, RejectsWhatTheEncoderCannotRun) {
  expect_input_error(R"({"hidden_act": "gelu_new"})", "hidden_act 'gelu_new'");
  expect_input_error(R"({"hidden_act": "relu"})", "hidden_act 'relu'");
  expect_input_error(R"({"hidden_size": 100, "num_attention_heads": 12})", "not a multiple");
  expect_input_error(R"({"hidden_size": "768"})", "'hidden_size' must be an integer");
  expect_input_error(R"({"layer_norm_eps": "tiny"})", "'layer_norm_eps' must be a number");
  expect_input_error(R"({"num_hidden_layers": 0})", "must be positive");
  expect_input_error(R"({"model_type": "roberta"})", "not a BERT model");
  expect_input_error(R"({"position_embedding_type": "relative_key"})", "relative_key");
  expect_input_error(R"({"hidden_dropout_prob": 1.5})", "dropout");
  expect_input_error(R"({"pad_token_id": 99999})", "pad_token_id");
  expect_input_error(R"([1, 2])", "JSON object");
  expect_input_error(R"({"hidden_size": )", "not valid JSON");
}

TEST(BertConfig, WriteThenReadRoundTrips) {
  ::mtdnn::test::ScratchDir dir("bert-config");
  BertConfig c = bert_mini_config();
  c.vocab_size = 1234;
  c.layer_norm_eps = 1e-5;
  c.pad_token_id = 3;
  write_bert_config(c, (dir / "config.json").string());
  BertConfig r = read_bert_config((dir / "config.json").string());
  EXPECT_EQ(r.vocab_size, 1234);
  EXPECT_EQ(r.hidden_size, 256);
  EXPECT_EQ(r.num_hidden_layers, 4);
  EXPECT_EQ(r.num_attention_heads, 4);
  EXPECT_EQ(r.intermediate_size, 1024);
  EXPECT_EQ(r.pad_token_id, 3);
  EXPECT_DOUBLE_EQ(r.layer_norm_eps, 1e-5);
}

TEST(BertConfig, MissingFileIsAnInputErrorNamingIt) {
  try {
    read_bert_config("/nonexistent/config.json");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/config.json"), std::string::npos);
  }
}

// configs/ holds the shapes the scripts train; the two the C++ benchmarks build in code
// must be the same models.
TEST(BertConfig, ShippedConfigsAgreeWithThePresets) {
  const auto configs = test::source_dir() / "configs";
  EXPECT_EQ(bert_config_to_json(read_bert_config((configs / "bert-mini.json").string())),
            bert_config_to_json(bert_mini_config()));
  EXPECT_EQ(bert_config_to_json(read_bert_config((configs / "bert-base.json").string())),
            bert_config_to_json(bert_base_config()));
  const BertConfig tiny = read_bert_config((configs / "bert-tiny.json").string());
  EXPECT_EQ(tiny.num_hidden_layers, 2);
  EXPECT_EQ(tiny.hidden_size, 128);
}

}  // namespace
}  // namespace mtdnn::worker
