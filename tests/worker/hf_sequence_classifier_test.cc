// One task as Hugging Face's BertForSequenceClassification: export then import gives back
// every tensor exactly; config.json carries the classes; the vocabulary is checked, also
// when a folder has only tokenizer.json; SAN heads and classes in another order are refused.
// (tests/hf/sequence_classifier_test.sh checks the same folders against transformers itself.)
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common/error.h"
#include "common/sha256.h"
#include "golden_util.h"
#include "test_support.h"
#include "worker/hf_sequence_classifier.h"

namespace mtdnn::worker {
namespace {

namespace fs = std::filesystem;
using ::mtdnn::test::ScratchDir;
using test::golden_dir;

const char* kVocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n##s\n";

TaskDef task(const std::string& name, const std::string& type, int n_class, std::vector<std::string> labels = {},
             bool san = false) {
  TaskDef t;
  t.name = name;
  t.task_type = type;
  t.n_class = n_class;
  t.labels = std::move(labels);
  t.enable_san = san;
  t.data_format = DataFormat::kPremiseAndOneHypothesis;
  return t;
}

struct Fixture {
  ScratchDir dir{"hf-seq-cls"};
  std::vector<TaskDef> tasks = {task("rte", "Classification", 2, {"not_entailment", "entailment"}),
                                task("stsb", "Regression", 1), task("mrpc", "Classification", 2, {}, true)};
  MtdnnModel model{model_options_of(read_bert_config((golden_dir("tiny") / "config.json").string()), tasks,
                                    std::nullopt)};
  sharding::TokenizerIdentity tokenizer;
  std::string vocab = (dir / "vocab.txt").string();
  Fixture() {
    ::mtdnn::test::write_file(dir / "vocab.txt", kVocab);
    tokenizer.vocab_sha256 = sha256_hex(kVocab);
    tokenizer.vocab_size = 7;
    tokenizer.max_seq_len = 64;
  }
  std::string export_task(size_t i) {
    const std::string out = (dir / tasks[i].name).string();
    export_sequence_classifier(*model, tasks[i], tokenizer, vocab, out);
    return out;
  }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

nlohmann::json json_file(const fs::path& path) { return nlohmann::json::parse(::mtdnn::test::read_file(path)); }

TEST(HfSequenceClassifier, ClassificationRoundTripsExactlyWithItsClassesAndTokenizer) {
  Fixture f;
  const std::string out = f.export_task(0);
  const auto config = json_file(fs::path(out) / "config.json");
  EXPECT_EQ(config["architectures"], nlohmann::json::array({"BertForSequenceClassification"}));
  EXPECT_EQ(config["id2label"], (nlohmann::json{{"0", "not_entailment"}, {"1", "entailment"}}));
  EXPECT_EQ(config["label2id"]["entailment"], 1);
  EXPECT_EQ(config["problem_type"], "single_label_classification");
  EXPECT_EQ(json_file(fs::path(out) / "tokenizer_config.json")["do_lower_case"], true);
  EXPECT_EQ(::mtdnn::test::read_file(fs::path(out) / "vocab.txt"), kVocab);
  ASSERT_TRUE(is_sequence_classifier_folder(out));

  LoadedModel back = load_sequence_classifier(out, f.tasks[0], 64);
  EXPECT_EQ(back.tokenizer, f.tokenizer);
  auto mine = f.model->named_parameters();
  size_t compared = 0;
  for (const auto& item : back.model->named_parameters()) {
    ASSERT_TRUE(mine.contains(item.key())) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), mine[item.key()])) << item.key();
    ++compared;
  }
  EXPECT_GT(compared, 10u);
}

TEST(HfSequenceClassifier, RegressionSaysSoAndComesBack) {
  Fixture f;
  const std::string out = f.export_task(1);
  const auto config = json_file(fs::path(out) / "config.json");
  EXPECT_EQ(config["problem_type"], "regression");
  EXPECT_EQ(config["id2label"].size(), 1u);
  LoadedModel back = load_sequence_classifier(out, f.tasks[1], 64);
  EXPECT_TRUE(torch::equal(back.model->named_parameters()["heads.stsb.weight"],
                           f.model->named_parameters()["heads.stsb.weight"]));
}

TEST(HfSequenceClassifier, SanHeadHasNoHuggingFaceClass) {
  Fixture f;
  EXPECT_NE(error_of([&] { f.export_task(2); }).find("san head, which Hugging Face has no class for"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(f.dir / "mrpc"));
}

TEST(HfSequenceClassifier, AnotherVocabularyIsRefused) {
  Fixture f;
  ::mtdnn::test::write_file(f.dir / "other.txt", std::string(kVocab) + "extra\n");
  f.vocab = (f.dir / "other.txt").string();
  EXPECT_NE(error_of([&] { f.export_task(0); }).find("is not the vocabulary the model's shards were made with"),
            std::string::npos);
}

TEST(HfSequenceClassifier, ClassesInAnotherOrderAreRefused) {
  Fixture f;
  const std::string out = f.export_task(0);
  TaskDef swapped = f.tasks[0];
  swapped.labels = {"entailment", "not_entailment"};
  EXPECT_NE(error_of([&] { load_sequence_classifier(out, swapped, 64); })
                .find("class 0 is 'not_entailment' there but 'entailment' in task 'rte'"),
            std::string::npos);
  TaskDef three = task("rte", "Classification", 3);
  EXPECT_NE(error_of([&] { load_sequence_classifier(out, three, 64); }).find("2 outputs (id2label), but task"),
            std::string::npos);
}

// transformers 5 saves tokenizer.json without vocab.txt: the same vocabulary from its
// WordPiece map, the casing from its normalizer.
TEST(HfSequenceClassifier, TokenizerJsonAloneGivesTheSameIdentity) {
  Fixture f;
  const fs::path out = f.export_task(0);
  fs::remove(out / "vocab.txt");
  fs::remove(out / "tokenizer_config.json");
  nlohmann::json vocab = nlohmann::json::object();
  const std::vector<std::string> tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "##s"};
  for (size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = i;
  ::mtdnn::test::write_file(out / "tokenizer.json",
                   nlohmann::json{{"model", {{"type", "WordPiece"}, {"vocab", vocab}}},
                                  {"normalizer", {{"type", "BertNormalizer"}, {"lowercase", false}}}}
                       .dump());
  LoadedModel back = load_sequence_classifier(out.string(), f.tasks[0], 64);
  EXPECT_EQ(back.tokenizer.vocab_sha256, f.tokenizer.vocab_sha256);
  EXPECT_EQ(back.tokenizer.vocab_size, 7);
  EXPECT_FALSE(back.tokenizer.lower_case);
  fs::remove(out / "tokenizer.json");
  EXPECT_NE(error_of([&] { load_sequence_classifier(out.string(), f.tasks[0], 64); })
                .find("neither vocab.txt nor tokenizer.json"),
            std::string::npos);
}

}  // namespace
}  // namespace mtdnn::worker
