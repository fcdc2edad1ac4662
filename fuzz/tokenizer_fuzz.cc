// libFuzzer target for the WordPiece tokenizer: arbitrary bytes encoded as one text and
// as a pair laid out with longest-first truncation (uncased and cased), and read as a
// vocabulary that, when valid, tokenizes the same bytes. Only InputError (invalid UTF-8,
// a bad vocabulary) may escape; every id must be in the vocabulary and every layout fit.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "preprocess/pair_truncation.h"
#include "preprocess/vocab.h"
#include "preprocess/wordpiece_tokenizer.h"

using namespace mtdnn;
using namespace mtdnn::preprocess;

namespace {

// Word starts and continuations of several byte lengths, a CJK ideograph, a kept
// combining mark (U+302E, ccc 224) and an Mn one, so every path of encode() matches
// something.
const char kVocab[] =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\nab\n##a\n##b\n##ab\nthe\n##s\n.\n,\n[\n]\n"
    "caf\n##é\né\ne\n中\n##中\n\xe3\x80\xae\n##\xe3\x80\xae\n\xcc\x81\n##\xcc\x81\n##\nx\n##x\n";

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "tokenizer_fuzz: %s\n", what);
    std::abort();
  }
}

void encode_checked(const WordPieceTokenizer& tokenizer, const Vocab& vocab, std::string_view text,
                    std::vector<int32_t>* ids) {
  ids->clear();
  tokenizer.encode(text, ids);
  for (int32_t id : *ids) check(id >= 0 && id < vocab.size(), "id outside the vocabulary");
}

void layout_checked(const Vocab& vocab, const std::vector<int32_t>& a, const std::vector<int32_t>* b,
                    size_t max_len) {
  std::vector<int32_t> ids, types;
  assemble_bert_input(a, b, max_len, vocab.cls_id(), vocab.sep_id(), &ids, &types);
  check(ids.size() <= max_len, "layout longer than max_len");
  check(ids.size() == types.size(), "ids and type ids differ in length");
  check(ids.front() == vocab.cls_id() && ids.back() == vocab.sep_id(), "layout ends");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Vocab vocab = Vocab::parse(kVocab, "fuzz-vocab");
  static const WordPieceTokenizer uncased(vocab, true);
  static const WordPieceTokenizer cased(vocab, false);
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t max_len = 3 + (size ? data[0] % 40 : 0);
  const size_t tab = input.find('\t');
  const std::string_view text_a = input.substr(0, tab);
  const std::string_view text_b = tab == std::string_view::npos ? std::string_view() : input.substr(tab + 1);

  std::vector<int32_t> whole, a, b;
  for (const WordPieceTokenizer* tokenizer : {&uncased, &cased}) {
    try {
      encode_checked(*tokenizer, vocab, input, &whole);
      encode_checked(*tokenizer, vocab, text_a, &a);
      encode_checked(*tokenizer, vocab, text_b, &b);
    } catch (const InputError&) {
      continue;
    }
    layout_checked(vocab, whole, nullptr, max_len);
    layout_checked(vocab, a, &b, max_len);
  }

  try {
    Vocab own = Vocab::parse(input, "fuzz-input");
    WordPieceTokenizer tokenizer(own, true);
    encode_checked(tokenizer, own, input, &whole);
  } catch (const InputError&) {
  }
  return 0;
}
