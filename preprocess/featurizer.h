// Turns a text row into tokenized examples: labels parsed and checked against the task
// definition, texts tokenized, `[CLS] a [SEP] (b [SEP])` laid out and truncated to the
// maximum length longest-first (as Hugging Face's fast tokenizer does). Ranking rows
// become one example per candidate. Thread-safe; used by mtdnn-preprocess's pipeline.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "task_kinds/task_kind.h"
#include "preprocess/row_source.h"
#include "preprocess/wordpiece_tokenizer.h"
#include "sharding/example.h"

namespace mtdnn::preprocess {

struct Featurized {
  std::vector<sharding::Example> examples;  // one, or K candidates for ranking
  std::string group_uid;                    // ranking: the row's uid
  bool truncated = false;                   // some text was cut to fit max_seq_len
  std::string error;                        // non-empty: the row is bad (what is wrong)
};

class Featurizer {
 public:
  Featurizer(const Vocab& vocab, const WordPieceTokenizer& tokenizer, const TaskDef& task,
             int max_seq_len, bool has_labels);

  // Never throws for bad input: problems go into out->error.
  void featurize(const RawRow& row, Featurized* out) const;

 private:

  std::string encode(const std::string& column, const std::string& text, std::vector<int32_t>* ids) const;
  sharding::Example layout(const std::vector<int32_t>& a, const std::vector<int32_t>* b, bool* truncated) const;

  const Vocab& vocab_;
  const WordPieceTokenizer& tokenizer_;
  const TaskDef& task_;
  const task_kinds::TaskKind& kind_;
  int max_seq_len_;
  bool has_labels_;
};

// Whether `text` is well-formed UTF-8 (utf8proc's decoder decides).
bool valid_utf8(std::string_view text);

}  // namespace mtdnn::preprocess
