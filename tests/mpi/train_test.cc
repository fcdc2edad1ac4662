// mtdnn-train's trainer across real ranks (run under mpirun -np 1, 2, 3): a tiny model on a
// tiny four-task dataset (classification, SAN classification, regression, ranking; plus a
// MaskLM task over a small corpus where a test mixes pretraining in) trained
// on all ranks gives the parameters of the same training in one process (mpi and gloo,
// with and without gradient accumulation, uneven and empty slices); a head whose task was
// not in the batch is not updated; every rank has the same schedule; metrics.jsonl has its
// fields and counts all ranks' examples and tokens; bad input and disagreeing ranks fail
// with messages that name the problem.
#include <set>

#include <gtest/gtest.h>

#include <torch/torch.h>
#include <sched.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <iostream>
#include <limits>
#include <sstream>

#include "checkpoints/checkpoint_reader.h"
#include "common/error.h"
#include "../first_cpu_only.h"
#include "mpi_test_support.h"
#include "worker/batch_loader.h"
#include "comm/round_protocol.h"
#include "schedule/schedule.h"
#include "orchestrator/stop_request.h"
#include "orchestrator/train_options.h"
#include "orchestrator/run_inputs.h"
#include "orchestrator/trainer.h"
#include "../recording_plane.h"
#include "task_kinds/task_kind.h"
#include "preprocess/preprocess_job.h"
#include "sharding/split_reader.h"
#include "worker/bert_config.h"
#include "worker/execution.h"
#include "worker/mtdnn_model.h"

namespace fs = std::filesystem;

namespace mtdnn::orchestrator {
namespace {

const char* kTaskDefs =
    "topic:\n  task_type: Classification\n  data_format: PremiseOnly\n  n_class: 2\n  labels: [pets, other]\n"
    "  metric_meta: [ACC, F1]\n"
    "nli:\n  task_type: Classification\n  data_format: PremiseAndOneHypothesis\n  n_class: 3\n"
    "  labels: [yes, no, maybe]\n  metric_meta: [ACC]\n  enable_san: true\n  split_names: [train, dev]\n"
    "sim:\n  task_type: Regression\n  data_format: PremiseAndOneHypothesis\n  n_class: 1\n"
    "  metric_meta: [Pearson, Spearman]\n  split_names: [train, dev]\n"
    "qa:\n  task_type: Ranking\n  data_format: PremiseAndMultiHypothesis\n  n_class: 1\n  metric_meta: [ACC]\n"
    "  split_names: [train, dev]\n"
    "lm:\n  task_type: MaskLM\n  data_format: MLM\n  n_class: 2\n  dev_fraction: 0.2\n";

// The four labeled tasks; tests that mix pretraining in add "lm".
const std::vector<std::string> kLabeledTasks = {"topic", "nli", "sim", "qa"};

const std::vector<std::string> kWords = {"the", "cat", "sat", "on", "mat", "dog", "ran", "a", "who", "big",
                                         "red", "fox", "saw", "it", "and", "hid", "in", "box", "was", "not"};

std::string sentence(int seed, int length) {
  std::string s;
  for (int i = 0; i < length; ++i) s += (i ? " " : "") + kWords[static_cast<size_t>((seed * 7 + i * 3) % 20)];
  return s;
}

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// The tiny dataset and model config, made once by rank 0 in a folder every rank sees.
class TrainData {
 public:
  static TrainData& get() {
    static TrainData data;
    return data;
  }
  fs::path root;
  std::string data_dir() const { return (root / "data").string(); }
  std::string task_def() const { return (root / "tasks.yml").string(); }
  std::string bert_config() const { return (root / "bert.json").string(); }

  TrainOptions options(const std::string& out) const {
    TrainOptions o;
    o.data_dir = data_dir();
    o.task_def = task_def();
    o.bert_config = bert_config();
    o.out_dir = (root / out).string();
    o.max_seq_len = 24;
    o.batch_size = 4;
    o.epochs = 1;
    o.optimizer = worker::OptimizerKind::kAdamW;
    o.lr = 1e-2;
    // Adam turns a gradient that is pure rounding noise (the ranking head's bias: softmax
    // ignores a shift) into a step of up to lr x noise / eps: a large eps keeps that below
    // the comparison tolerance while real gradients still move the weights.
    o.eps = 1e-3;
    o.warmup = 0.25;
    o.dropout = 0.0;
    o.threads = 1;
    o.log_every = 1;
    o.eval_every = 3;
    o.eval_batch_size = 3;
    o.prefetch = 1;
    // Test runs reuse their output folders: each starts fresh unless a test resumes on purpose.
    o.resume = "never";
    o.tasks = kLabeledTasks;
    return o;
  }

 private:
  TrainData() {
    comm::MpiContext& mpi = test::mpi();
    std::string path = mpi.rank() == 0 ? (fs::temp_directory_path() / ("mtdnn-train-test-" + std::to_string(::getpid())))
                                             .string()
                                       : "";
    mpi.broadcast(&path, 0);
    root = path;
    owner_ = mpi.rank() == 0;
    if (owner_) make();
    mpi.barrier();
  }
  ~TrainData() {  // after MPI_Finalize: only the rank recorded at start is used
    std::error_code ec;
    if (owner_) fs::remove_all(root, ec);
  }
  bool owner_ = false;

  void make() const {
    fs::remove_all(root);
    std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    for (const auto& w : kWords) vocab += w + "\n";
    write(root / "vocab.txt", vocab);
    write(root / "tasks.yml", kTaskDefs);
    const fs::path in = root / "in";
    // Uneven sizes: 11 topic, 7 nli, 7 sim examples and 5 qa groups in batches of 4.
    std::string topic_train, topic_dev, topic_test;
    for (int i = 0; i < 11; ++i) topic_train += fmt::format("t{}\t{}\t{}\n", i, i % 3 ? "pets" : "other", sentence(i, 2 + i % 6));
    for (int i = 0; i < 5; ++i) topic_dev += fmt::format("d{}\t{}\t{}\n", i, i % 2 ? "pets" : "other", sentence(i + 20, 3 + i));
    for (int i = 0; i < 3; ++i) topic_test += fmt::format("{}\t\t{}\n", i, sentence(i + 40, 4));
    write(in / "topic_train.tsv", topic_train);
    write(in / "topic_dev.tsv", topic_dev);
    write(in / "topic_test.tsv", topic_test);
    std::string nli_train, nli_dev, sim_train, sim_dev;
    const char* nli_labels[] = {"yes", "no", "maybe"};
    for (int i = 0; i < 7; ++i)
      nli_train += fmt::format("n{}\t{}\t{}\t{}\n", i, nli_labels[i % 3], sentence(i, 3 + i % 4), sentence(i + 5, 2 + i % 3));
    for (int i = 0; i < 4; ++i)
      nli_dev += fmt::format("m{}\t{}\t{}\t{}\n", i, nli_labels[(i + 1) % 3], sentence(i + 9, 3), sentence(i + 2, 4));
    for (int i = 0; i < 7; ++i)
      sim_train += fmt::format("s{}\t{}\t{}\t{}\n", i, 0.5 * i, sentence(i + 3, 2 + i % 5), sentence(i + 8, 3));
    for (int i = 0; i < 4; ++i) sim_dev += fmt::format("v{}\t{}\t{}\t{}\n", i, 1.25 * i, sentence(i, 4), sentence(i + 1, 2 + i));
    write(in / "nli_train.tsv", nli_train);
    write(in / "nli_dev.tsv", nli_dev);
    write(in / "sim_train.tsv", sim_train);
    write(in / "sim_dev.tsv", sim_dev);
    std::string qa_train, qa_dev;
    for (int g = 0; g < 5; ++g) {
      int k = 2 + g % 2;
      std::string cuids, hyps;
      for (int c = 0; c < k; ++c) {
        cuids += fmt::format("{}c{}_{}", c ? "," : "", g, c);
        hyps += "\t" + sentence(g * 3 + c, 2 + c);
      }
      qa_train += fmt::format("q{}\t{}\t{}\t{}{}\n", g, cuids, g % k, sentence(g, 3), hyps);
    }
    qa_dev = "r0\trc0,rc1\t1\twho sat\tthe cat sat\tthe dog ran\nr1\trc2,rc3,rc4\t0\twho ran\tthe dog ran\ta mat\tit hid\n";
    write(in / "qa_train.tsv", qa_train);
    write(in / "qa_dev.tsv", qa_dev);
    // The MaskLM task's corpus (in/lm/): 12 documents of 3 to 6 sentences, a blank line between.
    std::string corpus;
    for (int d = 0; d < 12; ++d) {
      for (int k = 0; k < 3 + d % 4; ++k) corpus += sentence(d * 5 + k, 3 + (d + k) % 5) + "\n";
      corpus += "\n";
    }
    write(in / "lm" / "corpus.txt", corpus);

    preprocess::PreprocessOptions p;
    p.task_def_path = (root / "tasks.yml").string();
    p.input_dir = in.string();
    p.vocab_path = (root / "vocab.txt").string();
    p.out_dir = data_dir();
    p.max_seq_len = 24;
    p.threads = 1;
    preprocess::run_preprocess(p);

    worker::BertConfig c;
    c.vocab_size = 5 + static_cast<int64_t>(kWords.size());
    c.hidden_size = 16;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 2;
    c.intermediate_size = 32;
    c.max_position_embeddings = 32;
    worker::write_bert_config(c, bert_config());
  }
};

// Every named parameter of `model`, detached copies.
std::map<std::string, torch::Tensor> snapshot(const worker::MtdnnModelImpl& model) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : model.named_parameters()) out[item.key()] = item.value().detach().clone();
  return out;
}

std::vector<nlohmann::json> read_jsonl(const fs::path& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

struct Variant {
  std::string backend;
  int64_t grad_accum;
  bool pretraining = false;  // the MaskLM task mixed in (its decoder ties the word embeddings)
};

class TrainAcrossRanks : public ::testing::TestWithParam<Variant> {};

// The same training on all ranks and in one process ends with the same parameters.
TEST_P(TrainAcrossRanks, SameParametersAsOneProcess) {
  comm::MpiContext& mpi = test::mpi();
  const TrainData& data = TrainData::get();
  auto plane = comm::make_mpi_control_plane(mpi);
  TrainOptions o = data.options(fmt::format("dist-{}-{}{}", GetParam().backend, GetParam().grad_accum,
                                            GetParam().pretraining ? "-lm" : ""));
  if (GetParam().pretraining) o.tasks.push_back("lm");
  o.backend = comm::parse_comm_backend(GetParam().backend);
  o.grad_accum = GetParam().grad_accum;
  Trainer trainer(o, *plane);
  TrainResult result = trainer.run();
  EXPECT_EQ(result.steps, trainer.total_steps());
  EXPECT_EQ(result.skipped_steps, 0);
  // 11, 7, 7 examples and 5 groups in batches of 4: 3 + 2 + 2 + 2 steps (+ 5 of 17 MaskLM pairs).
  EXPECT_EQ(trainer.total_steps(), GetParam().pretraining ? 14 : 9);
  auto got = snapshot(trainer.model());

  if (mpi.rank() == 0) {
    auto local = comm::make_local_control_plane();
    TrainOptions r = data.options(GetParam().pretraining ? "reference-lm" : "reference");
    r.tasks = o.tasks;
    Trainer reference(r, *local);
    reference.run();
    auto want = snapshot(reference.model());
    ASSERT_EQ(got.size(), want.size());
    int changed = 0;
    double worst = 0;
    for (const auto& [name, w] : want) {
      ASSERT_TRUE(got.count(name)) << name;
      const double diff = (got[name] - w).abs().max().item<double>();
      EXPECT_LT(diff, 2e-6) << name << " differs by " << diff << " on " << mpi.size() << " ranks";
      worst = std::max(worst, diff);
    }
    std::cout << "largest parameter difference on " << mpi.size() << " ranks: " << worst << "\n";
    // Training did something: the reference moved away from the initial weights.
    Trainer initial(data.options("initial"), *local);
    initial.build_model();
    for (const auto& [name, w] : snapshot(initial.model())) changed += !torch::equal(w, want[name]);
    EXPECT_GT(changed, 20);
  }
  mpi.barrier();
}

INSTANTIATE_TEST_SUITE_P(Mpi, TrainAcrossRanks,
                         ::testing::Values(Variant{"mpi", 1}, Variant{"mpi", 2}, Variant{"mpi", 2, true}),
                         [](const auto& info) {
                           return info.param.backend + "_accum" + std::to_string(info.param.grad_accum) +
                                  (info.param.pretraining ? "_pretraining" : "");
                         });
// Gloo exists only in builds whose LibTorch ships its headers (cmake/torch.cmake): Debian's
// 1.13, which CI builds and runs these on; a build against the PyTorch wheel has none.
#if MTDNN_HAVE_GLOO
INSTANTIATE_TEST_SUITE_P(Gloo, TrainAcrossRanks, ::testing::Values(Variant{"gloo", 1}, Variant{"gloo", 3}),
                         [](const auto& info) { return info.param.backend + "_accum" + std::to_string(info.param.grad_accum); });
#endif

TEST(Train, HeadNotInTheBatchGetsNoUpdate) {
  comm::MpiContext& mpi = test::mpi();
  const TrainData& data = TrainData::get();
  auto plane = comm::make_mpi_control_plane(mpi);
  TrainOptions o = data.options("one-step");
  o.max_steps = 1;
  o.weight_decay = 0.1;  // a decayed-but-unused head would show
  Trainer trainer(o, *plane);
  Trainer initial(data.options("one-step-initial"), *plane);
  initial.build_model();
  auto before = snapshot(initial.model());
  trainer.run();
  auto after = snapshot(trainer.model());
  // The first step's task, from the schedule every rank builds.
  std::vector<schedule::TaskSizes> sizes;
  for (const char* t : {"topic", "nli", "sim", "qa"})
    sizes.push_back(worker::task_sizes_of(sharding::SplitReader(data.data_dir(), t, "train")));
  schedule::ScheduleOptions so;
  so.seed = o.seed;
  so.batch_size = o.batch_size;
  const std::string active = sizes[static_cast<size_t>(schedule::build_epoch_schedule(so, sizes, 0).entries[0].task)].name;
  for (const auto& [name, w] : before) {
    const bool same = torch::equal(w, after[name]);
    if (name.rfind("heads." + active + ".", 0) == 0)
      EXPECT_FALSE(same) << name << ": the active head did not move";
    else if (name.rfind("heads.", 0) == 0)
      EXPECT_TRUE(same) << name << ": a head whose task was not in the batch changed";
  }
  EXPECT_FALSE(torch::equal(before["bert.embeddings.word_embeddings.weight"],
                            after["bert.embeddings.word_embeddings.weight"]));
}

TEST(Train, DryRunMemoryEstimateCountsTheModelsParameters) {
  comm::MpiContext& mpi = test::mpi();
  const TrainData& data = TrainData::get();
  auto plane = comm::make_mpi_control_plane(mpi);
  Trainer trainer(data.options("dry-run-memory"), *plane);
  const std::string summary = trainer.schedule_summary();
  trainer.build_model();
  double params = 0;
  for (const auto& p : trainer.model().parameters()) params += static_cast<double>(p.numel());
  EXPECT_NE(summary.find(fmt::format("memory per rank (estimate): {:.0f} parameters;", params)),
            std::string::npos)
      << summary << "\nthe model has " << params << " parameters";
}

TEST(Train, RetentionKeepsTheNewestAndEveryMthCheckpoint) {
  comm::MpiContext& mpi = test::mpi();
  const TrainData& data = TrainData::get();
  auto plane = comm::make_mpi_control_plane(mpi);
  TrainOptions o = data.options("retention");
  o.epochs = 10;
  o.max_steps = 7;
  o.checkpoint_every = 1;
  o.keep_checkpoints = 2;
  o.keep_checkpoint_every = 3;
  Trainer(o, *plane).run();
  plane->barrier();
  std::set<std::string> kept;
  for (const auto& entry : fs::directory_iterator(fs::path(o.out_dir) / "checkpoints"))
    if (entry.path().filename().string().rfind("ckpt-", 0) == 0) kept.insert(entry.path().filename().string());
  EXPECT_EQ(kept, (std::set<std::string>{"ckpt-3", "ckpt-6", "ckpt-7"}));
}

TEST(Train, ScheduleIdenticalOnEveryRankAndMetricsRecorded) {
  comm::MpiContext& mpi = test::mpi();
  const TrainData& data = TrainData::get();
  auto plane = comm::make_mpi_control_plane(mpi);
  TrainOptions o = data.options("metrics");
  o.epochs = 2;
  o.log_every = 2;
  o.eval_every = 4;
  Trainer trainer(o, *plane);
  TrainResult result = trainer.run();
  ASSERT_EQ(result.schedule_hashes.size(), 2u);
  std::string hashes = comm::hex64(result.schedule_hashes[0]) + comm::hex64(result.schedule_hashes[1]);
  for (const auto& h : mpi.allgather(hashes)) EXPECT_EQ(h, hashes);
  EXPECT_NE(result.schedule_hashes[0], result.schedule_hashes[1]) << "epochs should be shuffled differently";

  // Examples and real tokens are summed over ranks: two epochs of every training example.
  double examples = 0, tokens = 0;
  for (const char* t : {"topic", "nli", "sim", "qa"}) {
    sharding::SplitReader r(data.data_dir(), t, "train");
    examples += static_cast<double>(r.size());
    for (int64_t i = 0; i < r.size(); ++i) tokens += static_cast<double>(r.length(i));
  }
  EXPECT_EQ(result.examples, 2 * examples);
  EXPECT_EQ(result.real_tokens, 2 * tokens);

  if (mpi.rank() == 0) {
    const fs::path out = o.out_dir;
    auto records = read_jsonl(out / "metrics.jsonl");
    int train = 0, eval = 0;
    int64_t last_examples = 0;
    for (const auto& r : records) {
      if (r["type"] == "train") {
        ++train;
        for (const char* key : {"step", "epoch", "task", "loss", "lr", "examples", "real_tokens", "elapsed_s"})
          EXPECT_TRUE(r.contains(key)) << key << " missing in " << r.dump();
        EXPECT_GT(r["lr"].get<double>(), 0);
        EXPECT_TRUE(r["loss"].is_number()) << r.dump();
        EXPECT_GE(r["examples"].get<int64_t>(), last_examples);
        last_examples = r["examples"].get<int64_t>();
        // Waits: for the loader, for slower ranks (load imbalance), for communication beyond it.
        for (const char* key : {"loader_wait_s", "imbalance_wait_s", "comm_wait_s"}) {
          ASSERT_TRUE(r.contains(key)) << key << " missing in " << r.dump();
          EXPECT_GE(r[key].get<double>(), 0) << key;
          if (mpi.size() == 1 && std::string(key) != "loader_wait_s") EXPECT_EQ(r[key].get<double>(), 0) << key;
        }
      } else {
        ASSERT_EQ(r["type"], "eval");
        ++eval;
        for (const char* key : {"task", "split", "step"}) EXPECT_TRUE(r.contains(key)) << key << " missing";
        if (r["task"] == "topic") EXPECT_TRUE(r.contains("ACC") && r.contains("F1")) << r.dump();
        if (r["task"] == "sim") EXPECT_TRUE(r.contains("Pearson") && r.contains("Spearman")) << r.dump();
        if (r["task"] == "qa") EXPECT_TRUE(r.contains("ACC")) << r.dump();
      }
    }
    EXPECT_EQ(train, static_cast<int>(trainer.total_steps() / 2));
    EXPECT_EQ(eval, 4 * 5);  // steps 4, 8, 12, 16 and the end, four dev splits each
    EXPECT_EQ(last_examples, static_cast<int64_t>(2 * examples));
    // Files: resolved config, predictions of every dev and test split, the model folder.
    auto config = nlohmann::json::parse(std::ifstream(out / "config.json"));
    EXPECT_EQ(config["world-size"], mpi.size());
    EXPECT_EQ(config["batch-size"], 4);
    for (const char* f : {"topic_dev", "topic_test", "nli_dev", "sim_dev", "qa_dev"}) {
      EXPECT_TRUE(fs::exists(out / "predictions" / (std::string(f) + ".tsv"))) << f;
      EXPECT_TRUE(fs::exists(out / "predictions" / (std::string(f) + ".scores.tsv"))) << f;
    }
    std::ifstream test_file(out / "predictions" / "topic_test.tsv");
    std::string header, row;
    std::getline(test_file, header);
    std::getline(test_file, row);
    EXPECT_EQ(header, "index\tprediction");
    EXPECT_TRUE(row == "0\tpets" || row == "0\tother") << row;
    // The scores beside it: each class's probability under its label text, gathered from every rank.
    std::ifstream scores_file(out / "predictions" / "topic_test.scores.tsv");
    std::getline(scores_file, header);
    EXPECT_EQ(header, "index\tpets\tother");
    size_t scored = 0;
    for (double p0, p1; std::getline(scores_file, row); ++scored) {
      ASSERT_EQ(std::sscanf(row.c_str(), "%*[^\t]\t%lf\t%lf", &p0, &p1), 2) << row;
      EXPECT_NEAR(p0 + p1, 1.0, 1e-5) << row;
    }
    EXPECT_GT(scored, 0u);
    for (const char* f : {"model.safetensors", "config.json", "task_def.yml", "training.json"})
      EXPECT_TRUE(fs::exists(out / "model" / f)) << f;
  }
  mpi.barrier();
}

// The default thread count follows the cores this rank may use (its CPU affinity), not the
// node's cores: a rank bound to one core runs one intra-op thread.
TEST(Train, DefaultThreadsFollowTheRanksCpuAffinity) {
  comm::MpiContext& mpi = test::mpi();
  const TrainData& data = TrainData::get();
  auto plane = comm::make_mpi_control_plane(mpi);
  TrainOptions o = data.options("affinity");
  o.threads = 0;
  test::FirstCpuOnly pinned;
  const int threads = nlohmann::json::parse(Trainer(o, *plane).resolved_config_json()).at("threads").get<int>();
  EXPECT_EQ(threads, 1);
}

TEST(Train, DisagreeingRanksAndSchedulesAreErrors) {
  comm::MpiContext& mpi = test::mpi();
  if (mpi.size() < 2) GTEST_SKIP() << "needs two ranks";
  const TrainData& data = TrainData::get();
  auto plane = comm::make_mpi_control_plane(mpi);
  TrainOptions o = data.options("disagree");
  if (mpi.rank() == 1) o.lr = 0.5;
  try {
    Trainer trainer(o, *plane);
    FAIL() << "no error";
  } catch (const comm::CommError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("ranks disagree on resolved config"), std::string::npos) << m;
    EXPECT_NE(m.find("\"lr\":0.01"), std::string::npos) << m;
    EXPECT_NE(m.find("\"lr\":0.5"), std::string::npos) << m;
  }
  comm::RoundProtocol protocol(*plane);
  schedule::EpochSchedule s;
  s.epoch = 3;
  s.entries.resize(2);
  s.entries[1].end = mpi.rank() == 1 ? 9 : 8;
  try {
    protocol.verify_schedule(s.epoch, s.size(), s.hash());
    FAIL() << "no error";
  } catch (const comm::CommError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("epoch 3 schedule hash"), std::string::npos) << m;
    EXPECT_NE(m.find("rank 1 has '0x"), std::string::npos) << m;
  }
  // A round plan for another step than this rank's is refused with both positions.
  comm::RoundPlan mine;
  mine.step = mpi.rank() == 1 ? 5 : 4;
  try {
    protocol.exchange_plan(mine);
    if (mpi.rank() == 1) FAIL() << "no error";
  } catch (const comm::CommError& e) {
    EXPECT_EQ(mpi.rank(), 1);
    std::string m = e.what();
    EXPECT_NE(m.find("rank 0 sent step 4"), std::string::npos) << m;
    EXPECT_NE(m.find("this rank is at step 5"), std::string::npos) << m;
  }
}

TEST(Train, StopSignalOnOneRankStopsEveryRankAtTheNextRound) {
  comm::MpiContext& mpi = test::mpi();
  const TrainData& data = TrainData::get();
  auto plane = comm::make_mpi_control_plane(mpi);
  install_stop_handlers();
  Trainer trainer(data.options("signal"), *plane);
  // The last rank receives SIGUSR1 before the first step: the flag travels with that step's
  // stats and rank 0 stops everyone at the start of the second round.
  if (mpi.rank() == mpi.size() - 1) std::raise(SIGUSR1);
  TrainResult result = trainer.run();
  reset_stop_request();
  EXPECT_EQ(result.steps, 1);
  EXPECT_FALSE(result.stop_signal.empty());
  EXPECT_TRUE(result.evaluations.empty()) << "no final evaluation after a stop signal";
  if (mpi.rank() == mpi.size() - 1) EXPECT_EQ(result.stop_signal, "SIGUSR1");
  if (mpi.rank() == 0) EXPECT_TRUE(fs::exists(fs::path(data.root) / "signal" / "model" / "model.safetensors"));
}

// --- Checkpoints and resume -------------------------------------------------------------------

// The final checkpoint's tensors of a run (model, optimizer, generators).
checkpoints::TrainingState final_checkpoint(const TrainOptions& o, int64_t step) {
  return checkpoints::load_checkpoint((fs::path(o.out_dir) / "checkpoints" / fmt::format("ckpt-{}", step)).string());
}

std::vector<nlohmann::json> train_records(const TrainOptions& o) {
  std::vector<nlohmann::json> out;
  for (auto& r : read_jsonl(fs::path(o.out_dir) / "metrics.jsonl"))
    if (r["type"] == "train") out.push_back(r);
  return out;
}

void fresh_out(comm::MpiContext& mpi, const TrainOptions& o) {
  if (mpi.rank() == 0) fs::remove_all(o.out_dir);
  mpi.barrier();
}

// Stopping half-way (checkpoint at the stop) and resuming with --resume auto on the same
// world size ends bit-identical to the uninterrupted run: weights, optimizer moments and
// step counts, every rank's dropout generator, and the same training records.
TEST(Train, StopAndResumeIsBitIdenticalToAnUninterruptedRun) {
  comm::MpiContext& mpi = test::mpi();
  const TrainData& data = TrainData::get();
  auto plane = comm::make_mpi_control_plane(mpi);
  // With pretraining in the mix: the masks, drawn at batch time, must come back too.
  std::vector<std::string> tasks = kLabeledTasks;
  tasks.push_back("lm");
  TrainOptions full = data.options("resume-full");
  full.tasks = tasks;
  full.dropout = 0.1;  // dropout on: the generators must be restored too
  fresh_out(mpi, full);
  Trainer reference(full, *plane);
  const int64_t total = reference.run().steps;
  ASSERT_GT(total, 9) << "the MaskLM task adds steps";

  TrainOptions part = data.options("resume-part");
  part.tasks = tasks;
  part.dropout = 0.1;
  part.stop_after_step = 4;
  fresh_out(mpi, part);
  {
    Trainer first(part, *plane);
    TrainResult r = first.run();
    EXPECT_EQ(r.steps, 4);
    EXPECT_FALSE(r.stop_signal.empty());
  }
  if (mpi.rank() == 0) ASSERT_TRUE(fs::exists(fs::path(part.out_dir) / "checkpoints" / "ckpt-4" / "DONE"));
  part.stop_after_step = 0;
  part.resume = "auto";
  Trainer second(part, *plane);
  TrainResult r = second.run();
  EXPECT_EQ(r.steps, total);
  EXPECT_TRUE(r.stop_signal.empty());

  if (mpi.rank() == 0) {
    auto want = final_checkpoint(full, total);
    auto got = final_checkpoint(part, total);
    ASSERT_EQ(want.tensors.size(), got.tensors.size());
    int optim = 0;
    for (const auto& [name, w] : want.tensors) {
      ASSERT_TRUE(got.tensors.count(name)) << name;
      EXPECT_TRUE(torch::equal(w, got.tensors.at(name))) << name << " differs after resume";
      optim += name.rfind("optim/", 0) == 0;
    }
    EXPECT_GT(optim, 20);
    EXPECT_EQ(want.meta["counters"], got.meta["counters"]);
    auto a = train_records(full), b = train_records(part);
    ASSERT_EQ(a.size(), static_cast<size_t>(total));
    ASSERT_EQ(b.size(), a.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i]["step"], b[i]["step"]);
      EXPECT_EQ(a[i]["loss"], b[i]["loss"]) << "step " << a[i]["step"];
      EXPECT_EQ(a[i]["loss_avg"], b[i]["loss_avg"]) << "step " << a[i]["step"];
      EXPECT_EQ(a[i]["lr"], b[i]["lr"]) << "step " << a[i]["step"];
      EXPECT_EQ(a[i]["real_tokens"], b[i]["real_tokens"]) << "step " << a[i]["step"];
    }
  }
  mpi.barrier();
}

// --precision fp16 with dynamic loss scaling, on the CPU where this LibTorch autocasts to
// fp16: an infinite gradient injected on the last rank only (a hook on one encoder weight)
// skips that step on every rank, halves the scale and restarts its growth count; the scale
// of every step's record follows the rule (halve on a skip, double after
// --loss-scale-window clean steps) and a stop between the two injected skips resumes
// bit-identically: weights, optimizer state, the scaler's state, counters and records.
class InjectInf {
 public:
  // Injects on the backward passes numbered `calls` (1-based) of `trainer`'s model, on the
  // last rank only.
  InjectInf(Trainer& trainer, std::set<int> calls, bool here) : calls_(std::move(calls)) {
    if (!here) return;
    trainer.build_model();
    for (const auto& item : trainer.model().named_parameters())
      if (item.key() == "bert.encoder.layer.0.attention.self.query.weight")
        item.value().register_hook([this](torch::Tensor g) {
          return calls_.count(++seen_) ? g * std::numeric_limits<float>::infinity() : g;
        });
  }

 private:
  std::set<int> calls_;
  int seen_ = 0;
};

TEST(Train, Fp16LossScalingSkipsInjectedOverflowsAndResumesBitIdentically) {
  if (!worker::cpu_fp16_autocast()) GTEST_SKIP() << "this LibTorch has no fp16 autocast on the CPU";
  comm::MpiContext& mpi = test::mpi();
  const TrainData& data = TrainData::get();
  auto plane = comm::make_mpi_control_plane(mpi);
  const bool last = mpi.rank() == mpi.size() - 1;
  auto options = [&](const std::string& out) {
    TrainOptions o = data.options(out);
    o.precision = worker::Precision::kFp16;
    o.device = worker::DeviceKind::kCpu;
    o.dropout = 0.1;
    o.loss_scale_init = 64;
    o.loss_scale_window = 2;
    o.max_bad_steps = 1;  // the scaler's skips are not divergence: one would abort the run
    return o;
  };
  TrainOptions full = options("fp16-full");
  fresh_out(mpi, full);
  int64_t total = 0;
  {
    Trainer reference(full, *plane);
    InjectInf inject(reference, {3, 7}, last);
    const TrainResult r = reference.run();
    total = r.steps;
    EXPECT_EQ(r.skipped_steps, 2);
  }
  ASSERT_GT(total, 8);

  TrainOptions part = options("fp16-part");
  part.stop_after_step = 5;
  fresh_out(mpi, part);
  {
    Trainer first(part, *plane);
    InjectInf inject(first, {3}, last);
    EXPECT_EQ(first.run().steps, 5);
  }
  part.stop_after_step = 0;
  part.resume = "auto";
  {
    Trainer second(part, *plane);
    InjectInf inject(second, {2}, last);  // step 7 again
    EXPECT_EQ(second.run().steps, total);
  }

  if (mpi.rank() == 0) {
    // The records against the rule, simulated by hand: steps 3 and 7 skipped.
    const auto records = train_records(full);
    ASSERT_EQ(records.size(), static_cast<size_t>(total));
    double scale = 64;
    int clean = 0;
    for (const auto& rec : records) {
      const int64_t step = rec["step"].get<int64_t>();
      const bool skipped = step == 3 || step == 7;
      EXPECT_EQ(rec["loss_scale"].get<double>(), scale) << "step " << step;
      EXPECT_EQ(rec["grad_norm"].is_null(), skipped) << "step " << step << ": " << rec.dump();
      if (skipped) {
        scale /= 2, clean = 0;
      } else if (++clean == 2) {
        scale *= 2, clean = 0;
      }
    }
    EXPECT_EQ(records.back()["skipped_steps"], 2);
    auto want = final_checkpoint(full, total);
    auto got = final_checkpoint(part, total);
    ASSERT_EQ(want.tensors.size(), got.tensors.size());
    for (const auto& [name, w] : want.tensors) {
      ASSERT_TRUE(got.tensors.count(name)) << name;
      EXPECT_TRUE(torch::equal(w, got.tensors.at(name))) << name << " differs after resume";
    }
    EXPECT_EQ(want.meta["loss_scaler"], (nlohmann::json{{"scale", scale}, {"clean_steps", clean}}));
    EXPECT_EQ(want.meta["loss_scaler"], got.meta["loss_scaler"]);
    EXPECT_EQ(want.meta["counters"], got.meta["counters"]);
    const auto resumed = train_records(part);
    ASSERT_EQ(resumed.size(), records.size());
    for (size_t i = 0; i < records.size(); ++i)
      for (const char* key : {"step", "loss", "lr", "grad_norm", "loss_scale", "skipped_steps"})
        EXPECT_EQ(records[i][key], resumed[i][key]) << key << " at step " << records[i]["step"];
  }
  mpi.barrier();
}

// S4 of the round protocol: a rank that reads another checkpoint than rank 0 (another file
// system, another working directory) stops every rank at once, naming both checksums and
// the ranks. Here the same relative --resume path names different checkpoints on rank 0 and
// on the other ranks, because their working directories differ. In one process the same
// resume passes the check and continues from the checkpoint's step.
TEST(Train, RankRestoringAnotherCheckpointIsAnErrorNamingBothChecksums) {
  comm::MpiContext& mpi = test::mpi();
  const TrainData& data = TrainData::get();
  auto plane = comm::make_mpi_control_plane(mpi);
  for (const char* name : {"s4-a", "s4-b"}) {
    TrainOptions o = data.options(name);
    fresh_out(mpi, o);
    o.max_steps = 3;
    o.eval_every = 0;
    if (std::string(name) == "s4-b") o.lr = 5e-2;  // other weights after the same steps
    Trainer(o, *plane).run();
  }
  const fs::path here = data.root / fmt::format("s4-cwd-rank{}", mpi.rank());
  fs::remove_all(here);
  fs::create_directories(here);
  fs::copy(data.root / (mpi.rank() == 0 ? "s4-a" : "s4-b") / "checkpoints" / "ckpt-3", here / "ckpt-3",
           fs::copy_options::recursive);
  const fs::path before = fs::current_path();
  fs::current_path(here);
  TrainOptions o = data.options("s4-resumed");
  fresh_out(mpi, o);
  o.max_steps = 3;
  o.resume = "ckpt-3";
  std::string message;
  TrainResult result;
  try {
    result = Trainer(o, *plane).run();
  } catch (const comm::CommError& e) {
    message = e.what();
  }
  fs::current_path(before);
  if (mpi.size() == 1) {
    EXPECT_EQ(message, "");
    EXPECT_EQ(result.steps, 3) << "resumed at the checkpoint's step, nothing left to train";
    return;
  }
  EXPECT_NE(message.find("ranks disagree on restored state checksum (checkpoint ckpt-3): rank 0 has '0x"),
            std::string::npos) << message;
  EXPECT_NE(message.find("rank 1 has '0x"), std::string::npos) << message;
}

// A checkpoint written by one process resumes on this job's world size: same result to
// float rounding (dropout off). A checkpoint of other tasks is refused, naming them.
TEST(Train, ResumeOnAnotherWorldSize) {
  comm::MpiContext& mpi = test::mpi();
  const TrainData& data = TrainData::get();
  auto plane = comm::make_mpi_control_plane(mpi);
  // Pretraining in the mix: an example's mask depends on (seed, epoch, task, example) only.
  std::vector<std::string> tasks = kLabeledTasks;
  tasks.push_back("lm");
  TrainOptions full = data.options("resume-ws-full");
  full.tasks = tasks;
  fresh_out(mpi, full);
  Trainer reference(full, *plane);
  const int64_t total = reference.run().steps;
  auto want = snapshot(reference.model());

  TrainOptions one = data.options("resume-ws-one");
  one.tasks = tasks;
  one.stop_after_step = 5;
  fresh_out(mpi, one);
  if (mpi.rank() == 0) {
    auto local = comm::make_local_control_plane();
    Trainer first(one, *local);
    EXPECT_EQ(first.run().steps, 5);
  }
  mpi.barrier();
  TrainOptions resumed = data.options("resume-ws-resumed");
  resumed.tasks = tasks;
  fresh_out(mpi, resumed);
  resumed.resume = (fs::path(one.out_dir) / "checkpoints" / "ckpt-5").string();
  Trainer second(resumed, *plane);
  EXPECT_EQ(second.run().steps, total);
  auto got = snapshot(second.model());
  double worst = 0;
  for (const auto& [name, w] : want) {
    const double diff = (got.at(name) - w).abs().max().item<double>();
    EXPECT_LT(diff, 2e-6) << name;
    worst = std::max(worst, diff);
  }
  if (mpi.rank() == 0) std::cout << "resumed on " << mpi.size() << " ranks: largest difference " << worst << "\n";

  TrainOptions other = data.options("resume-ws-other");
  other.tasks = {"topic"};
  other.resume = resumed.resume;
  Trainer wrong(other, *plane);
  try {
    wrong.run();
    ADD_FAILURE() << "a checkpoint of other tasks was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("the checkpoint trained tasks"), std::string::npos) << e.what();
  }
  mpi.barrier();
}

TEST(Train, DivergingTrainingStopsAfterMaxBadSteps) {
  comm::MpiContext& mpi = test::mpi();
  const TrainData& data = TrainData::get();
  auto plane = comm::make_mpi_control_plane(mpi);
  TrainOptions o = data.options("diverge");
  o.lr = 1e30;
  o.warmup = 0;
  o.grad_clip = 0;
  o.max_bad_steps = 2;
  Trainer trainer(o, *plane);
  try {
    trainer.run();
    FAIL() << "no error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("2 consecutive steps with NaN/Inf"), std::string::npos) << m;
  }
}

TEST(Train, BadInputNamesTheProblem) {
  comm::MpiContext& mpi = test::mpi();
  const TrainData& data = TrainData::get();
  auto plane = comm::make_mpi_control_plane(mpi);
  auto expect_input_error = [&](TrainOptions o, const std::vector<std::string>& needles) {
    try {
      Trainer trainer(o, *plane);
      ADD_FAILURE() << "no error for " << needles[0];
    } catch (const InputError& e) {
      for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
    }
  };
  TrainOptions o = data.options("bad");
  o.tasks = {"topic", "nope"};
  expect_input_error(o, {"nope", "topic, nli, sim, qa"});
  // A task defined in the YAML but never preprocessed.
  const fs::path extra_defs = data.root / "extra.yml";
  if (mpi.rank() == 0)
    write(extra_defs, std::string(kTaskDefs) +
                          "unseen:\n  task_type: Classification\n  data_format: PremiseOnly\n  n_class: 2\n"
                          "  metric_meta: [ACC]\n");
  mpi.barrier();
  o = data.options("bad");
  o.task_def = extra_defs.string();
  o.tasks = {"topic", "unseen"};
  expect_input_error(o, {"task 'unseen' has no shards", "--tasks unseen"});
  // Shards made for another definition of the task.
  const fs::path other_defs = data.root / "other.yml";
  if (mpi.rank() == 0) {
    std::string defs = kTaskDefs;
    defs.replace(defs.find("labels: [pets, other]"), 21, "labels: [other, pets]");
    write(other_defs, defs);
  }
  mpi.barrier();
  o = data.options("bad");
  o.task_def = other_defs.string();
  expect_input_error(o, {"another definition of task 'topic'", "labels"});
  // A longer maximum than the model has positions.
  o = data.options("bad");
  o.max_seq_len = 64;
  expect_input_error(o, {"--max-seq-len 64 exceeds max_position_embeddings 32"});
  o.max_seq_len = 16;
  expect_input_error(o, {"preprocessed with --max-seq-len 24"});
}

// The steps a run goes through by its options and plan, in the order the round protocol
// (comm/round_protocol.h) says: start, resume, the epoch, each round from step `first` to
// `last` (R3 for a task with a per-target loss, R6 per labelled split on plan.eval, C1 on
// plan.checkpoint), the stop, F1's checkpoint, F2's evaluation of every split, F3.
std::vector<std::string> protocol_steps(const TrainOptions& o, int64_t first, int64_t last, bool resumed,
                                        bool stopped) {
  const RunInputs in = open_run_inputs(o);
  const int64_t total = in.plan.total;
  size_t labelled = 0;
  for (const auto& e : in.evals) labelled += e.labelled;
  std::vector<std::string> steps = {"S1", "S1", "S2", "S3"};
  if (resumed) steps.push_back("S4");
  steps.insert(steps.end(), {"E1", "E2"});
  bool checkpointed = resumed;  // the step the run starts at is the checkpoint's
  for (int64_t s = first; s < last; ++s) {
    steps.push_back("R1");
    const TaskDef& task = in.tasks[static_cast<size_t>(in.plan.epochs[0].entries[static_cast<size_t>(s)].task)];
    for (const auto& head : task_kinds::kind_of(task).heads(task))
      if (head.loss_per_target) {
        steps.push_back("R3");
        break;
      }
    steps.push_back("R4");
    const int64_t next = s + 1;
    if (next % o.eval_every == 0 && next < total) steps.insert(steps.end(), labelled, "R6");
    checkpointed = next % o.checkpoint_every == 0 && next < total;
    if (checkpointed) steps.push_back("C1");
  }
  if (stopped) steps.push_back("R1");
  if (!checkpointed) steps.push_back("C1");
  if (!stopped) steps.insert(steps.end(), in.evals.size(), "R6");
  steps.push_back("F3");
  return steps;
}

// The round protocol's collectives recorded on every rank through a short multi-task run
// (the MaskLM task's R3 included) with evaluations and checkpoints, stopped by a signal and
// resumed: each rank's calls are the table's for the steps the run went through, in order,
// and every rank issued the same calls as rank 0 (no rank waits in a collective others skip).
TEST(Train, EveryRankIssuesTheCollectivesOfTheProtocolTable) {
  comm::MpiContext& mpi = test::mpi();
  const TrainData& data = TrainData::get();
  auto mpi_plane = comm::make_mpi_control_plane(mpi);
  test::RecordingPlane plane(*mpi_plane);
  TrainOptions o = data.options("recorded");
  o.tasks.push_back("lm");
  o.eval_every = 2;
  o.checkpoint_every = 4;  // step 4 evaluates, then checkpoints
  o.stop_after_step = 6;
  fresh_out(mpi, o);
  auto check = [&](const std::vector<std::string>& steps, const std::string& run) {
    const std::string got = test::transcript(plane.calls()), want = test::transcript(test::calls_of(steps));
    EXPECT_EQ(got, want) << run << ": rank " << mpi.rank() << "'s collectives (left) against the protocol table's";
    const std::vector<std::string> all = mpi.allgather(got);
    for (size_t r = 1; r < all.size(); ++r) EXPECT_EQ(all[r], all[0]) << run << ": rank " << r << " against rank 0";
    plane.clear();
  };
  EXPECT_EQ(Trainer(o, plane).run().steps, 6);
  check(protocol_steps(o, 0, 6, false, true), "stopped at step 6");
  o.stop_after_step = 0;
  o.resume = "auto";
  const int64_t total = Trainer(o, plane).run().steps;
  EXPECT_GT(total, 9) << "the MaskLM task adds steps";
  check(protocol_steps(o, 6, total, true, false), "resumed at step 6");
}

}  // namespace
}  // namespace mtdnn::orchestrator
