// TsvReader: tab splitting of LineReader's lines; line counting (see tsv_reader.h).
#include "preprocess/tsv_reader.h"

#include <cstring>

#include "common/error.h"

namespace mtdnn::preprocess {

namespace {
constexpr size_t kBlock = 1 << 20;
}

TsvReader::TsvReader(const std::string& path) : lines_(path, kMaxLineBytes), name_(path) {}

TsvReader::TsvReader(std::istream& in, std::string name) : lines_(in, kMaxLineBytes), name_(std::move(name)) {}

TsvReader::Status TsvReader::next(std::vector<std::string_view>* fields) {
  fields->clear();
  std::string_view rest;
  const Status status = lines_.next(&rest);
  if (status != Status::kOk) return status;
  for (;;) {
    const size_t tab = rest.find('\t');
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
