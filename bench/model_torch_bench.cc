// mtdnn-bench-model-torch: training-step throughput of the MT-DNN model on CPU, the
// workload of ../shared/bench/ref_mtdnn.py (BERT-mini, one task head per task, dropout
// 0.1, AdamW lr 5e-5 with weight decay 0.01, global-norm clipping at 1.0, one task per
// batch, padding to the longest row), so scripts/bench-model.sh can put the two side by
// side. Also measures the machine's GEMM peak (torch::mm, same threads) and reports the
// model-FLOPs utilisation against it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/command_line.h"
#include "worker/cpu_runtime.h"
#include "worker/optimizer.h"
#include "bench/bench_options.h"
#include "worker/mtdnn_model.h"

namespace {

using namespace mtdnn::worker;
using Clock = std::chrono::steady_clock;
namespace po = boost::program_options;

struct Args : mtdnn::bench::ModelBenchOptions {  // BERT-mini unless changed
  int threads = 2;
  std::string lengths;      // folder of <TASK>.txt row lengths: real GLUE batches
  bool fused = true;        // false: LibTorch reference ops
  bool runtime = true;      // false: leave BLAS threads and malloc as they are
  bool dropout = true;
};

Args parse(int argc, char** argv) {
  Args a;
  a.config = bert_mini_config();
  bool reference_ops = false, no_runtime = false, no_dropout = false;
  BertConfig& c = a.config;
  po::options_description desc = mtdnn::bench::model_bench_options(
      "mtdnn-bench-model-torch", "the C++ model on a fixed workload (BERT-mini unless changed)", a);
  desc.add_options()
      ("lengths", po::value(&a.lengths), "folder of <TASK>.txt real row lengths (GLUE batch shapes)")
      ("threads", po::value(&a.threads)->default_value(a.threads), "intra-op threads")
      ("reference-ops", po::bool_switch(&reference_ops), "LibTorch reference ops instead of the fused ones")
      ("no-runtime", po::bool_switch(&no_runtime), "leave BLAS threads and malloc as they are")
      ("no-dropout", po::bool_switch(&no_dropout), "dropout 0 everywhere");
  po::variables_map vm;
  mtdnn::parse_command_line_or_exit(argc, argv, desc, vm);
  a.fused = !reference_ops;
  a.runtime = !no_runtime;
  a.dropout = !no_dropout;
  if (!a.dropout) c.hidden_dropout_prob = c.attention_probs_dropout_prob = 0;
  return a;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// GFLOP/s of an n x n x n GEMM (best of a few): torch::mm (the BLAS behind LibTorch, with
// its own threads) or the fused ops' sgemm (oneDNN when present).
double gemm_peak(int n, bool torch_mm) {
  auto a = torch::randn({n, n}), b = torch::randn({n, n}), c = torch::empty({n, n});
  auto run = [&] {
    if (torch_mm) {
      torch::mm_out(c, a, b);
    } else {
      sgemm(Trans::kNo, Trans::kNo, n, n, n, 1.0f, a.data_ptr<float>(), n, b.data_ptr<float>(), n,
            0.0f, c.data_ptr<float>(), n);
    }
  };
  run();
  double best = 0;
  for (int r = 0; r < 10; ++r) {  // best of 10: other processes only ever lower it
    auto t0 = Clock::now();
    run();
    best = std::max(best, 2.0 * n * n * n / seconds_since(t0) / 1e9);
  }
  return best;
}

// Task name -> classes (1 = regression), as the reference script.
int n_class(const std::string& task) {
  if (task == "STS-B") return 1;
  if (task == "MNLI") return 3;
  return 2;
}

struct Workload {
  std::map<std::string, std::vector<int>> lengths;   // task -> row lengths
  std::vector<std::pair<std::string, size_t>> batches;  // (task, first row), shuffled
};

Workload make_workload(const Args& a) {
  Workload w;
  if (a.lengths.empty()) {
    w.lengths["fixed"] = std::vector<int>(a.batch * 64, a.seq);
  } else {
    for (const auto& entry : std::filesystem::directory_iterator(a.lengths)) {
      const auto path = entry.path();
      if (path.extension() != ".txt") continue;
      std::ifstream in(path);
      std::vector<int> ls;
      for (int x; in >> x;) ls.push_back(x);
      w.lengths[path.stem().string()] = ls;
    }
  }
  for (const auto& [task, ls] : w.lengths)
    for (size_t i = 0; i < ls.size(); i += a.batch) w.batches.emplace_back(task, i);
  std::mt19937 rng(a.seed);
  std::shuffle(w.batches.begin(), w.batches.end(), rng);
  return w;
}

struct StepStats {
  int64_t real = 0, padded = 0, seqs = 0;
  double flops = 0;  // model FLOPs of the step (forward + backward)
  double phase[3] = {0, 0, 0};  // seconds: forward + backward, gradient norm, optimizer update
};

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  torch::manual_seed(a.seed);
  at::set_num_threads(a.threads);
  // Peaks first: torch::mm with the BLAS's own threads (LibTorch's default), and the GEMM
  // the fused ops use. The larger is the MFU's denominator.
  const double mm_peak_before = gemm_peak(a.gemm, true);
  const double sgemm_peak_before = gemm_peak(a.gemm, false);
  std::string runtime = "runtime untouched";
  if (a.runtime) runtime = configure_cpu_runtime({a.threads, true, true});

  const BertConfig& config = a.config;
  const Workload work = make_workload(a);
  MtdnnModelOptions options;
  options.config = config;
  options.fused = a.fused;
  for (const auto& [task, ls] : work.lengths) {
    HeadSpec spec;
    spec.task = task;
    spec.n_class = std::max(2, n_class(task));
    spec.kind = n_class(task) == 1 ? HeadKind::kRegression : HeadKind::kClassification;
    spec.dropout_p = a.dropout ? 0.1 : 0.0;
    options.heads.push_back(spec);
  }
  MtdnnModel model(options);
  model->train();
  // The trainer's optimizer: AdamW with global-norm clipping at 1.
  std::vector<NamedParameter> named;
  for (const auto& item : model->named_parameters()) named.push_back({item.key(), item.value()});
  OptimizerOptions adamw;
  adamw.kind = OptimizerKind::kAdamW;
  Optimizer optimizer(std::move(named), adamw);

  const int64_t H = config.hidden_size, I = config.intermediate_size, L = config.num_hidden_layers;
  auto step = [&](int k) {
    const auto& [task, start] = work.batches[k % work.batches.size()];
    const auto& all = work.lengths.at(task);
    std::vector<int64_t> ls(all.begin() + start, all.begin() + std::min(all.size(), start + a.batch));
    const int64_t B = ls.size(), T = *std::max_element(ls.begin(), ls.end());
    auto lens = torch::tensor(ls, torch::kLong);
    auto mask = (torch::arange(T).unsqueeze(0) < lens.unsqueeze(1)).to(torch::kLong);  // (B, T)
    ModelInput in;
    in.input_ids = torch::randint(1000, config.vocab_size, {B, T}, torch::kLong) * mask;
    in.token_type_ids = torch::zeros({B, T}, torch::kLong);
    in.attention_mask = mask;
    const int c = n_class(task);
    in.labels = {c == 1 ? torch::rand({B}) * 5 : torch::randint(c, {B}, torch::kLong)};
    StepStats s;
    auto t = Clock::now();
    auto out = model->forward(task, in);
    optimizer.zero_grad();
    out.loss.backward();
    s.phase[0] = seconds_since(t);
    t = Clock::now();
    const double norm = optimizer.grad_norm();
    s.phase[1] = seconds_since(t);
    t = Clock::now();
    optimizer.step(5e-5, clip_coefficient(norm, 1.0));
    s.phase[2] = seconds_since(t);
    s.real = std::accumulate(ls.begin(), ls.end(), int64_t{0});
    s.padded = B * T;
    s.seqs = B;
    // Matmul FLOPs: per token and layer 2(4H^2 + 2HI) in the projections and 4TH in the
    // attention products; pooler and head on B rows; backward twice the forward.
    const double fwd = static_cast<double>(B * T) * L * (2.0 * (4 * H * H + 2 * H * I) + 4.0 * T * H) +
                       2.0 * B * (H * H + H * std::max(c, 1));
    s.flops = 3 * fwd;
    return s;
  };

  for (int k = 0; k < a.warmup; ++k) step(k);
  StepStats total;
  auto t0 = Clock::now();
  for (int k = a.warmup; k < a.warmup + a.steps; ++k) {
    auto s = step(k);
    total.real += s.real;
    total.padded += s.padded;
    total.seqs += s.seqs;
    total.flops += s.flops;
    for (int p = 0; p < 3; ++p) total.phase[p] += s.phase[p];
  }
  const double dt = seconds_since(t0);

  // Peaks again after the run (BLAS threads restored); the best of all four: a
  // conservative MFU.
  const double sgemm_peak = std::max(sgemm_peak_before, gemm_peak(a.gemm, false));
  set_blas_threads(a.threads);
  const double mm_peak = std::max(mm_peak_before, gemm_peak(a.gemm, true));
  const double peak = std::max(mm_peak, sgemm_peak);
  const double achieved = total.flops / dt / 1e9;
  std::printf("steps/s %.3f tokens/s %.0f sequences/s %.1f padded_tokens/s %.0f\n", a.steps / dt,
              total.real / dt, total.seqs / dt, total.padded / dt);
  std::printf("gemm_peak_gflops %.1f (%dx%dx%d, %d threads: torch::mm %.1f, %s sgemm %.1f)\n", peak,
              a.gemm, a.gemm, a.gemm, a.threads, mm_peak, gemm_backend_name(), sgemm_peak);
  std::printf("model_gflop_per_step %.2f achieved_gflops %.1f mfu %.1f%%\n",
              total.flops / a.steps / 1e9, achieved, 100 * achieved / peak);
  // Where a step's time goes (wall clock of each phase, summed over the timed steps).
  std::printf("step_ms forward_backward %.2f grad_norm %.2f optimizer_update %.2f\n", 1e3 * total.phase[0] / a.steps,
              1e3 * total.phase[1] / a.steps, 1e3 * total.phase[2] / a.steps);
  std::printf("config L=%ld H=%ld A=%ld I=%ld V=%ld batch=%d %s threads=%d ops=%s; %s\n",
              static_cast<long>(L), static_cast<long>(H), static_cast<long>(config.num_attention_heads),
              static_cast<long>(I), static_cast<long>(config.vocab_size), a.batch,
              a.lengths.empty() ? ("seq=" + std::to_string(a.seq)).c_str() : "GLUE lengths",
              a.threads, a.fused ? "fused" : "reference", runtime.c_str());
  return 0;
}
