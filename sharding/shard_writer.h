// Writes one shard (see shard_format.h) by appending examples in order. Used by
// mtdnn-preprocess; memory stays bounded by a small write buffer, not by the shard.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "task_kinds/task_def.h"
#include "sharding/example.h"
#include "sharding/shard_format.h"

namespace mtdnn::sharding {

class ShardWriter {
 public:
  ShardWriter(const std::string& path, ShardInfo info);
  ~ShardWriter();
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  // A non-ranking example.
  void append(const Example& example);
  // A ranking group: its candidates in order (exactly one with label 1).
  void append_group(const std::string& group_uid, const std::vector<Example>& candidates);
  // Flushes, writes the counts and closes the file. Without finish() the file is incomplete.
  void finish();

  int64_t num_examples() const { return counts_.num_examples; }
  int64_t num_tokens() const { return counts_.num_tokens; }
  int64_t num_groups() const { return counts_.num_groups; }

 private:
  void add(const Example& example);
  void flush();

  struct Datasets;
  std::string path_;
  ShardInfo info_;
  std::unique_ptr<Datasets> d_;
  ShardCounts counts_;
  int64_t uid_bytes_ = 0, group_uid_bytes_ = 0;
  // Write buffers, flushed when the token buffer is large.
  std::vector<int32_t> tokens_, type_boundary_, labels_;
  std::vector<float> scores_;
  std::vector<int64_t> offsets_, uid_offsets_, group_offsets_, group_uid_offsets_;
  std::vector<uint8_t> uid_bytes_buf_, group_uid_bytes_buf_;
  bool finished_ = false;
};

}  // namespace mtdnn::sharding
