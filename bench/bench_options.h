// Command-line options the model benchmarks share (mtdnn-bench-model-torch on CPUs,
// mtdnn-bench-gpu-torch on a GPU): the encoder's shape and the step workload. Each
// benchmark adds its own options after these.
#pragma once

#include <string>

#include <boost/program_options.hpp>

#include "worker/bert_config.h"

namespace mtdnn::bench {

// The shape of the encoder and of the timed workload, with each benchmark's defaults.
struct ModelBenchOptions {
  worker::BertConfig config;
  int batch = 32, seq = 128, steps = 20, warmup = 3, seed = 0;
  int gemm = 2048;  // size of the square matrix products that measure the peak
};

// The benchmark's options: a caption naming the program, what it times and the lines every
// model benchmark prints, then --help and --layers --hidden --heads --intermediate --vocab
// --batch --seq --steps --warmup --seed --gemm.
inline boost::program_options::options_description model_bench_options(const std::string& program,
                                                                       const std::string& times,
                                                                       ModelBenchOptions& o) {
  namespace po = boost::program_options;
  po::options_description desc(
      program + ": training steps of " + times +
      ".\nPrints the peer script's line (steps/s S tokens/s T sequences/s Q padded_tokens/s P; tokens =\n"
      "real tokens), then the matrix-product peak measured in the same run and the model-FLOPs\n"
      "utilisation against it.\n\nOptions");
  worker::BertConfig& c = o.config;
  desc.add_options()
      ("help,h", "print this help")
      ("layers", po::value(&c.num_hidden_layers)->default_value(c.num_hidden_layers), "encoder layers")
      ("hidden", po::value(&c.hidden_size)->default_value(c.hidden_size), "hidden size")
      ("heads", po::value(&c.num_attention_heads)->default_value(c.num_attention_heads), "attention heads")
      ("intermediate", po::value(&c.intermediate_size)->default_value(c.intermediate_size), "feed-forward width")
      ("vocab", po::value(&c.vocab_size)->default_value(c.vocab_size), "vocabulary size")
      ("batch", po::value(&o.batch)->default_value(o.batch), "sequences per step")
      ("seq", po::value(&o.seq)->default_value(o.seq), "fixed sequence length (every row full)")
      ("steps", po::value(&o.steps)->default_value(o.steps), "timed steps")
      ("warmup", po::value(&o.warmup)->default_value(o.warmup), "untimed steps first")
      ("seed", po::value(&o.seed)->default_value(o.seed), "seed of weights and workload")
      ("gemm", po::value(&o.gemm)->default_value(o.gemm), "size of the square matrix products that measure the peak");
  return desc;
}

}  // namespace mtdnn::bench
