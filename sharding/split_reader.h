// Reads one task split of a preprocessed dataset: the manifest plus all its shards,
// cross-checked on open, with examples addressed by a global index. This is the reader
// library that training's loader uses; memory holds per-example offsets, never the corpus.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sharding/manifest.h"
#include "sharding/shard_reader.h"

namespace mtdnn::sharding {

class SplitReader {
 public:
  // `dataset_dir` is mtdnn-preprocess's --out; the task's files are in dataset_dir/<task>/.
  // Throws InputError when the task or split was not preprocessed, or when a shard and the
  // manifest disagree (naming the shard and the field).
  SplitReader(const std::string& dataset_dir, const std::string& task, const std::string& split);

  // Checks that the data was made for this task definition and tokenizer; the error names
  // every field that differs (e.g. shards made with another vocabulary).
  void expect(const TaskDef& task_def, const TokenizerIdentity& tokenizer) const;

  const TaskManifest& manifest() const { return manifest_; }
  const SplitManifest& split() const { return *split_; }
  int64_t size() const { return split_->examples; }
  int64_t num_groups() const { return split_->groups; }
  LabelKind label_kind() const { return split_->label_kind; }

  // Shard and local index of global example i.
  std::pair<size_t, int64_t> locate(int64_t i) const;
  Example get(int64_t i) const;
  // Examples [begin, end), across shard boundaries.
  std::vector<Example> get_range(int64_t begin, int64_t end) const;
  int64_t length(int64_t i) const;
  const std::vector<ShardReader>& shards() const { return shards_; }
  const std::string& task_dir() const { return task_dir_; }  // dataset_dir/<task>

  // Recomputes each shard file's SHA-256; InputError naming the first that differs.
  void verify_checksums() const;

 private:
  std::string task_dir_;
  TaskManifest manifest_;
  const SplitManifest* split_ = nullptr;
  std::vector<ShardReader> shards_;
  std::vector<int64_t> first_;  // global index of each shard's first example, plus the end
};

}  // namespace mtdnn::sharding
