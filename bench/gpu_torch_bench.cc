// mtdnn-bench-gpu-torch: training-step throughput of the MT-DNN model on a GPU (run by
// scripts/gpu-check.sh): BERT-base by default, fixed length 128, one classification head,
// dropout 0.1, the trainer's AdamW (LibTorch-operator update) with global-norm clipping at
// 1, bf16 autocast by default. Batches are made on the host and copied as the trainer does
// (pinned memory, side stream). Runs --batch and, with --max-batch, the largest batch of
// the doubling series from --batch that fits in the GPU's memory. Measures the GPU's bf16
// (or fp32) matrix-product peak in the same run (best of square torch::mm products) and
// reports the model-FLOPs utilisation against it. Prints, per batch size, the peer script's
// line (steps/s S tokens/s T sequences/s Q padded_tokens/s P), then the peak and the MFU.
// Exit status 77 without CUDA (unless --device cpu, a smoke test of this program on a
// small --layers/--hidden configuration).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <torch/cuda.h>
#include <torch/torch.h>

#include "bench/bench_options.h"
#include "common/command_line.h"
#include "worker/batch_tensors.h"
#include "worker/execution.h"
#include "worker/mtdnn_model.h"
#include "worker/optimizer.h"

namespace {

using namespace mtdnn::worker;
using Clock = std::chrono::steady_clock;
namespace po = boost::program_options;

struct Args : mtdnn::bench::ModelBenchOptions {  // BERT-base unless changed
  bool max_batch = false;
  std::string device = "cuda", precision = "bf16";
};

Args parse(int argc, char** argv) {
  Args a;
  a.warmup = 5;
  a.gemm = 8192;
  a.config = bert_base_config();
  po::options_description desc = mtdnn::bench::model_bench_options(
      "mtdnn-bench-gpu-torch", "the model on a GPU (BERT-base, length 128, bf16 by default), per batch size", a);
  desc.add_options()
      ("max-batch", po::bool_switch(&a.max_batch), "also the largest of batch x 2^k that fits in memory")
      ("device", po::value(&a.device)->default_value(a.device), "cuda, or cpu (a smoke test)")
      ("precision", po::value(&a.precision)->default_value(a.precision), "bf16 or fp32");
  po::variables_map vm;
  mtdnn::parse_command_line_or_exit(argc, argv, desc, vm);
  return a;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// TFLOP/s of n x n x n products in the execution's dtype (best of 10 after one untimed).
double matmul_peak(int n, const ExecutionOptions& exec) {
  const auto options = torch::TensorOptions().device(exec.device).dtype(exec.bf16() ? torch::kBFloat16 : torch::kFloat);
  auto x = torch::randn({n, n}, options), y = torch::randn({n, n}, options), z = torch::empty({n, n}, options);
  torch::mm_out(z, x, y);
  synchronize(exec);
  double best = 0;
  for (int r = 0; r < 10; ++r) {
    const auto t0 = Clock::now();
    torch::mm_out(z, x, y);
    synchronize(exec);
    best = std::max(best, 2.0 * n * n * n / seconds_since(t0) / 1e12);
  }
  return best;
}

struct Run {
  int batch = 0;
  double seconds = 0, tokens = 0, flops = 0;
  bool fits = true;
};

bool out_of_memory(const std::exception& e) {
  const std::string m = e.what();
  return m.find("out of memory") != std::string::npos || m.find("CUDA error: out of memory") != std::string::npos;
}

// `steps` timed training steps at batch B (after `warmup`); fits = false on out-of-memory.
Run run(MtdnnModel& model, Optimizer& optimizer, const Args& a, const ExecutionOptions& exec, int B) {
  Run r;
  r.batch = B;
  const BertConfig& c = a.config;
  const int64_t T = a.seq, H = c.hidden_size, I = c.intermediate_size, L = c.num_hidden_layers;
  auto step = [&] {
    ModelInput in;
    in.input_ids = torch::randint(1000, c.vocab_size, {B, T}, torch::kLong);
    in.token_type_ids = torch::zeros({B, T}, torch::kLong);
    in.attention_mask = torch::ones({B, T}, torch::kLong);
    in.labels = {torch::randint(2, {B}, torch::kLong)};
    in = to_device(std::move(in), exec);
    auto out = model->forward("bench", in);
    optimizer.zero_grad();
    out.loss.backward();
    optimizer.step(5e-5, clip_coefficient(optimizer.grad_norm(), 1.0));
  };
  try {
    for (int k = 0; k < a.warmup; ++k) step();
    synchronize(exec);
    const auto t0 = Clock::now();
    for (int k = 0; k < a.steps; ++k) step();
    synchronize(exec);
    r.seconds = seconds_since(t0);
  } catch (const std::exception& e) {
    if (!out_of_memory(e)) throw;
    optimizer.zero_grad();
    r.fits = false;
    return r;
  }
  // Matmul FLOPs: per token and layer 2(4H^2 + 2HI) in the projections and 4TH in the
  // attention products; pooler and head on B rows; backward twice the forward.
  const double fwd = static_cast<double>(B) * T * L * (2.0 * (4 * H * H + 2 * H * I) + 4.0 * T * H) +
                     2.0 * B * (H * H + 2 * H);
  r.flops = 3 * fwd * a.steps;
  r.tokens = static_cast<double>(B) * T * a.steps;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  const DeviceKind kind = parse_device_kind(a.device);
  if (kind == DeviceKind::kCuda && cuda_device_count() == 0) {
    std::printf("skipped: no CUDA (this LibTorch has none, or no GPU is visible)\n");
    return 77;
  }
  const ExecutionOptions exec = resolve_execution(kind, parse_precision(a.precision), 0);
  use_device(exec);
  torch::manual_seed(a.seed);
  const double peak = matmul_peak(a.gemm, exec);

  MtdnnModelOptions options;
  options.config = a.config;
  options.fused = exec.fused_kernels();
  options.precision = exec.precision;
  HeadSpec spec;
  spec.task = "bench";
  spec.n_class = 2;
  spec.kind = HeadKind::kClassification;
  spec.dropout_p = 0.1;
  options.heads.push_back(spec);
  MtdnnModel model(options);
  model->to(exec.device);
  model->train();
  std::vector<NamedParameter> named;
  for (const auto& item : model->named_parameters()) named.push_back({item.key(), item.value()});
  OptimizerOptions adamw;
  adamw.kind = OptimizerKind::kAdamW;
  adamw.tensor_ops = !exec.device.is_cpu();
  Optimizer optimizer(std::move(named), adamw);

  std::vector<Run> runs = {run(model, optimizer, a, exec, a.batch)};
  if (a.max_batch)
    for (int B = 2 * a.batch; B <= 64 * a.batch; B *= 2) {
      Run r = run(model, optimizer, a, exec, B);
      if (!r.fits) {
        std::printf("batch %d: out of memory\n", B);
        break;
      }
      runs.push_back(r);
    }
  std::printf("peak_tflops %.1f (%s %dx%dx%d products on %s)\n", peak, exec.bf16() ? "bf16" : "fp32", a.gemm, a.gemm,
              a.gemm, exec.device.str().c_str());
  for (const Run& r : runs) {
    if (!r.fits) {
      std::printf("batch %d: out of memory\n", r.batch);
      continue;
    }
    const double achieved = r.flops / r.seconds / 1e12;
    std::printf("batch %d: steps/s %.3f tokens/s %.0f sequences/s %.1f padded_tokens/s %.0f\n", r.batch,
                a.steps / r.seconds, r.tokens / r.seconds, a.steps * r.batch / r.seconds, r.tokens / r.seconds);
    std::printf("batch %d: model_tflop_per_step %.3f achieved_tflops %.1f mfu %.1f%%\n", r.batch,
                r.flops / a.steps / 1e12, achieved, 100 * achieved / peak);
  }
  std::printf("config L=%ld H=%ld A=%ld I=%ld V=%ld seq=%d %s\n", static_cast<long>(a.config.num_hidden_layers),
              static_cast<long>(a.config.hidden_size), static_cast<long>(a.config.num_attention_heads),
              static_cast<long>(a.config.intermediate_size), static_cast<long>(a.config.vocab_size), a.seq,
              exec.describe().c_str());
  return 0;
}
