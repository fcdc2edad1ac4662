// One run of mtdnn-preprocess: every requested task and split read, tokenized on all
// threads and written as shards plus a manifest per task. A task's folder appears only
// when all its splits are complete (written under a temporary name, then renamed), so
// an interrupted or failed run never leaves something that looks finished.
#pragma once

#include <string>
#include <vector>

#include "sharding/manifest.h"

namespace mtdnn::preprocess {

struct PreprocessOptions {
  std::string task_def_path;
  std::string input_dir;             // a folder; or a corpus file when every task is a MaskLM task
  std::string vocab_path;
  std::string out_dir;
  bool lower_case = true;
  int max_seq_len = 512;
  int shards = 1;                   // per split (fewer when a split has fewer rows)
  int threads = 0;                  // 0: every core
  std::vector<std::string> tasks;   // empty: every task of the definition file
  std::vector<std::string> splits;  // empty: each task's split_names
  bool emit_jsonl = false;          // also write mt-dnn's JSON-lines files
  bool skip_bad_rows = false;       // --on-bad-row skip
  // MaskLM tasks (corpus_job.h):
  int dupe_factor = 1;              // passes over each train window, with other draws (dev: 1)
  uint64_t seed = 12345;            // the documents' split draws and the instances
  int64_t corpus_window = 10000;    // documents per window of a split
};

// Runs the job; returns the manifests written. Tasks whose kind reads a corpus (MaskLM) go
// through corpus_job.h instead of rows. Throws InputError for bad input (naming the
// file and line) after removing anything half-written; completed tasks stay.
std::vector<sharding::TaskManifest> run_preprocess(const PreprocessOptions& options);

// The summary table printed at the end (one line per split, then totals).
std::string summary_table(const std::vector<sharding::TaskManifest>& manifests, double seconds);

}  // namespace mtdnn::preprocess
