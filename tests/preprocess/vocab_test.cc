// Tests of Vocab: ids and special tokens, every rejected vocabulary with the message it
// gets, and the real bert-base vocabularies (ids as listed in shared/data/PROVENANCE.md).
#include "preprocess/vocab.h"

#include <gtest/gtest.h>

#include <string>

#include "common/error.h"
#include "common/sha256.h"
#include "test_support.h"

namespace mtdnn::preprocess {
namespace {

const char kMinimal[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n##s\n";

// The message of the InputError that parsing `content` throws ("" when none).
std::string parse_error(const std::string& content) {
  try {
    Vocab::parse(content, "v.txt");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Vocab, IdsAreLineNumbers) {
  Vocab v = Vocab::parse(kMinimal, "v.txt");
  EXPECT_EQ(v.size(), 7);
  EXPECT_EQ(v.pad_id(), 0);
  EXPECT_EQ(v.unk_id(), 1);
  EXPECT_EQ(v.cls_id(), 2);
  EXPECT_EQ(v.sep_id(), 3);
  EXPECT_EQ(v.mask_id(), 4);
  EXPECT_EQ(v.id("the"), 5);
  EXPECT_EQ(v.id("##s"), 6);
  EXPECT_EQ(v.id("s"), -1);
  EXPECT_EQ(v.id(""), -1);
  EXPECT_EQ(v.token(6), "##s");
  EXPECT_THROW(v.token(7), Error);
  EXPECT_THROW(v.token(-1), Error);
  EXPECT_EQ(v.sha256(), sha256_hex(kMinimal));
}

TEST(Vocab, FinalNewlineIsOptionalAndMaskToo) {
  Vocab v = Vocab::parse("[CLS]\n[SEP]\n[UNK]\n[PAD]", "v.txt");
  EXPECT_EQ(v.size(), 4);
  EXPECT_EQ(v.pad_id(), 3);
  EXPECT_EQ(v.mask_id(), -1);
}

TEST(Vocab, CopiesKeepWorkingLookups) {
  std::vector<Vocab> copies;
  {
    Vocab v = Vocab::parse(kMinimal, "v.txt");
    copies.push_back(v);
    copies.push_back(std::move(v));
  }
  for (const Vocab& v : copies) EXPECT_EQ(v.id("the"), 5);
}

TEST(Vocab, RejectsDuplicateToken) {
  EXPECT_EQ(parse_error(std::string(kMinimal) + "the\n"),
            "v.txt:8: duplicate token 'the' (first on line 6)");
}

TEST(Vocab, RejectsEmptyLine) {
  EXPECT_EQ(parse_error("[PAD]\n\n[UNK]\n"), "v.txt:2: empty line (every line must hold one token)");
  EXPECT_EQ(parse_error(std::string(kMinimal) + "\n"),
            "v.txt:8: empty line (every line must hold one token)");
}

TEST(Vocab, RejectsMissingSpecialTokens) {
  for (const char* name : {"[CLS]", "[SEP]", "[UNK]", "[PAD]"}) {
    std::string content = kMinimal;
    content.replace(content.find(name), std::string(name).size(), "other");
    EXPECT_EQ(parse_error(content),
              fmt::format("v.txt:7: end of file and no {} token (not a BERT vocab.txt?)", name));
  }
  EXPECT_EQ(parse_error(""), "v.txt:0: end of file and no [CLS] token (not a BERT vocab.txt?)");
}

TEST(Vocab, RejectsInvalidUtf8) {
  EXPECT_EQ(parse_error(std::string(kMinimal) + "ok\nab\xc3(\n"),
            "v.txt:9: invalid UTF-8 at byte 2 of the token");
  EXPECT_EQ(parse_error(std::string(kMinimal) + "\xed\xa0\x80\n"),
            "v.txt:8: invalid UTF-8 at byte 0 of the token");
}

TEST(Vocab, RejectsCarriageReturns) {
  EXPECT_EQ(parse_error("[PAD]\r\n[UNK]\r\n"),
            "v.txt:1: line ends with a carriage return; vocab files are LF-terminated");
}

TEST(Vocab, LoadNamesAMissingFile) {
  test::ScratchDir dir("vocab");
  try {
    Vocab::load((dir / "missing.txt").string());
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.txt: cannot open"), std::string::npos) << e.what();
  }
}

TEST(Vocab, RealBertVocabularies) {
  MTDNN_REQUIRE_DATA();
  Vocab uncased = Vocab::load((test::data_dir() / "vocab/bert-base-uncased-vocab.txt").string());
  EXPECT_EQ(uncased.size(), 30522);
  EXPECT_EQ(uncased.pad_id(), 0);
  EXPECT_EQ(uncased.unk_id(), 100);
  EXPECT_EQ(uncased.cls_id(), 101);
  EXPECT_EQ(uncased.sep_id(), 102);
  EXPECT_EQ(uncased.mask_id(), 103);
  EXPECT_EQ(uncased.id("!"), 999);
  EXPECT_EQ(uncased.id("the"), 1996);
  EXPECT_EQ(uncased.token(30521), "##～");
  EXPECT_EQ(uncased.sha256(), "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3");

  Vocab cased = Vocab::load((test::data_dir() / "vocab/bert-base-cased-vocab.txt").string());
  EXPECT_EQ(cased.size(), 28996);
  EXPECT_EQ(cased.unk_id(), 100);
  EXPECT_EQ(cased.mask_id(), 103);
  EXPECT_EQ(cased.id("!"), 106);
  EXPECT_EQ(cased.sha256(), "eeaa9875b23b04b4c54ef759d03db9d1ba1554838f8fb26c5d96fa551df93d02");
}

}  // namespace
}  // namespace mtdnn::preprocess
