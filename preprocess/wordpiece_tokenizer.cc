// BERT WordPiece tokenization (see wordpiece_tokenizer.h for the exact rules).
// One pass over the bytes: ASCII goes through 128-entry tables; only non-ASCII code
// points reach utf8proc. Words are built in a fixed buffer on the stack and looked up
// with prefix hashes computed once per position, so encoding allocates nothing but the
// growth of the caller's id vector.
#include "preprocess/wordpiece_tokenizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstring>

#include "common/error.h"

namespace mtdnn::preprocess {

namespace {

enum AsciiKind : uint8_t { kWordChar, kBoundary, kDropped, kPunct };

constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
// A character is at most 4 UTF-8 bytes; a word past kMaxCharsPerWord is not stored.
constexpr size_t kMaxWordBytes = 4 * WordPieceTokenizer::kMaxCharsPerWord;

inline uint64_t fnv_step(uint64_t h, char byte) {
  return (h ^ static_cast<unsigned char>(byte)) * kFnvPrime;
}
// Fibonacci multiply: the table index takes the well-mixed top bits.
inline uint64_t mix(uint64_t h) { return h * 0x9E3779B97F4A7C15ULL; }

inline bool is_continuation_byte(char b) { return (static_cast<unsigned char>(b) & 0xC0) == 0x80; }

// BERT's "Chinese character" rule: these CJK ideograph blocks, as the Rust tokenizer
// lists them (its extension-E start is 0x2B920, not Python BERT's 0x2B820).
bool is_cjk_ideograph(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool is_separator(int category) {
  return category == UTF8PROC_CATEGORY_ZS || category == UTF8PROC_CATEGORY_ZL ||
         category == UTF8PROC_CATEGORY_ZP;
}

bool is_punctuation(int category) {
  return category >= UTF8PROC_CATEGORY_PC && category <= UTF8PROC_CATEGORY_PO;
}

}  // namespace

// The word being built. In lower-case mode it also tracks the trailing run of kept
// combining marks (canonical combining class != 0) so that they can be put in NFD's
// canonical order: Hugging Face decomposes the whole text, marks included, before
// dropping Mn, so the surviving non-Mn marks end up sorted by class.
struct WordPieceTokenizer::Word {
  char bytes[kMaxWordBytes];
  size_t size = 0;
  int chars = 0;  // kMaxCharsPerWord + 1 means "too long": bytes are no longer stored
  int run = 0;
  uint16_t run_offset[kMaxCharsPerWord];
  uint8_t run_class[kMaxCharsPerWord];

  void append_ascii(char c) {
    run = 0;
    if (chars < kMaxCharsPerWord) {
      bytes[size++] = c;
      ++chars;
    } else {
      chars = kMaxCharsPerWord + 1;
    }
  }

  // Appends `cp` (its combining class is `ccc`), moving it before earlier marks of the
  // current run with a higher class.
  void append(uint32_t cp, int ccc) {
    if (chars >= kMaxCharsPerWord) {
      chars = kMaxCharsPerWord + 1;
      return;
    }
    utf8proc_uint8_t enc[4];
    size_t n = static_cast<size_t>(utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), enc));
    ++chars;
    if (ccc == 0) {
      run = 0;
      std::memcpy(bytes + size, enc, n);
      size += n;
      return;
    }
    int at = run;
    while (at > 0 && run_class[at - 1] > ccc) --at;
    size_t offset = at == run ? size : run_offset[at];
    std::memmove(bytes + offset + n, bytes + offset, size - offset);
    std::memcpy(bytes + offset, enc, n);
    size += n;
    for (int j = run; j > at; --j) {
      run_offset[j] = static_cast<uint16_t>(run_offset[j - 1] + n);
      run_class[j] = run_class[j - 1];
    }
    run_offset[at] = static_cast<uint16_t>(offset);
    run_class[at] = static_cast<uint8_t>(ccc);
    ++run;
  }
};

WordPieceTokenizer::WordPieceTokenizer(const Vocab& vocab, bool lower_case)
    : lower_case_(lower_case), unk_id_(vocab.unk_id()) {
  std::vector<std::pair<std::string_view, int32_t>> starts, continuations;
  size_t total = 0;
  for (int32_t id = 0; id < vocab.size(); ++id) total += vocab.token(id).size();
  keys_.reserve(total);
  for (int32_t id = 0; id < vocab.size(); ++id) {
    const std::string& token = vocab.token(id);
    bool continuation = token.size() > 2 && token[0] == '#' && token[1] == '#';
    std::string_view key = continuation ? std::string_view(token).substr(2) : token;
    (continuation ? continuations : starts).emplace_back(key, id);
  }
  build_table(starts, &word_start_);
  build_table(continuations, &continuation_);

  for (const char* name : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
    int32_t id = vocab.id(name);
    if (id >= 0) specials_.push_back({name, id});
  }

  for (int c = 0; c < 128; ++c) {
    AsciiKind kind = kWordChar;
    if (c == '\t' || c == '\n' || c == '\r' || c == ' ') {
      kind = kBoundary;
    } else if (c < 32 || c == 127) {
      kind = kDropped;  // NUL and the other C0 controls, DEL: category Cc
    } else if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
               (c >= 123 && c <= 126)) {
      kind = kPunct;
    }
    ascii_kind_[c] = kind;
    ascii_fold_[c] = static_cast<char>(lower_case && c >= 'A' && c <= 'Z' ? c + 32 : c);
    int32_t id = kind == kPunct ? vocab.id(std::string(1, static_cast<char>(c))) : -1;
    ascii_word_id_[c] = id >= 0 ? id : unk_id_;
  }
}

void WordPieceTokenizer::build_table(
    const std::vector<std::pair<std::string_view, int32_t>>& pieces, PieceTable* table) {
  size_t capacity = 16;
  int bits = 4;
  while (capacity < 2 * pieces.size()) {
    capacity *= 2;
    ++bits;
  }
  table->slots.assign(capacity, Slot{0, 0, 0, -1});
  table->shift = 64 - bits;
  for (const auto& [key, id] : pieces) {
    uint64_t h = kFnvBasis;
    for (char c : key) h = fnv_step(h, c);
    uint64_t m = mix(h);
    size_t index = static_cast<size_t>(m >> table->shift);
    while (table->slots[index].id >= 0) index = (index + 1) & (capacity - 1);
    table->slots[index] = Slot{static_cast<uint32_t>(m), static_cast<uint32_t>(keys_.size()),
                               static_cast<uint32_t>(key.size()), id};
    keys_.append(key);
    table->max_length = std::max(table->max_length, key.size());
  }
}

int32_t WordPieceTokenizer::find(const PieceTable& table, const char* key, size_t length,
                                 uint64_t hash) const {
  uint64_t m = mix(hash);
  const size_t mask = table.slots.size() - 1;
  const uint32_t check = static_cast<uint32_t>(m);
  for (size_t index = static_cast<size_t>(m >> table.shift);; index = (index + 1) & mask) {
    const Slot& slot = table.slots[index];
    if (slot.id < 0) return -1;
    if (slot.check == check && slot.length == length &&
        std::memcmp(keys_.data() + slot.offset, key, length) == 0) {
      return slot.id;
    }
  }
}

void WordPieceTokenizer::word_pieces(const char* word, size_t length,
                                     std::vector<int32_t>* ids) const {
  const size_t mark = ids->size();
  const PieceTable* table = &word_start_;
  uint64_t hashes[kMaxWordBytes + 1];
  for (size_t start = 0; start < length;) {
    const size_t limit = std::min(length - start, table->max_length);
    uint64_t h = kFnvBasis;
    for (size_t k = 0; k < limit; ++k) hashes[k + 1] = h = fnv_step(h, word[start + k]);
    size_t k = limit;
    int32_t id = -1;
    for (; k > 0; --k) {
      if (start + k < length && is_continuation_byte(word[start + k])) continue;
      id = find(*table, word + start, k, hashes[k]);
      if (id >= 0) break;
    }
    if (id < 0) {  // some position matches nothing: the whole word is [UNK]
      ids->resize(mark);
      ids->push_back(unk_id_);
      return;
    }
    ids->push_back(id);
    start += k;
    table = &continuation_;
  }
}

void WordPieceTokenizer::flush(Word* word, std::vector<int32_t>* ids) const {
  if (word->chars > kMaxCharsPerWord) {
    ids->push_back(unk_id_);
  } else if (word->chars > 0) {
    word_pieces(word->bytes, word->size, ids);
  }
  word->size = 0;
  word->chars = 0;
  word->run = 0;
}

// A code point of the normalized text: splits on whitespace and punctuation.
void WordPieceTokenizer::append_normalized(uint32_t cp, Word* word,
                                           std::vector<int32_t>* ids) const {
  if (cp < 128) {
    switch (ascii_kind_[cp]) {
      case kBoundary:
        flush(word, ids);
        return;
      case kPunct:
        flush(word, ids);
        ids->push_back(ascii_word_id_[cp]);
        return;
      default:  // a control character cannot come out of normalization; kept as HF would
        word->append_ascii(static_cast<char>(cp));
        return;
    }
  }
  const utf8proc_property_t* prop = utf8proc_get_property(static_cast<utf8proc_int32_t>(cp));
  if (is_separator(prop->category)) {
    flush(word, ids);
  } else if (is_punctuation(prop->category)) {
    flush(word, ids);
    word->append(cp, 0);
    flush(word, ids);
  } else {
    word->append(cp, lower_case_ ? prop->combining_class : 0);
  }
}

// A code point of the raw text (non-ASCII): clean, isolate CJK, then (lower-case mode)
// decompose, drop Mn and lower-case.
void WordPieceTokenizer::append_code_point(uint32_t cp, Word* word,
                                           std::vector<int32_t>* ids) const {
  const int category = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  if (cp == 0xFFFD || category == UTF8PROC_CATEGORY_CC || category == UTF8PROC_CATEGORY_CF ||
      category == UTF8PROC_CATEGORY_CO || category == UTF8PROC_CATEGORY_CS) {
    return;
  }
  if (is_separator(category)) {
    flush(word, ids);
    return;
  }
  const bool cjk = is_cjk_ideograph(cp);
  if (cjk) flush(word, ids);
  if (!lower_case_) {
    append_normalized(cp, word, ids);
  } else {
    utf8proc_int32_t decomposed[16];
    int boundclass = UTF8PROC_BOUNDCLASS_START;
    utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), decomposed,
                                                 16, UTF8PROC_DECOMPOSE, &boundclass);
    MTDNN_CHECK(n > 0 && n <= 16, "utf8proc_decompose_char({:#x}) returned {}", cp, n);
    for (utf8proc_ssize_t i = 0; i < n; ++i) {
      const utf8proc_property_t* prop = utf8proc_get_property(decomposed[i]);
      if (prop->category == UTF8PROC_CATEGORY_MN) {
        if (prop->combining_class == 0) word->run = 0;  // a starter, even when dropped
        continue;
      }
      append_normalized(static_cast<uint32_t>(utf8proc_tolower(decomposed[i])), word, ids);
    }
  }
  if (cjk) flush(word, ids);
}

void WordPieceTokenizer::encode(std::string_view text, std::vector<int32_t>* ids) const {
  Word word;
  const char* s = text.data();
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    unsigned char b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      switch (ascii_kind_[b]) {
        case kWordChar:
          do {
            word.append_ascii(ascii_fold_[b]);
          } while (++i < n && (b = static_cast<unsigned char>(s[i])) < 0x80 &&
                   ascii_kind_[b] == kWordChar);
          break;
        case kBoundary:
          flush(&word, ids);
          ++i;
          break;
        case kDropped:
          ++i;
          break;
        case kPunct: {
          flush(&word, ids);
          if (b == '[') {
            auto special = std::find_if(specials_.begin(), specials_.end(), [&](const auto& t) {
              return text.compare(i, t.text.size(), t.text) == 0;
            });
            if (special != specials_.end()) {
              ids->push_back(special->id);
              i += special->text.size();
              break;
            }
          }
          ids->push_back(ascii_word_id_[b]);
          ++i;
          break;
        }
      }
      continue;
    }
    utf8proc_int32_t cp;
    utf8proc_ssize_t len = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s + i),
                                            static_cast<utf8proc_ssize_t>(n - i), &cp);
    MTDNN_INPUT_CHECK(len > 0, "invalid UTF-8 at byte {}", i);
    append_code_point(static_cast<uint32_t>(cp), &word, ids);
    i += static_cast<size_t>(len);
  }
  flush(&word, ids);
}

}  // namespace mtdnn::preprocess
