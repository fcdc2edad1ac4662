// The corpus stage of mtdnn-preprocess: a MaskLM task's text corpus (a task whose kind
// reads_corpus()) into shards of BERT sentence pairs, in place of the rows of the labeled
// tasks. The corpus is read once, in windows (corpus_reader.h); each document is assigned
// to the train or dev split by a keyed draw; each split's windows become instances
// (pretrain_instances.h) that are written as they are made, so memory stays flat in the
// corpus size. The shards, their names and the manifest are those of the labeled tasks, so
// the dataset reader and the trainer read them unchanged. See docs/preprocess.md
// ("Pretraining corpora (MaskLM)") and docs/pretraining-corpus.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "preprocess/preprocess_job.h"
#include "preprocess/vocab.h"
#include "preprocess/wordpiece_tokenizer.h"
#include "sharding/manifest.h"

namespace mtdnn::preprocess {

// The corpus files of task `task_name` (the input rule): `input` itself when it is a file;
// else the `*.txt` and `*.jsonl` files directly inside `<input>/<task_name>/` when that
// folder exists, else directly inside `<input>/`; sorted by name, hidden files left out.
// InputError when `input` does not exist or the folder holds no such file.
std::vector<std::string> corpus_files(const std::string& input, const std::string& task_name);

// Checks a corpus task before anything is written: its splits (`splits`, the ones asked for,
// and its split_names) are among train and dev, train included; dev_fraction is in [0, 1);
// --dupe-factor is at least 1; the vocabulary has [MASK] (the error names the vocabulary
// file); the corpus files exist and can be opened. Throws InputError.
void check_corpus_task(const PreprocessOptions& options, const Vocab& vocab, const TaskDef& task,
                       const std::vector<std::string>& splits);

// What the corpus stage shares with the rest of the job.
struct CorpusJob {
  const PreprocessOptions& options;
  const Vocab& vocab;
  const WordPieceTokenizer& tokenizer;
  const sharding::TokenizerIdentity& identity;
  // Called with each file once it is complete (mtdnn-preprocess flushes it to disk in the
  // background); may be empty.
  std::function<void(const std::string& path)> file_done;
};

// Writes the splits `splits` of corpus task `task` into `task_dir` (an existing, empty
// folder): their shards and a copy of the vocabulary as `vocab.txt` (the MaskLM kind masks
// with it at batch time). Returns the splits' manifests in the order of `splits`. Throws
// InputError for bad input ("file:line: ..." unless options.skip_bad_rows); the caller
// removes the folder then.
std::vector<sharding::SplitManifest> process_corpus(const CorpusJob& job, const TaskDef& task,
                                                    const std::vector<std::string>& splits,
                                                    const std::string& task_dir);

// Whether document `document` (0-based, in corpus order) of a corpus is drawn for the dev
// split: a uniform draw from Rng::keyed(seed, {kPretrainInstances, kDevDrawKey, document})
// below `dev_fraction`. (process_corpus also moves the last document to dev when no other
// was drawn and the corpus has two or more.)
bool draws_dev_document(uint64_t seed, int64_t document, double dev_fraction);

}  // namespace mtdnn::preprocess
