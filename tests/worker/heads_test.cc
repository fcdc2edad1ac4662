// Task heads: each head's loss and prediction semantics (ranking groups, SAN step
// averaging and step dropout, the MLM ignore index), parameter names, the registry, and
// the multi-task model's dispatch.
#include <cmath>
#include <set>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "golden_util.h"
#include "worker/classification_head.h"
#include "worker/head_registry.h"
#include "worker/mlm_head.h"
#include "worker/mtdnn_model.h"
#include "worker/ranking_head.h"
#include "worker/san_head.h"

namespace mtdnn::worker {
namespace {

using test::close;

BertConfig small_config() {
  return parse_bert_config(R"({"vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 1,
                              "num_attention_heads": 2, "intermediate_size": 32,
                              "max_position_embeddings": 32})",
                           "small_config");
}

HeadSpec spec(const std::string& task, HeadKind kind, int64_t n_class = 2) {
  HeadSpec s;
  s.task = task;
  s.kind = kind;
  s.n_class = n_class;
  return s;
}

HeadInput random_input(int64_t B, int64_t T, int64_t H) {
  HeadInput in;
  in.sequence = torch::randn({B, T, H});
  in.pooled = torch::randn({B, H});
  in.attention_mask = torch::ones({B, T}, torch::kLong);
  in.token_type_ids = torch::zeros({B, T}, torch::kLong);
  in.token_type_ids.narrow(1, T / 2, T - T / 2).fill_(1);
  return in;
}

TEST(Heads, ClassificationIsCrossEntropyOnPooled) {
  torch::manual_seed(20);
  auto head = make_classification_head(spec("mnli", HeadKind::kClassification, 3), small_config());
  head->eval();
  auto in = random_input(6, 5, 16);
  auto labels = torch::tensor({0, 2, 1, 1, 0, 2}, torch::kLong);
  auto out = head->forward(in, labels);
  auto params = head->named_parameters();
  auto logits = torch::matmul(in.pooled, params["weight"].t()) + params["bias"];
  EXPECT_TRUE(close(out.logits, logits));
  auto expected = -torch::log_softmax(logits, 1).gather(1, labels.unsqueeze(1)).mean();
  EXPECT_TRUE(close(out.loss, expected));
  EXPECT_TRUE(torch::equal(head->predict(out, in), logits.argmax(1)));
  EXPECT_THROW(head->forward(in, torch::rand({6})), InputError) << "float labels";
  EXPECT_THROW(head->forward(in, torch::zeros({5}, torch::kLong)), InputError) << "wrong rows";
}

TEST(Heads, RegressionIsMeanSquaredError) {
  auto head = HeadRegistry(builtin_head_registry()).create(spec("stsb", HeadKind::kRegression), small_config());
  head->eval();
  auto in = random_input(4, 3, 16);
  auto labels = torch::tensor({0.5f, 4.0f, 2.5f, 1.0f});
  auto out = head->forward(in, labels);
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{4}));
  EXPECT_TRUE(close(out.loss, (out.logits - labels).pow(2).mean()));
  EXPECT_TRUE(torch::equal(head->predict(out, in), out.logits));
}

TEST(Heads, RankingSoftmaxesWithinConsecutiveGroups) {
  torch::manual_seed(21);
  auto head = make_ranking_head(spec("qnli", HeadKind::kRanking), small_config());
  head->eval();
  auto in = random_input(6, 3, 16);
  in.group_sizes = torch::tensor({3, 1, 2}, torch::kLong);
  auto labels = torch::tensor({2, 0, 1}, torch::kLong);  // positive's index in its group
  auto out = head->forward(in, labels);
  auto s = out.logits;  // (6)
  EXPECT_EQ(s.sizes(), (std::vector<int64_t>{6}));
  auto lp = [](const torch::Tensor& g, int64_t i) { return torch::log_softmax(g, 0)[i]; };
  auto expected = -(lp(s.narrow(0, 0, 3), 2) + lp(s.narrow(0, 3, 1), 0) + lp(s.narrow(0, 4, 2), 1)) / 3;
  EXPECT_TRUE(close(out.loss, expected));
  auto pred = head->predict(out, in);
  EXPECT_EQ(pred.sizes(), (std::vector<int64_t>{3}));
  EXPECT_EQ(pred[0].item<int64_t>(), s.narrow(0, 0, 3).argmax().item<int64_t>());
  EXPECT_EQ(pred[1].item<int64_t>(), 0);
  EXPECT_EQ(pred[2].item<int64_t>(), s.narrow(0, 4, 2).argmax().item<int64_t>());
  // Offsets describe the same groups.
  EXPECT_TRUE(torch::equal(group_sizes_from_offsets(torch::tensor({0, 3, 4, 6})), in.group_sizes));
  // Groups that do not cover the batch, empty groups and labels outside a group fail.
  in.group_sizes = torch::tensor({3, 2}, torch::kLong);
  EXPECT_THROW(head->forward(in, torch::tensor({0, 0}, torch::kLong)), InputError);
  in.group_sizes = torch::tensor({3, 0, 3}, torch::kLong);
  EXPECT_THROW(head->forward(in, labels), InputError);
  in.group_sizes = torch::tensor({3, 1, 2}, torch::kLong);
  EXPECT_THROW(head->forward(in, torch::tensor({0, 1, 0}, torch::kLong)), InputError);
  in.group_sizes = torch::Tensor();
  EXPECT_THROW(head->forward(in, labels), InputError);
}

TEST(Heads, SanAveragesAllStepsAtInference) {
  torch::manual_seed(22);
  HeadSpec s = spec("rte", HeadKind::kClassification, 2);
  s.enable_san = true;
  auto head = builtin_head_registry().create(s, small_config());
  auto* san = head->as<SanHeadImpl>();
  ASSERT_NE(san, nullptr);
  head->eval();
  auto in = random_input(3, 6, 16);
  in.attention_mask[2].narrow(0, 4, 2).zero_();
  auto steps = san->step_log_probs(in);  // (B, K, C)
  EXPECT_EQ(steps.sizes(), (std::vector<int64_t>{3, 5, 2}));
  auto out = head->forward(in, torch::tensor({0, 1, 1}, torch::kLong));
  auto expected = steps.exp().mean(1).log();  // log of the mean of the K probabilities
  EXPECT_TRUE(close(out.logits, expected, 1e-6));
  EXPECT_TRUE(close(out.loss, -(expected[0][0] + expected[1][1] + expected[2][1]) / 3, 1e-6));
  EXPECT_TRUE(close(out.logits.exp().sum(1), torch::ones({3}), 1e-6)) << "a distribution";
  // The steps differ (the state moves), so averaging is not taking one step.
  EXPECT_GT((steps.select(1, 0) - steps.select(1, 4)).abs().max().item<float>(), 1e-6);
}

TEST(Heads, SanCombinesOnlyKeptStepsInTraining) {
  auto lp = torch::log_softmax(torch::randn({2, 5, 3}), 2);
  auto keep = torch::tensor({{1, 0, 0, 1, 0}, {0, 0, 0, 0, 1}}, torch::kFloat);
  auto out = SanHeadImpl::combine_steps(lp, keep);
  auto p = lp.exp();
  EXPECT_TRUE(close(out[0], ((p[0][0] + p[0][3]) / 2).log(), 1e-6));
  EXPECT_TRUE(close(out[1], lp[1][4], 1e-6));
  torch::manual_seed(23);
  auto mask = SanHeadImpl::sample_keep_mask(20000, 5, 0.1, torch::TensorOptions());
  EXPECT_TRUE((mask.sum(1) >= 1).all().item<bool>()) << "at least one step per example";
  EXPECT_NEAR(mask.mean().item<double>(), 0.9, 0.01);
  auto heavy = SanHeadImpl::sample_keep_mask(2000, 5, 0.99, torch::TensorOptions());
  EXPECT_TRUE((heavy.sum(1) >= 1).all().item<bool>());
}

TEST(Heads, SanUsesPremiseAndHypothesisTokens) {
  torch::manual_seed(24);
  HeadSpec s = spec("rte", HeadKind::kClassification, 2);
  s.enable_san = true;
  auto head = make_san_head(s, small_config());
  head->eval();
  auto in = random_input(2, 8, 16);
  auto base = head->forward(in, torch::Tensor()).logits;
  // Changing a padded token's state changes nothing.
  in.attention_mask[1].narrow(0, 6, 2).zero_();
  auto masked = head->forward(in, torch::Tensor()).logits;
  in.sequence[1][7].normal_();
  EXPECT_TRUE(close(head->forward(in, torch::Tensor()).logits, masked, 1e-6));
  // A real hypothesis token (type 1) does matter.
  in.sequence[0][5].normal_();
  EXPECT_GT((head->forward(in, torch::Tensor()).logits[0] - base[0]).abs().max().item<float>(), 1e-7);
}

TEST(Heads, MaskedLmIgnoresMinus100AndTiesTheDecoder) {
  torch::manual_seed(25);
  BertConfig c = small_config();
  auto head = make_masked_lm_head(spec("mlm", HeadKind::kMaskedLm), c);
  head->eval();
  auto in = random_input(2, 5, 16);
  in.word_embeddings = torch::randn({40, 16}).requires_grad_();
  auto labels = torch::full({2, 5}, kIgnoreIndex, torch::kLong);
  labels[0][1] = 7;
  labels[1][4] = 39;
  auto out = head->forward(in, labels);
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 40}));
  auto all = head->forward(in, torch::Tensor()).logits;  // (B, T, V)
  EXPECT_EQ(all.sizes(), (std::vector<int64_t>{2, 5, 40}));
  EXPECT_TRUE(close(out.logits[0], all[0][1], 1e-6));
  EXPECT_TRUE(close(out.logits[1], all[1][4], 1e-6));
  auto lsm = torch::log_softmax(all, 2);
  EXPECT_TRUE(close(out.loss, -(lsm[0][1][7] + lsm[1][4][39]) / 2, 1e-6));
  out.loss.backward();
  EXPECT_TRUE(in.word_embeddings.grad().defined()) << "the decoder is the word embeddings";
  std::set<std::string> names;
  for (const auto& item : head->named_parameters()) names.insert(item.key());
  EXPECT_EQ(names, (std::set<std::string>{"transform.dense.weight", "transform.dense.bias",
                                          "transform.LayerNorm.weight", "transform.LayerNorm.bias",
                                          "bias"}));
}

TEST(HeadRegistry, RefusesDuplicatesAndUnknownKinds) {
  HeadRegistry registry;
  registry.add(HeadKind::kClassification, make_classification_head);
  EXPECT_THROW(registry.add(HeadKind::kClassification, make_classification_head), Error);
  EXPECT_THROW(registry.create(spec("stsb", HeadKind::kRegression), small_config()), InputError);
  HeadRegistry full = builtin_head_registry();
  for (HeadKind k : {HeadKind::kClassification, HeadKind::kRegression, HeadKind::kRanking,
                     HeadKind::kSan, HeadKind::kMaskedLm, HeadKind::kNextSentence})
    EXPECT_TRUE(full.contains(k)) << head_kind_name(k);
  HeadSpec bad = spec("stsb", HeadKind::kRegression);
  bad.enable_san = true;
  EXPECT_THROW(full.create(bad, small_config()), InputError);
}

TEST(MtdnnModel, RunsOnlyTheTasksHeadAndNamesParametersByTask) {
  torch::manual_seed(26);
  MtdnnModelOptions o;
  o.config = small_config();
  o.heads = {spec("cola", HeadKind::kClassification), spec("stsb", HeadKind::kRegression)};
  MtdnnModel model(o);
  auto params = model->named_parameters();
  EXPECT_TRUE(params.contains("bert.encoder.layer.0.attention.self.query.weight"));
  EXPECT_TRUE(params.contains("heads.cola.weight"));
  EXPECT_TRUE(params.contains("heads.stsb.bias"));
  EXPECT_EQ(model->tasks(), (std::vector<std::string>{"cola", "stsb"}));
  ModelInput in;
  in.input_ids = torch::randint(1, 40, {3, 6}, torch::kLong);
  in.token_type_ids = torch::zeros({3, 6}, torch::kLong);
  in.attention_mask = torch::ones({3, 6}, torch::kLong);
  in.labels = {torch::tensor({0.5f, 1.0f, 2.0f})};
  model->forward("stsb", in).loss.backward();
  EXPECT_TRUE(params["heads.stsb.weight"].grad().defined());
  EXPECT_FALSE(params["heads.cola.weight"].grad().defined()) << "other heads do not run";
  EXPECT_TRUE(params["bert.pooler.dense.weight"].grad().defined());
  EXPECT_EQ(model->predict("cola", in).sizes(), (std::vector<int64_t>{3}));
  EXPECT_THROW(model->forward("mnli", in), InputError);
  MtdnnModelOptions dup = o;
  dup.heads.push_back(spec("cola", HeadKind::kRegression));
  EXPECT_THROW(MtdnnModel{dup}, InputError);
  MtdnnModelOptions dotted = o;
  dotted.heads = {spec("a.b", HeadKind::kClassification)};
  EXPECT_THROW(MtdnnModel{dotted}, InputError);
}

}  // namespace
}  // namespace mtdnn::worker
