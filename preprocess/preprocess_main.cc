// mtdnn-preprocess: task corpora (GLUE's files or mt-dnn's canonical TSV; text corpora for
// MaskLM tasks) into tokenized HDF5 shards plus a manifest per task. Options come from the command line and, with
// --config, from an INI file (command-line values win).
#include <boost/program_options.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "common/command_line.h"
#include "common/error.h"
#include "common/log.h"
#include "common/program_main.h"
#include "preprocess/encoder_tokenizer.h"
#include "preprocess/preprocess_job.h"

namespace po = boost::program_options;
using mtdnn::preprocess::PreprocessOptions;

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

int run(int argc, char** argv) {
  PreprocessOptions o;
  std::string tasks, splits, on_bad_row = "fail", config, encoder;
  po::options_description desc(
      "mtdnn-preprocess: tokenize task corpora into HDF5 shards\n\n"
      "Usage: mtdnn-preprocess --task-def tasks/glue.yml --input GLUE_DIR (--vocab vocab.txt | --encoder DIR) --out DIR [options]\n\n"
      "Options");
  desc.add_options()
      ("help,h", "print this help and exit")
      ("config", po::value(&config), "INI file with any of these options as keys (command line wins)")
      ("task-def", po::value(&o.task_def_path)->required(), "task definition file (mt-dnn's task_def.yml schema)")
      ("input", po::value(&o.input_dir)->required(),
       "folder with GLUE's task folders (CoLA/, SST-2/, ...) and/or mt-dnn canonical <task>_<split>.tsv files; "
       "MaskLM tasks: a corpus file, or a folder with <task>/*.txt|*.jsonl or *.txt|*.jsonl")
      ("vocab", po::value(&o.vocab_path), "BERT WordPiece vocab.txt")
      ("encoder", po::value(&encoder),
       "pretrained model folder (scripts/pretrained-encoder.sh, a Hugging Face BERT folder): its vocab.txt, and "
       "its casing from tokenizer_config.json's do_lower_case; instead of --vocab")
      ("uncased", po::bool_switch(), "lower-case and strip accents (default)")
      ("cased", po::bool_switch(), "keep case and accents")
      ("max-seq-len", po::value(&o.max_seq_len)->default_value(512),
       "maximum tokens per example, [CLS] and [SEP]s included; longer pairs are truncated longest-first")
      ("shards", po::value(&o.shards)->default_value(1), "shards per split (fewer for tiny splits)")
      ("threads", po::value(&o.threads)->default_value(0), "tokenizer threads (0: every core)")
      ("out", po::value(&o.out_dir)->required(), "output folder: one sub-folder per task")
      ("tasks", po::value(&tasks), "comma-separated tasks to preprocess (default: all in --task-def)")
      ("splits", po::value(&splits), "comma-separated splits (default: each task's split_names)")
      ("emit-jsonl", po::bool_switch(&o.emit_jsonl),
       "also write mt-dnn's JSON lines (<task>_<split>.json; not for MaskLM tasks)")
      ("on-bad-row", po::value(&on_bad_row)->default_value("fail"),
       "fail: stop at the first bad row naming file and line; skip: skip bad rows and count them")
      ("dupe-factor", po::value(&o.dupe_factor)->default_value(1),
       "MaskLM tasks: passes over the train documents, each with other sentence pairs (dev: 1)")
      ("seed", po::value(&o.seed)->default_value(12345),
       "MaskLM tasks: seed of the documents' train/dev draws and of the sentence pairs")
      ("corpus-window", po::value(&o.corpus_window)->default_value(10000),
       "MaskLM tasks: documents per window (memory; random next segments come from the same window)");
  po::variables_map vm;
  if (!mtdnn::parse_command_line_and_config(argc, argv, desc, vm)) {
    std::cout << desc << "\n";
    return 0;
  }
  MTDNN_INPUT_CHECK(!(vm["uncased"].as<bool>() && vm["cased"].as<bool>()), "--uncased and --cased exclude each other");
  o.lower_case = !vm["cased"].as<bool>();
  MTDNN_INPUT_CHECK(o.vocab_path.empty() != encoder.empty(), "give exactly one of --vocab and --encoder");
  if (!encoder.empty()) {
    const auto from_encoder = mtdnn::preprocess::read_encoder_tokenizer(encoder);
    // The encoder decides; an explicit flag that says otherwise is a mistake, not a choice.
    MTDNN_INPUT_CHECK(!(from_encoder.lower_case ? vm["cased"].as<bool>() : vm["uncased"].as<bool>()),
                      "--{}: the encoder in {} was pretrained {} (its tokenizer_config.json)",
                      from_encoder.lower_case ? "cased" : "uncased", encoder,
                      from_encoder.lower_case ? "lower-cased" : "cased");
    o.vocab_path = from_encoder.vocab_path;
    o.lower_case = from_encoder.lower_case;
  }
  MTDNN_INPUT_CHECK(on_bad_row == "fail" || on_bad_row == "skip", "--on-bad-row must be fail or skip, got '{}'",
                    on_bad_row);
  o.skip_bad_rows = on_bad_row == "skip";
  o.tasks = split_list(tasks);
  o.splits = split_list(splits);

  auto start = std::chrono::steady_clock::now();
  auto manifests = mtdnn::preprocess::run_preprocess(o);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << mtdnn::preprocess::summary_table(manifests, seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return mtdnn::program_main<po::error>("mtdnn-preprocess", [&] { return run(argc, argv); });
}
