// mtdnn-train's options: command line and INI, defaults, errors that name the key, and the
// resolved configuration's keys.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "orchestrator/train_options.h"
#include "test_support.h"

namespace mtdnn::orchestrator {
namespace {

TEST(TrainOptions, CommandLineAndIniErrorsNameTheKey) {
  test::ScratchDir scratch("train-options");
  auto parse = [](std::vector<std::string> args) {
    std::vector<const char*> argv = {"mtdnn-train"};
    for (const auto& a : args) argv.push_back(a.c_str());
    return parse_train_command_line(static_cast<int>(argv.size()), argv.data());
  };
  const std::vector<std::string> base = {"--data", "d", "--task-def", "t.yml", "--bert-config", "b.json", "--out", "o"};
  auto with = [&](std::vector<std::string> extra) {
    auto args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  ParsedCommandLine p = parse(with({"--tasks", "a,b", "--dropout", "0", "--grad-accum", "2"}));
  EXPECT_EQ(p.options.tasks, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(p.options.dropout.has_value());
  EXPECT_EQ(*p.options.dropout, 0.0);
  EXPECT_EQ(p.options.grad_accum, 2);
  EXPECT_EQ(p.options.batch_size, 32) << "--grad-accum splits the global batch; it does not grow it";
  // mt-dnn's --grad_accumulation_step: N batches of --batch-size per step, in this program's
  // terms a global batch N times as large split into N times as many micro-batches.
  const TrainOptions mtdnn_accum =
      parse(with({"--batch-size", "8", "--batches-per-step", "4", "--grad-accum", "2"})).options;
  EXPECT_EQ(mtdnn_accum.batch_size, 32);
  EXPECT_EQ(mtdnn_accum.grad_accum, 8);
  EXPECT_EQ(mtdnn_accum.batches_per_step, 1) << "folded in, so config.json describes the batch once";
  EXPECT_FALSE(parse(base).options.dropout.has_value());
  EXPECT_TRUE(parse({"--help"}).help);
  auto expect_error = [&](std::vector<std::string> args, const std::string& needle) {
    try {
      parse(args);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(with({"--batch-size", "0"}), "--batch-size must be >= 1");
  expect_error(with({"--batches-per-step", "0"}), "--batches-per-step must be >= 1");
  // Named choices are parsed once, by their enum's parser, and the message names the flag.
  expect_error(with({"--optimizer", "sgd"}), "--optimizer: expected adamw, adamax or lamb, got 'sgd'");
  expect_error(with({"--lr-schedule", "cosine"}), "--lr-schedule: expected linear or constant, got 'cosine'");
  expect_error(with({"--backend", "tcp"}), "--backend: expected auto, mpi, gloo or nccl, got 'tcp'");
  expect_error(with({"--device", "tpu"}), "--device: expected auto, cpu or cuda, got 'tpu'");
  expect_error(with({"--precision", "fp8"}), "--precision: expected fp32, bf16 or fp16, got 'fp8'");
  expect_error(with({"--precision", "fp16", "--loss-scale-init", "1000"}),
               "--loss-scale-init 1000: the loss scale must be a power of two");
  EXPECT_EQ(parse(with({"--precision", "fp16", "--loss-scale-init", "1024", "--loss-scale-window", "100"}))
                .options.loss_scale_init, 1024);
  EXPECT_EQ(parse(with({"--device", "cuda", "--precision", "bf16"})).options.device, worker::DeviceKind::kCuda);
  EXPECT_EQ(parse(with({"--precision", "bf16"})).options.precision, worker::Precision::kBf16);
  EXPECT_FALSE(parse(with({"--backend", "auto"})).options.backend.has_value());
  EXPECT_EQ(parse(with({"--optimizer", "adamw", "--backend", "gloo"})).options.optimizer, worker::OptimizerKind::kAdamW);
  EXPECT_EQ(parse(with({"--backend", "gloo"})).options.backend, comm::CommBackend::kGloo);
  expect_error(with({"--warmup", "2"}), "--warmup");
  expect_error(with({"--lr", "abc"}), "lr");
  expect_error(with({"--keep-checkpoints", "-1"}), "--keep-checkpoints must be >= 0");
  expect_error(with({"--checkpoint-every", "-2"}), "--checkpoint-every must be >= 0");
  // The struct's defaults are the flags' defaults.
  EXPECT_EQ(parse(base).options.resume, "auto");
  EXPECT_EQ(TrainOptions{}.resume, "auto");
  {
    TrainOptions defaults;
    defaults.data_dir = "d";
    defaults.task_def = "t.yml";
    defaults.bert_config = "b.json";
    defaults.out_dir = "o";
    EXPECT_EQ(to_json(parse(base).options).dump(), to_json(defaults).dump());
  }
  p = parse(with({"--resume", "never", "--checkpoint-every", "10", "--checkpoint-minutes", "2.5"}));
  EXPECT_EQ(p.options.resume, "never");
  EXPECT_EQ(p.options.checkpoint_every, 10);
  EXPECT_DOUBLE_EQ(p.options.checkpoint_minutes, 2.5);
  expect_error({"--data", "d", "--task-def", "t.yml", "--out", "o"}, "--bert-config");
  // INI: every flag is a key; the command line wins; an unknown key is named.
  const std::filesystem::path ini = scratch / "train.ini";
  test::write_file(ini, "data = d\ntask-def = t.yml\nbert-config = b.json\nout = o\nbatch-size = 8\nlr = 0.001\n");
  p = parse({"--config", ini.string(), "--lr", "0.002"});
  EXPECT_EQ(p.options.batch_size, 8);
  EXPECT_DOUBLE_EQ(p.options.lr, 0.002);
  test::write_file(ini, "data = d\nbatchsize = 8\n");
  expect_error({"--config", ini.string()}, "batchsize");
  // The resolved config names every key like its flag.
  auto j = to_json(parse(base).options);
  for (const char* key : {"batch-size", "max-seq-len", "grad-accum", "max-bad-steps", "eval-every", "backend"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["optimizer"], "adamax");
  EXPECT_EQ(j["lr-schedule"], "linear");
  EXPECT_EQ(j["backend"], "auto");
  EXPECT_EQ(j["device"], "auto");
  EXPECT_EQ(j["precision"], "fp32");
  // auto: NCCL on GPU, MPI on CPU; a backend given is kept.
  worker::ExecutionOptions gpu;
  gpu.device = torch::Device(torch::kCUDA, 0);
  EXPECT_EQ(resolve_backend(std::nullopt, gpu), comm::CommBackend::kNccl);
  EXPECT_EQ(resolve_backend(std::nullopt, worker::ExecutionOptions{}), comm::CommBackend::kMpi);
  EXPECT_EQ(resolve_backend(comm::CommBackend::kMpi, gpu), comm::CommBackend::kMpi);
  EXPECT_TRUE(j["dropout"].is_null());
  // Every key of the resolved config is a flag of --help.
  const std::string help = parse({"--help"}).help_text;
  for (const auto& item : j.items())
    EXPECT_NE(help.find("--" + item.key() + " "), std::string::npos) << item.key();
}

}  // namespace
}  // namespace mtdnn::orchestrator
