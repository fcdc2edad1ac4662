// The manifest of one preprocessed task: `<dataset>/<task>/manifest.json` lists every
// split's shards with their counts and SHA-256, the task definition and the tokenizer
// identity. Written last (atomically) by mtdnn-preprocess; a task folder without it is
// incomplete. Read by the dataset reader and training.
#pragma once

#include <cstdint>
#include <optional>
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

// A split made from a text corpus (MaskLM tasks; preprocess/corpus_job.h): how it was made
// and what was counted. Stored as the split's optional "corpus" object; absent for splits
// made from rows, and in manifests written before it existed.
struct CorpusCounts {
  uint64_t seed = 0;             // --seed: split draws and instances
  int64_t dupe_factor = 1;       // passes over each window (dev: always 1)
  int64_t window_documents = 0;  // documents per window
  int64_t files = 0;             // corpus files read
  int64_t documents = 0;         // documents of this split
  int64_t sentences = 0;         // in those documents
  int64_t corpus_tokens = 0;     // word pieces in those sentences
  int64_t instances = 0;         // sentence pairs made (= examples)
  int64_t random_next = 0;       // instances whose second segment is random (label 1)
  int64_t short_documents = 0;   // documents of one sentence (always paired with a random segment)
  int64_t long_sentences = 0;    // sentences longer than a whole sequence (always truncated)
  int64_t unpaired_chunks = 0;   // one-sentence chunks without any other document to pair with
  int64_t empty_sentences = 0;   // non-blank lines that gave no word piece (dropped)
};

struct SplitManifest {
  std::string split;
  std::string source;               // input file, relative to the input folder (corpus: file or folder)
  std::string source_sha256;
  LabelKind label_kind = LabelKind::kClass;
  int64_t rows = 0;                 // data rows read (header excluded); corpus splits: documents
  int64_t examples = 0, tokens = 0, groups = 0;
  int64_t truncated = 0;            // examples cut to max_seq_len
  int64_t skipped_unlabeled = 0;    // rows GLUE marks as having no gold label (MNLI '-')
  int64_t skipped_bad = 0;          // bad rows skipped under --on-bad-row skip
  std::vector<ShardEntry> shards;
  std::optional<CorpusCounts> corpus;  // splits made from a text corpus
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
