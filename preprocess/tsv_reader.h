// Line-by-line reader of tab-separated text, as GLUE and mt-dnn write it: no quoting
// (a '"' is an ordinary character), a UTF-8 BOM at the start is dropped, a '\r' before
// the '\n' is dropped, the last line may lack its '\n'. Lines longer than a limit are
// reported, not loaded. Used by the GLUE and canonical row sources and the TSV fuzzer.
#pragma once

#include <cstdint>
#include <fstream>
#include <istream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mtdnn::preprocess {

inline constexpr size_t kMaxLineBytes = 1 << 20;  // no sane corpus line is longer than 1 MiB

class TsvReader {
 public:
  enum class Status { kOk, kEnd, kTooLong };

  // Opens a file; InputError naming it when it cannot be opened.
  explicit TsvReader(const std::string& path);
  // Reads from a stream owned by the caller; `name` is used in messages.
  TsvReader(std::istream& in, std::string name);

  // Next line split at tabs (views stay valid until the next call). kTooLong: the line
  // exceeded kMaxLineBytes and was skipped whole; line() still says which line it was.
  Status next(std::vector<std::string_view>* fields);
  int64_t line() const { return line_; }  // 1-based number of the line last returned
  const std::string& name() const { return name_; }

 private:
  bool fill();  // reads more bytes into buf_; false at end of input

  std::unique_ptr<std::ifstream> owned_;
  std::istream* in_;
  std::string name_;
  std::string buf_;
  size_t pos_ = 0;
  std::string line_buf_;
  int64_t line_ = 0;
  bool first_ = true;
};

// Number of lines in a file (a last line without '\n' counts), read in blocks.
int64_t count_lines(const std::string& path);

}  // namespace mtdnn::preprocess
