// Dynamic masked-LM masking: the vocabulary description, edge cases, and statistics over
// many thousands of rows built from the real bert-base-uncased vocabulary (the count
// formula exactly, the 80/10/10 split and uniform choice within binomial tolerance,
// specials and padding never chosen, the cap, whole words) and the key's determinism.
// Tolerances are 5 standard deviations; the draws are seeded, so the tests never flake.
#include "task_kinds/mask_lm/masking.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "preprocess/vocab.h"
#include "schedule/rng.h"
#include "test_support.h"

namespace mtdnn::task_kinds {
namespace {

// 5 binomial standard deviations of a fraction p estimated from n draws.
double five_sigma(double p, double n) { return 5.0 * std::sqrt(p * (1.0 - p) / n); }

int64_t expected_count(int64_t n, const MaskingOptions& o) {
  return std::min<int64_t>(o.max_predictions, std::max<int64_t>(1, std::lround(static_cast<double>(n) * o.mask_prob)));
}

// A small vocabulary: 0..4 specials, 5..9 words, 10..11 "##" pieces, 12 [unused0].
const std::vector<std::string> kSmall = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a",        "b",
                                         "c",     "d",     "e",     "##x",   "##y",    "[unused0]"};

// The real vocabulary, its description (with [unused0] marked special) and the ids rows
// are built from. Null when the shared data is absent.
struct Real {
  std::vector<std::string> tokens;
  MaskingVocab vocab;
  int64_t pad, unk, cls, sep, mask, unused0;
  std::vector<int64_t> starts, pieces;  // word-start tokens and "##" pieces
};

const Real* real() {
  static const Real* r = []() -> const Real* {
    if (test::data_dir().empty()) return nullptr;
    const std::string path = (test::data_dir() / "vocab" / "bert-base-uncased-vocab.txt").string();
    preprocess::Vocab v = preprocess::Vocab::load(path);
    auto* out = new Real;
    for (int32_t id = 0; id < v.size(); ++id) out->tokens.push_back(v.token(id));
    out->vocab = masking_vocab(out->tokens, path, {"[unused0]"});
    out->pad = v.pad_id(), out->unk = v.unk_id(), out->cls = v.cls_id(), out->sep = v.sep_id();
    out->mask = v.mask_id(), out->unused0 = v.id("[unused0]");
    for (int32_t id = 0; id < v.size(); ++id) {
      const std::string& t = out->tokens[static_cast<size_t>(id)];
      if (t.front() == '[' && t.back() == ']') continue;
      (t.compare(0, 2, "##") == 0 ? out->pieces : out->starts).push_back(id);
    }
    return out;
  }();
  return r;
}

#define REQUIRE_REAL()  \
  MTDNN_REQUIRE_DATA(); \
  ASSERT_NE(real(), nullptr)

// Builds [CLS] A [SEP] B [SEP] with `words_a` and `words_b` words; a word is a start token
// followed by 1-3 "##" pieces with probability `piece_prob`. With `extras`, a few words
// are [UNK], [MASK] or [unused0] instead.
struct RowMaker {
  std::mt19937_64 gen;
  double piece_prob = 0.0;
  bool extras = false;

  int64_t pick(const std::vector<int64_t>& v) { return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(gen)]; }
  void word(std::vector<int64_t>& row) {
    const Real& r = *real();
    if (extras && std::uniform_real_distribution<double>(0, 1)(gen) < 0.06) {
      const int64_t odd[] = {r.unk, r.mask, r.unused0};
      row.push_back(odd[std::uniform_int_distribution<int>(0, 2)(gen)]);
      return;
    }
    row.push_back(pick(r.starts));
    if (std::uniform_real_distribution<double>(0, 1)(gen) < piece_prob) {
      for (int k = std::uniform_int_distribution<int>(1, 3)(gen); k > 0; --k) row.push_back(pick(r.pieces));
    }
  }
  std::vector<int64_t> row(int words_a, int words_b) {
    const Real& r = *real();
    std::vector<int64_t> row{r.cls};
    for (int i = 0; i < words_a; ++i) word(row);
    row.push_back(r.sep);
    for (int i = 0; i < words_b; ++i) word(row);
    row.push_back(r.sep);
    return row;
  }
};

int64_t candidates(const std::vector<int64_t>& row) {
  const Real& r = *real();
  int64_t n = 0;
  for (int64_t id : row) n += (id != r.pad && id != r.unk && id != r.cls && id != r.sep && id != r.mask && id != r.unused0);
  return n;
}

// Checks what every result must satisfy: positions ascending and in range, labels are the
// original ids, ids elsewhere unchanged.
void check_result(const std::vector<int64_t>& before, const std::vector<int64_t>& after, const MaskedLm& m) {
  ASSERT_EQ(m.positions.size(), m.labels.size());
  ASSERT_TRUE(std::is_sorted(m.positions.begin(), m.positions.end()));
  std::set<int64_t> chosen(m.positions.begin(), m.positions.end());
  ASSERT_EQ(chosen.size(), m.positions.size());
  for (size_t k = 0; k < m.positions.size(); ++k) {
    ASSERT_GE(m.positions[k], 0);
    ASSERT_LT(m.positions[k], static_cast<int64_t>(before.size()));
    ASSERT_EQ(m.labels[k], before[static_cast<size_t>(m.positions[k])]);
  }
  for (size_t i = 0; i < before.size(); ++i) {
    if (!chosen.count(static_cast<int64_t>(i))) ASSERT_EQ(after[i], before[i]) << "position " << i;
  }
}

TEST(MlmMasking, VocabularyDescription) {
  MaskingVocab v = masking_vocab(kSmall, "small.txt");
  EXPECT_EQ(v.size, 13);
  EXPECT_EQ(v.mask_id, 4);
  for (int id = 0; id < 13; ++id) {
    EXPECT_EQ(v.special[id], id <= 4) << kSmall[id];
    EXPECT_EQ(v.continuation[id], id == 10 || id == 11) << kSmall[id];
  }
  EXPECT_TRUE(masking_vocab(kSmall, "small.txt", {"[unused0]"}).special[12]);
}

TEST(MlmMasking, VocabularyErrorsNameTheOrigin) {
  std::vector<std::string> no_mask = kSmall;
  no_mask.erase(no_mask.begin() + 4);
  try {
    masking_vocab(no_mask, "models/tiny/vocab.txt");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("models/tiny/vocab.txt"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[MASK]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(masking_vocab(kSmall, "small.txt", {"[unused9]"}), InputError);
}

TEST(MlmMasking, RealVocabularyDescription) {
  REQUIRE_REAL();
  const Real& r = *real();
  const MaskingVocab& v = r.vocab;
  EXPECT_EQ(v.size, 30522);
  EXPECT_EQ(v.mask_id, 103);
  for (int64_t id : {r.pad, r.unk, r.cls, r.sep, r.mask, r.unused0}) EXPECT_TRUE(v.special[id]) << r.tokens[id];
  EXPECT_FALSE(v.special[2]);  // [unused1]: special only when marked
  int64_t specials = std::count(v.special.begin(), v.special.end(), true);
  int64_t pieces = std::count(v.continuation.begin(), v.continuation.end(), true);
  EXPECT_EQ(specials, 6);
  EXPECT_EQ(pieces, 5828);  // lines starting with "##", "###" (a "#" piece) among them
}

TEST(MlmMasking, EdgeRows) {
  MaskingVocab v = masking_vocab(kSmall, "small.txt");
  MaskingOptions o;
  std::vector<int64_t> empty;
  EXPECT_TRUE(mask_tokens(empty, v, o, {}).positions.empty());
  std::vector<int64_t> only_specials = {2, 3, 3, 0, 0, 1, 4};
  EXPECT_TRUE(mask_tokens(only_specials, v, o, {}).positions.empty());
  EXPECT_EQ(only_specials, (std::vector<int64_t>{2, 3, 3, 0, 0, 1, 4}));
  // One candidate: max(1, round(0.15)) = 1 prediction, every key.
  for (int64_t e = 0; e < 50; ++e) {
    std::vector<int64_t> one = {2, 7, 3, 3};
    MaskedLm m = mask_tokens(one, v, o, {7, e, 0, 0});
    EXPECT_EQ(m.positions, std::vector<int64_t>{1});
    EXPECT_EQ(m.labels, std::vector<int64_t>{7});
  }
  MaskingOptions none = o;
  none.max_predictions = 0;
  std::vector<int64_t> row = {2, 5, 6, 7, 3, 8, 9, 3};
  EXPECT_TRUE(mask_tokens(row, v, none, {}).positions.empty());
  EXPECT_EQ(row, (std::vector<int64_t>{2, 5, 6, 7, 3, 8, 9, 3}));
}

TEST(MlmMasking, RejectsBadInput) {
  MaskingVocab v = masking_vocab(kSmall, "small.txt");
  std::vector<int64_t> bad_id = {2, 5, 13, 3};
  EXPECT_THROW(mask_tokens(bad_id, v, {}, {}), InputError);
  std::vector<int64_t> negative = {2, -1, 3};
  EXPECT_THROW(mask_tokens(negative, v, {}, {}), InputError);
  std::vector<int64_t> row = {2, 5, 3};
  MaskingOptions o;
  o.mask_prob = 1.5;
  EXPECT_THROW(mask_tokens(row, v, o, {}), InputError);
  o.mask_prob = 0.15;
  o.max_predictions = -1;
  EXPECT_THROW(mask_tokens(row, v, o, {}), InputError);
}

// Per row, exactly min(max_predictions, max(1, round(0.15 n))) of the n candidate tokens
// are predicted; over all rows the fraction differs from 15% only by the rounding, at
// most 0.5 per row.
TEST(MlmMasking, FractionFollowsTheCountFormula) {
  REQUIRE_REAL();
  RowMaker maker{std::mt19937_64(1)};
  maker.extras = true;
  MaskingOptions o;
  int64_t rows = 0, total_n = 0, total_pred = 0;
  for (int64_t i = 0; i < 4000; ++i) {
    const int a = std::uniform_int_distribution<int>(5, 60)(maker.gen);
    const int b = std::uniform_int_distribution<int>(5, 60)(maker.gen);
    std::vector<int64_t> before = maker.row(a, b), ids = before;
    const int64_t n = candidates(before);
    ASSERT_GE(n, 4);    // max(1, .) plays no part
    ASSERT_LE(n, 120);  // below the cap: 0.15 n < 19.5
    MaskedLm m = mask_tokens(ids, real()->vocab, o, {42, 0, 3, i});
    check_result(before, ids, m);
    ASSERT_EQ(static_cast<int64_t>(m.positions.size()), expected_count(n, o)) << "row " << i << ", n " << n;
    ++rows, total_n += n, total_pred += static_cast<int64_t>(m.positions.size());
  }
  const double fraction = static_cast<double>(total_pred) / static_cast<double>(total_n);
  EXPECT_NEAR(fraction, 0.15, 0.5 * static_cast<double>(rows) / static_cast<double>(total_n));
  // The bound is tight: ~0.008 here, so 14% or 16% would fail.
  EXPECT_LT(0.5 * static_cast<double>(rows) / static_cast<double>(total_n), 0.01);
}

// Over ~200,000 predicted positions: 80% [MASK], 10% unchanged, 10% random, each within
// 5 sigma; the random ids are uniform over the whole vocabulary (each tenth of the ids
// within 5 sigma of 10%).
TEST(MlmMasking, EightyTenTenSplit) {
  REQUIRE_REAL();
  const Real& r = *real();
  RowMaker maker{std::mt19937_64(2)};
  MaskingOptions o;
  int64_t total = 0, masked = 0, kept = 0, replaced = 0;
  std::vector<int64_t> tenths(10, 0);
  for (int64_t i = 0; i < 16000; ++i) {
    std::vector<int64_t> before = maker.row(40, 40), ids = before;
    MaskedLm m = mask_tokens(ids, r.vocab, o, {5, 1, 0, i});
    for (size_t k = 0; k < m.positions.size(); ++k) {
      const int64_t now = ids[static_cast<size_t>(m.positions[k])];
      ++total;
      if (now == r.mask) {
        ++masked;
      } else if (now == m.labels[k]) {
        ++kept;
      } else {
        ++replaced;
        ASSERT_GE(now, 0);
        ASSERT_LT(now, r.vocab.size);
        ++tenths[static_cast<size_t>(now * 10 / r.vocab.size)];
      }
    }
  }
  ASSERT_GT(total, 150000);
  const double n = static_cast<double>(total);
  EXPECT_NEAR(masked / n, 0.8, five_sigma(0.8, n));
  EXPECT_NEAR(kept / n, 0.1, five_sigma(0.1, n));
  EXPECT_NEAR(replaced / n, 0.1, five_sigma(0.1, n));
  EXPECT_LT(five_sigma(0.1, n), 0.004);
  for (int64_t t : tenths) EXPECT_NEAR(t / static_cast<double>(replaced), 0.1, five_sigma(0.1, replaced));
}

// Every candidate position is chosen with the same probability k / n; specials and
// padding (passed in here) never, and padding does not count as a candidate.
TEST(MlmMasking, UniformOverCandidatesNeverSpecialsOrPadding) {
  REQUIRE_REAL();
  const Real& r = *real();
  MaskingOptions o;
  RowMaker maker{std::mt19937_64(3)};
  // [CLS] 40 [SEP] 40 [SEP], padded to 96: 80 candidates, 12 predictions.
  std::vector<int64_t> chosen(96, 0);
  const int64_t rows = 8000;
  for (int64_t i = 0; i < rows; ++i) {
    std::vector<int64_t> before = maker.row(40, 40);
    before.resize(96, r.pad);
    std::vector<int64_t> ids = before;
    MaskedLm m = mask_tokens(ids, r.vocab, o, {11, 2, 1, i});
    check_result(before, ids, m);
    ASSERT_EQ(m.positions.size(), 12u);
    for (int64_t p : m.positions) ++chosen[static_cast<size_t>(p)];
  }
  for (size_t p = 0; p < chosen.size(); ++p) {
    const bool candidate = p != 0 && p != 41 && p < 82;
    if (!candidate) {
      EXPECT_EQ(chosen[p], 0) << "position " << p;
    } else {
      EXPECT_NEAR(chosen[p] / static_cast<double>(rows), 0.15, five_sigma(0.15, rows)) << "position " << p;
    }
  }
  // Rows with [UNK], [MASK] and a marked [unused0] among the words: never chosen.
  maker.extras = true;
  int64_t odd_seen = 0;
  for (int64_t i = 0; i < 4000; ++i) {
    std::vector<int64_t> before = maker.row(30, 30), ids = before;
    MaskedLm m = mask_tokens(ids, r.vocab, o, {11, 3, 1, i});
    check_result(before, ids, m);
    for (int64_t p : m.positions) {
      const int64_t id = before[static_cast<size_t>(p)];
      ASSERT_TRUE(id != r.unk && id != r.mask && id != r.unused0 && id != r.cls && id != r.sep) << r.tokens[id];
    }
    for (int64_t id : before) odd_seen += (id == r.unk || id == r.mask || id == r.unused0);
  }
  EXPECT_GT(odd_seen, 10000);
}

TEST(MlmMasking, CapRespected) {
  REQUIRE_REAL();
  RowMaker maker{std::mt19937_64(4)};
  for (int64_t cap : {20, 5}) {
    MaskingOptions o;
    o.max_predictions = cap;
    for (int64_t i = 0; i < 500; ++i) {
      std::vector<int64_t> before = maker.row(200, 200), ids = before;  // 400 candidates: 60 > cap
      MaskedLm m = mask_tokens(ids, real()->vocab, o, {9, 0, 0, i});
      check_result(before, ids, m);
      ASSERT_EQ(static_cast<int64_t>(m.positions.size()), cap);
    }
    for (int64_t i = 0; i < 500; ++i) {
      std::vector<int64_t> before = maker.row(5, 5), ids = before;  // 10 candidates: round(1.5) = 2
      ASSERT_EQ(mask_tokens(ids, real()->vocab, o, {9, 0, 0, i}).positions.size(), 2u);
    }
  }
}

// With whole_word, a word (start piece and the "##" pieces after it) is chosen all or
// nothing; the count never exceeds the formula and falls short of it only by skipped words.
TEST(MlmMasking, WholeWordsStayWhole) {
  REQUIRE_REAL();
  const Real& r = *real();
  RowMaker maker{std::mt19937_64(5)};
  maker.piece_prob = 0.3;
  maker.extras = true;
  MaskingOptions o;
  o.whole_word = true;
  int64_t total_pred = 0, total_expected = 0, multi_piece_chosen = 0;
  for (int64_t i = 0; i < 4000; ++i) {
    const int a = std::uniform_int_distribution<int>(2, 50)(maker.gen);
    std::vector<int64_t> before = maker.row(a, 50 - a + 2), ids = before;
    MaskedLm m = mask_tokens(ids, r.vocab, o, {8, 0, 2, i});
    check_result(before, ids, m);
    const int64_t target = expected_count(candidates(before), o);
    ASSERT_LE(static_cast<int64_t>(m.positions.size()), target);
    total_pred += static_cast<int64_t>(m.positions.size()), total_expected += target;
    std::set<int64_t> chosen(m.positions.begin(), m.positions.end());
    // Words: a non-special start and the continuation pieces right after it.
    for (size_t s = 0; s < before.size();) {
      size_t e = s + 1;
      if (!r.vocab.special[before[s]]) {
        while (e < before.size() && r.vocab.continuation[before[e]]) ++e;
      }
      size_t in = 0;
      for (size_t p = s; p < e; ++p) in += chosen.count(static_cast<int64_t>(p));
      ASSERT_TRUE(in == 0 || in == e - s) << "row " << i << ": word at " << s << " partly chosen";
      multi_piece_chosen += (in > 1);
      s = e;
    }
  }
  EXPECT_GT(multi_piece_chosen, 1000);
  const double ratio = static_cast<double>(total_pred) / static_cast<double>(total_expected);
  EXPECT_GT(ratio, 0.97);
  EXPECT_LE(ratio, 1.0);
}

// A continuation piece after a special token is a word of its own, never glued to the
// word before the special: [CLS] a ##x [SEP] ##y [SEP] has words {1, 2} and {4}; with
// one prediction, {1, 2} is too long, so position 4 is always the one.
TEST(MlmMasking, WholeWordsDoNotSpanSpecials) {
  MaskingVocab v = masking_vocab(kSmall, "small.txt");
  MaskingOptions o;
  o.whole_word = true;
  o.mask_prob = 0.3;  // round(0.9) = 1
  for (int64_t e = 0; e < 50; ++e) {
    std::vector<int64_t> row = {2, 5, 10, 3, 11, 3};
    MaskedLm m = mask_tokens(row, v, o, {1, e, 0, 0});
    EXPECT_EQ(m.positions, std::vector<int64_t>{4});
  }
  // Without whole_word each piece is its own candidate: every one of the three is chosen
  // for some key.
  o.whole_word = false;
  std::set<int64_t> seen;
  for (int64_t e = 0; e < 200; ++e) {
    std::vector<int64_t> row = {2, 5, 10, 3, 11, 3};
    for (int64_t p : mask_tokens(row, v, o, {1, e, 0, 0}).positions) seen.insert(p);
  }
  EXPECT_EQ(seen, (std::set<int64_t>{1, 2, 4}));
}

// The mask is a function of (seed, epoch, task, example) and the row only.
TEST(MlmMasking, DeterministicPerKey) {
  REQUIRE_REAL();
  const Real& r = *real();
  RowMaker maker{std::mt19937_64(6)};
  MaskingOptions o;
  std::vector<std::vector<int64_t>> rows;
  for (int i = 0; i < 300; ++i) rows.push_back(maker.row(30, 30));
  auto run = [&](size_t i, MaskingKey key) {
    std::vector<int64_t> ids = rows[i];
    MaskedLm m = mask_tokens(ids, r.vocab, o, key);
    return std::make_pair(ids, m.positions);
  };
  // Forward, then in a shuffled order (as another rank or a resumed run would).
  std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> forward;
  for (size_t i = 0; i < rows.size(); ++i) forward.push_back(run(i, {17, 4, 2, static_cast<int64_t>(i)}));
  std::vector<size_t> order(rows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(7));
  for (size_t i : order) ASSERT_EQ(run(i, {17, 4, 2, static_cast<int64_t>(i)}), forward[i]) << "row " << i;
  // Changing any part of the key changes the mask (9 of 60 positions: equal by chance
  // with probability ~1e-10).
  for (size_t i = 0; i < rows.size(); ++i) {
    const int64_t e = static_cast<int64_t>(i);
    EXPECT_NE(run(i, {17, 5, 2, e}).second, forward[i].second) << "epoch, row " << i;
    EXPECT_NE(run(i, {18, 4, 2, e}).second, forward[i].second) << "seed, row " << i;
    EXPECT_NE(run(i, {17, 4, 3, e}).second, forward[i].second) << "task, row " << i;
    EXPECT_NE(run(i, {17, 4, 2, e + 1000}).second, forward[i].second) << "example, row " << i;
  }
}

// The key contract other code may rely on: the positions are the first to_predict of the
// candidates shuffled by Rng::keyed(seed, {kMasking, epoch, task, example}).
TEST(MlmMasking, StreamIsKeyedByPurposeEpochTaskExample) {
  MaskingVocab v = masking_vocab(kSmall, "small.txt");
  MaskingOptions o;
  o.mask_prob = 0.5;
  const std::vector<int64_t> row = {2, 5, 6, 7, 8, 9, 3, 10, 11, 5, 6, 3};  // 9 candidates -> 5 (4.5 rounds up)
  for (int64_t e = 0; e < 20; ++e) {
    std::vector<int64_t> ids = row;
    MaskedLm m = mask_tokens(ids, v, o, {123, e, 4, 99});
    std::vector<int64_t> cand = {1, 2, 3, 4, 5, 7, 8, 9, 10};
    schedule::Rng rng = schedule::Rng::keyed(123, {static_cast<uint64_t>(schedule::RngPurpose::kMasking),
                                                   static_cast<uint64_t>(e), 4, 99});
    rng.shuffle(cand);
    cand.resize(5);
    std::sort(cand.begin(), cand.end());
    EXPECT_EQ(m.positions, cand) << "epoch " << e;
  }
}

}  // namespace
}  // namespace mtdnn::task_kinds
