// BERT's sentence-pair instances on hand-made documents whose "tokens" say where they come
// from (document * 1,000,000 + sentence * 1,000 + position), so that every instance can be
// traced back: short targets, random and actual next segments with the put-back,
// truncation, determinism, the dupe factor, label balance, next-sentence off; and the
// real python-docs corpus through the reader.
#include "preprocess/pretrain_instances.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "common/error.h"
#include "preprocess/vocab.h"
#include "test_support.h"

namespace mtdnn::preprocess {
namespace {

int32_t token(int doc, int sentence, int pos) { return doc * 1000000 + sentence * 1000 + pos; }
int doc_of(int32_t t) { return t / 1000000; }
int sentence_of(int32_t t) { return t / 1000 % 1000; }
int pos_of(int32_t t) { return t % 1000; }

// Documents with the given sentence lengths.
CorpusDocument make_doc(int doc, const std::vector<int>& lengths) {
  CorpusDocument d;
  for (size_t s = 0; s < lengths.size(); ++s) {
    d.emplace_back();
    for (int p = 0; p < lengths[s]; ++p) d.back().push_back(token(doc, static_cast<int>(s), p));
  }
  return d;
}

// `n` documents of `sentences(i)` sentences of `length` tokens each.
template <typename F>
std::vector<CorpusDocument> uniform_docs(int n, F sentences, int length) {
  std::vector<CorpusDocument> docs;
  for (int i = 0; i < n; ++i) docs.push_back(make_doc(i, std::vector<int>(sentences(i), length)));
  return docs;
}

// Whether `seg` is a run of consecutive tokens of one document (sentences of `length`).
bool contiguous(const std::vector<int32_t>& seg, int length) {
  for (size_t k = 1; k < seg.size(); ++k) {
    auto flat = [&](int32_t t) { return sentence_of(t) * length + pos_of(t); };
    if (doc_of(seg[k]) != doc_of(seg[0]) || flat(seg[k]) != flat(seg[k - 1]) + 1) return false;
  }
  return true;
}

using Key = std::tuple<std::vector<int32_t>, std::vector<int32_t>, bool>;
std::vector<Key> keys(const std::vector<PretrainInstance>& instances) {
  std::vector<Key> out;
  for (const auto& i : instances) out.emplace_back(i.tokens_a, i.tokens_b, i.is_random_next);
  return out;
}

TEST(PretrainInstances, ShortSequenceTargets) {
  // Sentences of one token, next sentence off: every chunk but a document's last has exactly
  // the document's target length.
  auto docs = uniform_docs(400, [](int) { return 100; }, 1);
  InstanceOptions o;
  o.max_seq_len = 34;  // 32 tokens without next sentence
  o.next_sentence = false;
  for (double prob : {0.0, 1.0}) {
    o.short_seq_prob = prob;
    PretrainStats stats;
    auto instances = create_pretrain_instances(docs, 0, o, &stats);
    // Per document, its chunks in order.
    std::map<int, std::vector<std::pair<int, size_t>>> chunks;
    for (const auto& inst : instances) {
      ASSERT_TRUE(inst.tokens_b.empty());
      ASSERT_FALSE(inst.is_random_next);
      chunks[doc_of(inst.tokens_a[0])].emplace_back(sentence_of(inst.tokens_a[0]), inst.tokens_a.size());
    }
    ASSERT_EQ(chunks.size(), docs.size());
    std::set<size_t> targets;
    for (auto& [doc, list] : chunks) {
      std::sort(list.begin(), list.end());
      for (size_t k = 0; k + 1 < list.size(); ++k) {
        EXPECT_EQ(list[k].second, list[0].second);  // one target per document
        EXPECT_EQ(list[k + 1].first, list[k].first + static_cast<int>(list[k].second));  // no gap
      }
      EXPECT_LE(list.back().second, list[0].second);
      if (list.size() > 1) targets.insert(list[0].second);
    }
    if (prob == 0) {
      EXPECT_EQ(targets, std::set<size_t>{32});
    } else {
      // Uniform in [2, 32]: 400 documents see every value.
      EXPECT_EQ(*targets.begin(), 2u);
      EXPECT_EQ(*targets.rbegin(), 32u);
      EXPECT_EQ(targets.size(), 31u);
    }
    EXPECT_EQ(stats.truncated, 0);
  }
}

TEST(PretrainInstances, RandomNextActualNextAndPutBack) {
  // Every sentence lasts L = 7 tokens, fewer than the 61 of a pair: a pair then overflows by
  // fewer than L tokens, so truncation can never remove a whole sentence, and every sentence
  // of every document must show up in some A or actual-next B in each pass (the sentences a
  // random B displaces are put back).
  constexpr int L = 7;
  auto docs = uniform_docs(8, [](int i) { return 1 + i * 4; }, L);  // 1 .. 29 sentences
  InstanceOptions o;
  o.max_seq_len = 64;
  o.short_seq_prob = 0.3;
  int64_t random_total = 0, actual_total = 0;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    o.seed = seed;
    PretrainStats stats;
    auto instances = create_pretrain_instances(docs, 0, o, &stats);
    EXPECT_EQ(stats.instances, static_cast<int64_t>(instances.size()));
    EXPECT_EQ(stats.short_documents, 1);  // document 0
    std::set<std::pair<int, int>> seen;  // (document, sentence) in A or actual-next B
    int64_t random = 0;
    for (const auto& inst : instances) {
      ASSERT_FALSE(inst.tokens_a.empty());
      ASSERT_FALSE(inst.tokens_b.empty());
      ASSERT_LE(inst.tokens_a.size() + inst.tokens_b.size(), 61u);
      ASSERT_TRUE(contiguous(inst.tokens_a, L));
      ASSERT_TRUE(contiguous(inst.tokens_b, L));
      for (int32_t t : inst.tokens_a) seen.emplace(doc_of(t), sentence_of(t));
      if (inst.is_random_next) {
        ++random;
        EXPECT_NE(doc_of(inst.tokens_b[0]), doc_of(inst.tokens_a[0]));  // never the same document
      } else {
        EXPECT_EQ(doc_of(inst.tokens_b[0]), doc_of(inst.tokens_a[0]));
        EXPECT_GT(sentence_of(inst.tokens_b[0]), sentence_of(inst.tokens_a.back()));  // after A
        for (int32_t t : inst.tokens_b) seen.emplace(doc_of(t), sentence_of(t));
      }
    }
    EXPECT_EQ(stats.random_next, random);
    random_total += random;
    actual_total += static_cast<int64_t>(instances.size()) - random;
    for (size_t d = 0; d < docs.size(); ++d)
      for (size_t s = 0; s < docs[d].size(); ++s)
        EXPECT_TRUE(seen.count({static_cast<int>(d), static_cast<int>(s)}))
            << "seed " << seed << ": document " << d << " sentence " << s << " is in no instance";
  }
  EXPECT_GT(random_total, 100);
  EXPECT_GT(actual_total, 100);
}

TEST(PretrainInstances, TruncationKeepsTheLimitAndUsesBothEnds) {
  // Sentences of 20 .. 300 tokens against 61 tokens per pair.
  std::vector<CorpusDocument> docs;
  int64_t long_sentences = 0;
  for (int d = 0; d < 20; ++d) {
    std::vector<int> lengths;
    for (int s = 0; s < 6; ++s) {
      lengths.push_back(20 + (d * 37 + s * 53) % 281);
      long_sentences += lengths.back() > 61 ? 1 : 0;
    }
    docs.push_back(make_doc(d, lengths));
  }
  InstanceOptions o;
  o.max_seq_len = 64;
  PretrainStats stats;
  auto instances = create_pretrain_instances(docs, 3, o, &stats);
  EXPECT_EQ(stats.long_sentences, long_sentences);
  EXPECT_GT(stats.truncated, 0);
  int front_cut = 0, back_cut = 0;
  for (const auto& inst : instances) {
    ASSERT_LE(inst.tokens_a.size() + inst.tokens_b.size(), 61u);
    ASSERT_FALSE(inst.tokens_a.empty());
    ASSERT_FALSE(inst.tokens_b.empty());
    // Before truncation A starts and ends on sentence boundaries.
    const auto& last = inst.tokens_a.back();
    const size_t last_len = docs[doc_of(last)][sentence_of(last)].size();
    front_cut += pos_of(inst.tokens_a.front()) != 0 ? 1 : 0;
    back_cut += static_cast<size_t>(pos_of(last)) + 1 != last_len ? 1 : 0;
  }
  EXPECT_GT(front_cut, 0);
  EXPECT_GT(back_cut, 0);
}

TEST(PretrainInstances, DeterministicFromSeedAndWindow) {
  auto docs = uniform_docs(10, [](int i) { return 3 + i; }, 9);
  InstanceOptions o;
  o.max_seq_len = 48;
  o.seed = 7;
  PretrainStats s1, s2;
  auto a = create_pretrain_instances(docs, 5, o, &s1);
  auto b = create_pretrain_instances(docs, 5, o, &s2);
  EXPECT_EQ(keys(a), keys(b));
  EXPECT_EQ(s1.random_next, s2.random_next);
  EXPECT_EQ(s1.truncated, s2.truncated);
  EXPECT_NE(keys(a), keys(create_pretrain_instances(docs, 6, o)));  // another window
  o.seed = 8;
  EXPECT_NE(keys(a), keys(create_pretrain_instances(docs, 5, o)));  // another seed
}

TEST(PretrainInstances, DupeFactorRepeatsWithOtherDraws) {
  auto docs = uniform_docs(10, [](int i) { return 1 + i * 2; }, 9);
  InstanceOptions o;
  o.max_seq_len = 48;
  PretrainStats one_stats, three_stats;
  auto one = create_pretrain_instances(docs, 2, o, &one_stats);
  o.dupe_factor = 3;
  auto three = create_pretrain_instances(docs, 2, o, &three_stats);
  // Pass 0 draws the same with either dupe factor: its instances are among the three passes'.
  const std::vector<Key> three_keys = keys(three);
  std::multiset<Key> all(three_keys.begin(), three_keys.end());
  const std::vector<Key> pass0 = keys(one);
  for (const auto& k : pass0) {
    auto it = all.find(k);
    ASSERT_NE(it, all.end());
    all.erase(it);
  }
  // The other passes drew differently, and the whole is shuffled.
  EXPECT_GT(three.size(), 2 * one.size());
  EXPECT_LT(three.size(), 4 * one.size());
  EXPECT_NE(std::vector<Key>(three_keys.begin(), three_keys.begin() + static_cast<std::ptrdiff_t>(one.size())), pass0);
  EXPECT_NE(all, std::multiset<Key>(pass0.begin(), pass0.end()));
  EXPECT_EQ(three_stats.instances, static_cast<int64_t>(three.size()));
  // Per-document counts do not repeat.
  EXPECT_EQ(three_stats.short_documents, one_stats.short_documents);
  EXPECT_EQ(three_stats.short_documents, 1);
}

TEST(PretrainInstances, LabelsAreBalanced) {
  // Documents of 40 sentences of 5 tokens: chunks of about 25 sentences. A chunk of several
  // sentences takes a random next with probability 1/2, whatever its split point; a chunk
  // of one sentence (left over at a document's end after a put-back) always does, so over
  // all instances random is a little more frequent than actual, as in BERT.
  auto docs = uniform_docs(1000, [](int) { return 40; }, 5);
  InstanceOptions o;
  PretrainStats stats;
  auto instances = create_pretrain_instances(docs, 0, o, &stats);
  ASSERT_GT(instances.size(), 3000u);
  double fraction = static_cast<double>(stats.random_next) / static_cast<double>(stats.instances);
  // Instances whose A has two sentences or more come from chunks of three or more: a fair
  // coin decided their label.
  int64_t multi = 0, multi_random = 0;
  for (const auto& inst : instances) {
    if (sentence_of(inst.tokens_a.front()) == sentence_of(inst.tokens_a.back())) continue;
    ++multi;
    multi_random += inst.is_random_next ? 1 : 0;
  }
  double multi_fraction = static_cast<double>(multi_random) / static_cast<double>(multi);
  std::printf("random next: %.4f of %zu instances; %.4f of the %lld with A of 2+ sentences\n", fraction,
              instances.size(), multi_fraction, static_cast<long long>(multi));
  ASSERT_GT(multi, 2000);
  EXPECT_NEAR(multi_fraction, 0.5, 0.035);  // over 3 standard deviations
  EXPECT_GE(fraction, multi_fraction - 0.01);
  EXPECT_LT(fraction, 0.6);
  // Shuffled: labels are not in blocks.
  int changes = 0;
  for (size_t k = 1; k < instances.size(); ++k) changes += instances[k].is_random_next != instances[k - 1].is_random_next;
  EXPECT_GT(changes, static_cast<int>(instances.size() / 3));
}

TEST(PretrainInstances, NextSentenceOff) {
  constexpr int L = 6;
  auto docs = uniform_docs(12, [](int i) { return 1 + i * 3; }, L);
  InstanceOptions o;
  o.max_seq_len = 40;  // 38 tokens in A
  o.next_sentence = false;
  o.short_seq_prob = 0.5;
  EXPECT_EQ(max_num_tokens(o), 38);
  PretrainStats stats;
  auto instances = create_pretrain_instances(docs, 0, o, &stats);
  EXPECT_EQ(stats.random_next, 0);
  EXPECT_EQ(stats.short_documents, 0);
  // Each sentence in exactly one instance (no pairs, no put-back).
  std::map<std::pair<int, int>, int> count;
  for (const auto& inst : instances) {
    ASSERT_TRUE(inst.tokens_b.empty());
    ASSERT_FALSE(inst.is_random_next);
    ASSERT_LE(inst.tokens_a.size(), 38u);
    ASSERT_TRUE(contiguous(inst.tokens_a, L));
    std::set<std::pair<int, int>> here;
    for (int32_t t : inst.tokens_a) here.emplace(doc_of(t), sentence_of(t));
    for (const auto& k : here) ++count[k];
  }
  for (size_t d = 0; d < docs.size(); ++d)
    for (size_t s = 0; s < docs[d].size(); ++s)
      EXPECT_EQ((count[{static_cast<int>(d), static_cast<int>(s)}]), 1) << d << "/" << s;
}

TEST(PretrainInstances, WindowOfOneDocument) {
  InstanceOptions o;
  o.max_seq_len = 24;
  // Several sentences: every pair takes the actual next (there is no other document).
  PretrainStats stats;
  auto instances = create_pretrain_instances({make_doc(0, std::vector<int>(30, 4))}, 0, o, &stats);
  ASSERT_FALSE(instances.empty());
  for (const auto& inst : instances) {
    EXPECT_FALSE(inst.is_random_next);
    EXPECT_FALSE(inst.tokens_b.empty());
  }
  EXPECT_EQ(stats.random_next, 0);
  // One sentence: no pair at all.
  stats = {};
  EXPECT_TRUE(create_pretrain_instances({make_doc(0, {10})}, 0, o, &stats).empty());
  EXPECT_EQ(stats.short_documents, 1);
  EXPECT_EQ(stats.unpaired_chunks, 1);
  // In a window of several documents, a one-sentence document pairs with a random segment.
  stats = {};
  auto pair = create_pretrain_instances({make_doc(0, {10}), make_doc(1, {3, 3})}, 0, o, &stats);
  EXPECT_EQ(stats.short_documents, 1);
  EXPECT_EQ(stats.unpaired_chunks, 0);
  bool found = false;
  for (const auto& inst : pair) {
    if (doc_of(inst.tokens_a[0]) != 0) continue;
    found = true;
    EXPECT_TRUE(inst.is_random_next);
    EXPECT_EQ(doc_of(inst.tokens_b[0]), 1);
  }
  EXPECT_TRUE(found);
  // An empty window gives nothing.
  EXPECT_TRUE(create_pretrain_instances({}, 0, o).empty());
}

TEST(PretrainInstances, OptionsAreChecked) {
  std::vector<CorpusDocument> docs = {make_doc(0, {3, 3})};
  InstanceOptions o;
  o.max_seq_len = 4;
  EXPECT_THROW(create_pretrain_instances(docs, 0, o), InputError);
  o.next_sentence = false;
  EXPECT_NO_THROW(create_pretrain_instances(docs, 0, o));
  o = {};
  o.short_seq_prob = 1.5;
  EXPECT_THROW(create_pretrain_instances(docs, 0, o), InputError);
  o = {};
  o.dupe_factor = 0;
  EXPECT_THROW(create_pretrain_instances(docs, 0, o), InputError);
  EXPECT_THROW(create_pretrain_instances({CorpusDocument{}}, 0, InstanceOptions{}), Error);
}

TEST(PretrainInstances, PythonDocsCorpus) {
  MTDNN_REQUIRE_DATA();
  const Vocab vocab = Vocab::load((test::data_dir() / "vocab/bert-base-uncased-vocab.txt").string());
  const WordPieceTokenizer tok(vocab, true);
  CorpusReaderOptions ro;
  ro.window_documents = 700;
  CorpusReader reader({(test::data_dir() / "corpus/python-docs.txt").string()}, tok, ro);
  InstanceOptions o;
  o.seed = 42;
  PretrainStats stats;
  std::vector<CorpusDocument> window;
  int64_t tokens = 0;
  for (uint64_t w = 0; reader.next_window(&window); ++w) {
    for (const auto& inst : create_pretrain_instances(window, w, o, &stats)) {
      ASSERT_FALSE(inst.tokens_a.empty());
      ASSERT_FALSE(inst.tokens_b.empty());
      ASSERT_LE(inst.tokens_a.size() + inst.tokens_b.size(), 125u);
      tokens += static_cast<int64_t>(inst.tokens_a.size() + inst.tokens_b.size());
    }
  }
  std::printf("python-docs: %lld instances, %lld random next, %lld truncated, %lld one-sentence documents, "
              "%lld long sentences, %lld tokens\n",
              static_cast<long long>(stats.instances), static_cast<long long>(stats.random_next),
              static_cast<long long>(stats.truncated), static_cast<long long>(stats.short_documents),
              static_cast<long long>(stats.long_sentences), static_cast<long long>(tokens));
  EXPECT_EQ(reader.stats().documents, 1947);
  EXPECT_GT(stats.instances, 1947);
  double fraction = static_cast<double>(stats.random_next) / static_cast<double>(stats.instances);
  EXPECT_GT(fraction, 0.4);
  EXPECT_LT(fraction, 0.7);
  // Most instances fill most of the sequence.
  EXPECT_GT(tokens, stats.instances * 60);
}

}  // namespace
}  // namespace mtdnn::preprocess
