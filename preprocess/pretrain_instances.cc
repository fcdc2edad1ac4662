// BERT's sentence-pair instances of a window of documents (see pretrain_instances.h).
#include "preprocess/pretrain_instances.h"

#include <utility>

#include "common/error.h"
#include "schedule/rng.h"

namespace mtdnn::preprocess {

namespace {

using schedule::Rng;

// Python's rng.randint(lo, hi): uniform in [lo, hi], both included.
size_t randint(Rng& rng, size_t lo, size_t hi) { return lo + static_cast<size_t>(rng.below(hi - lo + 1)); }

// BERT's truncate_seq_pair: while A and B together exceed `max_tokens`, one token goes from
// the longer of the two (B on a tie), from its front or its back with probability 1/2 each.
// The cuts are counted first and applied once (erasing one token at a time from the front
// would take quadratic time on a long sentence); the draws are BERT's. True when anything
// was cut.
bool truncate_seq_pair(std::vector<int32_t>* a, std::vector<int32_t>* b, size_t max_tokens, Rng& rng) {
  size_t a_front = 0, a_back = 0, b_front = 0, b_back = 0;
  size_t a_len = a->size(), b_len = b->size();
  if (a_len + b_len <= max_tokens) return false;
  while (a_len + b_len > max_tokens) {
    bool from_a = a_len > b_len;
    bool front = rng.uniform() < 0.5;
    (from_a ? (front ? a_front : a_back) : (front ? b_front : b_back)) += 1;
    (from_a ? a_len : b_len) -= 1;
  }
  a->erase(a->end() - static_cast<std::ptrdiff_t>(a_back), a->end());
  a->erase(a->begin(), a->begin() + static_cast<std::ptrdiff_t>(a_front));
  b->erase(b->end() - static_cast<std::ptrdiff_t>(b_back), b->end());
  b->erase(b->begin(), b->begin() + static_cast<std::ptrdiff_t>(b_front));
  return true;
}

void append(std::vector<int32_t>* to, const CorpusSentence& s) { to->insert(to->end(), s.begin(), s.end()); }

// create_instances_from_document for window[doc_index], drawing from `rng`.
void instances_from_document(const std::vector<CorpusDocument>& window, size_t doc_index, size_t max_tokens,
                             const InstanceOptions& o, Rng& rng, std::vector<PretrainInstance>* out,
                             PretrainStats* stats) {
  const CorpusDocument& doc = window[doc_index];
  // Most of the time the chunks fill the whole sequence; sometimes (short_seq_prob) a
  // document's target is shorter, so that the model also sees short sequences.
  size_t target = max_tokens;
  if (rng.uniform() < o.short_seq_prob) target = randint(rng, 2, max_tokens);

  size_t chunk_begin = 0;  // the chunk is doc[chunk_begin, i]
  size_t chunk_len = 0;    // its tokens
  for (size_t i = 0; i < doc.size(); ++i) {
    chunk_len += doc[i].size();
    if (i + 1 < doc.size() && chunk_len < target) continue;
    const size_t chunk_size = i + 1 - chunk_begin;
    PretrainInstance inst;
    inst.document = static_cast<uint32_t>(doc_index);
    if (!o.next_sentence) {
      for (size_t j = chunk_begin; j <= i; ++j) append(&inst.tokens_a, doc[j]);
    } else {
      // A: the first a_end sentences of the chunk.
      size_t a_end = chunk_size >= 2 ? randint(rng, 1, chunk_size - 1) : 1;
      for (size_t j = 0; j < a_end; ++j) append(&inst.tokens_a, doc[chunk_begin + j]);
      bool random_next = chunk_size == 1 || rng.uniform() < 0.5;
      if (random_next && window.size() == 1) {
        // No other document to draw B from: the actual next when there is one; a chunk of
        // one sentence gives no instance.
        if (chunk_size == 1) {
          ++stats->unpaired_chunks;
          chunk_begin = i + 1;
          chunk_len = 0;
          continue;
        }
        random_next = false;
      }
      if (random_next) {
        // B: sentences of another document from a random start, up to the rest of the target.
        // (BERT tries ten times to draw a document other than this one, then uses this one;
        // drawing among the others directly has the same distribution and never fails.)
        size_t other = static_cast<size_t>(rng.below(window.size() - 1));
        if (other >= doc_index) ++other;
        const CorpusDocument& random_doc = window[other];
        size_t target_b = target > inst.tokens_a.size() ? target - inst.tokens_a.size() : 0;
        for (size_t j = randint(rng, 0, random_doc.size() - 1); j < random_doc.size(); ++j) {
          append(&inst.tokens_b, random_doc[j]);
          if (inst.tokens_b.size() >= target_b) break;
        }
        // The chunk's sentences after A were not used: they start the next chunk.
        i -= chunk_size - a_end;
        inst.is_random_next = true;
      } else {
        for (size_t j = chunk_begin + a_end; j <= i; ++j) append(&inst.tokens_b, doc[j]);
      }
    }
    if (truncate_seq_pair(&inst.tokens_a, &inst.tokens_b, max_tokens, rng)) ++stats->truncated;
    MTDNN_CHECK(!inst.tokens_a.empty(), "empty segment A");
    MTDNN_CHECK(!o.next_sentence || !inst.tokens_b.empty(), "empty segment B");
    ++stats->instances;
    stats->random_next += inst.is_random_next ? 1 : 0;
    out->push_back(std::move(inst));
    chunk_begin = i + 1;
    chunk_len = 0;
  }
}

}  // namespace

PretrainStats& PretrainStats::operator+=(const PretrainStats& o) {
  instances += o.instances;
  random_next += o.random_next;
  truncated += o.truncated;
  short_documents += o.short_documents;
  long_sentences += o.long_sentences;
  unpaired_chunks += o.unpaired_chunks;
  return *this;
}

int max_num_tokens(const InstanceOptions& options) { return options.max_seq_len - (options.next_sentence ? 3 : 2); }

std::vector<PretrainInstance> create_pretrain_instances(const std::vector<CorpusDocument>& window,
                                                        uint64_t window_index, const InstanceOptions& options,
                                                        PretrainStats* stats) {
  const int max_tokens = max_num_tokens(options);
  MTDNN_INPUT_CHECK(max_tokens >= 2, "the maximum sequence length must be at least {} for pretraining, got {}",
                    options.next_sentence ? 5 : 4, options.max_seq_len);
  MTDNN_INPUT_CHECK(options.short_seq_prob >= 0 && options.short_seq_prob <= 1,
                    "the short sequence probability must be in [0, 1], got {}", options.short_seq_prob);
  MTDNN_INPUT_CHECK(options.dupe_factor >= 1, "the dupe factor must be at least 1, got {}", options.dupe_factor);
  MTDNN_CHECK(window.size() <= UINT32_MAX, "a window of {} documents", window.size());
  PretrainStats st;
  for (const auto& doc : window) {
    MTDNN_CHECK(!doc.empty(), "a document without sentences");
    for (const auto& s : doc) {
      MTDNN_CHECK(!s.empty(), "a sentence without tokens");
      st.long_sentences += s.size() > static_cast<size_t>(max_tokens) ? 1 : 0;
    }
    st.short_documents += options.next_sentence && doc.size() == 1 ? 1 : 0;
  }

  std::vector<PretrainInstance> out;
  Rng rng(0);
  for (int dupe = 0; dupe < options.dupe_factor; ++dupe) {
    rng = Rng::keyed(options.seed, {static_cast<uint64_t>(schedule::RngPurpose::kPretrainInstances),
                                    static_cast<uint64_t>(dupe), window_index});
    for (size_t d = 0; d < window.size(); ++d)
      instances_from_document(window, d, static_cast<size_t>(max_tokens), options, rng, &out, &st);
  }
  rng.shuffle(out);  // BERT shuffles all its instances at the end; here, the window's
  if (stats) *stats += st;
  return out;
}

}  // namespace mtdnn::preprocess
