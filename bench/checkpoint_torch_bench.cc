// mtdnn-bench-checkpoint-torch: cost of full-state checkpoints (weights + two Adam moments
// + RNG state) for BERT-mini-sized (~11M parameters, x3) and BERT-base-sized (~110M, x3)
// states: how long training is blocked in save() (the snapshot copy), how long the
// background write + fsync + commit takes, a synchronous save for comparison, and a
// verified load. scripts/bench-checkpoint.sh sets these next to dd's fdatasync throughput.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/command_line.h"
#include "checkpoints/checkpoint_reader.h"
#include "checkpoints/checkpoint_writer.h"
#include "worker/bert_config.h"
#include "worker/bert_encoder.h"

namespace {

namespace fs = std::filesystem;
using namespace mtdnn::checkpoints;
using Clock = std::chrono::steady_clock;
namespace po = boost::program_options;

struct Args {
  std::string dir = (fs::temp_directory_path() / "mtdnn-bench-checkpoint").string();
  std::vector<std::string> sizes = {"mini", "base"};
  int repeats = 4;
};

Args parse(int argc, char** argv) {
  Args a;
  std::string sizes = "mini,base";
  po::options_description desc(
      "mtdnn-bench-checkpoint-torch: saves each state N times (asynchronously, waiting for each\n"
      "write before the next save, as training does when saves are further apart than one write),\n"
      "once synchronously, and loads it once with checksums. Prints a summary per state, then one\n"
      "line RESULT <size> <params> <bytes> <stall_first_s> <stall_steady_s> <write_s> <sync_s> <load_s>.\n\n"
      "Options");
  desc.add_options()
      ("help,h", "print this help")
      ("dir", po::value(&a.dir)->default_value(a.dir), "folder to write the checkpoints in")
      ("sizes", po::value(&sizes)->default_value(sizes), "comma-separated states: mini, base")
      ("repeats", po::value(&a.repeats)->default_value(a.repeats), "saves per state (at least 2)");
  po::variables_map vm;
  mtdnn::parse_command_line_or_exit(argc, argv, desc, vm);
  a.repeats = std::max(2, a.repeats);
  a.sizes.clear();
  std::stringstream list(sizes);
  for (std::string size; std::getline(list, size, ',');)
    if (!size.empty()) a.sizes.push_back(size);
  return a;
}

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Weights of a BERT encoder plus AdamW's two moments per parameter and the CPU RNG state.
TrainingState make_state(const mtdnn::worker::BertConfig& config, int64_t* params) {
  torch::manual_seed(0);
  mtdnn::worker::BertEncoder encoder(mtdnn::worker::BertEncoderOptions(config).fused(false));
  TrainingState s;
  *params = 0;
  for (const auto& item : encoder->named_parameters()) {
    const std::string& name = item.key();
    const torch::Tensor p = item.value().detach();
    *params += p.numel();
    s.tensors["model/bert." + name] = p;
    s.tensors["optim/bert." + name + "/exp_avg"] = torch::randn_like(p).mul_(1e-3);
    s.tensors["optim/bert." + name + "/exp_avg_sq"] = torch::rand_like(p).mul_(1e-6);
  }
  s.tensors["rng/cpu"] = at::detail::getDefaultCPUGenerator().get_state();
  s.meta = {{"epoch", 1}, {"position", {{"round", 100}}}, {"world_size", 1}};
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void run_size(const std::string& size, const Args& args) {
  const auto config = size == "base" ? mtdnn::worker::bert_base_config() : mtdnn::worker::bert_mini_config();
  int64_t params = 0;
  const TrainingState state = make_state(config, &params);
  const fs::path root = fs::path(args.dir) / size;
  fs::remove_all(root);

  CheckpointWriterOptions o;
  o.root = root.string();
  o.retention = {1, 0};
  CheckpointWriter writer(o);
  std::vector<double> stalls, writes;
  uint64_t bytes = 0;
  for (int r = 0; r < args.repeats; ++r) {
    SaveStats st = writer.save(r + 1, state);
    writer.wait();
    stalls.push_back(st.blocked_s);
    writes.push_back(writer.last_completed().write_s);
    bytes = st.bytes;
  }
  const double stall_first = stalls.front();
  const double stall_steady = median(std::vector<double>(stalls.begin() + 1, stalls.end()));
  const double write_s = median(writes);

  const auto t_sync = Clock::now();
  save_checkpoint(root.string(), 1000, state, {1, 0});
  const double sync_s = since(t_sync);

  const auto t_load = Clock::now();
  auto found = find_latest_valid(root.string());  // verifies every tensor's SHA-256
  TrainingState loaded = load_checkpoint(found->path, /*verify=*/false);
  double checksum = 0;
  for (const auto& [name, t] : loaded.tensors)
    if (t.is_floating_point()) checksum += t.sum().item<double>();  // touch every byte
  const double load_s = since(t_load);
  fs::remove_all(root);

  std::printf("%s: %lld parameters, %zu tensors, %.1f MiB state file\n", size.c_str(),
              static_cast<long long>(params), state.tensors.size(), bytes / 1048576.0);
  std::printf("  training blocked in save(): first %.3f s (staging buffer allocated), then %.3f s\n",
              stall_first, stall_steady);
  std::printf("  background write + fsync + commit: %.3f s (%.0f MiB/s); synchronous save: %.3f s\n",
              write_s, bytes / 1048576.0 / write_s, sync_s);
  std::printf("  find_latest_valid + load + read every tensor: %.3f s (checksum %g)\n", load_s, checksum);
  std::printf("RESULT %s %lld %llu %.4f %.4f %.4f %.4f %.4f\n", size.c_str(), static_cast<long long>(params),
              static_cast<unsigned long long>(bytes), stall_first, stall_steady, write_s, sync_s, load_s);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  try {
    for (const auto& size : args.sizes) {
      if (size != "mini" && size != "base") {
        std::fprintf(stderr, "unknown size '%s' (mini or base)\n", size.c_str());
        return 2;
      }
      run_size(size, args);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
