// GLUE's files exactly as distributed: which folder and file hold each mt-dnn task name's
// split, and which columns hold the uid, texts and label. Quirks handled here or in
// TsvReader: CoLA train/dev have no header, MRPC starts with a BOM, test files have no
// labels (and other columns), MNLI rows whose gold label is '-' have none, QNLI and MRPC
// text holds unbalanced '"' (plain TSV, no quoting).
#include <algorithm>
#include <filesystem>

#include "common/error.h"
#include "preprocess/row_source.h"
#include "preprocess/tsv_reader.h"

namespace fs = std::filesystem;

namespace mtdnn::preprocess {
namespace {

// Where a split's fields are. With a header, columns are named by it; without one they are
// 0-based positions written as numbers.
struct Columns {
  bool header;
  const char* uid;         // nullptr: the uid is the data row's number (0-based)
  const char* premise;
  const char* hypothesis;  // nullptr: one text
  const char* label;       // nullptr: the file has no labels
  size_t count;            // headerless files: columns per row
};

struct GlueTask {
  const char* name;    // mt-dnn's task name
  const char* folder;  // GLUE's folder
  Columns labeled;     // train and dev files
};

constexpr GlueTask kGlueTasks[] = {
    {"cola", "CoLA", {false, nullptr, "3", nullptr, "1", 4}},
    {"sst", "SST-2", {true, nullptr, "sentence", nullptr, "label", 0}},
    {"mrpc", "MRPC", {true, nullptr, "#1 String", "#2 String", "Quality", 0}},
    {"stsb", "STS-B", {true, "index", "sentence1", "sentence2", "score", 0}},
    {"qqp", "QQP", {true, "id", "question1", "question2", "is_duplicate", 0}},
    {"mnli", "MNLI", {true, "index", "sentence1", "sentence2", "gold_label", 0}},
    {"qnli", "QNLI", {true, "index", "question", "sentence", "label", 0}},
    {"rte", "RTE", {true, "index", "sentence1", "sentence2", "label", 0}},
    {"wnli", "WNLI", {true, "index", "sentence1", "sentence2", "label", 0}},
};

// GLUE's test files all have a header, the labeled files' uid column (or 'index' where
// those have none), the same text columns and no label; CoLA's, the one task whose labeled
// files have no header, names its text column 'sentence'.
Columns test_columns(const GlueTask& task) {
  const Columns& l = task.labeled;
  return {true, l.uid ? l.uid : "index", l.header ? l.premise : "sentence", l.hypothesis, nullptr, 0};
}

const GlueTask* find_glue_task(const std::string& name) {
  for (const auto& t : kGlueTasks)
    if (name == t.name) return &t;
  return nullptr;
}

// GLUE's file name of a split; MNLI's mt-dnn split names differ from its file names. Any
// other split (a user's own slice, e.g. "heldout") is <split>.tsv in the task's GLUE layout:
// labelled columns unless its name holds "test" (TaskDef::split_has_labels).
std::string glue_split_file(const std::string& split) {
  if (split == "matched_dev") return "dev_matched.tsv";
  if (split == "mismatched_dev") return "dev_mismatched.tsv";
  if (split == "matched_test") return "test_matched.tsv";
  if (split == "mismatched_test") return "test_mismatched.tsv";
  return split + ".tsv";
}

constexpr size_t kNone = static_cast<size_t>(-1);

class GlueSource : public RowSource {
 public:
  GlueSource(std::string path, std::string relative, const GlueTask& task, const std::string& split)
      : path_(std::move(path)), relative_(std::move(relative)),
        columns_(TaskDef::split_has_labels(split) ? task.labeled : test_columns(task)), reader_(path_) {
    rows_ = count_lines(path_) - (columns_.header ? 1 : 0);
    if (columns_.header) {
      auto status = reader_.next(&fields_);
      MTDNN_INPUT_CHECK(status == TsvReader::Status::kOk, "{}:1: missing or unreadable header line", path_);
      for (auto f : fields_) header_.emplace_back(f);
      width_ = header_.size();
    } else {
      width_ = columns_.count;
    }
    uid_ = find(columns_.uid);
    premise_ = find(columns_.premise);
    hypothesis_ = find(columns_.hypothesis);
    label_ = find(columns_.label);
  }

  bool next(RawRow* row) override {
    if (!start_row(reader_, &fields_, row)) return false;
    if (row->error.empty() && fields_.size() != width_)
      row->error = fmt::format("{} columns, expected {} as in GLUE's {} layout", fields_.size(), width_,
                               relative_);
    if (row->error.empty()) {
      row->uid = uid_ == kNone ? std::to_string(row_number_) : std::string(fields_[uid_]);
      row->premise = fields_[premise_];
      if (hypothesis_ != kNone) row->hypotheses.emplace_back(fields_[hypothesis_]);
      if (label_ != kNone) {
        row->label = fields_[label_];
        row->unlabeled = row->label == "-";  // MNLI: annotators did not agree on a gold label
      }
    }
    ++row_number_;
    return true;
  }

  const std::string& path() const override { return path_; }
  const std::string& relative_path() const override { return relative_; }
  int64_t rows() const override { return rows_; }

 private:
  size_t find(const char* column) const {
    if (!column) return kNone;
    if (!columns_.header) return static_cast<size_t>(std::stoul(column));
    auto it = std::find(header_.begin(), header_.end(), column);
    MTDNN_INPUT_CHECK(it != header_.end(), "{}:1: header lacks the column '{}' that GLUE's layout has",
                      path_, column);
    return static_cast<size_t>(it - header_.begin());
  }

  std::string path_, relative_;
  Columns columns_;
  TsvReader reader_;
  int64_t rows_ = 0;
  int64_t row_number_ = 0;
  size_t width_ = 0;
  size_t uid_ = kNone, premise_ = kNone, hypothesis_ = kNone, label_ = kNone;
  std::vector<std::string> header_;
  std::vector<std::string_view> fields_;
};

}  // namespace

std::string glue_file_name(const std::string& task, const std::string& split) {
  const GlueTask* t = find_glue_task(task);
  std::string file = glue_split_file(split);
  if (!t || file.empty()) return "";
  return std::string(t->folder) + "/" + file;
}

std::unique_ptr<RowSource> open_glue_source(const std::string& input_dir, const TaskDef& task,
                                            const std::string& split) {
  std::string relative = glue_file_name(task.name, split);
  if (relative.empty()) return nullptr;
  std::string path = (fs::path(input_dir) / relative).string();
  if (!fs::is_regular_file(path)) return nullptr;
  const GlueTask* t = find_glue_task(task.name);
  bool one_text = t->labeled.hypothesis == nullptr;
  MTDNN_INPUT_CHECK(one_text == (task.data_format == DataFormat::kPremiseOnly),
                    "task '{}' has data_format {}, which does not fit GLUE's {} files", task.name,
                    to_string(task.data_format), t->folder);
  return std::make_unique<GlueSource>(path, relative, *t, split);
}

}  // namespace mtdnn::preprocess
