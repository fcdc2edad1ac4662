// mtdnn-bench-tokenizer: single-threaded throughput of WordPieceTokenizer on a pairs file
// (lines "text_a<TAB>text_b", as tests/hf/parity.js --extract writes them). Each round
// encodes every row and lays out [CLS] A [SEP] (B [SEP]) truncated to --max-len, as
// BertTokenizerFast does; tokens are the ids of those inputs. Prints JSON for the best
// round; tests/hf/bench_hf.js measures Hugging Face the same way (scripts/bench-preprocess.sh).
// Usage: mtdnn-bench-tokenizer PAIRS VOCAB [--cased] [--max-len 512] [--repeats 5]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/command_line.h"
#include "common/program_main.h"
#include "common/error.h"
#include "preprocess/pair_truncation.h"
#include "preprocess/vocab.h"
#include "preprocess/wordpiece_tokenizer.h"

namespace {

using namespace mtdnn;
using namespace mtdnn::preprocess;
namespace po = boost::program_options;

struct Row {
  std::string_view a;
  std::string_view b;
  bool pair;
};

int run(int argc, char** argv) {
  std::string pairs_path, vocab_path;
  bool cased = false;
  long max_len = 512, repeats = 5;
  po::options_description desc("usage: mtdnn-bench-tokenizer PAIRS VOCAB [options]\n\nOptions");
  desc.add_options()
      ("help,h", "print this help")
      ("pairs", po::value(&pairs_path)->required(), "TSV of text pairs (positional)")
      ("vocab", po::value(&vocab_path)->required(), "vocab.txt (positional)")
      ("cased", po::bool_switch(&cased), "keep case and accents (default: uncased)")
      ("max-len", po::value(&max_len)->default_value(max_len), "maximum tokens per pair (>= 3)")
      ("repeats", po::value(&repeats)->default_value(repeats), "timed passes (>= 1)");
  po::positional_options_description positional;
  positional.add("pairs", 1).add("vocab", 1);
  po::variables_map vm;
  parse_command_line_or_exit(argc, argv, desc, vm, positional);
  MTDNN_INPUT_CHECK(max_len >= 3 && repeats >= 1, "--max-len must be >= 3 and --repeats >= 1");
  Vocab vocab = Vocab::load(vocab_path);
  WordPieceTokenizer tokenizer(vocab, !cased);

  // The whole file in memory first: the rounds time tokenization, not reading.
  std::ifstream in(pairs_path, std::ios::binary);
  MTDNN_INPUT_CHECK(in.good(), "{}: cannot open", pairs_path);
  std::ostringstream buf;
  buf << in.rdbuf();
  const std::string content = buf.str();
  std::vector<Row> rows;
  for (size_t pos = 0; pos < content.size();) {
    size_t end = content.find('\n', pos);
    if (end == std::string::npos) end = content.size();
    std::string_view line(content.data() + pos, end - pos);
    size_t tab = line.find('\t');
    rows.push_back(tab == std::string_view::npos ? Row{line, {}, false}
                                                 : Row{line.substr(0, tab), line.substr(tab + 1), true});
    pos = end + 1;
  }

  double best = 1e300;
  size_t tokens = 0;
  std::vector<int32_t> a, b, ids, type_ids;
  for (long round = 0; round < repeats; ++round) {
    size_t round_tokens = 0;
    auto start = std::chrono::steady_clock::now();
    for (const Row& row : rows) {
      a.clear();
      b.clear();
      tokenizer.encode(row.a, &a);
      if (row.pair) tokenizer.encode(row.b, &b);
      assemble_bert_input(a, row.pair ? &b : nullptr, static_cast<size_t>(max_len), vocab.cls_id(),
                          vocab.sep_id(), &ids, &type_ids);
      round_tokens += ids.size();
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (seconds < best) best = seconds;
    tokens = round_tokens;
  }
  std::printf(
      "{\"impl\": \"mtdnn\", \"mode\": \"single thread\", \"vocab\": \"%s\", \"rows\": %zu, "
      "\"tokens\": %zu, \"repeats\": %ld, \"seconds\": %.4f, \"tokens_per_s\": %.0f}\n",
      cased ? "cased" : "uncased", rows.size(), tokens, repeats, best,
      static_cast<double>(tokens) / best);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return mtdnn::program_main<mtdnn::NoUsageError>("mtdnn-bench-tokenizer", [&] { return run(argc, argv); });
}
