// Featurizer: label parsing, tokenization and pair layout (see featurizer.h).
#include "preprocess/featurizer.h"

#include <utf8proc.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "common/error.h"
#include "preprocess/pair_truncation.h"

namespace mtdnn::preprocess {

bool valid_utf8(std::string_view text) {
  auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(text.size());
  while (left > 0) {
    if (static_cast<unsigned char>(*p) < 0x80) {  // ASCII: the common case
      ++p;
      --left;
      continue;
    }
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n <= 0) return false;
    p += n;
    left -= n;
  }
  return true;
}

Featurizer::Featurizer(const Vocab& vocab, const WordPieceTokenizer& tokenizer, const TaskDef& task,
                       int max_seq_len, bool has_labels)
    : vocab_(vocab), tokenizer_(tokenizer), task_(task), kind_(task_kinds::kind_of(task)), max_seq_len_(max_seq_len), has_labels_(has_labels) {}

std::string Featurizer::encode(const std::string& column, const std::string& text,
                               std::vector<int32_t>* ids) const {
  if (text.empty()) return fmt::format("empty {} text", column);
  try {
    tokenizer_.encode(text, ids);
  } catch (const InputError& e) {
    return fmt::format("{} text: {}", column, e.what());
  }
  return "";
}

sharding::Example Featurizer::layout(const std::vector<int32_t>& a, const std::vector<int32_t>* b,
                                     bool* truncated) const {
  sharding::Example e;
  size_t keep_a = a.size(), keep_b = b ? b->size() : 0;
  if (b) {
    PairKeep kept = truncate_pair_longest_first(a.size(), b->size(),
                                                static_cast<size_t>(max_seq_len_) - kPairSpecialTokens);
    keep_a = kept.a;
    keep_b = kept.b;
  } else {
    keep_a = truncate_single(a.size(), static_cast<size_t>(max_seq_len_) - kSingleSpecialTokens);
  }
  *truncated = *truncated || keep_a < a.size() || (b && keep_b < b->size());
  e.token_ids.reserve(keep_a + keep_b + 3);
  e.token_ids.push_back(vocab_.cls_id());
  e.token_ids.insert(e.token_ids.end(), a.begin(), a.begin() + static_cast<std::ptrdiff_t>(keep_a));
  e.token_ids.push_back(vocab_.sep_id());
  e.type_boundary = static_cast<int32_t>(e.token_ids.size());
  if (b) {
    e.token_ids.insert(e.token_ids.end(), b->begin(), b->begin() + static_cast<std::ptrdiff_t>(keep_b));
    e.token_ids.push_back(vocab_.sep_id());
  }
  return e;
}

void Featurizer::featurize(const RawRow& row, Featurized* out) const {
  *out = Featurized();
  if (!row.error.empty()) {
    out->error = row.error;
    return;
  }
  if (!valid_utf8(row.uid) || !valid_utf8(row.label)) {
    out->error = "invalid UTF-8 in the uid or label column";
    return;
  }
  task_kinds::ParsedLabel label;
  const size_t candidates = kind_.grouped() ? row.hypotheses.size() : 1;
  if (has_labels_) {
    out->error = kind_.parse_label(task_, row.label, candidates, &label);
    if (!out->error.empty()) return;
  }
  std::vector<int32_t> a, b;
  out->error = encode("premise", row.premise, &a);
  if (!out->error.empty()) return;

  if (row.hypotheses.empty()) {
    sharding::Example e = layout(a, nullptr, &out->truncated);
    e.uid = row.uid;
    e.label = label.label;
    e.score = label.score;
    out->examples.push_back(std::move(e));
    return;
  }
  for (size_t k = 0; k < row.hypotheses.size(); ++k) {
    b.clear();
    out->error = encode(row.hypotheses.size() == 1 ? "hypothesis" : fmt::format("hypothesis {}", k + 1),
                        row.hypotheses[k], &b);
    if (!out->error.empty()) {
      out->examples.clear();
      return;
    }
    sharding::Example e = layout(a, &b, &out->truncated);
    if (kind_.grouped()) {
      e.uid = row.candidate_uids[k];
      if (has_labels_) e.label = label.candidate_labels[k];
    } else {
      e.uid = row.uid;
      e.label = label.label;
      e.score = label.score;
    }
    out->examples.push_back(std::move(e));
  }
  if (kind_.grouped()) out->group_uid = row.uid;
}

}  // namespace mtdnn::preprocess
