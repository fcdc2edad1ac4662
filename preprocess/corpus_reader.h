// Reader of a pretraining text corpus: one or more files, each either
//   - BERT's pretraining text format (UTF-8, one sentence per line, a blank line between
//     documents), or
//   - JSON lines (a name ending in ".jsonl"): one object per line, one document each, whose
//     string field "text" holds the document, one sentence per line of text.
// Every sentence is tokenized to WordPiece ids. Documents are handed out in windows of at
// most a fixed number of documents, so that memory stays flat however large the corpus;
// pretrain_instances.h turns each window into BERT's sentence-pair instances.
// See docs/pretraining-corpus.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "preprocess/tsv_reader.h"  // kMaxLineBytes
#include "preprocess/line_reader.h"
#include "preprocess/wordpiece_tokenizer.h"

namespace mtdnn::preprocess {

// A document: its sentences, each the WordPiece ids of one line (never empty).
using CorpusSentence = std::vector<int32_t>;
using CorpusDocument = std::vector<CorpusSentence>;

struct CorpusReaderOptions {
  size_t window_documents = 10000;  // documents per window, >= 1
  bool skip_bad_rows = false;       // --on-bad-row skip: skip (and count) bad lines
};

struct CorpusStats {
  int64_t files = 0;            // files finished
  int64_t documents = 0;        // documents handed out (each has >= 1 sentence)
  int64_t sentences = 0;        // in those documents
  int64_t tokens = 0;           // in those sentences
  int64_t skipped_lines = 0;    // bad lines skipped (text: a line; JSONL: a document)
  int64_t empty_sentences = 0;  // non-blank lines that gave no token (dropped, as BERT does)
};

class CorpusReader {
 public:
  // Checks that every file can be opened (InputError naming it otherwise); reads nothing yet.
  // `tokenizer` must outlive the reader.
  CorpusReader(std::vector<std::string> paths, const WordPieceTokenizer& tokenizer,
               CorpusReaderOptions options = {});
  ~CorpusReader();
  CorpusReader(const CorpusReader&) = delete;
  CorpusReader& operator=(const CorpusReader&) = delete;

  // Replaces `window`'s contents with the next documents, at most window_documents of them,
  // in corpus order (a window may span files; a document never does). Returns false, with
  // `window` empty, once every document has been handed out.
  // Throws InputError "file:line: ..." for a bad line unless skip_bad_rows: text format,
  // invalid UTF-8 or a line over kMaxLineBytes; JSONL, a line that is not a JSON object with
  // a string field "text" (invalid UTF-8 included) or over kMaxJsonlLineBytes. Throws
  // InputError naming the files when the corpus holds no document with a sentence.
  bool next_window(std::vector<CorpusDocument>* window);

  const CorpusStats& stats() const { return stats_; }
  // Lower-case hex SHA-256 of each file read to its end, in order (computed while reading).
  const std::vector<std::string>& file_sha256() const { return file_sha256_; }

 private:
  bool next_document(CorpusDocument* doc);  // false at the end of the last file
  bool open_next_file();
  void bad_line(const std::string& what);   // throws, or counts the skip
  // Appends the ids of one line of text to `doc` unless it is blank or gives no token.
  // Returns what is wrong with the line (empty when nothing is).
  std::string add_sentence(std::string_view text, CorpusDocument* doc);

  std::vector<std::string> paths_;
  const WordPieceTokenizer& tokenizer_;
  CorpusReaderOptions options_;
  CorpusStats stats_;
  std::vector<std::string> file_sha256_;
  size_t next_file_ = 0;
  bool jsonl_ = false;
  std::unique_ptr<LineReader> reader_;  // the file being read; null between files
  std::unique_ptr<Sha256> hash_;        // of the file being read
  bool done_ = false;
};

// Longest JSON line (one document) read; longer ones are bad lines.
inline constexpr size_t kMaxJsonlLineBytes = size_t{64} << 20;

// Whether `path` is read as JSON lines (its name ends in ".jsonl").
bool is_jsonl_path(const std::string& path);

}  // namespace mtdnn::preprocess
