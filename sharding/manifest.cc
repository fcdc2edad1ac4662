// TaskManifest: JSON (de)serialisation and atomic save (see manifest.h).
#include "sharding/manifest.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file_util.h"

namespace mtdnn::sharding {

// CorpusCounts as JSON: every field under its own name, all of them required when read.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(CorpusCounts, seed, dupe_factor, window_documents, files, documents, sentences,
                                   corpus_tokens, instances, random_next, short_documents, long_sentences,
                                   unpaired_chunks, empty_sentences)

const SplitManifest* TaskManifest::find_split(const std::string& split) const {
  for (const auto& s : splits)
    if (s.split == split) return &s;
  return nullptr;
}

nlohmann::json TaskManifest::to_json() const {
  nlohmann::json j;
  j["format"] = kManifestFormat;
  j["format_version"] = kFormatVersion;
  j["task"] = task_def.name;
  j["task_def"] = task_def.to_json();
  j["tokenizer"] = tokenizer.to_json();
  nlohmann::json js = nlohmann::json::array();
  for (const auto& s : splits) {
    nlohmann::json shards = nlohmann::json::array();
    for (const auto& e : s.shards)
      shards.push_back({{"file", e.file}, {"examples", e.examples}, {"tokens", e.tokens},
                        {"groups", e.groups}, {"sha256", e.sha256}});
    js.push_back({{"split", s.split}, {"source", s.source}, {"source_sha256", s.source_sha256},
                  {"label_kind", to_string(s.label_kind)}, {"rows", s.rows}, {"examples", s.examples},
                  {"tokens", s.tokens}, {"groups", s.groups}, {"truncated", s.truncated},
                  {"skipped_unlabeled", s.skipped_unlabeled}, {"skipped_bad", s.skipped_bad},
                  {"shards", shards}});
    if (s.corpus) js.back()["corpus"] = *s.corpus;
  }
  j["splits"] = js;
  return j;
}

TaskManifest TaskManifest::from_json(const nlohmann::json& j, const std::string& origin) {
  try {
    MTDNN_INPUT_CHECK(j.at("format").get<std::string>() == kManifestFormat, "{}: not an mtdnn manifest", origin);
    int64_t version = j.at("format_version").get<int64_t>();
    MTDNN_INPUT_CHECK(version == kFormatVersion,
                      "{}: shard format version {} but this build reads version {}; re-run mtdnn-preprocess",
                      origin, version, kFormatVersion);
    TaskManifest m;
    m.task_def = TaskDef::from_json(j.at("task_def"));
    m.tokenizer = TokenizerIdentity::from_json(j.at("tokenizer"));
    for (const auto& js : j.at("splits")) {
      SplitManifest s;
      s.split = js.at("split").get<std::string>();
      s.source = js.at("source").get<std::string>();
      s.source_sha256 = js.at("source_sha256").get<std::string>();
      s.label_kind = label_kind_from_string(js.at("label_kind").get<std::string>());
      s.rows = js.at("rows").get<int64_t>();
      s.examples = js.at("examples").get<int64_t>();
      s.tokens = js.at("tokens").get<int64_t>();
      s.groups = js.at("groups").get<int64_t>();
      s.truncated = js.at("truncated").get<int64_t>();
      s.skipped_unlabeled = js.at("skipped_unlabeled").get<int64_t>();
      s.skipped_bad = js.at("skipped_bad").get<int64_t>();
      for (const auto& e : js.at("shards"))
        s.shards.push_back({e.at("file").get<std::string>(), e.at("examples").get<int64_t>(),
                            e.at("tokens").get<int64_t>(), e.at("groups").get<int64_t>(),
                            e.at("sha256").get<std::string>()});
      if (js.contains("corpus")) s.corpus = js.at("corpus").get<CorpusCounts>();
      m.splits.push_back(std::move(s));
    }
    return m;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: malformed manifest: {}", origin, e.what()));
  }
}

TaskManifest TaskManifest::load(const std::string& task_dir) {
  std::string path = (std::filesystem::path(task_dir) / kManifestFile).string();
  std::ifstream in(path, std::ios::binary);
  MTDNN_INPUT_CHECK(in.good(), "{}: no manifest; the folder was not written by mtdnn-preprocess or "
                    "its run did not finish (re-run mtdnn-preprocess)", path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: malformed manifest: {}", path, e.what()));
  }
  return from_json(j, path);
}

void TaskManifest::save(const std::string& task_dir) const {
  write_file_atomic((std::filesystem::path(task_dir) / kManifestFile).string(), to_json().dump(2) + "\n");
}

}  // namespace mtdnn::sharding
