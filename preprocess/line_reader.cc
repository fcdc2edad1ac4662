// LineReader: buffered line splitting with a line-length limit (see line_reader.h).
#include "preprocess/line_reader.h"

#include <cstring>

#include "common/error.h"

namespace mtdnn::preprocess {

namespace {
constexpr size_t kBlock = 1 << 20;
}

LineReader::LineReader(const std::string& path, size_t max_line_bytes)
    : owned_(std::make_unique<std::ifstream>(path, std::ios::binary)), in_(owned_.get()),
      max_line_bytes_(max_line_bytes) {
  MTDNN_INPUT_CHECK(owned_->good(), "{}: cannot open file", path);
}

LineReader::LineReader(std::istream& in, size_t max_line_bytes) : in_(&in), max_line_bytes_(max_line_bytes) {}

bool LineReader::fill() {
  if (!*in_) return false;
  buf_.erase(0, pos_);
  pos_ = 0;
  const size_t old = buf_.size();
  buf_.resize(old + kBlock);
  in_->read(buf_.data() + old, static_cast<std::streamsize>(kBlock));
  const size_t got = static_cast<size_t>(in_->gcount());
  buf_.resize(old + got);
  if (hash_ && got > 0) hash_->update(buf_.data() + old, got);
  return got > 0;
}

LineReader::Status LineReader::next(std::string_view* line) {
  bool too_long = false;
  line_buf_.clear();
  for (;;) {
    const char* start = buf_.data() + pos_;
    const void* nl = std::memchr(start, '\n', buf_.size() - pos_);
    const size_t chunk = nl ? static_cast<size_t>(static_cast<const char*>(nl) - start) : buf_.size() - pos_;
    if (!too_long) {
      if (line_buf_.size() + chunk > max_line_bytes_) {
        too_long = true;
        line_buf_.clear();
        line_buf_.shrink_to_fit();
      } else {
        line_buf_.append(start, chunk);
      }
    }
    if (nl) {
      pos_ += chunk + 1;
      break;
    }
    pos_ = buf_.size();
    if (!fill()) {
      if (line_buf_.empty() && !too_long) return Status::kEnd;  // no partial last line
      break;
    }
  }
  ++line_;
  if (too_long) return Status::kTooLong;
  std::string_view view(line_buf_);
  if (line_ == 1 && view.substr(0, 3) == "\xEF\xBB\xBF") view.remove_prefix(3);
  if (!view.empty() && view.back() == '\r') view.remove_suffix(1);
  *line = view;
  return Status::kOk;
}

}  // namespace mtdnn::preprocess
