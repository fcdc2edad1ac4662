// ShardReader: validation on open and reads by index (see shard_reader.h).
#include "sharding/shard_reader.h"

#include <nlohmann/json.hpp>

#include "common/hdf5.h"
#include "task_kinds/task_kind.h"

namespace mtdnn::sharding {

struct ShardReader::Handles {
  h5::Handle file, tokens, uid_bytes, group_uid_bytes;
};

namespace {

void check_offsets(const std::vector<int64_t>& offsets, int64_t expected_count, int64_t expected_end,
                   const std::string& what, const char* name) {
  MTDNN_INPUT_CHECK(static_cast<int64_t>(offsets.size()) == expected_count + 1,
                    "{}: dataset '{}' has {} entries, expected {}", what, name, offsets.size(),
                    expected_count + 1);
  MTDNN_INPUT_CHECK(offsets.front() == 0 && offsets.back() == expected_end,
                    "{}: dataset '{}' spans [{}, {}], expected [0, {}]", what, name, offsets.front(),
                    offsets.back(), expected_end);
  for (size_t i = 1; i < offsets.size(); ++i)
    MTDNN_INPUT_CHECK(offsets[i] >= offsets[i - 1], "{}: dataset '{}' decreases at entry {}", what, name, i);
}

// An attribute into its field (the forms ShardWriter stores); errors name the file and
// the attribute.
void read_attribute(hid_t f, const char* name, const std::string& w, std::string* out) {
  *out = h5::read_attr_string(f, name, w);
}
void read_attribute(hid_t f, const char* name, const std::string& w, int64_t* out) {
  *out = h5::read_attr_int64(f, name, w);
}
void read_attribute(hid_t f, const char* name, const std::string& w, LabelKind* out) {
  *out = label_kind_from_string(h5::read_attr_string(f, name, w));
}
template <typename FromJson>
void read_attribute(hid_t f, const char* name, const std::string& w, FromJson* out) {
  try {
    *out = FromJson::from_json(nlohmann::json::parse(h5::read_attr_string(f, name, w)));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: malformed {} attribute: {}", w, name, e.what()));
  }
}

}  // namespace

ShardReader::ShardReader(const std::string& path) : path_(path), h_(std::make_unique<Handles>()) {
  h5::quiet_errors();
  h_->file = h5::open_file_readonly(path_);
  hid_t f = h_->file.get();
  const std::string& w = path_;
  const std::string magic = h5::has_attr(f, attr::kMagic) ? h5::read_attr_string(f, attr::kMagic, w) : "";
  MTDNN_INPUT_CHECK(magic == kMagic, "{}: not an mtdnn shard (magic '{}')", w, magic);
  const int64_t version = h5::read_attr_int64(f, attr::kFormatVersion, w);
  MTDNN_INPUT_CHECK(version == kFormatVersion,
                    "{}: shard format version {} but this build reads version {}; re-run "
                    "mtdnn-preprocess with this build", w, version, kFormatVersion);
  for_each_attribute(info_, counts_, [&](const char* name, auto& field) { read_attribute(f, name, w, &field); });
  MTDNN_INPUT_CHECK(info_.shard_index >= 0 && info_.shard_index < info_.num_shards && counts_.num_examples >= 0 &&
                        counts_.num_tokens >= 0 && counts_.num_groups >= 0,
                    "{}: inconsistent counts (shard {} of {}, {} examples, {} tokens)", w,
                    info_.shard_index, info_.num_shards, counts_.num_examples, counts_.num_tokens);

  h_->tokens = h5::open_dataset(f, dset::kTokenIds, w);
  MTDNN_INPUT_CHECK(h5::dataset_length(h_->tokens.get(), w) == counts_.num_tokens,
                    "{}: dataset 'token_ids' holds {} ids but the shard says {}", w,
                    h5::dataset_length(h_->tokens.get(), w), counts_.num_tokens);
  offsets_ = h5::read_all<int64_t>(h5::open_dataset(f, dset::kOffsets, w).get(), w);
  check_offsets(offsets_, counts_.num_examples, counts_.num_tokens, w, dset::kOffsets);
  type_boundary_ = h5::read_all<int32_t>(h5::open_dataset(f, dset::kTypeBoundary, w).get(), w);
  MTDNN_INPUT_CHECK(static_cast<int64_t>(type_boundary_.size()) == counts_.num_examples,
                    "{}: dataset 'type_boundary' has {} entries, expected {}", w, type_boundary_.size(), counts_.num_examples);
  for (int64_t i = 0; i < counts_.num_examples; ++i)
    MTDNN_INPUT_CHECK(type_boundary_[i] >= 0 && type_boundary_[i] <= length(i),
                      "{}: example {} has type boundary {} outside its {} tokens", w, i, type_boundary_[i], length(i));

  if (info_.label_kind == LabelKind::kClass) {
    labels_ = h5::read_all<int32_t>(h5::open_dataset(f, dset::kLabels, w).get(), w);
    MTDNN_INPUT_CHECK(static_cast<int64_t>(labels_.size()) == counts_.num_examples,
                      "{}: dataset 'labels' has {} entries, expected {}", w, labels_.size(), counts_.num_examples);
    const int max_label = task_kinds::kind_of(info_.task_def).label_bound(info_.task_def);
    for (int64_t i = 0; i < counts_.num_examples; ++i)
      MTDNN_INPUT_CHECK(labels_[i] >= 0 && labels_[i] < max_label,
                        "{}: example {} has label {} outside [0, {})", w, i, labels_[i], max_label);
  } else if (info_.label_kind == LabelKind::kScore) {
    scores_ = h5::read_all<float>(h5::open_dataset(f, dset::kLabels, w).get(), w);
    MTDNN_INPUT_CHECK(static_cast<int64_t>(scores_.size()) == counts_.num_examples,
                      "{}: dataset 'labels' has {} entries, expected {}", w, scores_.size(), counts_.num_examples);
  } else {
    MTDNN_INPUT_CHECK(!h5::has_dataset(f, dset::kLabels), "{}: label kind 'none' but a labels dataset", w);
  }

  h_->uid_bytes = h5::open_dataset(f, dset::kUidBytes, w);
  uid_offsets_ = h5::read_all<int64_t>(h5::open_dataset(f, dset::kUidOffsets, w).get(), w);
  check_offsets(uid_offsets_, counts_.num_examples, h5::dataset_length(h_->uid_bytes.get(), w), w, dset::kUidOffsets);

  if (task_kinds::kind_of(info_.task_def).grouped()) {
    group_offsets_ = h5::read_all<int64_t>(h5::open_dataset(f, dset::kGroupOffsets, w).get(), w);
    check_offsets(group_offsets_, counts_.num_groups, counts_.num_examples, w, dset::kGroupOffsets);
    h_->group_uid_bytes = h5::open_dataset(f, dset::kGroupUidBytes, w);
    group_uid_offsets_ = h5::read_all<int64_t>(h5::open_dataset(f, dset::kGroupUidOffsets, w).get(), w);
    check_offsets(group_uid_offsets_, counts_.num_groups, h5::dataset_length(h_->group_uid_bytes.get(), w), w,
                  dset::kGroupUidOffsets);
  } else {
    MTDNN_INPUT_CHECK(counts_.num_groups == 0, "{}: {} groups in a task whose kind has no groups", w, counts_.num_groups);
  }
}

ShardReader::~ShardReader() = default;
ShardReader::ShardReader(ShardReader&&) noexcept = default;
ShardReader& ShardReader::operator=(ShardReader&&) noexcept = default;

std::vector<Example> ShardReader::get_range(int64_t begin, int64_t end) const {
  MTDNN_CHECK(0 <= begin && begin <= end && end <= counts_.num_examples, "range [{}, {}) outside {} examples of {}",
              begin, end, counts_.num_examples, path_);
  std::vector<int32_t> ids(static_cast<size_t>(offsets_[end] - offsets_[begin]));
  h5::read_slice(h_->tokens.get(), offsets_[begin], static_cast<int64_t>(ids.size()), ids.data(), path_);
  std::vector<uint8_t> uids(static_cast<size_t>(uid_offsets_[end] - uid_offsets_[begin]));
  h5::read_slice(h_->uid_bytes.get(), uid_offsets_[begin], static_cast<int64_t>(uids.size()), uids.data(), path_);
  std::vector<Example> out(static_cast<size_t>(end - begin));
  for (int64_t i = begin; i < end; ++i) {
    Example& e = out[static_cast<size_t>(i - begin)];
    auto first = ids.begin() + (offsets_[i] - offsets_[begin]);
    e.token_ids.assign(first, first + length(i));
    auto u = uids.begin() + (uid_offsets_[i] - uid_offsets_[begin]);
    e.uid.assign(u, u + (uid_offsets_[i + 1] - uid_offsets_[i]));
    e.type_boundary = type_boundary_[i];
    if (!labels_.empty()) e.label = labels_[i];
    if (!scores_.empty()) e.score = scores_[i];
  }
  for (int32_t id : ids)
    MTDNN_INPUT_CHECK(id >= 0 && id < info_.tokenizer.vocab_size, "{}: token id {} outside the vocabulary of {}",
                      path_, id, info_.tokenizer.vocab_size);
  return out;
}

Example ShardReader::get(int64_t i) const { return std::move(get_range(i, i + 1).front()); }

std::string ShardReader::group_uid(int64_t g) const {
  MTDNN_CHECK(g >= 0 && g < counts_.num_groups, "group {} outside {} groups of {}", g, counts_.num_groups, path_);
  std::string out(static_cast<size_t>(group_uid_offsets_[g + 1] - group_uid_offsets_[g]), '\0');
  h5::read_slice(h_->group_uid_bytes.get(), group_uid_offsets_[g], static_cast<int64_t>(out.size()),
                 reinterpret_cast<uint8_t*>(out.data()), path_);
  return out;
}

}  // namespace mtdnn::sharding
