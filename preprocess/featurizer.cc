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
    : vocab_(vocab), tokenizer_(tokenizer), task_(task), max_seq_len_(max_seq_len), has_labels_(has_labels) {}

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

std::string Featurizer::parse_label(const RawRow& row, size_t candidates, sharding::Example* first,
                                    std::vector<int32_t>* ranking_labels) const {
  const std::string& text = row.label;
  switch (task_.task_type) {
    case TaskType::kClassification: {
      int id = task_.label_id(text);
      if (id >= 0) {
        first->label = id;
        return "";
      }
      if (!task_.labels.empty()) {
        std::string known;
        for (const auto& l : task_.labels) known += (known.empty() ? "'" : ", '") + l + "'";
        return fmt::format("label '{}' is not one of the task's labels ({})", text, known);
      }
      return fmt::format("label '{}' is not an integer in [0, {}) (the task has no 'labels' list)", text,
                         task_.n_class);
    }
    case TaskType::kRegression: {
      char* end = nullptr;
      errno = 0;
      float v = std::strtof(text.c_str(), &end);
      if (text.empty() || *end != '\0' || errno != 0 || !std::isfinite(v))
        return fmt::format("regression score '{}' is not a finite number", text);
      first->score = v;
      return "";
    }
    case TaskType::kRanking: {
      // Either the index of the positive candidate, or one 0/1 flag per candidate.
      ranking_labels->assign(candidates, 0);
      if (text.find(',') == std::string::npos) {
        char* end = nullptr;
        long idx = std::strtol(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0' || idx < 0 || static_cast<size_t>(idx) >= candidates)
          return fmt::format("ranking label '{}' is neither the index of the positive candidate (0..{}) nor "
                             "a comma-separated 0/1 flag per candidate", text, candidates - 1);
        (*ranking_labels)[static_cast<size_t>(idx)] = 1;
        return "";
      }
      std::string_view rest(text);
      size_t i = 0, positives = 0;
      for (;; ++i) {
        size_t comma = rest.find(',');
        std::string_view flag = rest.substr(0, comma);
        if (flag != "0" && flag != "1") return fmt::format("ranking label flag '{}' is not 0 or 1", flag);
        if (i < candidates && flag == "1") (*ranking_labels)[i] = 1;
        positives += flag == "1";
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      if (i + 1 != candidates)
        return fmt::format("ranking label has {} flags for {} candidates", i + 1, candidates);
      if (positives != 1)
        return fmt::format("ranking group has {} positive candidates; exactly one must be positive", positives);
      return "";
    }
  }
  return "unknown task type";
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
  sharding::Example first;
  std::vector<int32_t> ranking_labels;
  size_t candidates = task_.task_type == TaskType::kRanking ? row.hypotheses.size() : 1;
  if (has_labels_) {
    out->error = parse_label(row, candidates, &first, &ranking_labels);
    if (!out->error.empty()) return;
  }
  std::vector<int32_t> a, b;
  out->error = encode("premise", row.premise, &a);
  if (!out->error.empty()) return;

  if (row.hypotheses.empty()) {
    sharding::Example e = layout(a, nullptr, &out->truncated);
    e.uid = row.uid;
    e.label = first.label;
    e.score = first.score;
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
    if (task_.task_type == TaskType::kRanking) {
      e.uid = row.candidate_uids[k];
      if (has_labels_) e.label = ranking_labels[k];
    } else {
      e.uid = row.uid;
      e.label = first.label;
      e.score = first.score;
    }
    out->examples.push_back(std::move(e));
  }
  if (task_.task_type == TaskType::kRanking) out->group_uid = row.uid;
}

}  // namespace mtdnn::preprocess
