// Line-by-line reader of tab-separated text, as GLUE and mt-dnn write it: no quoting
// (a '"' is an ordinary character); lines as line_reader.h reads them (BOM and '\r'
// dropped, a last line without '\n', lines longer than a limit reported, not loaded).
// Used by the GLUE and canonical row sources and the TSV fuzzer.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "preprocess/line_reader.h"

namespace mtdnn::preprocess {

inline constexpr size_t kMaxLineBytes = 1 << 20;  // no sane corpus line is longer than 1 MiB

class TsvReader {
 public:
  using Status = LineReader::Status;

  // Opens a file; InputError naming it when it cannot be opened.
  explicit TsvReader(const std::string& path);
  // Reads from a stream owned by the caller; `name` is used in messages.
  TsvReader(std::istream& in, std::string name);

  // Next line split at tabs (views stay valid until the next call). kTooLong: the line
  // exceeded kMaxLineBytes and was skipped whole; line() still says which line it was.
  Status next(std::vector<std::string_view>* fields);
  int64_t line() const { return lines_.line(); }  // 1-based number of the line last returned
  const std::string& name() const { return name_; }

 private:
  LineReader lines_;
  std::string name_;
};

// Number of lines in a file (a last line without '\n' counts), read in blocks.
int64_t count_lines(const std::string& path);

}  // namespace mtdnn::preprocess
