// mt-dnn's canonical TSV (no header):
//   PremiseOnly               uid \t label \t premise
//   PremiseAndOneHypothesis   uid \t label \t premise \t hypothesis
//   PremiseAndMultiHypothesis uid \t ruid1,...,ruidK \t label \t premise \t hyp1 ... hypK
// In splits without labels (test) the label column is present but not read.
#include <filesystem>

#include "common/error.h"
#include "preprocess/row_source.h"
#include "preprocess/tsv_reader.h"

namespace fs = std::filesystem;

namespace mtdnn::preprocess {
namespace {

class CanonicalSource : public RowSource {
 public:
  CanonicalSource(std::string path, std::string relative, const TaskDef& task, const std::string& split)
      : path_(std::move(path)), relative_(std::move(relative)), task_(task),
        has_labels_(TaskDef::split_has_labels(split)), reader_(path_), rows_(count_lines(path_)) {}

  bool next(RawRow* row) override {
    if (!start_row(reader_, &fields_, row)) return false;
    if (!row->error.empty()) return true;
    switch (task_.data_format) {
      case DataFormat::kPremiseOnly: return take_fixed(row, 3);
      case DataFormat::kPremiseAndOneHypothesis: return take_fixed(row, 4);
      case DataFormat::kPremiseAndMultiHypothesis: return take_ranking(row);
      case DataFormat::kMlm:  // never opened: open_canonical_source refuses it
        MTDNN_CHECK(false, "task '{}': data_format MLM has no rows", task_.name);
    }
    return true;
  }

  const std::string& path() const override { return path_; }
  const std::string& relative_path() const override { return relative_; }
  int64_t rows() const override { return rows_; }

 private:
  bool take_fixed(RawRow* row, size_t columns) {
    if (fields_.size() != columns) {
      row->error = fmt::format("{} columns, but data_format {} has {} (uid, label, premise{})", fields_.size(),
                               to_string(task_.data_format), columns, columns == 4 ? ", hypothesis" : "");
      return true;
    }
    row->uid = fields_[0];
    if (has_labels_) row->label = fields_[1];
    row->premise = fields_[2];
    if (columns == 4) row->hypotheses.emplace_back(fields_[3]);
    return true;
  }

  bool take_ranking(RawRow* row) {
    if (fields_.size() < 5) {
      row->error = fmt::format("{} columns, but data_format PremiseAndMultiHypothesis has at least 5 "
                               "(uid, candidate uids, label, premise, hypotheses...)", fields_.size());
      return true;
    }
    row->uid = fields_[0];
    std::string_view ruids = fields_[1];
    for (;;) {
      size_t comma = ruids.find(',');
      row->candidate_uids.emplace_back(ruids.substr(0, comma));
      if (comma == std::string_view::npos) break;
      ruids.remove_prefix(comma + 1);
    }
    if (row->candidate_uids.size() != fields_.size() - 4) {
      row->error = fmt::format("{} candidate uids but {} hypotheses", row->candidate_uids.size(), fields_.size() - 4);
      return true;
    }
    if (has_labels_) row->label = fields_[2];
    row->premise = fields_[3];
    for (size_t i = 4; i < fields_.size(); ++i) row->hypotheses.emplace_back(fields_[i]);
    return true;
  }

  std::string path_, relative_;
  const TaskDef& task_;
  bool has_labels_;
  TsvReader reader_;
  int64_t rows_;
  std::vector<std::string_view> fields_;
};

}  // namespace

std::string canonical_file_name(const std::string& task, const std::string& split) {
  return task + "_" + split + ".tsv";
}

std::unique_ptr<RowSource> open_canonical_source(const std::string& input_dir, const TaskDef& task,
                                                 const std::string& split) {
  MTDNN_INPUT_CHECK(task.data_format != DataFormat::kMlm,
                    "task '{}' has data_format MLM: its examples come from a text corpus, not from rows of a "
                    "{}_{}.tsv file (see docs/preprocess.md, Pretraining corpora)", task.name, task.name, split);
  std::string relative = canonical_file_name(task.name, split);
  std::string path = (fs::path(input_dir) / relative).string();
  if (!fs::is_regular_file(path)) return nullptr;
  return std::make_unique<CanonicalSource>(path, relative, task, split);
}

std::unique_ptr<RowSource> open_row_source(const std::string& input_dir, const TaskDef& task,
                                           const std::string& split) {
  if (auto source = open_canonical_source(input_dir, task, split)) return source;
  if (auto source = open_glue_source(input_dir, task, split)) return source;
  std::string tried = (fs::path(input_dir) / canonical_file_name(task.name, split)).string();
  std::string glue = glue_file_name(task.name, split);
  if (!glue.empty()) tried += " or " + (fs::path(input_dir) / glue).string();
  throw InputError(fmt::format("missing split file for task '{}' split '{}': tried {} (choose the splits "
                               "to preprocess with --splits)", task.name, split, tried));
}

}  // namespace mtdnn::preprocess
