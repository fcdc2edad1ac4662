// CorpusReader: BERT's text format and JSON lines give the same documents, bad lines are
// reported by file and line (or skipped and counted), windows bound the documents held,
// and the real python-docs corpus reads in full.
#include "preprocess/corpus_reader.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "preprocess/vocab.h"
#include "test_support.h"

namespace mtdnn::preprocess {
namespace {

// Ids: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 the=5 cat=6 sat=7 on=8 mat=9 a=10 dog=11
// ran=12 .=13
const Vocab& small_vocab() {
  static const Vocab v =
      Vocab::parse("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\nsat\non\nmat\na\ndog\nran\n.\n", "small-vocab");
  return v;
}

const WordPieceTokenizer& small_tokenizer() {
  static const WordPieceTokenizer t(small_vocab(), /*lower_case=*/true);
  return t;
}

std::vector<CorpusDocument> read_all(const std::vector<std::string>& paths, CorpusReaderOptions options = {},
                                     CorpusStats* stats = nullptr, const WordPieceTokenizer& tok = small_tokenizer()) {
  CorpusReader reader(paths, tok, options);
  std::vector<CorpusDocument> all, window;
  while (reader.next_window(&window)) {
    EXPECT_LE(window.size(), options.window_documents);
    for (auto& d : window) all.push_back(std::move(d));
  }
  EXPECT_TRUE(window.empty());
  EXPECT_FALSE(reader.next_window(&window));  // stays at the end
  if (stats) *stats = reader.stats();
  return all;
}

std::string error_of(const std::vector<std::string>& paths, CorpusReaderOptions options = {}) {
  try {
    read_all(paths, options);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string jsonl_line(const std::string& text) { return nlohmann::json{{"text", text}}.dump() + "\n"; }

TEST(CorpusReader, TextAndJsonlGiveTheSameDocuments) {
  test::ScratchDir dir("corpus");
  // A BOM, CRLF, blank lines at the start, several blank (and white) lines between
  // documents, a line of control characters only (no token), no final newline.
  test::write_file(dir / "c.txt",
                   "\xEF\xBB\xBF\n\nThe cat sat.\r\nOn the mat.\n\n\n  \t \nA dog ran\n\x01\x02\n\nthe DOG\nzebra");
  test::write_file(dir / "c.jsonl", "\n" + jsonl_line("The cat sat.\r\nOn the mat.\n") + "  \n" +
                                        jsonl_line("\n\nA dog ran\n\x01\x02") + jsonl_line("") +
                                        jsonl_line("the DOG\nzebra"));
  const std::vector<CorpusDocument> expected = {
      {{5, 6, 7, 13}, {8, 5, 9, 13}},
      {{10, 11, 12}},
      {{5, 11}, {1}},
  };
  CorpusStats text_stats, jsonl_stats;
  EXPECT_EQ(read_all({(dir / "c.txt").string()}, {}, &text_stats), expected);
  EXPECT_EQ(read_all({(dir / "c.jsonl").string()}, {}, &jsonl_stats), expected);
  for (const CorpusStats& s : {text_stats, jsonl_stats}) {
    EXPECT_EQ(s.files, 1);
    EXPECT_EQ(s.documents, 3);
    EXPECT_EQ(s.sentences, 5);
    EXPECT_EQ(s.tokens, 4 + 4 + 3 + 2 + 1);
    EXPECT_EQ(s.skipped_lines, 0);
    EXPECT_EQ(s.empty_sentences, 1);
  }
  // Both files in one run: a document never spans two files.
  CorpusStats both;
  auto docs = read_all({(dir / "c.txt").string(), (dir / "c.jsonl").string()}, {}, &both);
  ASSERT_EQ(docs.size(), 6u);
  EXPECT_EQ(std::vector<CorpusDocument>(docs.begin() + 3, docs.end()), expected);
  EXPECT_EQ(both.files, 2);
}

TEST(CorpusReader, BadLinesNameFileAndLine) {
  test::ScratchDir dir("corpus");
  test::write_file(dir / "bad.txt", "the cat\n\nthe \xff\xfe mat\nthe dog\n");
  std::string e = error_of({(dir / "bad.txt").string()});
  EXPECT_NE(e.find("bad.txt:3: invalid UTF-8 at byte 4"), std::string::npos) << e;
  EXPECT_NE(e.find("--on-bad-row skip"), std::string::npos) << e;

  test::write_file(dir / "long.txt", "the cat\n" + std::string(kMaxLineBytes + 1, 'a') + "\n");
  e = error_of({(dir / "long.txt").string()});
  EXPECT_NE(e.find("long.txt:2: line longer than"), std::string::npos) << e;

  const std::vector<std::pair<std::string, std::string>> bad_json = {
      {"[1, 2]", "not a JSON object with a string field \"text\""},
      {"{\"text\": 5}", "not a JSON object with a string field \"text\""},
      {"{\"body\": \"the cat\"}", "not a JSON object with a string field \"text\""},
      {"{\"text\": \"the", "not valid JSON"},
      {"{\"text\": \"the \xff cat\"}", "not valid JSON"},
  };
  for (const auto& [line, what] : bad_json) {
    test::write_file(dir / "bad.jsonl", jsonl_line("the cat") + line + "\n" + jsonl_line("the dog"));
    e = error_of({(dir / "bad.jsonl").string()});
    EXPECT_NE(e.find("bad.jsonl:2: " + what), std::string::npos) << line << " -> " << e;
  }

  try {
    CorpusReader reader({(dir / "bad.txt").string(), (dir / "missing.txt").string()}, small_tokenizer());
    ADD_FAILURE() << "a missing file was accepted";
  } catch (const InputError& ex) {
    EXPECT_NE(std::string(ex.what()).find("missing.txt: cannot open file"), std::string::npos) << ex.what();
  }
}

TEST(CorpusReader, SkipModeSkipsAndCountsBadLines) {
  test::ScratchDir dir("corpus");
  CorpusReaderOptions skip;
  skip.skip_bad_rows = true;
  // Text: the bad line goes, its document stays; a document made only of bad lines goes.
  test::write_file(dir / "bad.txt", "the cat\nthe \xff mat\nthe dog\n\n\xc3\x28\n\na dog\n");
  CorpusStats stats;
  auto docs = read_all({(dir / "bad.txt").string()}, skip, &stats);
  EXPECT_EQ(docs, (std::vector<CorpusDocument>{{{5, 6}, {5, 11}}, {{10, 11}}}));
  EXPECT_EQ(stats.skipped_lines, 2);
  EXPECT_EQ(stats.documents, 2);
  EXPECT_EQ(stats.sentences, 3);
  // JSON lines: a bad line is a whole document.
  test::write_file(dir / "bad.jsonl",
                   jsonl_line("the cat\nthe dog") + "{\"text\": [\"the\"]}\nnot json\n" + jsonl_line("a dog"));
  docs = read_all({(dir / "bad.jsonl").string()}, skip, &stats);
  EXPECT_EQ(docs, (std::vector<CorpusDocument>{{{5, 6}, {5, 11}}, {{10, 11}}}));
  EXPECT_EQ(stats.skipped_lines, 2);
  EXPECT_EQ(stats.documents, 2);
}

TEST(CorpusReader, EmptyCorpusIsAnError) {
  test::ScratchDir dir("corpus");
  test::write_file(dir / "blank.txt", "\n\n  \n\x01\n\n");
  test::write_file(dir / "empty.jsonl", jsonl_line("") + jsonl_line("\n \n") + "\n");
  std::string e = error_of({(dir / "blank.txt").string(), (dir / "empty.jsonl").string()});
  EXPECT_NE(e.find("blank.txt"), std::string::npos) << e;
  EXPECT_NE(e.find("empty.jsonl: the corpus holds no document with a sentence"), std::string::npos) << e;
  // Nothing left after skipping bad lines is empty too.
  test::write_file(dir / "allbad.txt", "\xff\n");
  CorpusReaderOptions skip;
  skip.skip_bad_rows = true;
  e = error_of({(dir / "allbad.txt").string()}, skip);
  EXPECT_NE(e.find("allbad.txt: the corpus holds no document with a sentence"), std::string::npos) << e;
}

TEST(CorpusReader, WindowsBoundTheDocumentsHeld) {
  test::ScratchDir dir("corpus");
  // 13 + 12 documents in two files; document i has i % 3 + 1 sentences.
  std::string a, b;
  for (int i = 0; i < 25; ++i) {
    std::string& out = i < 13 ? a : b;
    for (int s = 0; s <= i % 3; ++s) out += s % 2 ? "the cat\n" : "a dog ran\n";
    out += "\n";
  }
  test::write_file(dir / "a.txt", a);
  test::write_file(dir / "b.txt", b);
  const std::vector<std::string> paths = {(dir / "a.txt").string(), (dir / "b.txt").string()};

  CorpusReaderOptions whole;
  whole.window_documents = 1000;
  auto expected = read_all(paths, whole);
  ASSERT_EQ(expected.size(), 25u);

  CorpusReaderOptions small;
  small.window_documents = 4;
  CorpusReader reader(paths, small_tokenizer(), small);
  std::vector<size_t> sizes;
  std::vector<CorpusDocument> all, window;
  while (reader.next_window(&window)) {
    sizes.push_back(window.size());
    // The reader reads as far as the window needs and no further: the first file ends in
    // the fourth window, the second once the last window looks for more.
    EXPECT_EQ(reader.stats().files, sizes.size() < 4 ? 0 : sizes.size() < 7 ? 1 : 2);
    EXPECT_EQ(reader.stats().documents, static_cast<int64_t>(all.size() + window.size()));
    for (auto& d : window) all.push_back(std::move(d));
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{4, 4, 4, 4, 4, 4, 1}));  // the fourth spans both files
  EXPECT_EQ(all, expected);
  EXPECT_EQ(reader.stats().files, 2);
}

TEST(CorpusReader, PythonDocsCorpus) {
  MTDNN_REQUIRE_DATA();
  const std::string path = (test::data_dir() / "corpus/python-docs.txt").string();
  const Vocab vocab = Vocab::load((test::data_dir() / "vocab/bert-base-uncased-vocab.txt").string());
  const WordPieceTokenizer tok(vocab, true);
  CorpusReaderOptions options;
  options.window_documents = 500;
  CorpusStats stats;
  auto docs = read_all({path}, options, &stats, tok);
  // 1,947 blank-line-separated documents, 16,681 non-blank lines.
  EXPECT_EQ(stats.documents, 1947);
  EXPECT_EQ(docs.size(), 1947u);
  EXPECT_EQ(stats.sentences, 16681);
  EXPECT_EQ(stats.skipped_lines, 0);
  EXPECT_EQ(stats.empty_sentences, 0);
  EXPECT_GT(stats.tokens, stats.sentences * 5);
  // The first sentence, id for id.
  std::vector<int32_t> first;
  tok.encode("These documents are generated from reStructuredText sources by Sphinx, a document processor "
             "specifically written for the Python documentation.",
             &first);
  EXPECT_EQ(docs.front().front(), first);
  EXPECT_EQ(docs.front().size(), 4u);

  // The same text as JSON lines gives the same documents.
  test::ScratchDir dir("corpus");
  {
    std::ifstream in(path, std::ios::binary);
    std::ofstream out(dir / "python-docs.jsonl", std::ios::binary);
    std::string line, text;
    auto flush = [&] {
      if (!text.empty()) out << jsonl_line(text);
      text.clear();
    };
    while (std::getline(in, line)) {
      if (line.empty()) flush();
      else text += line + "\n";
    }
    flush();
  }
  CorpusStats jsonl_stats;
  EXPECT_EQ(read_all({(dir / "python-docs.jsonl").string()}, options, &jsonl_stats, tok), docs);
  EXPECT_EQ(jsonl_stats.tokens, stats.tokens);
}

}  // namespace
}  // namespace mtdnn::preprocess
