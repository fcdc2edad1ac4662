// Reads one shard: validates the format on open and serves examples by index, reading
// token ids from disk on demand (only per-example offsets and labels are held in memory).
// Used by the dataset reader, mtdnn-preprocess's tests and training's loader.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "task_kinds/task_def.h"
#include "sharding/example.h"
#include "sharding/shard_format.h"

namespace mtdnn::sharding {

class ShardReader {
 public:
  // Throws InputError naming the file and what is wrong: not HDF5, wrong magic or version,
  // missing datasets, counts that disagree, offsets out of order, ids outside the vocabulary.
  explicit ShardReader(const std::string& path);
  ~ShardReader();
  ShardReader(ShardReader&&) noexcept;
  ShardReader& operator=(ShardReader&&) noexcept;

  const std::string& path() const { return path_; }
  const std::string& task() const { return info_.task; }
  const std::string& split() const { return info_.split; }
  int64_t shard_index() const { return info_.shard_index; }
  int64_t num_shards() const { return info_.num_shards; }
  int64_t size() const { return counts_.num_examples; }
  int64_t num_tokens() const { return counts_.num_tokens; }
  int64_t num_groups() const { return counts_.num_groups; }
  LabelKind label_kind() const { return info_.label_kind; }
  const TaskDef& task_def() const { return info_.task_def; }
  const TokenizerIdentity& tokenizer() const { return info_.tokenizer; }

  // Example i (0 <= i < size()).
  Example get(int64_t i) const;
  // Examples [begin, end) with one read of their token ids.
  std::vector<Example> get_range(int64_t begin, int64_t end) const;
  int64_t length(int64_t i) const { return offsets_[i + 1] - offsets_[i]; }

  // Ranking: examples [group_begin(g), group_begin(g + 1)) form group g.
  int64_t group_begin(int64_t g) const { return group_offsets_.at(static_cast<size_t>(g)); }
  std::string group_uid(int64_t g) const;

 private:
  struct Handles;
  std::string path_;
  ShardInfo info_;
  ShardCounts counts_;
  std::vector<int64_t> offsets_, uid_offsets_, group_offsets_, group_uid_offsets_;
  std::vector<int32_t> type_boundary_, labels_;
  std::vector<float> scores_;
  std::unique_ptr<Handles> h_;
};

}  // namespace mtdnn::sharding
