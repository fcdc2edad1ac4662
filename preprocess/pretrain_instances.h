// Google BERT's pretraining instances (create_instances_from_document and truncate_seq_pair
// of create_pretraining_data.py), without the masking, which happens at batch time: each
// document's sentences are packed into chunks of about a target length and split into a
// segment A and a segment B that is either the actual continuation or, for next-sentence
// prediction, a random segment of another document of the same window. Every draw comes
// from the project's keyed SplitMix64 streams, so the instances depend only on the
// documents, the options, the window index and the seed. See docs/pretraining-corpus.md.
#pragma once

#include <cstdint>
#include <vector>

#include "preprocess/corpus_reader.h"

namespace mtdnn::preprocess {

// Options of the instance algorithm (TaskDef::pretrain holds a task's; the corpus job
// (corpus_job.h) fills these from it and from the command line).
struct InstanceOptions {
  int max_seq_len = 128;        // of the final sequence, [CLS] and [SEP]s included
  double short_seq_prob = 0.1;  // probability that a document's target length is random
  bool next_sentence = true;    // segment pairs with next-sentence labels; off: segment A only
  int dupe_factor = 1;          // passes over each window's documents, with different draws
  uint64_t seed = 12345;
};

// One instance, before [CLS]/[SEP] are added: A and B (empty when next_sentence is off).
struct PretrainInstance {
  std::vector<int32_t> tokens_a;
  std::vector<int32_t> tokens_b;
  bool is_random_next = false;  // B is a random segment (next-sentence label 1)
  uint32_t document = 0;        // index in the window of the document A comes from
};

struct PretrainStats {
  int64_t instances = 0;
  int64_t random_next = 0;      // instances whose B is a random segment
  int64_t truncated = 0;        // instances cut to the maximum number of tokens
  // Per document, whatever the dupe factor: documents of one sentence (with next_sentence,
  // each gets a random B, as in BERT; in a window of one document, no instance at all), and
  // sentences longer than the maximum number of tokens (they are truncated).
  int64_t short_documents = 0;
  int64_t long_sentences = 0;
  // Chunks of one sentence that gave no instance: with next_sentence, a window of one
  // document has no other document to draw a random B from.
  int64_t unpaired_chunks = 0;

  PretrainStats& operator+=(const PretrainStats& o);
};

// Most tokens in A and B together: max_seq_len - 3 ([CLS] A [SEP] B [SEP]), or
// max_seq_len - 2 without next_sentence ([CLS] A [SEP]).
int max_num_tokens(const InstanceOptions& options);

// The instances of one window of documents (as the CorpusReader gives them: every document
// and sentence non-empty; Error otherwise), all dupe_factor passes, shuffled. Pass d draws
// from Rng::keyed(seed, {kPretrainInstances, d, window_index}); the final shuffle continues
// the last pass's stream. InputError for options out of range (max_num_tokens < 2, that is
// max_seq_len < 5 with next_sentence, < 4 without; short_seq_prob outside [0, 1];
// dupe_factor < 1).
// Adds to `stats` when not null.
std::vector<PretrainInstance> create_pretrain_instances(const std::vector<CorpusDocument>& window,
                                                        uint64_t window_index, const InstanceOptions& options,
                                                        PretrainStats* stats = nullptr);

}  // namespace mtdnn::preprocess
