// SplitReader: manifest and shard cross-checks, global indexing (see split_reader.h).
#include "sharding/split_reader.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/sha256.h"

namespace fs = std::filesystem;

namespace mtdnn::sharding {

SplitReader::SplitReader(const std::string& dataset_dir, const std::string& task, const std::string& split)
    : task_dir_((fs::path(dataset_dir) / task).string()) {
  MTDNN_INPUT_CHECK(fs::is_directory(task_dir_), "{}: task '{}' has no shards in {} (run mtdnn-preprocess "
                    "with --tasks {})", task_dir_, task, dataset_dir, task);
  manifest_ = TaskManifest::load(task_dir_);
  std::string manifest_path = (fs::path(task_dir_) / kManifestFile).string();
  MTDNN_INPUT_CHECK(manifest_.task_def.name == task, "{}: manifest is for task '{}', not '{}'",
                    manifest_path, manifest_.task_def.name, task);
  split_ = manifest_.find_split(split);
  if (!split_) {
    std::string have;
    for (const auto& s : manifest_.splits) have += (have.empty() ? "" : ", ") + s.split;
    throw InputError(fmt::format("{}: task '{}' has no split '{}' (preprocessed splits: {})",
                                 manifest_path, task, split, have));
  }
  int64_t total = 0;
  first_.push_back(0);
  for (size_t i = 0; i < split_->shards.size(); ++i) {
    const ShardEntry& e = split_->shards[i];
    ShardReader r((fs::path(task_dir_) / e.file).string());
    const std::string& w = r.path();
    MTDNN_INPUT_CHECK(r.task() == task && r.split() == split, "{}: shard belongs to {}/{}, expected {}/{}", w,
                      r.task(), r.split(), task, split);
    MTDNN_INPUT_CHECK(r.shard_index() == static_cast<int64_t>(i) &&
                          r.num_shards() == static_cast<int64_t>(split_->shards.size()),
                      "{}: shard {} of {} but the manifest lists it as {} of {}", w, r.shard_index(),
                      r.num_shards(), i, split_->shards.size());
    MTDNN_INPUT_CHECK(r.size() == e.examples && r.num_tokens() == e.tokens && r.num_groups() == e.groups,
                      "{}: holds {} examples / {} tokens / {} groups but the manifest says {} / {} / {}", w,
                      r.size(), r.num_tokens(), r.num_groups(), e.examples, e.tokens, e.groups);
    MTDNN_INPUT_CHECK(r.tokenizer() == manifest_.tokenizer, "{}: made with another tokenizer than the "
                      "manifest says ({})", w, r.tokenizer().difference(manifest_.tokenizer));
    MTDNN_INPUT_CHECK(r.task_def().to_json() == manifest_.task_def.to_json(),
                      "{}: stored task definition differs from the manifest's", w);
    MTDNN_INPUT_CHECK(r.label_kind() == split_->label_kind, "{}: label kind {} but the manifest says {}", w,
                      to_string(r.label_kind()), to_string(split_->label_kind));
    total += r.size();
    first_.push_back(total);
    shards_.push_back(std::move(r));
  }
  MTDNN_INPUT_CHECK(total == split_->examples, "{}: shards hold {} examples but the manifest says {}",
                    manifest_path, total, split_->examples);
}

void SplitReader::expect(const TaskDef& task_def, const TokenizerIdentity& tokenizer) const {
  std::string manifest_path = (fs::path(task_dir_) / kManifestFile).string();
  MTDNN_INPUT_CHECK(manifest_.tokenizer == tokenizer, "{}: shards were made with another tokenizer ({}); "
                    "re-run mtdnn-preprocess with the same vocabulary, casing and max length",
                    manifest_path, manifest_.tokenizer.difference(tokenizer));
  nlohmann::json stored = manifest_.task_def.to_json(), wanted = task_def.to_json();
  if (stored != wanted) {
    std::string diff;
    for (auto it = wanted.begin(); it != wanted.end(); ++it)
      if (stored.value(it.key(), nlohmann::json()) != it.value())
        diff += fmt::format("{}{}: {} vs {}", diff.empty() ? "" : ", ", it.key(),
                            stored.value(it.key(), nlohmann::json()).dump(), it.value().dump());
    throw InputError(fmt::format("{}: shards were made for another definition of task '{}' (stored vs "
                                 "given: {}); re-run mtdnn-preprocess", manifest_path, task_def.name, diff));
  }
}

std::pair<size_t, int64_t> SplitReader::locate(int64_t i) const {
  MTDNN_CHECK(i >= 0 && i < size(), "example {} outside {} examples", i, size());
  auto it = std::upper_bound(first_.begin(), first_.end(), i);
  size_t shard = static_cast<size_t>(it - first_.begin() - 1);
  return {shard, i - first_[shard]};
}

Example SplitReader::get(int64_t i) const {
  auto [shard, local] = locate(i);
  return shards_[shard].get(local);
}

int64_t SplitReader::length(int64_t i) const {
  auto [shard, local] = locate(i);
  return shards_[shard].length(local);
}

std::vector<Example> SplitReader::get_range(int64_t begin, int64_t end) const {
  MTDNN_CHECK(0 <= begin && begin <= end && end <= size(), "range [{}, {}) outside {} examples", begin, end, size());
  std::vector<Example> out;
  out.reserve(static_cast<size_t>(end - begin));
  while (begin < end) {
    auto [shard, local] = locate(begin);
    int64_t take = std::min(end - begin, shards_[shard].size() - local);
    auto part = shards_[shard].get_range(local, local + take);
    std::move(part.begin(), part.end(), std::back_inserter(out));
    begin += take;
  }
  return out;
}

void SplitReader::verify_checksums() const {
  for (const auto& e : split_->shards) {
    std::string path = (fs::path(task_dir_) / e.file).string();
    std::string actual = sha256_hex_file(path);
    MTDNN_INPUT_CHECK(actual == e.sha256, "{}: SHA-256 {} differs from the manifest's {} (file changed or "
                      "corrupted; re-run mtdnn-preprocess)", path, actual, e.sha256);
  }
}

}  // namespace mtdnn::sharding
