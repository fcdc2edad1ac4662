// The corpus stage of mtdnn-preprocess (see corpus_job.h). The number of instances of a
// split is known only once the whole corpus has been read, and shards cut a split into
// contiguous ranges by that number, so each split's examples first go, window by window,
// to a spool file in the task folder; once the corpus is read, each spool is cut into the
// shards in one sequential pass and removed.
#include "preprocess/corpus_job.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "common/error.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/sha256.h"
#include "preprocess/corpus_reader.h"
#include "preprocess/pretrain_instances.h"
#include "schedule/rng.h"
#include "sharding/shard_writer.h"
#include "task_kinds/task_kind.h"

namespace fs = std::filesystem;

namespace mtdnn::preprocess {
namespace {

constexpr const char* kTrain = "train";
constexpr const char* kDev = "dev";
constexpr const char* kVocabCopy = "vocab.txt";  // what the MaskLM kind loads (task_kinds/mask_lm)
// The second key of the dev draws: pass indices of the instances never get this large.
constexpr uint64_t kDevDrawKey = std::numeric_limits<uint64_t>::max();

bool is_corpus_file(const fs::directory_entry& e) {
  const std::string name = e.path().filename().string();
  if (name.empty() || name.front() == '.' || !e.is_regular_file()) return false;
  const std::string ext = e.path().extension().string();
  return ext == ".txt" || ext == ".jsonl";
}

// The manifest's source and source_sha256 of the corpus: a single file's name and digest;
// for several files, their folder relative to the input folder and the digest of their
// `sha256sum` listing ("<digest>  <name>\n" per file, in reading order).
std::pair<std::string, std::string> corpus_source(const std::string& input, const std::vector<std::string>& files,
                                                  const std::vector<std::string>& digests) {
  if (!fs::is_directory(input)) return {fs::path(input).filename().string(), digests.at(0)};
  std::string relative = fs::path(files.at(0)).parent_path().lexically_relative(input).generic_string();
  if (files.size() == 1) return {(fs::path(relative) / fs::path(files[0]).filename()).lexically_normal().generic_string(),
                                 digests.at(0)};
  std::string listing;
  for (size_t i = 0; i < files.size(); ++i)
    listing += digests.at(i) + "  " + fs::path(files[i]).filename().string() + "\n";
  return {relative == "." ? std::string("./") : relative + "/", sha256_hex(listing)};
}

// One example as the spool stores it: the uid's numbers, label, type boundary, length, ids.
struct SpoolHeader {
  int64_t document = 0;
  int32_t k = 0;
  int32_t label = 0;
  int32_t type_boundary = 0;
  int32_t length = 0;
};

class SpoolWriter {
 public:
  explicit SpoolWriter(std::string path) : path_(std::move(path)), out_(path_, std::ios::binary | std::ios::trunc) {
    MTDNN_INPUT_CHECK(out_.good(), "{}: cannot create", path_);
  }
  void append(const SpoolHeader& h, const std::vector<int32_t>& ids) {
    out_.write(reinterpret_cast<const char*>(&h), sizeof h);
    out_.write(reinterpret_cast<const char*>(ids.data()), static_cast<std::streamsize>(ids.size() * sizeof(int32_t)));
    ++count_;
  }
  // Closes the file; returns the examples written.
  int64_t close() {
    out_.close();
    MTDNN_INPUT_CHECK(!out_.fail(), "{}: write failed (disk full?)", path_);
    return count_;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
  int64_t count_ = 0;
};

bool read_spooled(std::ifstream& in, const std::string& path, SpoolHeader* h, std::vector<int32_t>* ids) {
  if (!in.read(reinterpret_cast<char*>(h), sizeof *h)) {
    MTDNN_INPUT_CHECK(in.gcount() == 0, "{}: truncated", path);
    return false;
  }
  MTDNN_CHECK(h->length >= 0, "{}: bad record", path);
  ids->resize(static_cast<size_t>(h->length));
  MTDNN_INPUT_CHECK(in.read(reinterpret_cast<char*>(ids->data()), static_cast<std::streamsize>(ids->size() * 4)),
                    "{}: truncated", path);
  return true;
}

// One split being made: its window of documents, its counts and its spool.
struct SplitState {
  std::string name;
  int split_key = 0;              // 0 train, 1 dev: the high half of the window key
  bool wanted = false;            // asked for (--splits); documents of other splits are dropped
  InstanceOptions instance_options;
  std::vector<CorpusDocument> window;
  std::vector<int64_t> window_documents;  // corpus index of each document of the window
  uint64_t windows = 0;
  PretrainStats stats;
  sharding::CorpusCounts counts;
  int64_t tokens = 0, skipped_bad = 0;
  std::unique_ptr<SpoolWriter> spool;
};

class CorpusSplitter {
 public:
  CorpusSplitter(const CorpusJob& job, const TaskDef& task, const std::vector<std::string>& splits,
                 const fs::path& task_dir)
      : job_(job) {
    const bool has_dev = std::find(task.split_names.begin(), task.split_names.end(), kDev) != task.split_names.end();
    dev_fraction_ = has_dev ? task.pretrain.dev_fraction : 0.0;
    for (int s = 0; s < 2; ++s) {
      SplitState& st = states_[s];
      st.name = s == 0 ? kTrain : kDev;
      st.split_key = s;
      st.wanted = std::find(splits.begin(), splits.end(), st.name) != splits.end();
      InstanceOptions& o = st.instance_options;
      o.max_seq_len = job.options.max_seq_len;
      o.short_seq_prob = task.pretrain.short_seq_prob;
      o.next_sentence = task.pretrain.next_sentence;
      o.dupe_factor = s == 0 ? job.options.dupe_factor : 1;
      o.seed = job.options.seed;
      st.counts.seed = job.options.seed;
      st.counts.dupe_factor = o.dupe_factor;
      st.counts.window_documents = job.options.corpus_window;
      if (st.wanted) st.spool = std::make_unique<SpoolWriter>((task_dir / ("." + st.name + ".spool")).string());
    }
  }

  SplitState& state(const std::string& split) { return states_[split == kTrain ? 0 : 1]; }

  // Reads the whole corpus, routing each document to its split. The last document is held
  // back until the end is known, so that it can go to dev when no other document did.
  void run(CorpusReader& reader, const std::string& label) {
    // A document read, with the bad lines skipped and empty lines dropped while reading it
    // (they count in its split; those after the last document, in the last one's).
    struct Read {
      CorpusDocument doc;
      int64_t index = -1;
      int64_t skipped = 0, empty = 0;
    };
    std::vector<CorpusDocument> one;
    std::optional<Read> held;
    int64_t documents = 0, dev_documents = 0;
    int64_t skipped = 0, empty = 0;  // the reader's counts already attributed
    auto take_counts = [&](Read* r) {
      r->skipped += reader.stats().skipped_lines - skipped;
      r->empty += reader.stats().empty_sentences - empty;
      skipped = reader.stats().skipped_lines;
      empty = reader.stats().empty_sentences;
    };
    auto route = [&](Read& r, bool dev) {
      dev_documents += dev ? 1 : 0;
      SplitState& st = states_[dev ? 1 : 0];
      st.skipped_bad += r.skipped;
      st.counts.empty_sentences += r.empty;
      if (!st.wanted) return;
      st.counts.documents += 1;
      st.counts.sentences += static_cast<int64_t>(r.doc.size());
      for (const auto& s : r.doc) st.counts.corpus_tokens += static_cast<int64_t>(s.size());
      st.window.push_back(std::move(r.doc));
      st.window_documents.push_back(r.index);
      if (static_cast<int64_t>(st.window.size()) >= job_.options.corpus_window) make_instances(st);
    };
    while (reader.next_window(&one)) {
      if (held) route(*held, draws_dev_document(job_.options.seed, held->index, dev_fraction_));
      held.emplace();
      held->doc = std::move(one.front());
      held->index = documents++;
      take_counts(&*held);
      if (documents % 1000 == 0) log_progress(fmt::format("{}: {} documents", label, documents));
    }
    if (held) {
      take_counts(&*held);
      const bool dev = draws_dev_document(job_.options.seed, held->index, dev_fraction_) ||
                       (dev_fraction_ > 0 && dev_documents == 0 && documents >= 2);
      route(*held, dev);
    }
    for (auto& st : states_) {
      if (!st.wanted) continue;
      make_instances(st);
      st.counts.files = reader.stats().files;
      st.spool->close();
    }
  }

 private:
  // The window's instances, into the spool.
  void make_instances(SplitState& st) {
    if (st.window.empty()) return;
    const uint64_t key = (static_cast<uint64_t>(st.split_key) << 32) | st.windows++;
    std::vector<PretrainInstance> instances = create_pretrain_instances(st.window, key, st.instance_options, &st.stats);
    std::vector<int32_t> per_document(st.window.size(), 0);
    std::vector<int32_t> ids;
    const Vocab& v = job_.vocab;
    for (const PretrainInstance& inst : instances) {
      ids.clear();
      ids.push_back(v.cls_id());
      ids.insert(ids.end(), inst.tokens_a.begin(), inst.tokens_a.end());
      ids.push_back(v.sep_id());
      SpoolHeader h;
      h.type_boundary = static_cast<int32_t>(ids.size());
      if (st.instance_options.next_sentence) {
        ids.insert(ids.end(), inst.tokens_b.begin(), inst.tokens_b.end());
        ids.push_back(v.sep_id());
      }
      h.document = st.window_documents[inst.document];
      h.k = per_document[inst.document]++;
      h.label = inst.is_random_next ? 1 : 0;
      h.length = static_cast<int32_t>(ids.size());
      st.spool->append(h, ids);
      st.tokens += h.length;
    }
    st.window.clear();
    st.window_documents.clear();
  }

  const CorpusJob& job_;
  double dev_fraction_ = 0.0;
  SplitState states_[2];
};

// Cuts a split's spool into its shards (as the labeled tasks' splits are cut: example i of
// n goes to shard i * shards / n) and fills the manifest's counts.
sharding::SplitManifest write_shards(const CorpusJob& job, const TaskDef& task, SplitState& st,
                                     const fs::path& task_dir) {
  sharding::SplitManifest m;
  m.split = st.name;
  m.label_kind = task_kinds::kind_of(task).label_kind();
  const int64_t n = st.stats.instances;
  const int64_t num_shards = std::clamp<int64_t>(job.options.shards, 1, std::max<int64_t>(n, 1));
  sharding::ShardInfo info{task.name, st.name, 0, num_shards, m.label_kind, task, job.identity};

  const std::string spool_path = st.spool->path();
  std::ifstream in(spool_path, std::ios::binary);
  MTDNN_INPUT_CHECK(in.good(), "{}: cannot open", spool_path);
  std::vector<char> buffer(size_t{1} << 20);
  in.rdbuf()->pubsetbuf(buffer.data(), static_cast<std::streamsize>(buffer.size()));

  sharding::Example e;
  SpoolHeader h;
  int64_t i = 0;
  for (int64_t shard = 0; shard < num_shards; ++shard) {
    info.shard_index = shard;
    const std::string file = sharding::shard_file_name(st.name, shard, num_shards);
    sharding::ShardWriter writer((task_dir / file).string(), info);
    const int64_t end = n > 0 ? (shard + 1) * n / num_shards : 0;  // first example of the next shard
    for (; i < end; ++i) {
      const bool read = read_spooled(in, spool_path, &h, &e.token_ids);
      MTDNN_CHECK(read, "{}: {} examples, {} expected", spool_path, i, n);
      e.uid = fmt::format("{}-{}", h.document, h.k);
      e.type_boundary = h.type_boundary;
      e.label = h.label;
      writer.append(e);
    }
    writer.finish();
    m.shards.push_back({file, writer.num_examples(), writer.num_tokens(), writer.num_groups(),
                        sha256_hex_file((task_dir / file).string())});
    if (job.file_done) job.file_done((task_dir / file).string());
  }
  const bool more = read_spooled(in, spool_path, &h, &e.token_ids);
  MTDNN_CHECK(!more, "{}: more than {} examples", spool_path, n);
  in.close();
  fs::remove(spool_path);

  m.rows = st.counts.documents;
  m.examples = n;
  m.tokens = st.tokens;
  m.truncated = st.stats.truncated;
  m.skipped_bad = st.skipped_bad;
  sharding::CorpusCounts& c = st.counts;
  c.instances = n;
  c.random_next = st.stats.random_next;
  c.short_documents = st.stats.short_documents;
  c.long_sentences = st.stats.long_sentences;
  c.unpaired_chunks = st.stats.unpaired_chunks;
  m.corpus = c;
  return m;
}

}  // namespace

bool draws_dev_document(uint64_t seed, int64_t document, double dev_fraction) {
  if (dev_fraction <= 0) return false;
  schedule::Rng rng = schedule::Rng::keyed(
      seed, {static_cast<uint64_t>(schedule::RngPurpose::kPretrainInstances), kDevDrawKey, static_cast<uint64_t>(document)});
  return rng.uniform() < dev_fraction;
}

std::vector<std::string> corpus_files(const std::string& input, const std::string& task_name) {
  MTDNN_INPUT_CHECK(fs::exists(input), "{}: --input does not exist", input);
  if (!fs::is_directory(input)) return {input};
  fs::path dir = fs::path(input) / task_name;
  if (!fs::is_directory(dir)) dir = input;
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (is_corpus_file(entry)) files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  MTDNN_INPUT_CHECK(!files.empty(), "{}: no corpus file (*.txt or *.jsonl) for MaskLM task '{}' (read from {}/{}/ "
                    "when that folder exists, else from {}/)", dir.string(), task_name, input, task_name, input);
  return files;
}

void check_corpus_task(const PreprocessOptions& options, const Vocab& vocab, const TaskDef& task,
                       const std::vector<std::string>& splits) {
  auto check_split = [&](const std::string& s, const char* where) {
    MTDNN_INPUT_CHECK(s == kTrain || s == kDev, "{}: MaskLM task '{}' has the splits train and dev, not '{}' ({})",
                      options.task_def_path, task.name, s, where);
  };
  for (const auto& s : task.split_names) check_split(s, "split_names");
  for (size_t i = 0; i < splits.size(); ++i) {
    check_split(splits[i], "--splits");
    MTDNN_INPUT_CHECK(std::find(splits.begin(), splits.begin() + static_cast<std::ptrdiff_t>(i), splits[i]) ==
                      splits.begin() + static_cast<std::ptrdiff_t>(i), "--splits names '{}' twice", splits[i]);
  }
  MTDNN_INPUT_CHECK(std::find(task.split_names.begin(), task.split_names.end(), kTrain) != task.split_names.end(),
                    "{}: MaskLM task '{}' needs a train split in split_names", options.task_def_path, task.name);
  MTDNN_INPUT_CHECK(task.pretrain.dev_fraction >= 0 && task.pretrain.dev_fraction < 1,
                    "{}: MaskLM task '{}': dev_fraction must be in [0, 1), got {}", options.task_def_path, task.name,
                    task.pretrain.dev_fraction);
  MTDNN_INPUT_CHECK(options.dupe_factor >= 1, "--dupe-factor must be at least 1, got {}", options.dupe_factor);
  MTDNN_INPUT_CHECK(options.corpus_window >= 1 && options.corpus_window <= std::numeric_limits<uint32_t>::max(),
                    "the corpus window must hold 1 to 2^32-1 documents, got {}", options.corpus_window);
  MTDNN_INPUT_CHECK(vocab.mask_id() >= 0,
                    "{}: the vocabulary has no [MASK] token, which MaskLM task '{}' masks with; use BERT's vocab.txt "
                    "or add [MASK]", options.vocab_path, task.name);
  for (const auto& path : corpus_files(options.input_dir, task.name)) {
    std::ifstream in(path, std::ios::binary);
    MTDNN_INPUT_CHECK(in.good(), "{}: cannot open file", path);
  }
}

std::vector<sharding::SplitManifest> process_corpus(const CorpusJob& job, const TaskDef& task,
                                                    const std::vector<std::string>& splits,
                                                    const std::string& task_dir) {
  check_corpus_task(job.options, job.vocab, task, splits);
  const std::vector<std::string> files = corpus_files(job.options.input_dir, task.name);
  const fs::path dir(task_dir);

  // The vocabulary the shards were made with, byte for byte.
  {
    std::string bytes = read_file(job.options.vocab_path);
    MTDNN_INPUT_CHECK(sha256_hex(bytes) == job.vocab.sha256(), "{}: the vocabulary changed while preprocessing",
                      job.options.vocab_path);
    const std::string path = (dir / kVocabCopy).string();
    std::ofstream out(path, std::ios::binary);
    out << bytes;
    out.close();
    MTDNN_INPUT_CHECK(!out.fail(), "{}: write failed", path);
    if (job.file_done) job.file_done(path);
  }

  CorpusReaderOptions ro;
  ro.window_documents = 1;  // documents are routed one by one; the splits keep the windows
  ro.skip_bad_rows = job.options.skip_bad_rows;
  CorpusReader reader(files, job.tokenizer, ro);
  CorpusSplitter splitter(job, task, splits, dir);
  splitter.run(reader, task.name);
  const auto [source, source_sha256] = corpus_source(job.options.input_dir, files, reader.file_sha256());

  std::vector<sharding::SplitManifest> out;
  for (const auto& s : splits) {
    SplitState& st = splitter.state(s);
    sharding::SplitManifest m = write_shards(job, task, st, dir);
    m.source = source;
    m.source_sha256 = source_sha256;
    const auto& c = *m.corpus;
    log_info("{}/{}: {} documents, {} sentences -> {} instances ({} random next, {} truncated), {} tokens, "
             "{} shard(s){}", task.name, s, c.documents, c.sentences, c.instances, c.random_next, m.truncated,
             m.tokens, m.shards.size(), m.skipped_bad ? fmt::format(", {} bad lines skipped", m.skipped_bad) : "");
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace mtdnn::preprocess
