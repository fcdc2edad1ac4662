// The on-disk shard format: the one place that names every HDF5 object and attribute
// of a shard, used by both ShardWriter and ShardReader.
//
// A shard holds a contiguous range of one task split's examples, tokenized:
//
//   attributes (root group)
//     magic            "MTDNN-SHARD"                 checked on open
//     format_version   int64 = kFormatVersion        readers refuse other versions
//     task, split      strings
//     shard_index      int64   (0-based)     num_shards  int64
//     num_examples     int64 (E)             num_tokens  int64 (N)
//     num_groups       int64 (G; ranking tasks, else 0)
//     label_kind       "class" | "score" | "none"
//     task_def         JSON of the task definition (TaskDef::to_json)
//     tokenizer        JSON of the tokenizer identity (TokenizerIdentity::to_json)
//   datasets
//     token_ids        (N,)   uint16 when the vocabulary has < 65536 entries, else int32;
//                             all examples' ids back to back, [CLS] a [SEP] (b [SEP]), no padding
//     offsets          (E+1,) int64: example i is token_ids[offsets[i] : offsets[i+1]]
//     type_boundary    (E,)   int32: first position with token type 1 (= length if single text)
//     labels           (E,)   int32 class ids ("class") or float32 scores ("score"); absent for "none"
//     uid_bytes        (U,)   uint8 and uid_offsets (E+1,) int64: the examples' uids as UTF-8
//     group_offsets    (G+1,) int64, ranking only: group g is examples [go[g], go[g+1]); the
//                             positive candidate has label 1, the others 0
//     group_uid_bytes, group_uid_offsets: the groups' uids, ranking only
//
// Nothing time-dependent is stored (object time tracking is off), so the same inputs give
// byte-identical files.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "task_kinds/label_kind.h"
#include "task_kinds/task_def.h"

namespace mtdnn::sharding {

inline constexpr const char* kMagic = "MTDNN-SHARD";
inline constexpr int64_t kFormatVersion = 1;

// The two attributes a reader checks before any other (for_each_attribute below has the rest).
namespace attr {
inline constexpr const char* kMagic = "magic";
inline constexpr const char* kFormatVersion = "format_version";
}  // namespace attr

namespace dset {
inline constexpr const char* kTokenIds = "token_ids";
inline constexpr const char* kOffsets = "offsets";
inline constexpr const char* kTypeBoundary = "type_boundary";
inline constexpr const char* kLabels = "labels";
inline constexpr const char* kUidBytes = "uid_bytes";
inline constexpr const char* kUidOffsets = "uid_offsets";
inline constexpr const char* kGroupOffsets = "group_offsets";
inline constexpr const char* kGroupUidBytes = "group_uid_bytes";
inline constexpr const char* kGroupUidOffsets = "group_uid_offsets";
}  // namespace dset

using mtdnn::LabelKind;  // task_kinds/label_kind.h
using mtdnn::label_kind_from_string;
using mtdnn::to_string;

// What produced the token ids: shards from different tokenizers must never be mixed.
struct TokenizerIdentity {
  std::string name = "bert-wordpiece";  // WordPiece as Hugging Face's fast BertTokenizer does it
  std::string vocab_sha256;
  int64_t vocab_size = 0;
  bool lower_case = true;
  int64_t max_seq_len = 512;  // including [CLS] and [SEP]s; pairs truncated longest-first

  nlohmann::json to_json() const;
  static TokenizerIdentity from_json(const nlohmann::json& j);
  bool operator==(const TokenizerIdentity& o) const;
  bool operator!=(const TokenizerIdentity& o) const { return !(*this == o); }
  // "vocab_sha256 abc… vs def…, lower_case true vs false": what differs, for error messages.
  std::string difference(const TokenizerIdentity& o) const;
};

// What a shard holds, as its writer is told.
struct ShardInfo {
  std::string task;
  std::string split;
  int64_t shard_index = 0;
  int64_t num_shards = 1;
  LabelKind label_kind = LabelKind::kClass;
  TaskDef task_def;
  TokenizerIdentity tokenizer;
};

// What its writer counted.
struct ShardCounts {
  int64_t num_examples = 0;  // E
  int64_t num_tokens = 0;    // N
  int64_t num_groups = 0;    // G
};

// The root attributes after magic and format_version, each named here once for the writer
// and the reader: visit(name, field) in file order. Info and Counts may be const.
template <typename Info, typename Counts, typename Visit>
void for_each_attribute(Info& info, Counts& counts, Visit&& visit) {
  visit("task", info.task);
  visit("split", info.split);
  visit("shard_index", info.shard_index);
  visit("num_shards", info.num_shards);
  visit("num_examples", counts.num_examples);
  visit("num_tokens", counts.num_tokens);
  visit("num_groups", counts.num_groups);
  visit("label_kind", info.label_kind);
  visit("task_def", info.task_def);
  visit("tokenizer", info.tokenizer);
}

// File name of shard `index` of `count` within a task folder: "<split>-00003-of-00008.h5".
std::string shard_file_name(const std::string& split, int64_t index, int64_t count);

}  // namespace mtdnn::sharding
