// ShardWriter: appends examples to the extendible datasets of one shard file.
#include "sharding/shard_writer.h"

#include <nlohmann/json.hpp>

#include "common/hdf5.h"
#include "task_kinds/task_kind.h"

namespace mtdnn::sharding {

namespace {
constexpr size_t kFlushTokens = 1 << 20;  // buffer about 4 MB of ids before writing

// An attribute's stored form: strings and integers as they are, the label kind by name, the
// task definition and the tokenizer identity as JSON.
const std::string& attribute_value(const std::string& v) { return v; }
int64_t attribute_value(int64_t v) { return v; }
std::string attribute_value(LabelKind v) { return std::string(to_string(v)); }
std::string attribute_value(const TaskDef& v) { return v.to_json().dump(); }
std::string attribute_value(const TokenizerIdentity& v) { return v.to_json().dump(); }
}  // namespace

struct ShardWriter::Datasets {
  h5::Handle file;
  std::unique_ptr<h5::AppendableDataset<int32_t>> tokens, type_boundary, labels;
  std::unique_ptr<h5::AppendableDataset<float>> scores;
  std::unique_ptr<h5::AppendableDataset<int64_t>> offsets, uid_offsets, group_offsets, group_uid_offsets;
  std::unique_ptr<h5::AppendableDataset<uint8_t>> uid_bytes, group_uid_bytes;
};

ShardWriter::ShardWriter(const std::string& path, ShardInfo info)
    : path_(path), info_(std::move(info)), d_(std::make_unique<Datasets>()) {
  d_->file = h5::create_file(path_);
  hid_t f = d_->file.get();
  // Chunks are allocated whole, so they are small (8-16 KB): a tiny shard wastes little,
  // and a batch read of contiguous examples still touches only a chunk or two.
  constexpr int64_t kTokenChunk = 1 << 13, kRowChunk = 1 << 10, kUidChunk = 1 << 12;
  hid_t token_type = info_.tokenizer.vocab_size < 65536 ? H5T_STD_U16LE : H5T_STD_I32LE;
  d_->tokens = std::make_unique<h5::AppendableDataset<int32_t>>(f, dset::kTokenIds, token_type, kTokenChunk, path_);
  d_->offsets = std::make_unique<h5::AppendableDataset<int64_t>>(f, dset::kOffsets, H5T_STD_I64LE, kRowChunk, path_);
  d_->type_boundary = std::make_unique<h5::AppendableDataset<int32_t>>(f, dset::kTypeBoundary, H5T_STD_I32LE, kRowChunk, path_);
  if (info_.label_kind == LabelKind::kClass)
    d_->labels = std::make_unique<h5::AppendableDataset<int32_t>>(f, dset::kLabels, H5T_STD_I32LE, kRowChunk, path_);
  if (info_.label_kind == LabelKind::kScore)
    d_->scores = std::make_unique<h5::AppendableDataset<float>>(f, dset::kLabels, H5T_IEEE_F32LE, kRowChunk, path_);
  d_->uid_bytes = std::make_unique<h5::AppendableDataset<uint8_t>>(f, dset::kUidBytes, H5T_STD_U8LE, kUidChunk, path_);
  d_->uid_offsets = std::make_unique<h5::AppendableDataset<int64_t>>(f, dset::kUidOffsets, H5T_STD_I64LE, kRowChunk, path_);
  if (task_kinds::kind_of(info_.task_def).grouped()) {
    d_->group_offsets = std::make_unique<h5::AppendableDataset<int64_t>>(f, dset::kGroupOffsets, H5T_STD_I64LE, kRowChunk, path_);
    d_->group_uid_bytes = std::make_unique<h5::AppendableDataset<uint8_t>>(f, dset::kGroupUidBytes, H5T_STD_U8LE, kUidChunk, path_);
    d_->group_uid_offsets = std::make_unique<h5::AppendableDataset<int64_t>>(f, dset::kGroupUidOffsets, H5T_STD_I64LE, kRowChunk, path_);
    group_offsets_.push_back(0);
    group_uid_offsets_.push_back(0);
  }
  offsets_.push_back(0);
  uid_offsets_.push_back(0);
}

ShardWriter::~ShardWriter() = default;

void ShardWriter::add(const Example& e) {
  MTDNN_CHECK(!finished_, "append after finish");
  MTDNN_CHECK(e.type_boundary >= 0 && e.type_boundary <= static_cast<int32_t>(e.token_ids.size()),
              "type boundary {} outside example of {} tokens", e.type_boundary, e.token_ids.size());
  tokens_.insert(tokens_.end(), e.token_ids.begin(), e.token_ids.end());
  counts_.num_tokens += static_cast<int64_t>(e.token_ids.size());
  offsets_.push_back(counts_.num_tokens);
  type_boundary_.push_back(e.type_boundary);
  if (info_.label_kind == LabelKind::kClass) labels_.push_back(e.label);
  if (info_.label_kind == LabelKind::kScore) scores_.push_back(e.score);
  uid_bytes_buf_.insert(uid_bytes_buf_.end(), e.uid.begin(), e.uid.end());
  uid_bytes_ += static_cast<int64_t>(e.uid.size());
  uid_offsets_.push_back(uid_bytes_);
  ++counts_.num_examples;
  if (tokens_.size() >= kFlushTokens) flush();
}

void ShardWriter::append(const Example& example) {
  MTDNN_CHECK(!task_kinds::kind_of(info_.task_def).grouped(), "this task kind's examples come in groups");
  add(example);
}

void ShardWriter::append_group(const std::string& group_uid, const std::vector<Example>& candidates) {
  MTDNN_CHECK(task_kinds::kind_of(info_.task_def).grouped(), "groups are for grouped task kinds (ranking)");
  for (const auto& c : candidates) add(c);
  group_offsets_.push_back(counts_.num_examples);
  group_uid_bytes_buf_.insert(group_uid_bytes_buf_.end(), group_uid.begin(), group_uid.end());
  group_uid_bytes_ += static_cast<int64_t>(group_uid.size());
  group_uid_offsets_.push_back(group_uid_bytes_);
  ++counts_.num_groups;
}

void ShardWriter::flush() {
  d_->tokens->append(tokens_);
  d_->offsets->append(offsets_);
  d_->type_boundary->append(type_boundary_);
  if (d_->labels) d_->labels->append(labels_);
  if (d_->scores) d_->scores->append(scores_);
  d_->uid_bytes->append(uid_bytes_buf_);
  d_->uid_offsets->append(uid_offsets_);
  if (d_->group_offsets) {
    d_->group_offsets->append(group_offsets_);
    d_->group_uid_bytes->append(group_uid_bytes_buf_);
    d_->group_uid_offsets->append(group_uid_offsets_);
  }
  tokens_.clear(); offsets_.clear(); type_boundary_.clear(); labels_.clear(); scores_.clear();
  uid_bytes_buf_.clear(); uid_offsets_.clear();
  group_offsets_.clear(); group_uid_bytes_buf_.clear(); group_uid_offsets_.clear();
}

void ShardWriter::finish() {
  MTDNN_CHECK(!finished_, "finish called twice");
  flush();
  hid_t f = d_->file.get();
  h5::write_attr(f, attr::kMagic, std::string(kMagic), path_);
  h5::write_attr(f, attr::kFormatVersion, kFormatVersion, path_);
  for_each_attribute(info_, counts_, [&](const char* name, const auto& value) {
    h5::write_attr(f, name, attribute_value(value), path_);
  });
  d_.reset();  // closes every dataset, then the file
  finished_ = true;
}

}  // namespace mtdnn::sharding
