// Dynamic masked-LM masking (see masking.h).
#include "task_kinds/mask_lm/masking.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/error.h"
#include "schedule/rng.h"

namespace mtdnn::task_kinds {

MaskingVocab masking_vocab(const std::vector<std::string>& tokens, const std::string& origin,
                           const std::vector<std::string>& extra_special) {
  MaskingVocab v;
  v.size = static_cast<int64_t>(tokens.size());
  v.special.assign(tokens.size(), false);
  v.continuation.assign(tokens.size(), false);
  std::vector<bool> extra_found(extra_special.size(), false);
  for (size_t id = 0; id < tokens.size(); ++id) {
    const std::string& t = tokens[id];
    if (t == "[MASK]") v.mask_id = static_cast<int64_t>(id);
    if (t == "[CLS]" || t == "[SEP]" || t == "[PAD]" || t == "[MASK]" || t == "[UNK]") v.special[id] = true;
    for (size_t e = 0; e < extra_special.size(); ++e) {
      if (t == extra_special[e]) v.special[id] = extra_found[e] = true;
    }
    v.continuation[id] = t.compare(0, 2, "##") == 0;
  }
  MTDNN_INPUT_CHECK(v.mask_id >= 0, "vocabulary {} has no [MASK] token, which masked-LM tasks need", origin);
  for (size_t e = 0; e < extra_special.size(); ++e) {
    MTDNN_INPUT_CHECK(extra_found[e], "vocabulary {} has no token '{}' (listed as special)", origin, extra_special[e]);
  }
  return v;
}

MaskedLm mask_tokens(int64_t* ids, size_t length, const MaskingVocab& vocab, const MaskingOptions& options,
                     const MaskingKey& key) {
  MTDNN_INPUT_CHECK(options.mask_prob >= 0.0 && options.mask_prob <= 1.0, "mask probability {} is not in [0, 1]",
                    options.mask_prob);
  MTDNN_INPUT_CHECK(options.max_predictions >= 0, "max predictions per row {} is negative", options.max_predictions);
  MTDNN_CHECK(vocab.mask_id >= 0 && vocab.mask_id < vocab.size &&
                  vocab.special.size() == static_cast<size_t>(vocab.size) &&
                  vocab.continuation.size() == static_cast<size_t>(vocab.size),
              "inconsistent masking vocabulary (size {}, [MASK] {})", vocab.size, vocab.mask_id);

  // Candidate words as position ranges [begin, end); one token each without whole_word.
  std::vector<std::pair<size_t, size_t>> words;
  int64_t n = 0;
  for (size_t i = 0; i < length; ++i) {
    const int64_t id = ids[i];
    MTDNN_INPUT_CHECK(id >= 0 && id < vocab.size, "token id {} at position {} is outside the vocabulary (size {})", id,
                      i, vocab.size);
    if (vocab.special[static_cast<size_t>(id)]) continue;
    ++n;
    if (options.whole_word && vocab.continuation[static_cast<size_t>(id)] && !words.empty() && words.back().second == i) {
      words.back().second = i + 1;
    } else {
      words.emplace_back(i, i + 1);
    }
  }
  if (n == 0 || options.max_predictions == 0) return {};
  const int64_t rounded = std::lround(static_cast<double>(n) * options.mask_prob);
  const size_t to_predict = static_cast<size_t>(std::min(options.max_predictions, std::max<int64_t>(1, rounded)));

  schedule::Rng rng = schedule::Rng::keyed(
      key.seed, {static_cast<uint64_t>(schedule::RngPurpose::kMasking), static_cast<uint64_t>(key.epoch),
                 static_cast<uint64_t>(key.task), static_cast<uint64_t>(key.example)});
  rng.shuffle(words);
  std::vector<std::pair<int64_t, int64_t>> chosen;  // (position, original id)
  for (const auto& [begin, end] : words) {
    if (chosen.size() >= to_predict) break;
    if (chosen.size() + (end - begin) > to_predict) continue;
    for (size_t p = begin; p < end; ++p) {
      chosen.emplace_back(static_cast<int64_t>(p), ids[p]);
      if (rng.uniform() < 0.8) {
        ids[p] = vocab.mask_id;
      } else if (rng.uniform() >= 0.5) {
        ids[p] = static_cast<int64_t>(rng.below(static_cast<uint64_t>(vocab.size)));
      }
    }
  }
  std::sort(chosen.begin(), chosen.end());
  MaskedLm out;
  out.positions.reserve(chosen.size());
  out.labels.reserve(chosen.size());
  for (const auto& [position, label] : chosen) {
    out.positions.push_back(position);
    out.labels.push_back(label);
  }
  return out;
}

}  // namespace mtdnn::task_kinds
