// Tests of longest-first pair truncation: golden lengths from Hugging Face's fast
// tokenizer (which differs from the slow one on odd budgets), invariants over a grid,
// and the [CLS] A [SEP] B [SEP] layout. To regenerate the golden table:
//   scripts/venv-python tests/hf/golden_cases.py > /tmp/golden.inc   (kTruncationCases)
#include "preprocess/pair_truncation.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/error.h"

namespace mtdnn::preprocess {
namespace {

struct TruncationCase {
  int len_a;
  int len_b;  // -1: a single sequence
  int max_len;
  int kept_a;
  int kept_b;
};

// tests/hf/golden_cases.py: kTruncationCases.
const TruncationCase kTruncationCases[] = {
    {10, 10, 18, 7, 8},
    {1, 20, 8, 1, 4},
    {20, 1, 8, 4, 1},
    {7, 7, 16, 6, 7},
    {7, 8, 16, 6, 7},
    {8, 7, 16, 7, 6},
    {3, 100, 13, 3, 7},
    {100, 3, 13, 7, 3},
    {100, 100, 13, 5, 5},
    {100, 100, 14, 5, 6},
    {5, 5, 13, 5, 5},
    {6, 5, 13, 5, 5},
    {0, 10, 8, 0, 5},
    {10, 0, 8, 5, 0},
    {4, 4, 3, 0, 0},
    {4, 4, 4, 0, 1},
    {1, 1, 4, 0, 1},
    {2, 30, 10, 2, 5},
    {30, 2, 10, 5, 2},
    {11, 12, 20, 8, 9},
    {12, 11, 20, 9, 8},
    {10, -1, 7, 5, 0},
    {3, -1, 7, 3, 0},
    {5, -1, 7, 5, 0},
    {5, -1, 2, 0, 0},
};

TEST(PairTruncation, MatchesHuggingFaceFast) {
  for (const TruncationCase& c : kTruncationCases) {
    SCOPED_TRACE(::testing::Message() << c.len_a << "+" << c.len_b << " max_len " << c.max_len);
    if (c.len_b < 0) {
      size_t budget = c.max_len >= 2 ? static_cast<size_t>(c.max_len) - kSingleSpecialTokens : 0;
      EXPECT_EQ(truncate_single(static_cast<size_t>(c.len_a), budget), static_cast<size_t>(c.kept_a));
      continue;
    }
    PairKeep keep = truncate_pair_longest_first(static_cast<size_t>(c.len_a), static_cast<size_t>(c.len_b),
                                                static_cast<size_t>(c.max_len) - kPairSpecialTokens);
    EXPECT_EQ(keep.a, static_cast<size_t>(c.kept_a));
    EXPECT_EQ(keep.b, static_cast<size_t>(c.kept_b));
  }
}

TEST(PairTruncation, OddBudgetFavoursTheSecondOnTies) {
  PairKeep keep = truncate_pair_longest_first(10, 10, 15);
  EXPECT_EQ(keep.a, 7u);  // the slow (Python) tokenizer would keep 8 and 7
  EXPECT_EQ(keep.b, 8u);
}

TEST(PairTruncation, InvariantsOverAGrid) {
  for (size_t budget = 0; budget <= 24; ++budget) {
    for (size_t a = 0; a <= 30; ++a) {
      for (size_t b = 0; b <= 30; ++b) {
        SCOPED_TRACE(::testing::Message() << a << "+" << b << " into " << budget);
        PairKeep keep = truncate_pair_longest_first(a, b, budget);
        ASSERT_LE(keep.a, a);
        ASSERT_LE(keep.b, b);
        if (a + b <= budget) {
          ASSERT_EQ(keep.a, a);
          ASSERT_EQ(keep.b, b);
        } else {
          ASSERT_EQ(keep.a + keep.b, budget);  // a truncated pair fills the budget exactly
        }
        PairKeep mirrored = truncate_pair_longest_first(b, a, budget);
        if (a != b) {  // swapping the inputs swaps the result
          ASSERT_EQ(mirrored.a, keep.b);
          ASSERT_EQ(mirrored.b, keep.a);
        }
      }
    }
  }
}

TEST(PairTruncation, AssemblesPairAndSingleInputs) {
  const std::vector<int32_t> a = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const std::vector<int32_t> b = {11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
  std::vector<int32_t> ids, types;
  assemble_bert_input(a, &b, 18, 101, 102, &ids, &types);
  EXPECT_EQ(ids, (std::vector<int32_t>{101, 1, 2, 3, 4, 5, 6, 7, 102, 11, 12, 13, 14, 15, 16, 17,
                                       18, 102}));
  EXPECT_EQ(types, (std::vector<int32_t>{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1}));

  assemble_bert_input(a, nullptr, 5, 101, 102, &ids, &types);
  EXPECT_EQ(ids, (std::vector<int32_t>{101, 1, 2, 3, 102}));
  EXPECT_EQ(types, (std::vector<int32_t>{0, 0, 0, 0, 0}));

  assemble_bert_input({}, &b, 3, 101, 102, &ids, &types);
  EXPECT_EQ(ids, (std::vector<int32_t>{101, 102, 102}));
  EXPECT_EQ(types, (std::vector<int32_t>{0, 0, 1}));

  EXPECT_THROW(assemble_bert_input(a, &b, 2, 101, 102, &ids, &types), InputError);
  EXPECT_THROW(assemble_bert_input(a, nullptr, 1, 101, 102, &ids, &types), InputError);
}

}  // namespace
}  // namespace mtdnn::preprocess
