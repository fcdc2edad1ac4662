// BERT WordPiece tokenization, id for id the same as Hugging Face's fast BertTokenizer
// (tokenizers' BertNormalizer + BertPreTokenizer + WordPiece, special tokens matched in
// the raw text). Used by mtdnn-preprocess to featurize GLUE rows, from many threads at
// once, and checked row by row against Hugging Face by tests/hf/parity.js.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "preprocess/vocab.h"

namespace mtdnn::preprocess {

// What encode() does, in Hugging Face's order:
//   1. The special tokens [PAD] [UNK] [CLS] [SEP] [MASK] (those in the vocabulary) are
//      matched literally in the raw text, case-sensitively, and map to their ids.
//   2. Clean: drop U+0000, U+FFFD and categories Cc, Cf, Co (tab, LF, CR excepted);
//      tab, LF, CR and categories Zs, Zl, Zp become word boundaries.
//   3. CJK ideographs (BERT's code-point ranges) become words of their own.
//   4. lower_case: canonical decomposition (NFD), drop Mn marks, then lower-case.
//      Cased: the text is kept as is. (BertTokenizerFast's strip_accents follows
//      do_lower_case unless set, and mt-dnn never sets it.)
//   5. Every punctuation character (ASCII !-/ :-@ [-` {-~ and categories P*) is a word.
//   6. WordPiece: greedy longest match from the left, continuations looked up with "##";
//      a word of more than 100 characters, or one with no match at some position, is a
//      single [UNK].
// Unicode properties come from utf8proc (Unicode 15). Hugging Face takes categories from
// the unicode_categories crate, whose tables are Unicode 8, so the two disagree on 624
// code points added or re-categorised since (rare scripts; none occurs in GLUE);
// tests/hf/parity.js --sweep checks every code point and lists those.
class WordPieceTokenizer {
 public:
  // Words longer than this many characters (after normalization) become [UNK].
  static constexpr int kMaxCharsPerWord = 100;

  WordPieceTokenizer(const Vocab& vocab, bool lower_case);

  // Appends the word-piece ids of `text` to `ids` (no [CLS]/[SEP] added). Thread-safe:
  // uses no mutable state. Throws InputError "invalid UTF-8 at byte N" (N counted from
  // the start of `text`); `ids` then holds a partial result.
  void encode(std::string_view text, std::vector<int32_t>* ids) const;

  bool lower_case() const { return lower_case_; }
  int32_t unk_id() const { return unk_id_; }

 private:
  // Open-addressing table of vocabulary pieces keyed by their bytes (continuation
  // pieces without the "##"), probed with an FNV-1a hash computed incrementally over a
  // word so that every prefix's hash comes from one pass.
  struct Slot {
    uint32_t check;   // bits of the hash not used for the index; 0 with id -1 = empty
    uint32_t offset;  // of the key in keys_
    uint32_t length;  // of the key, bytes
    int32_t id;       // -1 = empty
  };
  struct PieceTable {
    std::vector<Slot> slots;  // power-of-two size, at most half full
    int shift = 64;           // index = mixed hash >> shift
    size_t max_length = 0;    // longest key, bytes: longer prefixes need no probe
  };
  struct SpecialToken {
    std::string text;
    int32_t id;
  };
  struct Word;

  void build_table(const std::vector<std::pair<std::string_view, int32_t>>& pieces,
                   PieceTable* table);
  int32_t find(const PieceTable& table, const char* key, size_t length, uint64_t hash) const;
  void append_code_point(uint32_t cp, Word* word, std::vector<int32_t>* ids) const;
  void append_normalized(uint32_t cp, Word* word, std::vector<int32_t>* ids) const;
  void flush(Word* word, std::vector<int32_t>* ids) const;
  void word_pieces(const char* word, size_t length, std::vector<int32_t>* ids) const;

  bool lower_case_;
  int32_t unk_id_;
  std::string keys_;  // all table keys, concatenated
  PieceTable word_start_;
  PieceTable continuation_;
  std::vector<SpecialToken> specials_;
  // Per ASCII byte: its kind (word character, boundary, dropped, punctuation), its
  // folded form (lower-cased when lower_case_), and, for punctuation, its id as a word.
  uint8_t ascii_kind_[128];
  char ascii_fold_[128];
  int32_t ascii_word_id_[128];
};

}  // namespace mtdnn::preprocess
