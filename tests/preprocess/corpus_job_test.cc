// The corpus stage of mtdnn-preprocess (MaskLM tasks) end to end: a hand-made corpus whose
// every word names its document -> shards read back with SplitReader ([CLS]/[SEP] and the
// type boundary in place, labels 0/1 that match where segment B came from, train and dev
// disjoint by document, vocab.txt copied), byte-identical re-runs, the dupe factor, the
// input rule, bad input and the vocabulary check leaving nothing behind, and the real
// python-docs corpus.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "preprocess/corpus_job.h"
#include "preprocess/preprocess_job.h"
#include "sharding/split_reader.h"
#include "expect_input_error.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace mtdnn::preprocess {
namespace {

constexpr int kDocuments = 30;
constexpr int kWordsPerDocument = 6;
constexpr int32_t kCls = 2, kSep = 3;
// Ids of the words: 5 specials, then "k<doc>x<j>" for every document and j, then ".".
constexpr int32_t kFirstWord = 5;
constexpr int32_t kPeriod = kFirstWord + kDocuments * kWordsPerDocument;

std::string vocab_text(bool with_mask) {
  std::string v = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n";
  v += with_mask ? "[MASK]\n" : "[unused0]\n";
  for (int d = 0; d < kDocuments; ++d)
    for (int j = 0; j < kWordsPerDocument; ++j) v += "k" + std::to_string(d) + "x" + std::to_string(j) + "\n";
  return v + ".\n";
}

// The document a word piece belongs to; -1 for "." and specials.
int document_of(int32_t id) { return id >= kFirstWord && id < kPeriod ? (id - kFirstWord) / kWordsPerDocument : -1; }

// Document d: 1 + d % 5 sentences of 2 to 7 of its own words and a period.
std::string document_text(int d) {
  std::string text;
  for (int s = 0; s <= d % 5; ++s) {
    for (int w = 0; w < 2 + (d + s) % 6; ++w)
      text += "k" + std::to_string(d) + "x" + std::to_string((s + w) % kWordsPerDocument) + " ";
    text += ".\n";
  }
  return text;
}

const char* kTaskDef = "wiki:\n  task_type: MaskLM\n  data_format: MLM\n  n_class: 2\n  dev_fraction: 0.2\n";

struct Checked {
  std::set<int> documents;  // documents whose text is in the split
  int64_t random_next = 0;
};

class CorpusJob : public ::testing::Test {
 protected:
  CorpusJob() : dir_("corpusjob") {
    test::write_file(dir_ / "vocab.txt", vocab_text(true));
    test::write_file(dir_ / "tasks.yml", kTaskDef);
    // Two files, the second in JSON lines: documents 0-19, then 20-29.
    std::string text, jsonl;
    for (int d = 0; d < 20; ++d) text += document_text(d) + "\n";
    for (int d = 20; d < kDocuments; ++d) {
      std::string doc = document_text(d), escaped;
      for (char c : doc) escaped += c == '\n' ? std::string("\\n") : std::string(1, c);
      jsonl += "{\"text\": \"" + escaped + "\"}\n";
    }
    test::write_file(dir_ / "in" / "wiki" / "a.txt", text);
    test::write_file(dir_ / "in" / "wiki" / "b.jsonl", jsonl);
    test::write_file(dir_ / "in" / "wiki" / "notes.md", "not a corpus file\n");
    options_.task_def_path = (dir_ / "tasks.yml").string();
    options_.input_dir = (dir_ / "in").string();
    options_.vocab_path = (dir_ / "vocab.txt").string();
    options_.out_dir = (dir_ / "out").string();
    options_.max_seq_len = 24;
    options_.shards = 3;
    options_.threads = 1;
    options_.corpus_window = 7;  // several windows per split
  }

  // Reads a split back and checks every example; returns what it found.
  Checked check_split(const std::string& out, const std::string& split, bool next_sentence = true) {
    sharding::SplitReader reader(out, "wiki", split);
    reader.verify_checksums();
    EXPECT_EQ(reader.label_kind(), sharding::LabelKind::kClass);
    Checked c;
    std::set<std::string> uids;
    for (int64_t i = 0; i < reader.size(); ++i) {
      const sharding::Example e = reader.get(i);
      SCOPED_TRACE(e.uid);
      const auto& t = e.token_ids;
      EXPECT_LE(t.size(), static_cast<size_t>(options_.max_seq_len));
      EXPECT_EQ(t.front(), kCls);
      EXPECT_EQ(t.back(), kSep);
      const size_t first_sep = static_cast<size_t>(std::find(t.begin(), t.end(), kSep) - t.begin());
      EXPECT_EQ(e.type_boundary, static_cast<int32_t>(first_sep + 1));
      EXPECT_EQ(std::count(t.begin(), t.end(), kSep), next_sentence ? 2 : 1);
      EXPECT_TRUE(e.label == 0 || e.label == 1);
      EXPECT_TRUE(uids.insert(e.uid).second) << "uid twice";
      const int doc = std::stoi(e.uid.substr(0, e.uid.find('-')));
      // Segment A is text of the uid's document; B of the same one exactly when label 0.
      std::set<int> a_docs, b_docs;
      for (size_t k = 1; k < first_sep; ++k)
        if (document_of(t[k]) >= 0) a_docs.insert(document_of(t[k]));
      for (size_t k = first_sep + 1; k + 1 < t.size(); ++k)
        if (document_of(t[k]) >= 0) b_docs.insert(document_of(t[k]));
      EXPECT_LE(a_docs.size(), 1u);
      if (!a_docs.empty()) EXPECT_EQ(*a_docs.begin(), doc);
      EXPECT_LE(b_docs.size(), 1u);
      if (!b_docs.empty()) EXPECT_EQ(*b_docs.begin() == doc, e.label == 0);
      if (!next_sentence) EXPECT_EQ(e.label, 0);
      c.documents.insert(a_docs.begin(), a_docs.end());
      c.documents.insert(b_docs.begin(), b_docs.end());
      c.random_next += e.label;
    }
    return c;
  }

  // Every file under `a` has the same bytes under `b`; returns how many.
  static size_t expect_same_files(const fs::path& a, const fs::path& b) {
    size_t files = 0;
    for (const auto& f : fs::recursive_directory_iterator(a)) {
      if (!f.is_regular_file()) continue;
      auto rel = fs::relative(f.path(), a);
      EXPECT_TRUE(fs::exists(b / rel)) << rel;
      if (fs::exists(b / rel)) EXPECT_EQ(test::read_file(f.path()), test::read_file(b / rel)) << rel;
      ++files;
    }
    return files;
  }

  std::string expect_error(const std::vector<std::string>& needles) {
    return test::expect_input_error([&] { run_preprocess(options_); }, needles);
  }

  test::ScratchDir dir_;
  PreprocessOptions options_;
};

TEST_F(CorpusJob, ShardsHoldSentencePairsOfDisjointDocuments) {
  auto manifests = run_preprocess(options_);
  ASSERT_EQ(manifests.size(), 1u);
  const auto& m = manifests[0];
  ASSERT_EQ(m.splits.size(), 2u);
  Checked train = check_split(options_.out_dir, "train");
  Checked dev = check_split(options_.out_dir, "dev");
  // Train and dev share no document (B segments included); together they hold every one.
  for (int d : dev.documents) EXPECT_EQ(train.documents.count(d), 0u) << d;
  EXPECT_EQ(train.documents.size() + dev.documents.size(), static_cast<size_t>(kDocuments));
  EXPECT_GE(dev.documents.size(), 1u);
  EXPECT_LT(dev.documents.size(), 15u);

  int64_t documents = 0, sentences = 0;
  for (const auto& s : m.splits) {
    ASSERT_TRUE(s.corpus.has_value());
    const auto& c = *s.corpus;
    EXPECT_EQ(c.instances, s.examples);
    EXPECT_EQ(s.rows, c.documents);
    EXPECT_EQ(c.files, 2);
    EXPECT_EQ(c.seed, 12345u);
    EXPECT_EQ(c.window_documents, 7);
    EXPECT_EQ(s.source, "wiki/");
    documents += c.documents;
    sentences += c.sentences;
    EXPECT_EQ(c.random_next, (s.split == "train" ? train : dev).random_next);
    if (s.split == "train") EXPECT_GT(c.short_documents, 0);  // documents 0, 5, 10, ... have one sentence
    EXPECT_LE(s.shards.size(), 3u);
  }
  EXPECT_EQ(m.splits[0].shards.size(), 3u);
  EXPECT_EQ(documents, kDocuments);
  int64_t expected_sentences = 0;
  for (int d = 0; d < kDocuments; ++d) expected_sentences += 1 + d % 5;
  EXPECT_EQ(sentences, expected_sentences);
  EXPECT_EQ(static_cast<size_t>(m.splits[1].corpus->documents), dev.documents.size());

  // The vocabulary travels with the shards, byte for byte; no spool file is left.
  EXPECT_EQ(test::read_file(fs::path(options_.out_dir) / "wiki" / "vocab.txt"), vocab_text(true));
  for (const auto& f : fs::directory_iterator(fs::path(options_.out_dir) / "wiki"))
    EXPECT_NE(f.path().filename().string().front(), '.') << f.path();

  // The summary shows the corpus counts.
  const std::string summary = summary_table(manifests, 1.0);
  EXPECT_NE(summary.find("documents sentences instances random-next"), std::string::npos) << summary;
}

TEST_F(CorpusJob, RerunsAreByteIdenticalAndTheSeedMatters) {
  run_preprocess(options_);
  PreprocessOptions again = options_;
  again.out_dir = (dir_ / "out2").string();
  run_preprocess(again);
  EXPECT_GT(expect_same_files(options_.out_dir, again.out_dir), 5u);

  PreprocessOptions other = options_;
  other.out_dir = (dir_ / "out3").string();
  other.seed = 7;
  auto m = run_preprocess(other);
  EXPECT_EQ(m[0].splits[0].corpus->seed, 7u);
  EXPECT_NE(test::read_file(fs::path(options_.out_dir) / "wiki" / "train-00000-of-00003.h5"),
            test::read_file(fs::path(other.out_dir) / "wiki" / "train-00000-of-00003.h5"));
}

TEST_F(CorpusJob, OneSplitAloneIsTheSameAsInAFullRun) {
  run_preprocess(options_);
  PreprocessOptions dev_only = options_;
  dev_only.out_dir = (dir_ / "dev-only").string();
  dev_only.splits = {"dev"};
  auto m = run_preprocess(dev_only);
  ASSERT_EQ(m[0].splits.size(), 1u);
  const fs::path full = fs::path(options_.out_dir) / "wiki", alone = fs::path(dev_only.out_dir) / "wiki";
  size_t shards = 0;
  for (const auto& f : fs::directory_iterator(alone)) {
    const std::string name = f.path().filename().string();
    if (name.rfind("dev-", 0) != 0) continue;
    EXPECT_EQ(test::read_file(f.path()), test::read_file(full / name)) << name;
    ++shards;
  }
  EXPECT_GE(shards, 1u);
  EXPECT_FALSE(fs::exists(alone / "train-00000-of-00003.h5"));
}

TEST_F(CorpusJob, DupeFactorRepeatsTrainOnly) {
  auto one = run_preprocess(options_);
  PreprocessOptions twice = options_;
  twice.out_dir = (dir_ / "twice").string();
  twice.dupe_factor = 2;
  auto two = run_preprocess(twice);
  const auto& t1 = one[0].splits[0];
  const auto& t2 = two[0].splits[0];
  EXPECT_EQ(t2.corpus->dupe_factor, 2);
  EXPECT_GT(t2.examples, t1.examples * 17 / 10);
  EXPECT_LT(t2.examples, t1.examples * 23 / 10);
  EXPECT_EQ(t2.corpus->documents, t1.corpus->documents);
  // Dev is made once whatever the dupe factor.
  EXPECT_EQ(two[0].splits[1].corpus->dupe_factor, 1);
  EXPECT_EQ(two[0].splits[1].examples, one[0].splits[1].examples);
  EXPECT_EQ(two[0].splits[1].shards[0].sha256, one[0].splits[1].shards[0].sha256);
  check_split(twice.out_dir, "train");
}

TEST_F(CorpusJob, WithoutNextSentenceOneSegment) {
  test::write_file(dir_ / "tasks.yml", std::string(kTaskDef) + "  next_sentence: false\n");
  run_preprocess(options_);
  Checked train = check_split(options_.out_dir, "train", false);
  EXPECT_EQ(train.random_next, 0);
}

TEST_F(CorpusJob, InputRule) {
  const std::string in = (dir_ / "in").string();
  // <input>/<task>/ when it exists: its *.txt and *.jsonl, sorted.
  EXPECT_EQ(corpus_files(in, "wiki"),
            (std::vector<std::string>{(dir_ / "in" / "wiki" / "a.txt").string(),
                                      (dir_ / "in" / "wiki" / "b.jsonl").string()}));
  // Else <input>/ itself; hidden files and other names are not read.
  test::write_file(dir_ / "in" / "z.txt", document_text(1));
  test::write_file(dir_ / "in" / "c.jsonl", "{\"text\": \"k1x1 .\"}\n");
  test::write_file(dir_ / "in" / ".hidden.txt", "x\n");
  EXPECT_EQ(corpus_files(in, "books"),
            (std::vector<std::string>{(dir_ / "in" / "c.jsonl").string(), (dir_ / "in" / "z.txt").string()}));
  // A file is the corpus.
  EXPECT_EQ(corpus_files(in + "/z.txt", "wiki"), std::vector<std::string>{in + "/z.txt"});
  EXPECT_THROW(corpus_files((dir_ / "missing").string(), "wiki"), InputError);
  test::ScratchDir empty("corpusjob-empty");
  test::expect_input_error([&] { corpus_files(empty.path().string(), "wiki"); }, {"no corpus file"});

  // --input may be a file when every task reads a corpus.
  options_.input_dir = (dir_ / "in" / "wiki" / "a.txt").string();
  auto m = run_preprocess(options_);
  EXPECT_EQ(m[0].splits[0].source, "a.txt");
  EXPECT_EQ(m[0].splits[0].corpus->files, 1);
  EXPECT_EQ(m[0].splits[0].corpus->documents + m[0].splits[1].corpus->documents, 20);
}

TEST_F(CorpusJob, VocabularyWithoutMaskIsRefusedBeforeWriting) {
  test::write_file(dir_ / "vocab.txt", vocab_text(false));
  expect_error({(dir_ / "vocab.txt").string(), "[MASK]"});
  EXPECT_FALSE(fs::exists(options_.out_dir));
}

TEST_F(CorpusJob, BadLinesAreNamedOrSkippedAndCounted) {
  test::write_file(dir_ / "in" / "wiki" / "a.txt", "k0x1 k0x2 .\nk0x3 \xff .\n\nk1x1 .\n");
  expect_error({"a.txt:2: ", "invalid UTF-8", "--on-bad-row skip"});
  ASSERT_TRUE(fs::exists(options_.out_dir));
  EXPECT_TRUE(fs::is_empty(options_.out_dir));  // no task folder, no temporary

  test::write_file(dir_ / "in" / "wiki" / "b.jsonl", "{\"text\": \"k2x1 .\"}\n{\"txt\": 1}\n{\"text\": \"k3x1 .\"}\n");
  options_.skip_bad_rows = true;
  auto m = run_preprocess(options_);
  int64_t skipped = 0, documents = 0;
  for (const auto& s : m[0].splits) {
    skipped += s.skipped_bad;
    documents += s.corpus->documents;
  }
  EXPECT_EQ(skipped, 2);
  EXPECT_EQ(documents, 4);
}

TEST_F(CorpusJob, TaskAndOptionChecks) {
  test::write_file(dir_ / "tasks.yml", std::string(kTaskDef) + "  split_names: [train, test]\n");
  expect_error({"splits train and dev", "'test'"});
  test::write_file(dir_ / "tasks.yml", std::string(kTaskDef) + "  split_names: [dev]\n");
  expect_error({"needs a train split"});
  test::write_file(dir_ / "tasks.yml", kTaskDef);
  options_.dupe_factor = 0;
  expect_error({"--dupe-factor"});
  options_.dupe_factor = 1;
  options_.input_dir = (dir_ / "nowhere").string();
  expect_error({"nowhere"});
  EXPECT_FALSE(fs::exists(options_.out_dir));
  // A labeled task does not read a file.
  test::write_file(dir_ / "tasks.yml", std::string(kTaskDef) +
                                           "topic:\n  task_type: Classification\n  data_format: PremiseOnly\n"
                                           "  n_class: 2\n");
  options_.input_dir = (dir_ / "in" / "wiki" / "a.txt").string();
  expect_error({"not a folder", "task 'topic'"});
}

TEST_F(CorpusJob, DevDrawsFollowTheFraction) {
  int dev = 0;
  for (int64_t d = 0; d < 20000; ++d) dev += draws_dev_document(1, d, 0.1) ? 1 : 0;
  EXPECT_GT(dev, 1800);
  EXPECT_LT(dev, 2200);
  EXPECT_FALSE(draws_dev_document(1, 0, 0.0));
  // Two documents: one goes to dev even when the draw would send both to train.
  test::write_file(dir_ / "tasks.yml", "wiki:\n  task_type: MaskLM\n  data_format: MLM\n  n_class: 2\n");
  test::write_file(dir_ / "in" / "wiki" / "a.txt", "k0x1 k0x2 .\nk0x3 .\n\nk1x1 .\nk1x2 .\n");
  fs::remove(dir_ / "in" / "wiki" / "b.jsonl");
  auto m = run_preprocess(options_);
  EXPECT_EQ(m[0].splits[0].corpus->documents, 1);
  EXPECT_EQ(m[0].splits[1].corpus->documents, 1);
  // A window of one document pairs within it: every instance is an actual next.
  EXPECT_EQ(m[0].splits[1].corpus->random_next, 0);
  check_split(options_.out_dir, "train");
  check_split(options_.out_dir, "dev");
}

TEST(CorpusJobPythonDocs, RealCorpus) {
  MTDNN_REQUIRE_DATA();
  const fs::path corpus = test::data_dir() / "corpus";
  if (!fs::exists(corpus / "python-docs.txt")) GTEST_SKIP() << "no python-docs corpus";
  test::ScratchDir dir("corpusjob-python");
  test::write_file(dir / "pretrain.yml", "wiki:\n  task_type: MaskLM\n  data_format: MLM\n  n_class: 2\n");
  PreprocessOptions o;
  o.task_def_path = (dir / "pretrain.yml").string();
  o.input_dir = (corpus / "python-docs.txt").string();
  o.vocab_path = (test::data_dir() / "vocab/bert-base-uncased-vocab.txt").string();
  o.out_dir = (dir / "out").string();
  o.max_seq_len = 128;
  o.shards = 8;
  auto m = run_preprocess(o);
  const std::string summary = summary_table(m, 1.0);
  std::printf("%s", summary.c_str());
  ASSERT_EQ(m[0].splits.size(), 2u);
  const auto& train = m[0].splits[0];
  const auto& dev = m[0].splits[1];
  EXPECT_EQ(train.corpus->documents + dev.corpus->documents, 1947);
  EXPECT_EQ(train.corpus->sentences + dev.corpus->sentences, 16681);
  EXPECT_GT(dev.corpus->documents, 5);   // dev_fraction 0.01 of 1,947
  EXPECT_LT(dev.corpus->documents, 40);
  EXPECT_GT(train.examples, 5000);       // about three instances per document
  EXPECT_LT(train.examples, 7000);
  EXPECT_EQ(train.shards.size(), 8u);
  const double random = static_cast<double>(train.corpus->random_next) / static_cast<double>(train.examples);
  EXPECT_GT(random, 0.4);
  EXPECT_LT(random, 0.7);
  EXPECT_NE(summary.find("wiki     train"), std::string::npos);
  sharding::SplitReader reader(o.out_dir, "wiki", "train");
  int64_t tokens = 0;
  for (int64_t i = 0; i < reader.size(); ++i) {
    const auto e = reader.get(i);
    ASSERT_LE(e.token_ids.size(), 128u);
    ASSERT_EQ(e.token_ids.front(), 101);  // [CLS] in BERT's uncased vocabulary
    ASSERT_EQ(e.token_ids.back(), 102);   // [SEP]
    tokens += static_cast<int64_t>(e.token_ids.size());
  }
  EXPECT_EQ(tokens, train.tokens);
  EXPECT_GT(tokens, train.examples * 60);  // most rows fill most of the sequence
}

}  // namespace
}  // namespace mtdnn::preprocess
