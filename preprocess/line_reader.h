// Line-by-line reading of a text file as GLUE, mt-dnn and BERT's corpora write them: a UTF-8
// BOM at the start is dropped, a '\r' before the '\n' is dropped, the last line may lack its
// '\n'. A line longer than a limit is reported and skipped whole, never loaded. The bytes
// read can also be hashed on the way (a corpus file's SHA-256 at no extra pass). Used by
// the TSV reader and the corpus reader.
#pragma once

#include <cstdint>
#include <fstream>
#include <istream>
#include <memory>
#include <string>
#include <string_view>

#include "common/sha256.h"

namespace mtdnn::preprocess {

class LineReader {
 public:
  enum class Status { kOk, kEnd, kTooLong };

  // Opens a file; InputError naming it when it cannot be opened.
  LineReader(const std::string& path, size_t max_line_bytes);
  // Reads from a stream owned by the caller.
  LineReader(std::istream& in, size_t max_line_bytes);

  // The next line (the view stays valid until the next call). kTooLong: the line exceeded
  // the limit and was skipped whole; line() still says which line it was.
  Status next(std::string_view* line);
  int64_t line() const { return line_; }  // 1-based number of the line last returned
  // Also hash every byte read from now on (from the start when called before next()).
  void hash_into(Sha256* hash) { hash_ = hash; }

 private:
  bool fill();  // reads more bytes into buf_; false at end of input

  std::unique_ptr<std::ifstream> owned_;
  std::istream* in_;
  size_t max_line_bytes_;
  Sha256* hash_ = nullptr;
  std::string buf_;
  size_t pos_ = 0;
  std::string line_buf_;
  int64_t line_ = 0;
};

}  // namespace mtdnn::preprocess
