// Dynamic masked-LM masking (BERT's create_masked_lm_predictions, applied at batch time):
// chooses which tokens of one row the model must predict and corrupts them. The batch
// loader calls it for the rows of MaskLM tasks, so every epoch sees a fresh mask. Torch-free.
//
// The mask is a pure function of (seed, epoch, task, example index) and the row: it is
// drawn from Rng::keyed(seed, {kMasking, epoch, task, example}), so any rank, world size,
// processing order or resume gets the same mask.
//
// Rule, for a row of L real tokens ([CLS] A [SEP] B [SEP], no padding):
//   - candidates: the positions whose id is not special; with whole_word, a candidate is a
//     whole word: a start piece and the "##" pieces right after it, masked all or nothing;
//   - n = number of candidate tokens;
//     to_predict = min(max_predictions, max(1, round(n * mask_prob))), rounding half away
//     from zero. BERT uses len(tokens) in place of n, which also counts [CLS] and the [SEP]s
//     (for a 128-token pair: 19.2 -> 19 there, 18.75 -> 19 here);
//   - the candidates are shuffled (Fisher-Yates with the keyed stream) and taken in order;
//     a whole word that would exceed to_predict is skipped, as BERT does (so with
//     whole_word a row may get fewer than to_predict);
//   - each chosen token, in that order: with probability 0.8 it becomes [MASK]; else with
//     probability 0.5 it stays, else it becomes an id uniform in [0, vocab size) (BERT draws
//     from the whole vocabulary, specials included): 80% / 10% unchanged / 10% random.
// A row with no candidate (or max_predictions 0) gets no prediction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mtdnn::task_kinds {

// What masking needs to know about a vocabulary; every vector is indexed by id.
struct MaskingVocab {
  int64_t mask_id = -1;
  int64_t size = 0;                // random replacements are uniform in [0, size)
  std::vector<bool> special;       // never chosen: [CLS] [SEP] [PAD] [MASK] [UNK], and extras
  std::vector<bool> continuation;  // a WordPiece continuation ("##..."), for whole words
};

// Builds the description from a vocabulary's tokens in id order. [CLS], [SEP], [PAD],
// [MASK] and [UNK] are special when present, and so is every token of `extra_special`.
// Throws InputError naming `origin` when [MASK] or an extra special token is missing.
MaskingVocab masking_vocab(const std::vector<std::string>& tokens, const std::string& origin,
                           const std::vector<std::string>& extra_special = {});

struct MaskingOptions {
  double mask_prob = 0.15;       // in [0, 1]
  int64_t max_predictions = 20;  // >= 0
  bool whole_word = false;
};

// The key of one example's mask (see above).
struct MaskingKey {
  uint64_t seed = 0;
  int64_t epoch = 0;
  int64_t task = 0;
  int64_t example = 0;
};

// The predictions of one row: positions ascending, and the original ids there (the labels).
struct MaskedLm {
  std::vector<int64_t> positions;
  std::vector<int64_t> labels;
};

// Masks `ids[0, length)` in place and returns what the model must predict. Throws
// InputError for an id outside [0, vocab.size) or options out of range.
MaskedLm mask_tokens(int64_t* ids, size_t length, const MaskingVocab& vocab, const MaskingOptions& options,
                     const MaskingKey& key);
inline MaskedLm mask_tokens(std::vector<int64_t>& ids, const MaskingVocab& vocab, const MaskingOptions& options,
                            const MaskingKey& key) {
  return mask_tokens(ids.data(), ids.size(), vocab, options, key);
}

}  // namespace mtdnn::task_kinds
