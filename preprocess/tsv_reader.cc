// TsvReader: buffered line splitting with a line-length limit (see tsv_reader.h).
#include "preprocess/tsv_reader.h"

#include <cstring>

#include "common/error.h"

namespace mtdnn::preprocess {

namespace {
constexpr size_t kBlock = 1 << 20;
}

TsvReader::TsvReader(const std::string& path)
    : owned_(std::make_unique<std::ifstream>(path, std::ios::binary)), in_(owned_.get()), name_(path) {
  MTDNN_INPUT_CHECK(owned_->good(), "{}: cannot open file", path);
}

TsvReader::TsvReader(std::istream& in, std::string name) : in_(&in), name_(std::move(name)) {}

bool TsvReader::fill() {
  if (!*in_) return false;
  buf_.erase(0, pos_);
  pos_ = 0;
  size_t old = buf_.size();
  buf_.resize(old + kBlock);
  in_->read(buf_.data() + old, static_cast<std::streamsize>(kBlock));
  buf_.resize(old + static_cast<size_t>(in_->gcount()));
  return in_->gcount() > 0;
}

TsvReader::Status TsvReader::next(std::vector<std::string_view>* fields) {
  fields->clear();
  bool too_long = false;
  line_buf_.clear();
  for (;;) {
    const char* start = buf_.data() + pos_;
    const void* nl = std::memchr(start, '\n', buf_.size() - pos_);
    size_t chunk = nl ? static_cast<size_t>(static_cast<const char*>(nl) - start) : buf_.size() - pos_;
    if (!too_long) {
      if (line_buf_.size() + chunk > kMaxLineBytes) {
        too_long = true;
        line_buf_.clear();
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
  if (first_) {
    first_ = false;
    if (line_buf_.compare(0, 3, "\xEF\xBB\xBF") == 0) line_buf_.erase(0, 3);
  }
  if (!line_buf_.empty() && line_buf_.back() == '\r') line_buf_.pop_back();
  std::string_view rest(line_buf_);
  for (;;) {
    size_t tab = rest.find('\t');
    fields->push_back(rest.substr(0, tab));
    if (tab == std::string_view::npos) break;
    rest.remove_prefix(tab + 1);
  }
  return Status::kOk;
}

int64_t count_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MTDNN_INPUT_CHECK(in.good(), "{}: cannot open file", path);
  std::string buf(kBlock, '\0');
  int64_t lines = 0;
  char last = '\n';
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    size_t n = static_cast<size_t>(in.gcount());
    for (const char* p = buf.data(); (p = static_cast<const char*>(std::memchr(p, '\n', buf.data() + n - p)));
         ++p)
      ++lines;
    if (n > 0) last = buf[n - 1];
  }
  return lines + (last != '\n' ? 1 : 0);
}

}  // namespace mtdnn::preprocess
