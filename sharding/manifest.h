// The manifest of one preprocessed task: `<dataset>/<task>/manifest.json` lists every
// split's shards with their counts and SHA-256, the task definition and the tokenizer
// identity. Written last (atomically) by mtdnn-preprocess; a task folder without it is
// incomplete. Read by the dataset reader and training.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "task_kinds/task_def.h"
#include "sharding/shard_format.h"

namespace mtdnn::sharding {

inline constexpr const char* kManifestFile = "manifest.json";
inline constexpr const char* kManifestFormat = "mtdnn-shards";

struct ShardEntry {
  std::string file;  // relative to the task folder
  int64_t examples = 0, tokens = 0, groups = 0;
  std::string sha256;
};

struct SplitManifest {
  std::string split;
  std::string source;               // input file, relative to the input folder
  std::string source_sha256;
  LabelKind label_kind = LabelKind::kClass;
  int64_t rows = 0;                 // data rows read (header excluded)
  int64_t examples = 0, tokens = 0, groups = 0;
  int64_t truncated = 0;            // examples cut to max_seq_len
  int64_t skipped_unlabeled = 0;    // rows GLUE marks as having no gold label (MNLI '-')
  int64_t skipped_bad = 0;          // bad rows skipped under --on-bad-row skip
  std::vector<ShardEntry> shards;
};

struct TaskManifest {
  TaskDef task_def;
  TokenizerIdentity tokenizer;
  std::vector<SplitManifest> splits;

  const SplitManifest* find_split(const std::string& split) const;
  nlohmann::json to_json() const;
  static TaskManifest from_json(const nlohmann::json& j, const std::string& origin);

  // Loads `<task_dir>/manifest.json`; InputError naming the file when missing or malformed.
  static TaskManifest load(const std::string& task_dir);
  // Writes `<task_dir>/manifest.json` through a temporary file and a rename.
  void save(const std::string& task_dir) const;
};

}  // namespace mtdnn::sharding
