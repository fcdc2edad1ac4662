// Loading and validating a WordPiece vocab.txt (see vocab.h).
#include "preprocess/vocab.h"

#include <utf8proc.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "common/error.h"
#include "common/sha256.h"

namespace mtdnn::preprocess {

namespace {

// Byte offset of the first invalid UTF-8 sequence in `s`, or npos when valid.
size_t invalid_utf8_offset(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                                          static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
    if (n <= 0) return i;
    i += static_cast<size_t>(n);
  }
  return std::string_view::npos;
}

}  // namespace

Vocab Vocab::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MTDNN_INPUT_CHECK(in.good(), "{}: cannot open the vocabulary file", path);
  std::ostringstream buf;
  buf << in.rdbuf();
  MTDNN_INPUT_CHECK(!in.bad(), "{}: read error", path);
  return parse(buf.str(), path);
}

Vocab Vocab::parse(std::string_view content, const std::string& origin) {
  Vocab v;
  v.sha256_ = sha256_hex(content);

  size_t lines = 0;
  for (size_t pos = 0; pos < content.size(); ++lines) {
    size_t end = content.find('\n', pos);
    if (end == std::string_view::npos) end = content.size();
    pos = end + 1;
  }
  v.tokens_.reserve(lines);
  // Load factor at most 1/2 keeps probe sequences short.
  size_t capacity = 16;
  while (capacity < 2 * lines) capacity *= 2;
  v.slots_.assign(capacity, -1);

  size_t pos = 0;
  for (size_t line = 1; pos < content.size(); ++line) {
    size_t end = content.find('\n', pos);
    if (end == std::string_view::npos) end = content.size();
    std::string_view token = content.substr(pos, end - pos);
    pos = end + 1;

    MTDNN_INPUT_CHECK(!token.empty(), "{}:{}: empty line (every line must hold one token)",
                      origin, line);
    MTDNN_INPUT_CHECK(token.back() != '\r',
                      "{}:{}: line ends with a carriage return; vocab files are LF-terminated",
                      origin, line);
    size_t bad = invalid_utf8_offset(token);
    MTDNN_INPUT_CHECK(bad == std::string_view::npos,
                      "{}:{}: invalid UTF-8 at byte {} of the token", origin, line, bad);
    size_t slot = v.find_slot(token);
    MTDNN_INPUT_CHECK(v.slots_[slot] < 0, "{}:{}: duplicate token '{}' (first on line {})",
                      origin, line, token, v.slots_[slot] + 1);
    v.slots_[slot] = static_cast<int32_t>(v.tokens_.size());
    v.tokens_.emplace_back(token);
  }

  auto required = [&](const char* name) {
    int32_t id = v.id(name);
    MTDNN_INPUT_CHECK(id >= 0, "{}:{}: end of file and no {} token (not a BERT vocab.txt?)",
                      origin, v.tokens_.size(), name);
    return id;
  };
  v.cls_id_ = required("[CLS]");
  v.sep_id_ = required("[SEP]");
  v.unk_id_ = required("[UNK]");
  v.pad_id_ = required("[PAD]");
  v.mask_id_ = v.id("[MASK]");
  return v;
}

size_t Vocab::find_slot(std::string_view token) const {
  const size_t mask = slots_.size() - 1;
  size_t slot = std::hash<std::string_view>()(token) & mask;
  while (slots_[slot] >= 0 && tokens_[static_cast<size_t>(slots_[slot])] != token) {
    slot = (slot + 1) & mask;
  }
  return slot;
}

int32_t Vocab::id(std::string_view token) const { return slots_[find_slot(token)]; }

const std::string& Vocab::token(int32_t id) const {
  MTDNN_CHECK(id >= 0 && id < size(), "token id {} out of range [0, {})", id, size());
  return tokens_[static_cast<size_t>(id)];
}

}  // namespace mtdnn::preprocess
