// CorpusReader: streaming reader of BERT text and JSON-lines corpora (see corpus_reader.h).
#include "preprocess/corpus_reader.h"

#include <cstring>
#include <fstream>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/sha256.h"
#include "preprocess/tsv_reader.h"

namespace mtdnn::preprocess {

namespace {


bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view strip(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace

bool is_jsonl_path(const std::string& path) {
  static constexpr std::string_view kExt = ".jsonl";
  return path.size() >= kExt.size() && path.compare(path.size() - kExt.size(), kExt.size(), kExt) == 0;
}

CorpusReader::CorpusReader(std::vector<std::string> paths, const WordPieceTokenizer& tokenizer,
                           CorpusReaderOptions options)
    : paths_(std::move(paths)), tokenizer_(tokenizer), options_(options) {
  MTDNN_INPUT_CHECK(!paths_.empty(), "no corpus file given");
  MTDNN_INPUT_CHECK(options_.window_documents >= 1, "the corpus window must hold at least one document");
  for (const auto& path : paths_) {
    std::ifstream in(path, std::ios::binary);
    MTDNN_INPUT_CHECK(in.good(), "{}: cannot open file", path);
  }
}

CorpusReader::~CorpusReader() = default;

bool CorpusReader::open_next_file() {
  if (next_file_ == paths_.size()) return false;
  const std::string& path = paths_[next_file_++];
  jsonl_ = is_jsonl_path(path);
  reader_ = std::make_unique<LineReader>(path, jsonl_ ? kMaxJsonlLineBytes : kMaxLineBytes);
  hash_ = std::make_unique<Sha256>();
  reader_->hash_into(hash_.get());
  return true;
}

void CorpusReader::bad_line(const std::string& what) {
  const char* unit = jsonl_ ? "documents" : "lines";
  MTDNN_INPUT_CHECK(options_.skip_bad_rows, "{}:{}: {} (use --on-bad-row skip to skip such {})",
                    paths_[next_file_ - 1], reader_->line(), what, unit);
  ++stats_.skipped_lines;
}

std::string CorpusReader::add_sentence(std::string_view text, CorpusDocument* doc) {
  if (strip(text).empty()) return {};  // byte offsets in messages count from the line's start
  CorpusSentence ids;
  try {
    tokenizer_.encode(text, &ids);
  } catch (const InputError& e) {
    return e.what();
  }
  if (ids.empty()) {
    ++stats_.empty_sentences;
    return {};
  }
  doc->push_back(std::move(ids));
  return {};
}

bool CorpusReader::next_document(CorpusDocument* doc) {
  doc->clear();
  std::string_view line;
  for (;;) {
    if (!reader_ && !open_next_file()) return !doc->empty();
    LineReader::Status status = reader_->next(&line);
    if (status == LineReader::Status::kEnd) {
      file_sha256_.push_back(hash_->hex_digest());
      reader_.reset();
      ++stats_.files;
      if (!doc->empty()) return true;  // the end of a file ends its last document
      continue;
    }
    if (status == LineReader::Status::kTooLong) {
      bad_line(fmt::format("line longer than {} bytes", jsonl_ ? kMaxJsonlLineBytes : kMaxLineBytes));
      continue;
    }
    if (!jsonl_) {
      if (strip(line).empty()) {
        if (!doc->empty()) return true;
        continue;  // blank lines between documents, or at the start
      }
      std::string error = add_sentence(line, doc);
      if (!error.empty()) bad_line(error);
      continue;
    }
    // JSON lines: one document per line, all or nothing.
    if (strip(line).empty()) continue;
    nlohmann::json j;
    std::string error;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      error = fmt::format("not valid JSON: {}", e.what());
    }
    if (error.empty() && !(j.is_object() && j.contains("text") && j["text"].is_string()))
      error = "not a JSON object with a string field \"text\"";
    if (error.empty()) {
      std::string_view text = j["text"].get_ref<const std::string&>();
      while (error.empty() && !text.empty()) {
        size_t nl = text.find('\n');
        error = add_sentence(text.substr(0, nl), doc);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
      }
    }
    if (!error.empty()) {
      doc->clear();
      bad_line(error);
      continue;
    }
    if (!doc->empty()) return true;  // an object whose text has no sentence: skipped
  }
}

bool CorpusReader::next_window(std::vector<CorpusDocument>* window) {
  window->clear();
  if (done_) return false;
  CorpusDocument doc;
  while (window->size() < options_.window_documents && next_document(&doc)) {
    ++stats_.documents;
    stats_.sentences += static_cast<int64_t>(doc.size());
    for (const auto& s : doc) stats_.tokens += static_cast<int64_t>(s.size());
    window->push_back(std::move(doc));
    doc = CorpusDocument();
  }
  if (!window->empty()) return true;
  done_ = true;
  MTDNN_INPUT_CHECK(stats_.documents > 0, "{}: the corpus holds no document with a sentence", join(paths_));
  return false;
}

}  // namespace mtdnn::preprocess
