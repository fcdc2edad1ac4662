// The preprocessing job (see preprocess_job.h): read rows in blocks, featurize a block on
// every thread, then write its examples in row order, so the output does not depend on
// the number of threads. Shards cut a split's rows into contiguous ranges.
#include "preprocess/preprocess_job.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/error.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/thread_pool.h"
#include "preprocess/corpus_job.h"
#include "preprocess/featurizer.h"
#include "preprocess/row_source.h"
#include "preprocess/vocab.h"
#include "preprocess/wordpiece_tokenizer.h"
#include "sharding/shard_writer.h"

namespace fs = std::filesystem;

namespace mtdnn::preprocess {
namespace {

constexpr size_t kBlockRows = 4096;

class BackgroundSyncs;

struct Job {
  const PreprocessOptions& options;
  const Vocab& vocab;
  const WordPieceTokenizer& tokenizer;
  sharding::TokenizerIdentity identity;
  ThreadPool& pool;
  BackgroundSyncs* syncs;
};

// Refuses an output folder that holds data made by another tokenizer, or task folders
// that mtdnn-preprocess did not write. Nothing is written before this check.
void check_output_dir(const std::string& out_dir, const std::vector<TaskDef>& tasks,
                      const sharding::TokenizerIdentity& identity) {
  if (!fs::exists(out_dir)) return;
  MTDNN_INPUT_CHECK(fs::is_directory(out_dir), "{}: --out exists and is not a folder", out_dir);
  for (const auto& entry : fs::directory_iterator(out_dir)) {
    if (!entry.is_directory() || entry.path().filename().string().front() == '.') continue;
    fs::path manifest = entry.path() / sharding::kManifestFile;
    if (!fs::exists(manifest)) continue;
    sharding::TaskManifest m;
    try {
      m = sharding::TaskManifest::load(entry.path().string());
    } catch (const InputError&) {
      // Another run (a job array's sibling) may be replacing this task folder right now.
      if (!fs::exists(manifest)) continue;
      throw;
    }
    MTDNN_INPUT_CHECK(m.tokenizer == identity,
                      "{}: the output folder already holds a dataset made with another tokenizer ({}); "
                      "choose another --out or remove it", manifest.string(), identity.difference(m.tokenizer));
  }
  for (const auto& t : tasks) {
    fs::path dir = fs::path(out_dir) / t.name;
    MTDNN_INPUT_CHECK(!fs::exists(dir) || fs::exists(dir / sharding::kManifestFile),
                      "{}: exists but is not a task folder written by mtdnn-preprocess (no {}); "
                      "choose another --out or remove it", dir.string(), sharding::kManifestFile);
  }
}

// fsyncs of finished files, run in the background while the next split is processed:
// flushing to disk is most of the tool's wall time on small corpora, and needs no core.
class BackgroundSyncs {
 public:
  void add(const fs::path& path) {
    pending_.push_back(std::async(std::launch::async, [p = path.string()] { fsync_path(p); }));
  }
  // Waits for all; rethrows the first failure (e.g. an I/O error naming the file).
  void wait() {
    std::exception_ptr first;
    for (auto& f : pending_) {
      try {
        f.get();
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    pending_.clear();
    if (first) std::rethrow_exception(first);
  }
  ~BackgroundSyncs() {
    for (auto& f : pending_)
      if (f.valid()) f.wait();
  }

 private:
  std::vector<std::future<void>> pending_;
};

// Replaces `final_dir` by the completed `tmp_dir` once every file in it is on disk: the old
// folder is renamed away first and removed only after the new one is in place.
void commit_dir(const fs::path& tmp_dir, const fs::path& final_dir, BackgroundSyncs* syncs) {
  syncs->wait();  // the folder itself was synced when the manifest was written into it
  fs::path old = final_dir.parent_path() / ("." + final_dir.filename().string() + ".old-" + std::to_string(::getpid()));
  bool had_old = fs::exists(final_dir);
  if (had_old) fs::rename(final_dir, old);
  fs::rename(tmp_dir, final_dir);
  fsync_path(final_dir.parent_path().string());
  if (had_old) fs::remove_all(old);
}

nlohmann::json jsonl_record(const TaskDef& task, bool has_labels, const Featurized& f) {
  auto types = [](const sharding::Example& e) {
    std::vector<int> t(e.token_ids.size(), 0);
    std::fill(t.begin() + e.type_boundary, t.end(), 1);
    return t;
  };
  nlohmann::json j;
  const task_kinds::TaskKind& kind = task_kinds::kind_of(task);
  if (kind.grouped()) {
    std::vector<std::string> ruids;
    nlohmann::json ids = nlohmann::json::array(), type_ids = nlohmann::json::array(), masks = nlohmann::json::array();
    int positive = 0;
    for (size_t k = 0; k < f.examples.size(); ++k) {
      const auto& e = f.examples[k];
      ruids.push_back(e.uid);
      ids.push_back(e.token_ids);
      type_ids.push_back(types(e));
      masks.push_back(std::vector<int>(e.token_ids.size(), 1));
      if (e.label == 1) positive = static_cast<int>(k);
    }
    j = {{"uid", f.group_uid}, {"ruid", ruids}, {"label", positive}, {"token_id", ids},
         {"type_id", type_ids}, {"attention_mask", masks}};
    return j;
  }
  const auto& e = f.examples.front();
  j["uid"] = e.uid;
  if (kind.label_kind() == LabelKind::kScore)
    j["label"] = has_labels ? e.score : 0.0f;
  else
    j["label"] = has_labels ? e.label : 0;  // mt-dnn writes 0 for unlabeled (test) rows
  j["token_id"] = e.token_ids;
  j["type_id"] = types(e);
  j["attention_mask"] = std::vector<int>(e.token_ids.size(), 1);
  return j;
}

sharding::SplitManifest process_split(const Job& job, const TaskDef& task, const std::string& split,
                                      const fs::path& task_dir) {
  auto source = open_row_source(job.options.input_dir, task, split);
  bool has_labels = TaskDef::split_has_labels(split);
  Featurizer featurizer(job.vocab, job.tokenizer, task, job.options.max_seq_len, has_labels);

  sharding::SplitManifest m;
  m.split = split;
  m.source = source->relative_path();
  m.source_sha256 = sha256_hex_file(source->path());
  const task_kinds::TaskKind& kind = task_kinds::kind_of(task);
  m.label_kind = has_labels ? kind.label_kind() : LabelKind::kNone;
  const int64_t rows = std::max<int64_t>(source->rows(), 0);
  const int64_t num_shards = std::clamp<int64_t>(job.options.shards, 1, std::max<int64_t>(rows, 1));

  sharding::ShardInfo info{task.name, split, 0, num_shards, m.label_kind, task, job.identity};
  std::unique_ptr<sharding::ShardWriter> writer;
  int64_t shard = -1;
  auto close_shard = [&] {
    if (!writer) return;
    writer->finish();
    std::string file = sharding::shard_file_name(split, shard, num_shards);
    m.shards.push_back({file, writer->num_examples(), writer->num_tokens(), writer->num_groups(),
                        sha256_hex_file((task_dir / file).string())});
    writer.reset();
    job.syncs->add(task_dir / file);
  };
  auto open_shard_for_row = [&](int64_t row) {
    int64_t wanted = rows > 0 ? std::min(num_shards - 1, row * num_shards / rows) : 0;
    while (shard < wanted) {
      close_shard();
      info.shard_index = ++shard;
      writer = std::make_unique<sharding::ShardWriter>(
          (task_dir / sharding::shard_file_name(split, shard, num_shards)).string(), info);
    }
  };

  std::unique_ptr<std::ofstream> jsonl;
  if (job.options.emit_jsonl) {
    fs::path path = task_dir / (task.name + "_" + split + ".json");
    jsonl = std::make_unique<std::ofstream>(path, std::ios::binary);
    MTDNN_INPUT_CHECK(jsonl->good(), "{}: cannot create", path.string());
  }

  // A block of rows and their features.
  struct Block {
    std::vector<RawRow> rows = std::vector<RawRow>(kBlockRows);
    std::vector<Featurized> results = std::vector<Featurized>(kBlockRows);
    size_t n = 0;
  };
  auto read_block = [&](Block* b) {
    b->n = 0;
    while (b->n < kBlockRows && source->next(&b->rows[b->n])) ++b->n;
  };
  int64_t row_index = 0;
  std::string label = task.name + "/" + split;
  auto write_block = [&](const Block* b) {
    for (size_t i = 0; i < b->n; ++i, ++row_index) {
      open_shard_for_row(row_index);
      const Featurized& f = b->results[i];
      if (b->rows[i].unlabeled) {
        ++m.skipped_unlabeled;
        continue;
      }
      if (!f.error.empty()) {
        MTDNN_INPUT_CHECK(job.options.skip_bad_rows, "{}:{}: {} (use --on-bad-row skip to skip such rows)",
                          source->path(), b->rows[i].line, f.error);
        ++m.skipped_bad;
        continue;
      }
      if (kind.grouped())
        writer->append_group(f.group_uid, f.examples);
      else
        writer->append(f.examples.front());
      for (const auto& e : f.examples) m.tokens += static_cast<int64_t>(e.token_ids.size());
      m.examples += static_cast<int64_t>(f.examples.size());
      m.groups += kind.grouped() ? 1 : 0;
      m.truncated += f.truncated ? 1 : 0;
      if (jsonl) *jsonl << jsonl_record(task, has_labels, f).dump() << '\n';
    }
    log_progress(fmt::format("{}: {}/{} rows", label, row_index, rows));
  };
  auto featurize_block = [&](Block* b) {
    job.pool.parallel_for(b->n, [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) featurizer.featurize(b->rows[i], &b->results[i]);
    });
  };

  Block blocks[3];
  if (job.pool.size() == 1) {  // one thread: no overlap, everything in order on this thread
    for (read_block(&blocks[0]); blocks[0].n > 0; read_block(&blocks[0])) {
      featurize_block(&blocks[0]);
      write_block(&blocks[0]);
    }
  } else {
    // Block k+1 is read (into the block written two rounds ago) while block k is featurized
    // and block k-1 is written; writes stay in row order.
    auto launch = std::launch::async;
    std::future<void> writing;
    std::future<void> reading = std::async(launch, read_block, &blocks[0]);
    for (size_t k = 0;; ++k) {
      Block* current = &blocks[k % 3];
      reading.get();
      if (current->n == 0) break;
      reading = std::async(launch, read_block, &blocks[(k + 1) % 3]);
      featurize_block(current);
      if (writing.valid()) writing.get();
      writing = std::async(launch, write_block, current);
    }
    if (writing.valid()) writing.get();
  }
  m.rows = row_index;
  open_shard_for_row(std::max<int64_t>(rows - 1, 0));  // shards past the last row exist, empty
  close_shard();
  if (jsonl) {
    jsonl->close();
    MTDNN_INPUT_CHECK(!jsonl->fail(), "{}: write failed", (task_dir / (task.name + "_" + split + ".json")).string());
    job.syncs->add(task_dir / (task.name + "_" + split + ".json"));
  }
  log_info("{}: {} rows -> {} examples, {} tokens, {} shard(s){}{}", label, m.rows, m.examples, m.tokens,
           m.shards.size(), m.skipped_bad ? fmt::format(", {} bad rows skipped", m.skipped_bad) : "",
           m.skipped_unlabeled ? fmt::format(", {} rows without gold label skipped", m.skipped_unlabeled) : "");
  return m;
}

}  // namespace

std::vector<sharding::TaskManifest> run_preprocess(const PreprocessOptions& options) {
  MTDNN_INPUT_CHECK(options.max_seq_len >= 5 && options.max_seq_len <= 1 << 20,
                    "--max-seq-len {} is out of range (5 or more)", options.max_seq_len);
  MTDNN_INPUT_CHECK(options.shards >= 1, "--shards must be at least 1, got {}", options.shards);
  auto all_tasks = load_task_defs(options.task_def_path);
  auto tasks = select_tasks(all_tasks, options.tasks, options.task_def_path);
  auto reads_corpus = [](const TaskDef& t) { return task_kinds::kind_of(t).reads_corpus(); };
  auto splits_of = [&](const TaskDef& t) { return options.splits.empty() ? t.split_names : options.splits; };
  MTDNN_INPUT_CHECK(fs::exists(options.input_dir), "{}: --input does not exist", options.input_dir);
  for (const auto& t : tasks)  // a corpus may be a single file (corpus_job.h)
    MTDNN_INPUT_CHECK(fs::is_directory(options.input_dir) || reads_corpus(t),
                      "{}: --input is not a folder (only MaskLM tasks read a corpus file; task '{}' reads rows)",
                      options.input_dir, t.name);
  Vocab vocab = Vocab::load(options.vocab_path);
  WordPieceTokenizer tokenizer(vocab, options.lower_case);
  sharding::TokenizerIdentity identity;
  identity.vocab_sha256 = vocab.sha256();
  identity.vocab_size = vocab.size();
  identity.lower_case = options.lower_case;
  identity.max_seq_len = options.max_seq_len;
  check_output_dir(options.out_dir, tasks, identity);
  for (const auto& t : tasks)
    if (reads_corpus(t)) check_corpus_task(options, vocab, t, splits_of(t));

  int threads = options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  ThreadPool pool(threads);
  BackgroundSyncs syncs;
  Job job{options, vocab, tokenizer, identity, pool, &syncs};
  fs::create_directories(options.out_dir);

  std::vector<sharding::TaskManifest> manifests;
  for (const auto& task : tasks) {
    std::vector<std::string> splits = splits_of(task);
    for (const auto& s : splits)
      MTDNN_INPUT_CHECK(std::find(task.split_names.begin(), task.split_names.end(), s) != task.split_names.end(),
                        "split '{}' is not among task '{}''s split_names in {}", s, task.name, options.task_def_path);
    fs::path tmp = fs::path(options.out_dir) / ("." + task.name + ".tmp-" + std::to_string(::getpid()));
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    try {
      sharding::TaskManifest m{task, identity, {}};
      if (reads_corpus(task))
        m.splits = process_corpus({options, vocab, tokenizer, identity, [&](const std::string& f) { syncs.add(f); }},
                                  task, splits, tmp.string());
      else
        for (const auto& s : splits) m.splits.push_back(process_split(job, task, s, tmp));
      m.save(tmp.string());
      commit_dir(tmp, fs::path(options.out_dir) / task.name, &syncs);
      manifests.push_back(std::move(m));
    } catch (...) {
      try {
        syncs.wait();
      } catch (...) {
      }
      std::error_code ec;
      fs::remove_all(tmp, ec);
      throw;
    }
  }
  return manifests;
}

std::string summary_table(const std::vector<sharding::TaskManifest>& manifests, double seconds) {
  std::string out = fmt::format("{:<8} {:<16} {:>8} {:>9} {:>10} {:>9} {:>8} {:>7} {:>7}\n", "task", "split", "rows",
                                "examples", "tokens", "truncated", "skipped", "bad", "shards");
  int64_t tokens = 0, examples = 0, bad = 0;
  for (const auto& m : manifests)
    for (const auto& s : m.splits) {
      out += fmt::format("{:<8} {:<16} {:>8} {:>9} {:>10} {:>9} {:>8} {:>7} {:>7}\n", m.task_def.name, s.split, s.rows,
                         s.examples, s.tokens, s.truncated, s.skipped_unlabeled, s.skipped_bad, s.shards.size());
      tokens += s.tokens;
      examples += s.examples;
      bad += s.skipped_bad;
    }
  // Splits made from a text corpus (MaskLM): what the corpus gave.
  bool corpus_header = false;
  for (const auto& m : manifests)
    for (const auto& s : m.splits) {
      if (!s.corpus) continue;
      const sharding::CorpusCounts& c = *s.corpus;
      if (!corpus_header)
        out += fmt::format("{:<8} {:<16} {:>9} {:>9} {:>9} {:>11} {:>9} {:>10} {:>10}\n", "corpus", "split",
                           "documents", "sentences", "instances", "random-next", "truncated", "short-docs",
                           "long-sents");
      corpus_header = true;
      out += fmt::format("{:<8} {:<16} {:>9} {:>9} {:>9} {:>11} {:>9} {:>10} {:>10}\n", m.task_def.name, s.split,
                         c.documents, c.sentences, c.instances, c.random_next, s.truncated, c.short_documents,
                         c.long_sentences);
    }
  out += fmt::format("total: {} examples, {} tokens, {} bad rows skipped, {:.2f} s ({:.0f} tokens/s)\n", examples,
                     tokens, bad, seconds, seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0);
  return out;
}

}  // namespace mtdnn::preprocess
