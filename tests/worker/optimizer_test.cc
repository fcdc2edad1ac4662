// The optimizer against PyTorch: AdamW and mt-dnn's Adamax over three clipped steps, one
// with a missing gradient (golden values from scripts/make-optimizer-goldens.py), plus the
// no-decay rule, the clipping factor and the learning-rate schedule.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "worker/optimizer.h"

namespace mtdnn::worker {
namespace {

struct Golden {
  const char* kind;
  const char* name;
  std::vector<float> values;
};

// Printed by scripts/make-optimizer-goldens.py (torch 1.13.1).
// Gradient norms before clipping, both optimizers: 6.44432354, 0.855057597, 0.961317182.
const Golden kGolden[] = {
    {"adamw", "w", {0.269496888f, 0.664832592f, 0.503809631f, -0.143970385f, -0.474809259f, -0.612211168f,
                    -0.270946354f, -0.0229637846f, -0.0128690507f, 0.255790621f, 0.424322754f, 0.500860512f}},
    {"adamw", "b", {0.573752642f, 0.332668394f, -0.040005073f, -0.529107273f}},
    {"adamw", "ln", {0.240174904f, -0.131025225f, -0.645893991f, -0.627676845f}},
    {"adamax", "w", {0.283371806f, 0.656796992f, 0.492475867f, -0.126898304f, -0.470849246f, -0.605068922f,
                     -0.275305569f, -0.036695227f, 0.000775117427f, 0.262877554f, 0.416139543f, 0.498806447f}},
    {"adamax", "b", {0.569502771f, 0.329101771f, -0.0365679041f, -0.52866292f}},
    {"adamax", "ln", {0.23711805f, -0.140976593f, -0.640537322f, -0.614519477f}},
};
const double kNorms[] = {6.44432354, 0.855057597, 0.961317182};
const double kLrs[] = {0.1, 0.05, 0.02};

// The script's init() and grad(): functions of the element index.
int key(const std::string& name) { return name == "w" ? 1 : name == "b" ? 2 : 3; }
float init_value(const std::string& name, int i) { return static_cast<float>(std::sin(0.7 * i + key(name)) * 0.5); }
float grad_value(const std::string& name, int i, int step) {
  return static_cast<float>(std::cos(1.3 * i + 0.4 * step + key(name)) * (step == 0 ? 2.0 : 0.3));
}

// Named like the model's parameters so that the no-decay rule applies by name.
const std::map<std::string, std::string> kNames = {
    {"w", "bert.encoder.layer.0.output.dense.weight"},
    {"b", "bert.encoder.layer.0.output.dense.bias"},
    {"ln", "bert.encoder.layer.0.output.LayerNorm.weight"}};

std::map<std::string, torch::Tensor> make_params() {
  std::map<std::string, torch::Tensor> out;
  for (auto [name, shape] : std::vector<std::pair<std::string, std::vector<int64_t>>>{
           {"w", {3, 4}}, {"b", {4}}, {"ln", {4}}}) {
    auto t = torch::empty(shape);
    for (int i = 0; i < t.numel(); ++i) t.view(-1)[i] = init_value(name, i);
    out[name] = t.requires_grad_(true);
  }
  return out;
}

void run_golden(const std::string& kind) {
  auto params = make_params();
  OptimizerOptions o;
  o.kind = parse_optimizer_kind(kind);
  o.eps = 1e-6;
  o.weight_decay = 0.01;
  Optimizer opt({{kNames.at("w"), params["w"]}, {kNames.at("b"), params["b"]}, {kNames.at("ln"), params["ln"]}}, o);
  for (int step = 0; step < 3; ++step) {
    opt.zero_grad();
    for (auto& [name, p] : params) {
      if (name == "b" && step == 1) continue;  // no gradient: skipped
      auto g = torch::empty_like(p);
      for (int i = 0; i < g.numel(); ++i) g.view(-1)[i] = grad_value(name, i, step);
      p.mutable_grad() = g;
    }
    double norm = opt.grad_norm();
    EXPECT_NEAR(norm, kNorms[step], 1e-6 * kNorms[step]) << kind << " step " << step;
    opt.step(kLrs[step], clip_coefficient(norm, 1.0));
  }
  for (const auto& g : kGolden) {
    if (kind != g.kind) continue;
    auto p = params[g.name].detach().contiguous();
    ASSERT_EQ(p.numel(), static_cast<int64_t>(g.values.size()));
    for (size_t i = 0; i < g.values.size(); ++i)
      EXPECT_NEAR(p.view(-1)[static_cast<int64_t>(i)].item<float>(), g.values[i], 2e-6)
          << kind << " " << g.name << "[" << i << "]";
  }
  // The bias missed one step: its own step count says so.
  EXPECT_EQ(opt.state()[0].steps, 3);
  EXPECT_EQ(opt.state()[1].steps, 2);
  EXPECT_TRUE(opt.state()[0].decay);
  EXPECT_FALSE(opt.state()[1].decay);
  EXPECT_FALSE(opt.state()[2].decay);
}

TEST(Optimizer, AdamWMatchesPyTorch) { run_golden("adamw"); }
TEST(Optimizer, AdamaxMatchesMtDnnFormula) { run_golden("adamax"); }

TEST(Optimizer, ParameterWithoutGradientIsNotTouched) {
  for (auto kind : {OptimizerKind::kAdamW, OptimizerKind::kAdamax}) {
    auto used = torch::ones({5}).requires_grad_(true);
    auto head = torch::full({3, 2}, 0.5f).requires_grad_(true);
    OptimizerOptions o;
    o.kind = kind;
    o.weight_decay = 0.1;
    Optimizer opt({{"heads.a.weight", used}, {"heads.b.weight", head}}, o);
    for (int step = 0; step < 3; ++step) {
      opt.zero_grad();
      used.mutable_grad() = torch::full({5}, 0.25f);
      opt.step(0.01);
    }
    EXPECT_TRUE(torch::equal(head, torch::full({3, 2}, 0.5f))) << "no gradient, yet changed (decay?)";
    EXPECT_EQ(opt.state()[1].steps, 0);
    EXPECT_TRUE(torch::equal(opt.state()[1].exp_avg, torch::zeros({3, 2})));
    EXPECT_FALSE(torch::equal(used, torch::ones({5})));
    EXPECT_EQ(opt.state()[0].steps, 3);
  }
}

TEST(Optimizer, NonFiniteGradientGivesNonFiniteNorm) {
  auto p = torch::zeros({4}).requires_grad_(true);
  Optimizer opt({{"w", p}}, {});
  p.mutable_grad() = torch::tensor({1.0f, NAN, 0.0f, 0.0f});
  EXPECT_TRUE(std::isnan(opt.grad_norm()));
  p.mutable_grad() = torch::tensor({1.0f, INFINITY, 0.0f, 0.0f});
  EXPECT_TRUE(std::isinf(opt.grad_norm()));
  p.mutable_grad() = torch::tensor({3.0f, 4.0f, 0.0f, 0.0f});
  EXPECT_DOUBLE_EQ(opt.grad_norm(), 5.0);
}

TEST(Optimizer, LargeParameterSplitAcrossThreadsMatchesSmallSteps) {
  // A parameter larger than one parallel chunk gets the same update as its pieces alone.
  const int64_t n = (1 << 16) + 123;
  auto big = torch::linspace(-1, 1, n).requires_grad_(true);
  auto small = big.detach().clone().requires_grad_(true);
  auto g = torch::sin(torch::arange(n, torch::kFloat));
  OptimizerOptions o;
  o.kind = OptimizerKind::kAdamW;
  Optimizer a({{"big", big}}, o), b({{"small", small}}, o);
  big.mutable_grad() = g.clone();
  small.mutable_grad() = g.clone();
  a.step(1e-3, 0.5);
  at::set_num_threads(1);
  b.step(1e-3, 0.5);
  at::set_num_threads(static_cast<int>(std::thread::hardware_concurrency()));
  EXPECT_TRUE(torch::equal(big, small));
}

TEST(Optimizer, NoDecayNames) {
  EXPECT_TRUE(weight_decay_applies("bert.encoder.layer.0.attention.self.query.weight"));
  EXPECT_TRUE(weight_decay_applies("heads.rte.weight"));
  EXPECT_TRUE(weight_decay_applies("bert.embeddings.word_embeddings.weight"));
  EXPECT_FALSE(weight_decay_applies("bert.encoder.layer.0.attention.self.query.bias"));
  EXPECT_FALSE(weight_decay_applies("bert.embeddings.LayerNorm.weight"));
  EXPECT_FALSE(weight_decay_applies("heads.rte.bias"));
  EXPECT_TRUE(weight_decay_applies("heads.mnli.rnn.bias_ih"));  // a component named exactly "bias" only
}

TEST(Optimizer, ClipCoefficient) {
  EXPECT_DOUBLE_EQ(clip_coefficient(0.5, 1.0), 1.0);
  EXPECT_NEAR(clip_coefficient(4.0, 1.0), 1.0 / (4.0 + 1e-6), 1e-15);
  EXPECT_DOUBLE_EQ(clip_coefficient(100.0, 0.0), 1.0);
}

TEST(LrSchedule, LinearWarmupThenDecay) {
  LrSchedule s{LrScheduleKind::kLinear, 1.0, 4, 10};
  const double expected[] = {0.25, 0.5, 0.75, 1.0, 1.0, 5.0 / 6, 4.0 / 6, 3.0 / 6, 2.0 / 6, 1.0 / 6};
  for (int i = 0; i < 10; ++i) EXPECT_NEAR(s.at(i), expected[i], 1e-12) << i;
  LrSchedule no_warmup{LrScheduleKind::kLinear, 2.0, 0, 4};
  EXPECT_DOUBLE_EQ(no_warmup.at(0), 2.0);
  EXPECT_DOUBLE_EQ(no_warmup.at(3), 0.5);
  LrSchedule constant{LrScheduleKind::kConstant, 3.0, 2, 10};
  EXPECT_DOUBLE_EQ(constant.at(0), 1.5);
  EXPECT_DOUBLE_EQ(constant.at(1), 3.0);
  EXPECT_DOUBLE_EQ(constant.at(9), 3.0);
  EXPECT_THROW(parse_lr_schedule_kind("cosine"), InputError);
  EXPECT_THROW(parse_optimizer_kind("sgd"), InputError);
}

}  // namespace
}  // namespace mtdnn::worker
