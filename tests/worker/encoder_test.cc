// BertEncoder: Hugging Face parameter names, BERT initialisation, masks (padding never
// changes a real token's output), the fused kernels against the LibTorch reference ops
// in training mode, and input checks.
#include <set>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "golden_util.h"
#include "worker/bert_encoder.h"
#include "worker/token_packing.h"

namespace mtdnn::worker {
namespace {

using test::close;

BertConfig tiny_config() {
  return parse_bert_config(R"({"vocab_size": 50, "hidden_size": 32, "num_hidden_layers": 2,
                              "num_attention_heads": 4, "intermediate_size": 64,
                              "max_position_embeddings": 40})",
                           "tiny_config");
}

TEST(BertEncoder, ParameterNamesAreHuggingFaceBertModelKeys) {
  BertEncoder encoder(tiny_config());
  std::set<std::string> names;
  for (const auto& item : encoder->named_parameters()) names.insert(item.key());
  std::set<std::string> expected = {
      "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
      "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
      "embeddings.LayerNorm.bias", "pooler.dense.weight", "pooler.dense.bias"};
  for (int l = 0; l < 2; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    for (const char* m : {"attention.self.query", "attention.self.key", "attention.self.value",
                          "attention.output.dense", "attention.output.LayerNorm",
                          "intermediate.dense", "output.dense", "output.LayerNorm"}) {
      expected.insert(p + m + ".weight");
      expected.insert(p + m + ".bias");
    }
  }
  EXPECT_EQ(names, expected);
  EXPECT_EQ(encoder->named_parameters()["encoder.layer.1.intermediate.dense.weight"].sizes(),
            (std::vector<int64_t>{64, 32}));
  int64_t count = 0;
  for (const auto& p : encoder->parameters()) count += p.numel();
  EXPECT_EQ(count, bert_parameter_count(tiny_config()));
  EXPECT_EQ(bert_parameter_count(bert_base_config()), 109482240);  // bert-base-uncased
}

TEST(BertEncoder, BertInitialisation) {
  torch::manual_seed(1);
  BertConfig c = tiny_config();
  c.vocab_size = 2000;
  BertEncoder encoder(c);
  auto params = encoder->named_parameters();
  auto word = params["embeddings.word_embeddings.weight"];
  EXPECT_NEAR(word.std().item<double>(), 0.02, 0.002);
  EXPECT_EQ(word[0].abs().max().item<float>(), 0.0f) << "the [PAD] row starts at zero";
  EXPECT_NEAR(params["encoder.layer.0.attention.self.query.weight"].std().item<double>(), 0.02, 0.003);
  EXPECT_EQ(params["encoder.layer.0.attention.self.query.bias"].abs().max().item<float>(), 0.0f);
  EXPECT_TRUE(torch::equal(params["encoder.layer.1.output.LayerNorm.weight"], torch::ones({32})));
  EXPECT_TRUE(torch::equal(params["embeddings.LayerNorm.bias"], torch::zeros({32})));
}

struct Batch {
  torch::Tensor ids, types, mask;
};

// Rows of different lengths, types 0 then 1, padded with id 0 to T.
Batch make_batch(const std::vector<int64_t>& lengths, int64_t T, int64_t vocab) {
  const int64_t B = lengths.size();
  Batch b{torch::zeros({B, T}, torch::kLong), torch::zeros({B, T}, torch::kLong),
          torch::zeros({B, T}, torch::kLong)};
  for (int64_t i = 0; i < B; ++i) {
    const int64_t n = lengths[i];
    b.ids[i].narrow(0, 0, n).copy_(torch::randint(1, vocab, {n}, torch::kLong));
    b.types[i].narrow(0, n / 2, n - n / 2).fill_(1);
    b.mask[i].narrow(0, 0, n).fill_(1);
  }
  return b;
}

class EncoderModes : public ::testing::TestWithParam<bool> {};

TEST_P(EncoderModes, PaddingNeverChangesRealTokens) {
  torch::manual_seed(2);
  BertEncoder encoder(BertEncoderOptions(tiny_config()).fused(GetParam()));
  encoder->eval();
  torch::NoGradGuard no_grad;
  const std::vector<int64_t> lengths = {7, 3, 10};
  Batch short_batch = make_batch(lengths, 10, 50);
  auto ref = encoder->forward(short_batch.ids, short_batch.types, short_batch.mask);
  // Same rows padded to 23 with junk ids and types under the padding.
  Batch long_batch{torch::randint(1, 50, {3, 23}, torch::kLong),
                   torch::randint(0, 2, {3, 23}, torch::kLong), torch::zeros({3, 23}, torch::kLong)};
  long_batch.ids.narrow(1, 0, 10).copy_(short_batch.ids);
  long_batch.types.narrow(1, 0, 10).copy_(short_batch.types);
  long_batch.mask.narrow(1, 0, 10).copy_(short_batch.mask);
  auto out = encoder->forward(long_batch.ids, long_batch.types, long_batch.mask);
  EXPECT_TRUE(close(out.pooled, ref.pooled, 1e-5));
  for (int64_t b = 0; b < 3; ++b) {
    const int64_t n = lengths[b];
    EXPECT_TRUE(close(out.sequence[b].narrow(0, 0, n), ref.sequence[b].narrow(0, 0, n), 1e-5))
        << "row " << b;
  }
  // Each row alone, unpadded, gives the same real-token outputs as in the batch.
  for (int64_t b = 0; b < 3; ++b) {
    const int64_t n = lengths[b];
    auto alone = encoder->forward(short_batch.ids[b].narrow(0, 0, n).unsqueeze(0),
                                  short_batch.types[b].narrow(0, 0, n).unsqueeze(0),
                                  torch::ones({1, n}, torch::kLong));
    EXPECT_TRUE(close(alone.sequence[0], ref.sequence[b].narrow(0, 0, n), 1e-5)) << "row " << b;
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, EncoderModes, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "fused" : "reference"; });

// Forward and gradients of the fused encoder equal the reference ops in training mode
// (dropout off: the two paths draw different masks).
TEST(BertEncoder, FusedMatchesReferenceInTraining) {
  BertConfig c = tiny_config();
  c.hidden_dropout_prob = c.attention_probs_dropout_prob = 0;
  torch::manual_seed(3);
  BertEncoder fused(BertEncoderOptions(c).fused(true));
  BertEncoder reference(BertEncoderOptions(c).fused(false));
  {
    torch::NoGradGuard no_grad;
    auto src = fused->named_parameters();
    for (auto& item : reference->named_parameters()) item.value().copy_(src[item.key()]);
  }
  // A mask with a hole (a masked key between real ones) and a one-token row.
  Batch b = make_batch({9, 4, 12, 1}, 12, 50);
  b.mask[0][3] = 0;
  auto f = fused->forward(b.ids, b.types, b.mask);
  auto r = reference->forward(b.ids, b.types, b.mask);
  EXPECT_TRUE(close(f.sequence, r.sequence, 1e-5));
  EXPECT_TRUE(close(f.pooled, r.pooled, 1e-5));
  auto g = torch::randn_like(f.sequence);
  auto gp = torch::randn_like(f.pooled);
  ((f.sequence * g).sum() + (f.pooled * gp).sum()).backward();
  ((r.sequence * g).sum() + (r.pooled * gp).sum()).backward();
  auto rp = reference->named_parameters();
  for (const auto& item : fused->named_parameters()) {
    EXPECT_TRUE(close(item.value().grad(), rp[item.key()].grad(), 1e-4, 1e-6)) << item.key();
  }
  EXPECT_EQ(fused->named_parameters()["embeddings.word_embeddings.weight"].grad()[0].abs().max().item<float>(),
            0.0f)
      << "the [PAD] embedding gets no gradient";
}

// The unpadded path (token-wise work on the packed real tokens) equals the padded one:
// forward at every real token and the pooled vector, and every parameter's gradient, with
// rows of every kind: one token, [CLS] w [SEP], mid-length and the maximum length; fused
// and reference ops. Training mode with dropout off (hidden dropout masks are drawn by
// element position, which packing changes).
TEST_P(EncoderModes, UnpaddedEqualsPadded) {
  BertConfig c = tiny_config();
  c.hidden_dropout_prob = c.attention_probs_dropout_prob = 0;
  torch::manual_seed(4);
  BertEncoder unpadded(BertEncoderOptions(c).fused(GetParam()).unpadded(true));
  BertEncoder padded(BertEncoderOptions(c).fused(GetParam()).unpadded(false));
  {
    torch::NoGradGuard no_grad;
    auto src = unpadded->named_parameters();
    for (auto& item : padded->named_parameters()) item.value().copy_(src[item.key()]);
  }
  const std::vector<int64_t> lengths = {12, 1, 3, 7, 12, 2};
  Batch b = make_batch(lengths, 12, 50);
  ASSERT_TRUE(pack_tokens(b.mask).has_value()) << "the batch must take the packed path";
  auto u = unpadded->forward(b.ids, b.types, b.mask);
  auto p = padded->forward(b.ids, b.types, b.mask);
  const auto real = b.mask.to(torch::kFloat).unsqueeze(-1);
  EXPECT_TRUE(close(u.sequence * real, p.sequence * real, 1e-5));
  EXPECT_TRUE(close(u.pooled, p.pooled, 1e-5));
  auto g = torch::randn_like(u.sequence) * real;  // a loss of the real tokens, as every head's
  auto gp = torch::randn_like(u.pooled);
  ((u.sequence * g).sum() + (u.pooled * gp).sum()).backward();
  ((p.sequence * g).sum() + (p.pooled * gp).sum()).backward();
  auto pp = padded->named_parameters();
  for (const auto& item : unpadded->named_parameters())
    EXPECT_TRUE(close(item.value().grad(), pp[item.key()].grad(), 1e-4, 1e-6)) << item.key();
  // Masks with a hole or an empty row run padded.
  Batch hole = make_batch({5, 4}, 6, 50);
  hole.mask[0][2] = 0;
  EXPECT_FALSE(pack_tokens(hole.mask).has_value());
  EXPECT_FALSE(pack_tokens(torch::zeros({1, 4}, torch::kLong)).has_value());
  EXPECT_FALSE(pack_tokens(torch::ones({2, 4}, torch::kLong)).has_value()) << "no padding: nothing to pack";
}

// A row without any real token attends uniformly, as Hugging Face's additive mask gives.
TEST(BertEncoder, RowWithoutRealTokensMatchesReference) {
  torch::manual_seed(5);
  BertEncoder fused(BertEncoderOptions(tiny_config()).fused(true));
  BertEncoder reference(BertEncoderOptions(tiny_config()).fused(false));
  torch::NoGradGuard no_grad;
  auto src = fused->named_parameters();
  for (auto& item : reference->named_parameters()) item.value().copy_(src[item.key()]);
  fused->eval();
  reference->eval();
  Batch b = make_batch({5, 6}, 6, 50);
  b.mask[1].zero_();
  auto f = fused->forward(b.ids, b.types, b.mask);
  auto r = reference->forward(b.ids, b.types, b.mask);
  EXPECT_TRUE(close(f.sequence, r.sequence, 1e-5));
}

TEST(BertEncoder, DropoutIsActiveOnlyInTrainingAndSeeded) {
  BertEncoder encoder(tiny_config());
  Batch b = make_batch({8, 8}, 8, 50);
  encoder->train();
  torch::manual_seed(4);
  auto a = encoder->forward(b.ids, b.types, b.mask).sequence;
  torch::manual_seed(4);
  auto a2 = encoder->forward(b.ids, b.types, b.mask).sequence;
  auto c = encoder->forward(b.ids, b.types, b.mask).sequence;
  EXPECT_TRUE(torch::equal(a, a2)) << "same seed, same masks";
  EXPECT_FALSE(torch::equal(a, c)) << "a new draw, new masks";
  encoder->eval();
  auto e1 = encoder->forward(b.ids, b.types, b.mask).sequence;
  auto e2 = encoder->forward(b.ids, b.types, b.mask).sequence;
  EXPECT_TRUE(torch::equal(e1, e2));
}

TEST(BertEncoder, RejectsBadInputs) {
  BertEncoder encoder(tiny_config());
  auto ids = torch::ones({2, 41}, torch::kLong);
  EXPECT_THROW(encoder->forward(ids, torch::zeros_like(ids), torch::ones_like(ids)), InputError);
  auto small = torch::ones({2, 5}, torch::kLong);
  EXPECT_THROW(encoder->forward(small, torch::zeros({2, 4}, torch::kLong), torch::ones_like(small)),
               InputError);
}

}  // namespace
}  // namespace mtdnn::worker
