// Rows of a task split as text, before tokenization, from either input layout:
//   - mt-dnn's canonical TSV, <input>/<task>_<split>.tsv (canonical_source.cc), or
//   - GLUE's files as distributed, <input>/<Folder>/<file>.tsv (glue_source.cc).
// Used by mtdnn-preprocess's pipeline; each row carries its line for error messages.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "task_kinds/task_def.h"

namespace mtdnn::preprocess {

struct RawRow {
  int64_t line = 0;                      // 1-based line in the source file
  std::string uid;
  std::string label;                     // as written; empty when the split has no labels
  std::string premise;
  std::vector<std::string> hypotheses;   // 0 (PremiseOnly), 1, or K candidates (ranking)
  std::vector<std::string> candidate_uids;  // ranking: one per hypothesis
  std::string error;                     // non-empty: the row is bad (what is wrong)
  bool unlabeled = false;                // GLUE marks it as having no gold label (MNLI '-')
};

class RowSource {
 public:
  virtual ~RowSource() = default;
  // Next row; false at the end of the file.
  virtual bool next(RawRow* row) = 0;
  // The file read, and the same relative to the input folder (for the manifest).
  virtual const std::string& path() const = 0;
  virtual const std::string& relative_path() const = 0;
  // Number of data rows (header excluded), known before reading: shards are cut by it.
  virtual int64_t rows() const = 0;
};

class TsvReader;

// Starts `row` from the next line of `reader` (its fields into `fields`): false at the end
// of the file. A line longer than kMaxLineBytes gives a row whose error says so; its fields
// are not to be read.
bool start_row(TsvReader& reader, std::vector<std::string_view>* fields, RawRow* row);

// The source of `task`/`split` under `input_dir`: the canonical file when it exists, else
// the GLUE layout when `task` is a GLUE task name. InputError naming every path tried.
std::unique_ptr<RowSource> open_row_source(const std::string& input_dir, const TaskDef& task,
                                           const std::string& split);

// Makers of the two kinds (used by open_row_source and tests).
std::unique_ptr<RowSource> open_canonical_source(const std::string& input_dir, const TaskDef& task,
                                                 const std::string& split);
// nullptr when the file does not exist (or `task` has no GLUE layout).
std::unique_ptr<RowSource> open_glue_source(const std::string& input_dir, const TaskDef& task,
                                            const std::string& split);
// GLUE's file for `task`/`split` relative to the input folder ("CoLA/train.tsv"), or
// empty when the task name is not one of GLUE's (cola, sst, mrpc, stsb, qqp, mnli, qnli,
// rte, wnli) or the split is not one GLUE distributes.
std::string glue_file_name(const std::string& task, const std::string& split);
// Path of the canonical file, relative to the input folder.
std::string canonical_file_name(const std::string& task, const std::string& split);

}  // namespace mtdnn::preprocess
