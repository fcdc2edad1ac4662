// Checkpoints: bit-exact round trips of every tensor and the meta; the commit protocol
// under SIGKILL at each phase of a save (forked children); corruption (truncation, a
// flipped byte, a deleted file, a missing `latest`) detected and named; disk full
// (RLIMIT_FSIZE) reported without harming the previous checkpoint; retention; strict
// restore; mtdnn-ckpt verify/inspect/import-hf/export-hf, including a bit-exact Hugging
// Face round trip of the golden model.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "checkpoints/checkpoint_format.h"
#include "checkpoints/checkpoint_reader.h"
#include "checkpoints/checkpoint_verify.h"
#include "checkpoints/checkpoint_writer.h"
#include "checkpoints/hf_convert.h"
#include "checkpoints/model_state.h"
#include "checkpoints/retention.h"
#include "common/error.h"
#include "test_support.h"
#include "worker/hf_interop.h"
#include "worker/mtdnn_model.h"
#include "tensor_io/safetensors.h"

namespace mtdnn::checkpoints {

// Test names and failure messages show the phase, not its bytes.
void PrintTo(SavePhase phase, std::ostream* os) { *os << "SavePhase(" << static_cast<int>(phase) << ")"; }

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::mtdnn::test::run_command;
using ::mtdnn::test::ScratchDir;

// A small full state: float moments, a bf16 and a non-contiguous tensor, an int64
// scalar, an RNG state and an empty tensor. Every tensor stays below LibTorch's parallel
// grain size, so forked children never enter OpenMP.
TrainingState make_state(int64_t seed) {
  torch::manual_seed(seed);
  TrainingState s;
  s.tensors["model/bert.embeddings.word_embeddings.weight"] = torch::randn({100, 32});
  s.tensors["model/bert.pooler.dense.bias"] = torch::randn({32});
  s.tensors["model/heads.rte.out_proj.weight"] = torch::randn({8, 6}).t();  // non-contiguous
  s.tensors["model/heads.stsb.bf16"] = torch::randn({7, 3}).to(torch::kBFloat16);
  s.tensors["optim/bert.embeddings.word_embeddings.weight/exp_avg"] = torch::randn({100, 32});
  s.tensors["optim/bert.embeddings.word_embeddings.weight/exp_avg_sq"] = torch::rand({100, 32});
  s.tensors["optim/bert.embeddings.word_embeddings.weight/step"] = torch::tensor(seed * 100);
  s.tensors["optim/empty"] = torch::zeros({0, 4});
  s.tensors["rng/cpu"] = torch::randint(0, 256, {5056}, torch::kUInt8);
  s.meta = {{"epoch", seed},
            {"position", {{"round", 17 + seed}, {"of", 512}}},
            {"lr_schedule", {{"lr", 5e-5}, {"warmup_steps", 100}}},
            {"config", {{"batch_size", 32}, {"optimizer", "adamax"}, {"seed", 2019}}},
            {"tasks", {{"rte", {{"task_type", "Classification"}, {"n_class", 2}}}}},
            {"tokenizer", {{"vocab_sha256", std::string(64, 'a')}, {"lower_case", true}}},
            {"world_size", 2},
            {"note", "ünïcödé ✓"}};
  return s;
}

void expect_same_state(const TrainingState& a, const TrainingState& b) {
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, t] : a.tensors) {
    ASSERT_TRUE(b.tensors.count(name)) << name;
    const at::Tensor& u = b.tensors.at(name);
    EXPECT_EQ(t.scalar_type(), u.scalar_type()) << name;
    ASSERT_EQ(t.sizes(), u.sizes()) << name;
    at::Tensor x = t.contiguous(), y = u.contiguous();
    EXPECT_EQ(0, std::memcmp(x.data_ptr(), y.data_ptr(), x.nbytes())) << name << " differs";
  }
  EXPECT_EQ(a.meta, b.meta);
}

std::string ckpt(const fs::path& root, int64_t step) {
  return (root / checkpoint_folder_name(step)).string();
}

// Runs `body` in a forked child; returns its wait status.
template <typename F>
int in_child(F body) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int code = 0;
    try {
      code = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
      code = 100;
    }
    _exit(code);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

bool any_leftover(const fs::path& root) {
  for (const auto& e : fs::directory_iterator(root))
    if (e.path().filename().string()[0] == '.') return true;
  return false;
}

TEST(CheckpointFormat, FolderNames) {
  EXPECT_EQ(checkpoint_folder_name(120), "ckpt-120");
  EXPECT_EQ(parse_checkpoint_folder_name("ckpt-120"), 120);
  EXPECT_EQ(parse_checkpoint_folder_name("ckpt-0"), 0);
  for (const char* bad : {"ckpt-", "ckpt-012", "ckpt-1x", "ckpt--1", ".tmp-ckpt-5-77", "latest", "ckpt-5.old"})
    EXPECT_FALSE(parse_checkpoint_folder_name(bad).has_value()) << bad;
}

TEST(CheckpointFormat, RoundTripIsBitExactSyncAndAsync) {
  ScratchDir dir("ckpt-roundtrip");
  const TrainingState state = make_state(3);
  save_checkpoint(dir.path().string(), 3, state);
  EXPECT_TRUE(verify_checkpoint(ckpt(dir.path(), 3)).ok());
  expect_same_state(state, load_checkpoint(ckpt(dir.path(), 3)));

  CheckpointWriterOptions o;
  o.root = (dir / "async").string();
  // kRenamed comes once the new folder is in place and before `latest` moves.
  std::string at_barrier;
  o.phase_hook = [&](SavePhase phase, int64_t step) {
    if (phase != SavePhase::kRenamed) return;
    at_barrier = fmt::format("step {} folder {} latest {}", step, fs::exists(ckpt(dir / "async", step)),
                             read_latest_pointer(o.root).present);
  };
  CheckpointWriter writer(o);
  TrainingState mutated = make_state(4);
  const TrainingState expected = make_state(4);
  SaveStats stats = writer.save(4, mutated);
  // The snapshot is taken before save() returns: later changes do not reach the file.
  for (auto& [name, t] : mutated.tensors)
    if (t.numel() > 0 && t.is_floating_point()) t.mul_(2);
  writer.wait();
  EXPECT_EQ(writer.last_completed().step, 4);
  EXPECT_GT(stats.bytes, 0u);
  expect_same_state(expected, load_checkpoint(ckpt(dir / "async", 4)));
  EXPECT_EQ(read_latest_pointer((dir / "async").string()).target, "ckpt-4");
  EXPECT_EQ(at_barrier, "step 4 folder true latest false");

  // The whole file is a plain safetensors file Hugging Face's reader accepts.
  tensor_io::SafetensorsFile file(ckpt(dir.path(), 3) + "/state.safetensors");
  EXPECT_EQ(file.names().size(), state.tensors.size());
  EXPECT_EQ(file.metadata().at("format"), "pt");
  // DONE is in sha256sum's format.
  std::string out;
  EXPECT_EQ(run_command("cd " + ckpt(dir.path(), 3) + " && sha256sum -c DONE", &out), 0) << out;
}

TEST(CheckpointFormat, RoundTripWithoutODirect) {
  // tmpfs refuses O_DIRECT: the writer falls back to buffered writes.
  if (!fs::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
  const fs::path root = fs::path("/dev/shm") / ("mtdnn-ckpt-test-" + std::to_string(::getpid()));
  fs::remove_all(root);
  const TrainingState state = make_state(5);
  save_checkpoint(root.string(), 5, state);
  EXPECT_TRUE(verify_checkpoint(ckpt(root, 5)).ok());
  expect_same_state(state, load_checkpoint(ckpt(root, 5)));
  fs::remove_all(root);
}

TEST(CheckpointFormat, RefusesWhatItCannotStore) {
  ScratchDir dir("ckpt-bad-state");
  TrainingState s = make_state(1);
  s.tensors["model/undefined"] = at::Tensor();
  EXPECT_THROW(save_checkpoint(dir.path().string(), 1, s), Error);
  EXPECT_TRUE(list_checkpoints(dir.path().string()).empty());
}

TEST(CheckpointRetention, Plan) {
  using V = std::vector<int64_t>;
  EXPECT_EQ(steps_to_delete({1, 2, 3, 4, 5}, {2, 0}, 5), (V{1, 2, 3}));
  EXPECT_EQ(steps_to_delete({10, 20, 25, 30, 35}, {2, 10}, 35), (V{25}));
  EXPECT_EQ(steps_to_delete({1, 2, 3, 4, 5}, {1, 0}, 2), (V{1, 3, 4}));  // latest is protected
  EXPECT_EQ(steps_to_delete({1, 2, 3}, {0, 0}, 3), V{});                 // keep everything
  EXPECT_EQ(steps_to_delete({1, 2}, {5, 0}, std::nullopt), V{});
}

TEST(CheckpointRetention, WriterKeepsLastKPlusEveryMthAndNeverLatest) {
  ScratchDir dir("ckpt-retention");
  CheckpointWriterOptions o;
  o.root = dir.path().string();
  o.retention = {2, 10};
  const TrainingState s = make_state(1);
  {
    CheckpointWriter writer(o);
    for (int64_t step : {5, 10, 15, 20, 25, 30, 35}) writer.save(step, s);
    writer.wait();
  }
  std::vector<int64_t> steps;
  for (const auto& ref : list_checkpoints(dir.path().string())) steps.push_back(ref.step);
  EXPECT_EQ(steps, (std::vector<int64_t>{10, 20, 30, 35}));

  // `latest` moved back to ckpt-10 (a user resuming an older run): retention keeps it.
  mtdnn::test::write_file(dir / "latest", "ckpt-10\n");
  apply_retention(dir.path().string(), {1, 0});
  steps.clear();
  for (const auto& ref : list_checkpoints(dir.path().string())) steps.push_back(ref.step);
  EXPECT_EQ(steps, (std::vector<int64_t>{10, 35}));
  // Without a readable `latest` nothing is deleted.
  fs::remove(dir / "latest");
  EXPECT_TRUE(apply_retention(dir.path().string(), {1, 0}).empty());
  EXPECT_EQ(list_checkpoints(dir.path().string()).size(), 2u);
}

// SIGKILL at each phase of the save of step 2, in a child, after step 1 was committed.
class CheckpointKill : public ::testing::TestWithParam<SavePhase> {};

TEST_P(CheckpointKill, PreviousCheckpointStaysValidAndIsFound) {
  ScratchDir dir("ckpt-kill");
  const std::string root = dir.path().string();
  const TrainingState s1 = make_state(1), s2 = make_state(2);
  save_checkpoint(root, 1, s1);
  const SavePhase phase = GetParam();
  const int status = in_child([&] {
    CheckpointWriterOptions o;
    o.root = root;
    o.phase_hook = [phase](SavePhase p, int64_t) {
      if (p == phase) ::raise(SIGKILL);
    };
    CheckpointWriter writer(o);
    writer.save(2, s2);  // background write; the hook kills the process
    writer.wait();
    return 0;
  });
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;

  auto found = find_latest_valid(root);
  ASSERT_TRUE(found.has_value());
  const int64_t expected = phase == SavePhase::kCommitted ? 2 : 1;
  EXPECT_EQ(found->step, expected);
  EXPECT_TRUE(found->warnings.empty());
  expect_same_state(expected == 2 ? s2 : s1, load_checkpoint(found->path));
  EXPECT_TRUE(verify_checkpoint(ckpt(dir.path(), 1)).ok());
  if (phase == SavePhase::kStateWriting || phase == SavePhase::kBeforeRename) {
    EXPECT_TRUE(any_leftover(dir.path()));  // the temporary folder, ignored by readers
    EXPECT_FALSE(fs::exists(ckpt(dir.path(), 2)));
  }
  if (phase == SavePhase::kRenamed) {
    EXPECT_TRUE(verify_checkpoint(ckpt(dir.path(), 2)).ok());  // complete, not committed
  }

  // The next run's writer removes the leftovers and saves step 2 over whatever is there.
  CheckpointWriter writer(CheckpointWriterOptions{root});
  EXPECT_FALSE(any_leftover(dir.path()));
  const TrainingState s2b = make_state(22);
  writer.save(2, s2b);
  writer.wait();
  found = find_latest_valid(root);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->step, 2);
  expect_same_state(s2b, load_checkpoint(found->path));
  EXPECT_FALSE(any_leftover(dir.path()));
}

INSTANTIATE_TEST_SUITE_P(Phases, CheckpointKill,
                         ::testing::Values(SavePhase::kStateWriting, SavePhase::kBeforeRename,
                                           SavePhase::kRenamed, SavePhase::kCommitted),
                         [](const auto& info) {
                           switch (info.param) {
                             case SavePhase::kStateWriting: return "DuringBackgroundWrite";
                             case SavePhase::kBeforeRename: return "BeforeRename";
                             case SavePhase::kRenamed: return "AfterRenameBeforeLatest";
                             case SavePhase::kCommitted: return "AfterLatest";
                           }
                           return "Unknown";
                         });

// Two committed checkpoints, 1 and 2; `latest` names 2.
class CheckpointCorruption : public ::testing::Test {
 protected:
  void SetUp() override {
    save_checkpoint(root(), 1, make_state(1));
    save_checkpoint(root(), 2, make_state(2));
  }
  std::string root() const { return dir_.path().string(); }
  fs::path c2() const { return dir_ / "ckpt-2"; }
  // Falls back to ckpt-1 with a warning naming ckpt-2.
  void expect_fallback(const std::string& why) {
    auto found = find_latest_valid(root());
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->step, 1) << why;
    ASSERT_FALSE(found->warnings.empty());
    EXPECT_NE(found->warnings.front().find("ckpt-2"), std::string::npos) << found->warnings.front();
  }
  std::string problems(const std::string& path) {
    std::string all;
    for (const auto& p : verify_checkpoint(path).problems) all += p + "\n";
    return all;
  }
  ScratchDir dir_{"ckpt-corrupt"};
};

TEST_F(CheckpointCorruption, FlippedByteNamesTheTensor) {
  const Manifest m = read_manifest(c2().string());
  const std::string victim = "optim/bert.embeddings.word_embeddings.weight/exp_avg_sq";
  const uint64_t at = m.header_bytes + m.tensors.at(victim).begin + 123;
  {
    std::fstream f(c2() / "state.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at));
    char byte = 0;
    f.read(&byte, 1);
    byte ^= 0x10;
    f.seekp(static_cast<std::streamoff>(at));
    f.write(&byte, 1);
  }
  const std::string p = problems(c2().string());
  EXPECT_NE(p.find("tensor '" + victim + "': SHA-256 mismatch"), std::string::npos) << p;
  EXPECT_EQ(p.find("exp_avg'"), std::string::npos) << "only the flipped tensor is named: " << p;
  EXPECT_TRUE(verify_checkpoint(c2().string(), VerifyLevel::kStructure).ok());
  expect_fallback("flipped byte");
  EXPECT_THROW(load_checkpoint(c2().string()), InputError);

  std::string out;
  EXPECT_EQ(run_command((mtdnn::test::bin_dir() / "mtdnn-ckpt").string() + " verify " + root(), &out), 1);
  EXPECT_NE(out.find("PROBLEM"), std::string::npos) << out;
  EXPECT_NE(out.find(victim), std::string::npos) << out;
  EXPECT_NE(out.find("OK      " + ckpt(dir_.path(), 1)), std::string::npos) << out;
}

TEST_F(CheckpointCorruption, TruncatedStateFile) {
  const auto size = fs::file_size(c2() / "state.safetensors");
  fs::resize_file(c2() / "state.safetensors", size - 1000);
  const std::string p = problems(c2().string());
  EXPECT_NE(p.find("truncated"), std::string::npos) << p;
  EXPECT_NE(p.find("tensor '"), std::string::npos) << "names the cut tensor: " << p;
  expect_fallback("truncated");
}

TEST_F(CheckpointCorruption, DeletedFilesAreNamed) {
  for (const char* file : {"state.safetensors", "meta.json", "DONE"}) {
    const fs::path saved = dir_ / (std::string("saved-") + file);
    fs::copy_file(c2() / file, saved);
    fs::remove(c2() / file);
    const std::string p = problems(c2().string());
    EXPECT_NE(p.find(file), std::string::npos) << file << ": " << p;
    expect_fallback(file);
    fs::rename(saved, c2() / file);
    EXPECT_TRUE(verify_checkpoint(c2().string()).ok());
  }
}

TEST_F(CheckpointCorruption, EditedMetaIsDetected) {
  std::string meta = mtdnn::test::read_file(c2() / "meta.json");
  meta.replace(meta.find("\"epoch\": 2"), 10, "\"epoch\": 3");
  mtdnn::test::write_file(c2() / "meta.json", meta);
  EXPECT_NE(problems(c2().string()).find("meta.json: SHA-256"), std::string::npos);
  expect_fallback("edited meta.json");
}

TEST_F(CheckpointCorruption, MissingLatestFallsBackToNewestWithAWarning) {
  fs::remove(dir_ / "latest");
  auto found = find_latest_valid(root());
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->step, 2);
  ASSERT_FALSE(found->warnings.empty());
  EXPECT_NE(found->warnings.front().find("latest is missing"), std::string::npos);
  std::string out;
  EXPECT_EQ(run_command((mtdnn::test::bin_dir() / "mtdnn-ckpt").string() + " verify " + root(), &out), 1);
  EXPECT_NE(out.find("latest: missing"), std::string::npos) << out;
}

TEST_F(CheckpointCorruption, IncompleteFoldersAreIgnored) {
  // A temporary folder of a newer step and a ckpt-3 without DONE: neither is picked.
  fs::copy(c2(), dir_ / ".tmp-ckpt-3-999", fs::copy_options::recursive);
  fs::copy(c2(), dir_ / "ckpt-3", fs::copy_options::recursive);
  fs::remove(dir_ / "ckpt-3" / "DONE");
  mtdnn::test::write_file(dir_ / "latest", "ckpt-3\n");
  auto found = find_latest_valid(root());
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->step, 2);
  EXPECT_NE(found->warnings.front().find("no DONE marker"), std::string::npos) << found->warnings.front();
}

TEST_F(CheckpointCorruption, NothingValidIsAnErrorAndNothingAtAllIsAFreshStart) {
  fs::remove(c2() / "DONE");
  fs::remove(dir_ / "ckpt-1" / "meta.json");
  try {
    find_latest_valid(root());
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("ckpt-1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("ckpt-2"), std::string::npos) << e.what();
  }
  ScratchDir empty("ckpt-empty");
  EXPECT_FALSE(find_latest_valid(empty.path().string()).has_value());
  EXPECT_FALSE(find_latest_valid((empty / "missing").string()).has_value());
}

TEST(CheckpointDiskFull, ErrorIsReportedAndPreviousCheckpointIntact) {
  ScratchDir dir("ckpt-diskfull");
  const std::string root = dir.path().string();
  const TrainingState s1 = make_state(1), s2 = make_state(2);
  save_checkpoint(root, 1, s1);
  const auto state_bytes = fs::file_size(ckpt(dir.path(), 1) + "/state.safetensors");
  const int status = in_child([&] {
    ::signal(SIGXFSZ, SIG_IGN);  // writes past the limit fail with EFBIG instead
    const rlim_t limit = state_bytes / 2 / 4096 * 4096;  // block-aligned: O_DIRECT writes stop at it
    struct rlimit rl = {limit, limit};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) return 10;
    CheckpointWriter writer(CheckpointWriterOptions{root});
    writer.save(2, s2);  // fails in the background
    // Reported by the next save, which does not start...
    try {
      writer.save(3, s2);
      return 11;
    } catch (const SystemError& e) {
      const std::string what = e.what();
      if (what.find("step 2") == std::string::npos || what.find("File too large") == std::string::npos ||
          what.find("ckpt-1") == std::string::npos) {
        std::fprintf(stderr, "unexpected message: %s\n", e.what());
        return 12;
      }
    }
    // ...or by wait().
    writer.save(4, s2);
    try {
      writer.wait();
      return 13;
    } catch (const SystemError&) {
    }
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  auto found = find_latest_valid(root);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->step, 1);
  EXPECT_TRUE(found->warnings.empty());
  expect_same_state(s1, load_checkpoint(found->path));
  EXPECT_EQ(list_checkpoints(root).size(), 1u);
  EXPECT_FALSE(any_leftover(dir.path())) << "the failed saves' temporary folders are removed";
}

TEST(CheckpointStrict, RestoreNamesEveryProblemAndCopiesOnlyWhenClean) {
  TrainingState loaded;
  loaded.tensors["model/a"] = torch::ones({2, 3});
  loaded.tensors["model/b"] = torch::ones({4});
  loaded.tensors["model/extra"] = torch::ones({1});
  loaded.tensors["optim/a/exp_avg"] = torch::ones({2, 3});
  std::map<std::string, at::Tensor> targets = {{"model/a", torch::zeros({2, 3})},
                                               {"model/b", torch::zeros({5})},
                                               {"model/missing", torch::zeros({1})}};
  try {
    restore_tensors_strict(loaded, targets, "model/", "ckpt-9");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("unexpected tensor 'model/extra'"), std::string::npos) << what;
    EXPECT_NE(what.find("missing tensor 'model/missing'"), std::string::npos) << what;
    EXPECT_NE(what.find("tensor 'model/b' has shape (4)"), std::string::npos) << what;
  }
  EXPECT_EQ(targets["model/a"].sum().item<float>(), 0.f) << "nothing copied on error";

  loaded.tensors.erase("model/extra");
  targets.erase("model/missing");
  targets["model/b"] = torch::zeros({4}, torch::kDouble);
  EXPECT_THROW(restore_tensors_strict(loaded, targets, "model/", "ckpt-9"), InputError);  // dtype
  targets["model/b"] = torch::zeros({4});
  auto param = torch::zeros({2, 3}).requires_grad_();
  targets["model/a"] = param;
  restore_tensors_strict(loaded, targets, "model/", "ckpt-9");
  EXPECT_EQ(param.sum().item<float>(), 6.f);
  EXPECT_EQ(state_tensor(loaded, "optim/a/exp_avg", "ckpt-9").numel(), 6);
  EXPECT_THROW(state_tensor(loaded, "optim/none", "ckpt-9"), InputError);
}

std::string ckpt_tool() { return (mtdnn::test::bin_dir() / "mtdnn-ckpt").string(); }

TEST(CheckpointHf, GoldenBertImportExportIsBitExact) {
  ScratchDir dir("ckpt-hf");
  const fs::path golden = mtdnn::test::source_dir() / "tests/worker/golden/tiny";
  std::string out;
  ASSERT_EQ(run_command(ckpt_tool() + " import-hf " + golden.string() + " " + (dir / "run").string(), &out), 0) << out;
  // A second import into the same root is refused: it would become `latest`.
  EXPECT_EQ(run_command(ckpt_tool() + " import-hf " + golden.string() + " " + (dir / "run").string(), &out), 1);
  EXPECT_NE(out.find("already holds checkpoints"), std::string::npos) << out;

  ASSERT_EQ(run_command(ckpt_tool() + " inspect " + (dir / "run").string(), &out), 0) << out;
  EXPECT_NE(out.find("step        0"), std::string::npos) << out;
  EXPECT_NE(out.find("kind        init"), std::string::npos) << out;
  EXPECT_NE(out.find("encoder     L=2 H=32 NH=4 I=64 V=100"), std::string::npos) << out;

  ASSERT_EQ(run_command(ckpt_tool() + " export-hf " + (dir / "run").string() + " " + (dir / "hf").string(), &out), 0)
      << out;
  EXPECT_EQ(mtdnn::test::read_file(dir / "hf/model.safetensors"),
            mtdnn::test::read_file(golden / "model.safetensors"));
  const auto a = worker::read_bert_config((dir / "hf/config.json").string());
  const auto b = worker::read_bert_config((golden / "config.json").string());
  EXPECT_EQ(worker::bert_config_to_json(a), worker::bert_config_to_json(b));

  // Strict import: a missing tensor is named.
  auto tensors = tensor_io::read_safetensors((golden / "model.safetensors").string());
  tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                               [](const auto& kv) { return kv.first == "pooler.dense.bias"; }),
                tensors.end());
  fs::create_directories(dir / "broken");
  fs::copy_file(golden / "config.json", dir / "broken/config.json");
  tensor_io::write_safetensors((dir / "broken/model.safetensors").string(), tensors);
  EXPECT_EQ(run_command(ckpt_tool() + " import-hf " + (dir / "broken").string() + " " + (dir / "run2").string(), &out), 1);
  EXPECT_NE(out.find("missing tensor 'pooler.dense.bias'"), std::string::npos) << out;
}

TEST(CheckpointHf, ModelWithHeadsRoundTripsThroughHuggingFaceFormat) {
  ScratchDir dir("ckpt-hf-heads");
  worker::MtdnnModelOptions options;
  options.config = worker::read_bert_config(
      (mtdnn::test::source_dir() / "tests/worker/golden/tiny/config.json").string());
  worker::HeadSpec rte;
  rte.task = "rte";
  rte.n_class = 2;
  worker::HeadSpec stsb;
  stsb.task = "stsb";
  stsb.kind = worker::HeadKind::kRegression;
  stsb.dropout_p = 0.05;
  options.heads = {rte, stsb};
  torch::manual_seed(7);
  worker::MtdnnModel model(options);
  TrainingState state;
  for (const auto& [name, t] : module_tensors(*model)) state.tensors.emplace(name, t.detach().clone());
  state.tensors["optim/step"] = torch::tensor(int64_t{42});
  state.meta = {{"model", model_meta(options)}, {"epoch", 1}};
  save_checkpoint((dir / "run").string(), 42, state);

  std::string out;
  ASSERT_EQ(run_command(ckpt_tool() + " inspect " + (dir / "run").string(), &out), 0) << out;
  EXPECT_NE(out.find("rte (classification, 2 classes), stsb (regression)"), std::string::npos) << out;
  ASSERT_EQ(run_command(ckpt_tool() + " export-hf " + ckpt(dir / "run", 42) + " " + (dir / "hf").string(), &out), 0)
      << out;
  tensor_io::SafetensorsFile exported((dir / "hf/model.safetensors").string());
  int rte_tensors = 0, stsb_tensors = 0;
  for (const auto& name : exported.names()) {
    EXPECT_NE(name.rfind("bert.", 0), 0u) << "encoder under BertModel keys: " << name;
    rte_tensors += name.rfind("heads.rte.", 0) == 0;
    stsb_tensors += name.rfind("heads.stsb.", 0) == 0;
  }
  EXPECT_GT(rte_tensors, 0);
  EXPECT_GT(stsb_tensors, 0);
  EXPECT_TRUE(exported.contains("embeddings.word_embeddings.weight"));
  ASSERT_EQ(run_command(ckpt_tool() + " import-hf " + (dir / "hf").string() + " " + (dir / "back").string(), &out), 0)
      << out;
  const TrainingState back = load_checkpoint(ckpt(dir / "back", 0));
  TrainingState model_only = state;
  model_only.tensors.erase("optim/step");
  model_only.meta = back.meta;
  expect_same_state(model_only, back);
  EXPECT_EQ(back.meta["model"], state.meta["model"]);
}

}  // namespace
}  // namespace mtdnn::checkpoints
