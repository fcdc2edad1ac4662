// mtdnn-bench-tokenizer: WordPieceTokenizer on a pairs file (lines "text_a<TAB>text_b"; no
// TAB: a single sequence; tests/hf/parity.py --extract writes them). Each row is encoded
// and laid out as [CLS] A [SEP] (B [SEP]) truncated longest-first to --max-len, as
// BertTokenizerFast does.
//   timing (default): single-threaded rounds over the rows, JSON for the best round;
//     tests/hf/bench_hf.py measures Hugging Face the same way (scripts/bench-preprocess.sh).
//   --ids: each row's model input instead, "ids<TAB>type_ids" space-separated
//     (101 7592 102 2088 102<TAB>0 0 0 1 1); the Hugging Face parity check compares them.
// Usage: mtdnn-bench-tokenizer PAIRS VOCAB [--cased] [--max-len 512] [--repeats 5] [--ids]
#include <chrono>
#include <cstdio>
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

// The rows of a pairs file's text; they point into it.
std::vector<Row> split_rows(const std::string& content) {
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
  return rows;
}

// A row's model input: ids and type ids.
class RowEncoder {
 public:
  RowEncoder(const Vocab& vocab, bool cased, size_t max_len)
      : vocab_(vocab), tokenizer_(vocab, !cased), max_len_(max_len) {}
  void encode(const Row& row) {
    a_.clear();
    b_.clear();
    tokenizer_.encode(row.a, &a_);
    if (row.pair) tokenizer_.encode(row.b, &b_);
    assemble_bert_input(a_, row.pair ? &b_ : nullptr, max_len_, vocab_.cls_id(), vocab_.sep_id(), &ids, &type_ids);
  }
  std::vector<int32_t> ids, type_ids;

 private:
  const Vocab& vocab_;
  WordPieceTokenizer tokenizer_;
  size_t max_len_;
  std::vector<int32_t> a_, b_;
};

void append_numbers(const std::vector<int32_t>& values, std::string* out) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out->push_back(' ');
    *out += std::to_string(values[i]);
  }
}

// --ids: the model inputs on stdout; an encoding error names the file and line.
int write_ids(const std::vector<Row>& rows, RowEncoder& encoder, const std::string& path) {
  std::string out;
  for (size_t i = 0; i < rows.size(); ++i) {
    try {
      encoder.encode(rows[i]);
    } catch (const InputError& e) {
      throw InputError(fmt::format("{}:{}: {}", path, i + 1, e.what()));
    }
    append_numbers(encoder.ids, &out);
    out.push_back('\t');
    append_numbers(encoder.type_ids, &out);
    out.push_back('\n');
    if (out.size() > (1 << 20)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

int run(int argc, char** argv) {
  std::string pairs_path, vocab_path;
  bool cased = false, ids = false;
  long max_len = 512, repeats = 5;
  po::options_description desc("usage: mtdnn-bench-tokenizer PAIRS VOCAB [options]\n\nOptions");
  desc.add_options()
      ("help,h", "print this help")
      ("pairs", po::value(&pairs_path)->required(), "TSV of text pairs (positional)")
      ("vocab", po::value(&vocab_path)->required(), "vocab.txt (positional)")
      ("cased", po::bool_switch(&cased), "keep case and accents (default: uncased)")
      ("max-len", po::value(&max_len)->default_value(max_len), "maximum tokens per pair (>= 3)")
      ("repeats", po::value(&repeats)->default_value(repeats), "timed passes (>= 1)")
      ("ids", po::bool_switch(&ids), "write each row's ids and type ids instead of timing");
  po::positional_options_description positional;
  positional.add("pairs", 1).add("vocab", 1);
  po::variables_map vm;
  parse_command_line_or_exit(argc, argv, desc, vm, positional);
  MTDNN_INPUT_CHECK(max_len >= 3 && repeats >= 1, "--max-len must be >= 3 and --repeats >= 1");
  const Vocab vocab = Vocab::load(vocab_path);
  RowEncoder encoder(vocab, cased, static_cast<size_t>(max_len));

  // The whole file in memory first: the rounds time tokenization, not reading.
  std::ifstream in(pairs_path, std::ios::binary);
  MTDNN_INPUT_CHECK(in.good(), "{}: cannot open", pairs_path);
  std::ostringstream buf;
  buf << in.rdbuf();
  MTDNN_INPUT_CHECK(!in.bad(), "{}: read error", pairs_path);
  const std::string content = buf.str();
  const std::vector<Row> rows = split_rows(content);
  if (ids) return write_ids(rows, encoder, pairs_path);

  double best = 1e300;
  size_t tokens = 0;
  for (long round = 0; round < repeats; ++round) {
    size_t round_tokens = 0;
    auto start = std::chrono::steady_clock::now();
    for (const Row& row : rows) {
      encoder.encode(row);
      round_tokens += encoder.ids.size();
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
