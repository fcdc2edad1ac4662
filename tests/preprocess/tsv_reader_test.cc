// TsvReader: plain tab splitting with GLUE's quirks (BOM, quotes, no final newline,
// CRLF) and the line-length limit.
#include <gtest/gtest.h>

#include <sstream>

#include "preprocess/tsv_reader.h"
#include "test_support.h"

namespace mtdnn::preprocess {
namespace {

std::vector<std::vector<std::string>> read_all(const std::string& text, std::vector<int64_t>* lines = nullptr) {
  std::istringstream in(text);
  TsvReader r(in, "mem.tsv");
  std::vector<std::vector<std::string>> out;
  std::vector<std::string_view> fields;
  TsvReader::Status s;
  while ((s = r.next(&fields)) != TsvReader::Status::kEnd) {
    EXPECT_EQ(s, TsvReader::Status::kOk);
    out.emplace_back(fields.begin(), fields.end());
    if (lines) lines->push_back(r.line());
  }
  return out;
}

TEST(TsvReader, BomQuotesCrlfAndMissingFinalNewline) {
  auto rows = read_all("\xEF\xBB\xBFQuality\t#1\r\n1\the said \"no\t\"\nlast\tline");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"Quality", "#1"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"1", "he said \"no", "\""}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"last", "line"}));
}

TEST(TsvReader, EmptyLinesAndTrailingSpacesKept) {
  std::vector<int64_t> lines;
  auto rows = read_all("a \t0\n\nb\t\n", &lines);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][0], "a ");
  EXPECT_EQ(rows[1], (std::vector<std::string>{""}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"b", ""}));
  EXPECT_EQ(lines, (std::vector<int64_t>{1, 2, 3}));
}

TEST(TsvReader, TooLongLineIsReportedAndSkipped) {
  std::string text = "ok\t1\n" + std::string(kMaxLineBytes + 10, 'x') + "\nnext\t2\n";
  std::istringstream in(text);
  TsvReader r(in, "mem.tsv");
  std::vector<std::string_view> f;
  EXPECT_EQ(r.next(&f), TsvReader::Status::kOk);
  EXPECT_EQ(r.next(&f), TsvReader::Status::kTooLong);
  EXPECT_EQ(r.line(), 2);
  ASSERT_EQ(r.next(&f), TsvReader::Status::kOk);
  EXPECT_EQ(f[0], "next");
  EXPECT_EQ(r.line(), 3);
  EXPECT_EQ(r.next(&f), TsvReader::Status::kEnd);
}

TEST(TsvReader, CountLines) {
  test::ScratchDir dir("tsv");
  test::write_file(dir / "a.tsv", "1\n2\n3");
  test::write_file(dir / "b.tsv", "1\n2\n");
  test::write_file(dir / "c.tsv", "");
  EXPECT_EQ(count_lines((dir / "a.tsv").string()), 3);
  EXPECT_EQ(count_lines((dir / "b.tsv").string()), 2);
  EXPECT_EQ(count_lines((dir / "c.tsv").string()), 0);
}

}  // namespace
}  // namespace mtdnn::preprocess
