// How many word pieces of each sequence survive truncation to a length budget, the way
// Hugging Face's Rust (fast) tokenizer truncates with strategy longest_first. Used by
// the featurizer of mtdnn-preprocess and by mtdnn-bench-tokenizer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mtdnn::preprocess {

// Special tokens a BERT input adds: [CLS] A [SEP] for one sequence, [CLS] A [SEP] B [SEP]
// for a pair. The budget for word pieces is max_len minus these.
constexpr size_t kSingleSpecialTokens = 2;
constexpr size_t kPairSpecialTokens = 3;

struct PairKeep {
  size_t a;  // word pieces of A kept (its first a)
  size_t b;  // word pieces of B kept
};

// Longest-first truncation of a pair, as tokenizers/src/utils/truncation.rs does it:
//   - if len_a + len_b <= budget, both are kept whole;
//   - otherwise, with s the shorter and l the longer length: if s <= budget - s, s is
//     kept whole and l gets budget - s;
//   - otherwise both are cut to halves: the shorter keeps budget / 2 and the longer
//     budget / 2 + budget % 2; when the lengths are equal, B counts as the longer one.
// So 10+10 into 15 keeps 7 of A and 8 of B (Python's slow tokenizer, which removes one
// piece at a time from the longer sequence, A on ties, keeps 8 and 7). mt-dnn uses the
// fast tokenizer, so this follows it. A budget of 0 keeps nothing.
PairKeep truncate_pair_longest_first(size_t len_a, size_t len_b, size_t budget);

// One sequence: its first min(len, budget) pieces.
inline size_t truncate_single(size_t len, size_t budget) { return len < budget ? len : budget; }

// The model input of BertTokenizerFast(max_length=max_len, truncation=True): replaces
// `ids` with [CLS] A [SEP] (B [SEP] when `b` is given) after truncation, and `type_ids`
// with 0 for [CLS] A [SEP] and 1 for B [SEP]. max_len must leave room for the special
// tokens (throws InputError otherwise).
void assemble_bert_input(const std::vector<int32_t>& a, const std::vector<int32_t>* b,
                         size_t max_len, int32_t cls_id, int32_t sep_id,
                         std::vector<int32_t>* ids, std::vector<int32_t>* type_ids);

}  // namespace mtdnn::preprocess
