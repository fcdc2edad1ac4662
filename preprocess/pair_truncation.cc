// Longest-first pair truncation, step for step as Hugging Face's Rust tokenizer
// (see pair_truncation.h).
#include "preprocess/pair_truncation.h"

#include <algorithm>
#include <utility>

#include "common/error.h"

namespace mtdnn::preprocess {

PairKeep truncate_pair_longest_first(size_t len_a, size_t len_b, size_t budget) {
  if (len_a + len_b <= budget) return {len_a, len_b};
  // n1 is the shorter length; on equal lengths A counts as the shorter.
  const bool swapped = len_a > len_b;
  size_t n1 = swapped ? len_b : len_a;
  size_t n2 = swapped ? len_a : len_b;
  // The longer keeps what the shorter leaves, but never less than the shorter has.
  n2 = n1 > budget ? n1 : std::max(n1, budget - n1);
  if (n1 + n2 > budget) {  // both are too long for half the budget: halve it
    n1 = budget / 2;
    n2 = n1 + budget % 2;
  }
  if (swapped) std::swap(n1, n2);
  return {std::min(len_a, n1), std::min(len_b, n2)};
}

void assemble_bert_input(const std::vector<int32_t>& a, const std::vector<int32_t>* b,
                         size_t max_len, int32_t cls_id, int32_t sep_id,
                         std::vector<int32_t>* ids, std::vector<int32_t>* type_ids) {
  const size_t specials = b ? kPairSpecialTokens : kSingleSpecialTokens;
  MTDNN_INPUT_CHECK(max_len >= specials,
                    "max length {} leaves no room for the {} special tokens of a {}", max_len,
                    specials, b ? "pair" : "single sequence");
  const size_t budget = max_len - specials;
  PairKeep keep = b ? truncate_pair_longest_first(a.size(), b->size(), budget)
                    : PairKeep{truncate_single(a.size(), budget), 0};
  ids->clear();
  ids->reserve(keep.a + keep.b + specials);
  ids->push_back(cls_id);
  ids->insert(ids->end(), a.begin(), a.begin() + static_cast<std::ptrdiff_t>(keep.a));
  ids->push_back(sep_id);
  type_ids->assign(ids->size(), 0);
  if (b) {
    ids->insert(ids->end(), b->begin(), b->begin() + static_cast<std::ptrdiff_t>(keep.b));
    ids->push_back(sep_id);
    type_ids->resize(ids->size(), 1);
  }
}

}  // namespace mtdnn::preprocess
