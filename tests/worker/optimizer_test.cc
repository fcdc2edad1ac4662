// The optimizer against PyTorch: AdamW and mt-dnn's Adamax over three clipped steps, one
// with a missing gradient (golden values from scripts/make-optimizer-goldens.py), LAMB over
// four steps against tests/worker/golden/lamb/ (an independent float64 implementation,
// scripts/make-lamb-goldens.py), plus the no-decay rule, the clipping factor, thread-count
// invariance, the state round trip and the learning-rate schedule.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "golden_util.h"
#include "tensor_io/safetensors.h"
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
  for (auto kind : {OptimizerKind::kAdamW, OptimizerKind::kAdamax, OptimizerKind::kLamb}) {
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

TEST(Optimizer, KindNames) {
  for (const char* name : {"adamw", "adamax", "lamb"}) EXPECT_STREQ(to_string(parse_optimizer_kind(name)), name);
  EXPECT_EQ(parse_optimizer_kind("lamb"), OptimizerKind::kLamb);
  try {
    parse_optimizer_kind("LAMB");
    ADD_FAILURE() << "accepted LAMB";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("adamw, adamax or lamb"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------------- LAMB

TEST(Optimizer, LambMatchesGolden) {
  const auto g = test::golden_json("lamb");
  tensor_io::SafetensorsFile f((test::golden_dir("lamb") / "steps.safetensors").string());
  OptimizerOptions o;
  o.kind = parse_optimizer_kind(g["optimizer"].get<std::string>());
  o.beta1 = g["beta1"].get<double>();
  o.beta2 = g["beta2"].get<double>();
  o.eps = g["eps"].get<double>();
  o.weight_decay = g["weight_decay"].get<double>();
  std::vector<NamedParameter> params;
  for (const auto& p : g["params"]) {
    const auto name = p["name"].get<std::string>();
    params.push_back({name, f.tensor("init." + name).clone().requires_grad_(true)});
  }
  Optimizer opt(params, o);
  const auto& lrs = g["lrs"];
  ASSERT_GE(lrs.size(), 2u);
  bool clipped = false, missing = false;
  for (size_t step = 0; step < lrs.size(); ++step) {
    opt.zero_grad();
    for (auto& np : params) {
      const std::string key = "grad." + std::to_string(step) + "." + np.name;
      if (f.contains(key))
        np.param.mutable_grad() = f.tensor(key).clone();
      else
        missing = true;
    }
    const double norm = opt.grad_norm();
    const double expected_norm = g["grad_norms"][step].get<double>();
    EXPECT_NEAR(norm, expected_norm, 1e-6 * expected_norm) << "step " << step;
    const double scale = clip_coefficient(norm, g["max_grad_norm"].get<double>());
    EXPECT_NEAR(scale, g["clip_factors"][step].get<double>(), 1e-6) << "step " << step;
    clipped = clipped || scale < 1;
    opt.step(lrs[step].get<double>(), scale);
    for (const auto& np : params)
      EXPECT_TRUE(test::close(np.param, f.tensor("param." + std::to_string(step) + "." + np.name), 2e-6, 1e-7))
          << np.name << " after step " << step;
  }
  EXPECT_TRUE(clipped && missing) << "the golden should clip and skip a gradient";
  ASSERT_EQ(opt.state().size(), g["params"].size());
  for (size_t i = 0; i < params.size(); ++i) {
    const auto& p = g["params"][i];
    const auto& st = opt.state()[i];
    EXPECT_EQ(st.steps, p["steps"].get<int64_t>()) << params[i].name;
    EXPECT_EQ(st.decay, p["decay"].get<bool>()) << params[i].name;
    EXPECT_TRUE(test::close(st.exp_avg, f.tensor("exp_avg." + params[i].name), 2e-6, 1e-9)) << params[i].name;
    EXPECT_TRUE(test::close(st.exp_sec, f.tensor("exp_sec." + params[i].name), 2e-6, 1e-12)) << params[i].name;
  }
}

// The LAMB update written with tensor ops in double (one parameter, one step).
torch::Tensor lamb_reference(const torch::Tensor& p0, const torch::Tensor& m0, const torch::Tensor& v0,
                             const torch::Tensor& g, const OptimizerOptions& o, double lr, double grad_scale,
                             int64_t t, bool decay, torch::Tensor& m, torch::Tensor& v) {
  auto p = p0.to(torch::kDouble);
  auto gs = g.to(torch::kDouble) * grad_scale;
  m = o.beta1 * m0.to(torch::kDouble) + (1 - o.beta1) * gs;
  v = o.beta2 * v0.to(torch::kDouble) + (1 - o.beta2) * gs * gs;
  auto u = (m / (1 - std::pow(o.beta1, t))) / (torch::sqrt(v / (1 - std::pow(o.beta2, t))) + o.eps) +
           (decay ? o.weight_decay : 0.0) * p;
  const double pn = p.norm().item<double>(), un = u.norm().item<double>();
  const double trust = pn > 0 && un > 0 ? pn / un : 1.0;
  return p - lr * trust * u;
}

const int64_t kLarge = 3 * (1 << 15) + 1234;  // several parallel chunks, the last one partial

torch::Tensor large_grad(int64_t n, int step) {
  return torch::sin(torch::arange(n, torch::kFloat) * (0.37f + 0.05f * step)) * (1.0f + step);
}

TEST(Optimizer, LambLargeParameterMatchesTensorFormula) {
  OptimizerOptions o;
  o.kind = OptimizerKind::kLamb;
  o.weight_decay = 0.05;
  auto p = (torch::cos(torch::arange(kLarge, torch::kFloat) * 0.011f) * 0.3f).requires_grad_(true);
  Optimizer opt({{"bert.encoder.layer.3.intermediate.dense.weight", p}}, o);
  auto m = torch::zeros({kLarge}, torch::kDouble), v = torch::zeros({kLarge}, torch::kDouble);
  for (int step = 0; step < 3; ++step) {
    const double lr = 0.01 / (step + 1), scale = step == 1 ? 0.25 : 1.0;
    auto grad = large_grad(kLarge, step);
    auto p0 = p.detach().clone();
    torch::Tensor m1, v1;
    auto expected = lamb_reference(p0, opt.state()[0].exp_avg, opt.state()[0].exp_sec, grad, o, lr, scale, step + 1,
                                   true, m1, v1);
    p.mutable_grad() = grad;
    opt.step(lr, scale);
    EXPECT_TRUE(test::close(p, expected.to(torch::kFloat), 2e-6, 1e-7)) << "step " << step;
    EXPECT_TRUE(test::close(opt.state()[0].exp_avg, m1.to(torch::kFloat), 1e-6, 1e-9)) << "step " << step;
  }
}

std::vector<torch::Tensor> lamb_params() {
  return {(torch::cos(torch::arange(kLarge, torch::kFloat) * 0.013f) * 0.2f).requires_grad_(true),
          torch::zeros({kLarge / 2}).requires_grad_(true), (torch::ones({7, 5}) * 0.5f).requires_grad_(true)};
}

std::vector<NamedParameter> lamb_named(const std::vector<torch::Tensor>& p) {
  return {{"bert.encoder.layer.0.output.dense.weight", p[0]},
          {"bert.encoder.layer.0.output.dense.bias", p[1]},
          {"heads.cls.weight", p[2]}};
}

void lamb_steps(Optimizer& opt, const std::vector<torch::Tensor>& params, int first, int last) {
  for (int step = first; step < last; ++step) {
    opt.zero_grad();
    for (size_t i = 0; i < params.size(); ++i)
      params[i].mutable_grad() = large_grad(params[i].numel(), step + static_cast<int>(i)).view(params[i].sizes());
    opt.step(0.02, clip_coefficient(opt.grad_norm(), 1.0));
  }
}

TEST(Optimizer, LambThreadCountDoesNotChangeResult) {
  OptimizerOptions o;
  o.kind = OptimizerKind::kLamb;
  const int threads = at::get_num_threads();
  std::vector<std::vector<torch::Tensor>> results;
  std::vector<std::map<std::string, torch::Tensor>> states;
  for (int n : {1, 2, 3, 8}) {
    at::set_num_threads(n);
    auto params = lamb_params();
    Optimizer opt(lamb_named(params), o);
    lamb_steps(opt, params, 0, 3);
    results.push_back(params);
    states.push_back(opt.state_tensors());
  }
  at::set_num_threads(threads);
  for (size_t r = 1; r < results.size(); ++r) {
    for (size_t i = 0; i < results[0].size(); ++i)
      EXPECT_TRUE(torch::equal(results[r][i], results[0][i])) << "run " << r << " parameter " << i;
    for (const auto& [name, t] : states[0])
      EXPECT_TRUE(torch::equal(states[r].at(name), t)) << "run " << r << " " << name;
  }
  EXPECT_FALSE(torch::equal(results[0][1], torch::zeros({kLarge / 2})));  // the zero bias moved (trust 1)
}

TEST(Optimizer, LambStateRoundTripContinuesExactly) {
  OptimizerOptions o;
  o.kind = OptimizerKind::kLamb;
  auto a = lamb_params();
  Optimizer opt_a(lamb_named(a), o);
  lamb_steps(opt_a, a, 0, 2);
  // What a checkpoint keeps: the weights and the state tensors, copied.
  std::vector<torch::Tensor> b, fresh;
  for (const auto& p : a) {
    b.push_back(p.detach().clone().requires_grad_(true));
    fresh.push_back(p.detach().clone().requires_grad_(true));
  }
  std::map<std::string, torch::Tensor> saved;
  for (const auto& [name, t] : opt_a.state_tensors()) saved[name] = t.clone();
  Optimizer opt_b(lamb_named(b), o);
  opt_b.load_state_tensors([&](std::map<std::string, torch::Tensor>& targets) {
    ASSERT_EQ(targets.size(), saved.size());
    for (auto& [name, t] : targets) t.copy_(saved.at(name));
  });
  EXPECT_EQ(opt_b.state()[0].steps, 2);
  Optimizer opt_fresh(lamb_named(fresh), o);  // without the state: a different step
  lamb_steps(opt_a, a, 2, 4);
  lamb_steps(opt_b, b, 2, 4);
  lamb_steps(opt_fresh, fresh, 2, 4);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
  const auto state_b = opt_b.state_tensors();
  for (const auto& [name, t] : opt_a.state_tensors()) EXPECT_TRUE(torch::equal(state_b.at(name), t)) << name;
  EXPECT_FALSE(torch::equal(a[0], fresh[0]));
}

TEST(Optimizer, LambTrustRatioEdgeCases) {
  OptimizerOptions o;
  o.kind = OptimizerKind::kLamb;
  o.weight_decay = 0.1;
  auto zero = torch::zeros({4}).requires_grad_(true);          // ||p|| = 0: trust 1
  auto still = torch::full({3}, 0.7f).requires_grad_(true);    // no decay, zero gradient: u = 0
  auto decayed = torch::full({3}, 0.7f).requires_grad_(true);  // decay only: u = wd p, trust 1 / wd
  Optimizer opt({{"heads.a.bias", zero}, {"heads.a.LayerNorm.weight", still}, {"heads.a.weight", decayed}}, o);
  zero.mutable_grad() = torch::tensor({0.5f, -2.0f, 0.0f, 1e-3f});
  still.mutable_grad() = torch::zeros({3});
  decayed.mutable_grad() = torch::zeros({3});
  opt.step(0.1);
  // Step 1: m_hat = g, v_hat = g^2, u = g / (|g| + eps).
  auto g = torch::tensor({0.5, -2.0, 0.0, 1e-3}, torch::kDouble);
  EXPECT_TRUE(test::close(zero, (-0.1 * g / (g.abs() + o.eps)).to(torch::kFloat), 1e-6, 1e-7));
  EXPECT_TRUE(torch::equal(still, torch::full({3}, 0.7f)));
  EXPECT_TRUE(test::close(decayed, torch::full({3}, 0.7f * 0.9f), 1e-6, 0));  // p -= lr (1/wd) wd p
}

}  // namespace
}  // namespace mtdnn::worker
