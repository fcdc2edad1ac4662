// mtdnn_tokenize_pairs: the C++ side of the Hugging Face parity check (tests/hf/parity.js).
// Reads lines "text_a<TAB>text_b" (no TAB: a single sequence), writes for each line the
// model input after longest-first truncation, as "ids<TAB>type_ids", space-separated:
//   101 7592 102 2088 102<TAB>0 0 0 1 1
// Usage: mtdnn_tokenize_pairs PAIRS VOCAB --uncased|--cased --max-len N
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
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

void append_numbers(const std::vector<int32_t>& values, std::string* out) {
  char buf[16];
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out->push_back(' ');
    int n = std::snprintf(buf, sizeof buf, "%d", values[i]);
    out->append(buf, static_cast<size_t>(n));
  }
}

int run(int argc, char** argv) {
  std::string pairs_path, vocab_path;
  bool uncased = false, cased = false;
  long max_len = -1;
  po::options_description desc("usage: mtdnn_tokenize_pairs PAIRS VOCAB --uncased|--cased --max-len N\n\nOptions");
  desc.add_options()
      ("help,h", "print this help")
      ("pairs", po::value(&pairs_path)->required(), "TSV of text pairs (positional)")
      ("vocab", po::value(&vocab_path)->required(), "vocab.txt (positional)")
      ("uncased", po::bool_switch(&uncased), "lower-case and strip accents")
      ("cased", po::bool_switch(&cased), "keep case and accents")
      ("max-len", po::value(&max_len)->required(), "maximum tokens per pair (>= 3)");
  po::positional_options_description positional;
  positional.add("pairs", 1).add("vocab", 1);
  po::variables_map vm;
  parse_command_line_or_exit(argc, argv, desc, vm, positional);
  MTDNN_INPUT_CHECK(uncased != cased && max_len >= 3, "give one of --uncased and --cased, and --max-len >= 3");
  Vocab vocab = Vocab::load(vocab_path);
  WordPieceTokenizer tokenizer(vocab, uncased);

  std::ifstream in(pairs_path, std::ios::binary);
  MTDNN_INPUT_CHECK(in.good(), "{}: cannot open", pairs_path);
  std::string line, out;
  std::vector<int32_t> a, b, ids, type_ids;
  for (size_t line_no = 1; std::getline(in, line); ++line_no) {
    size_t tab = line.find('\t');
    std::string_view text_a = std::string_view(line).substr(0, tab);
    a.clear();
    b.clear();
    try {
      tokenizer.encode(text_a, &a);
      if (tab != std::string::npos) tokenizer.encode(std::string_view(line).substr(tab + 1), &b);
    } catch (const InputError& e) {
      throw InputError(fmt::format("{}:{}: {}", pairs_path, line_no, e.what()));
    }
    assemble_bert_input(a, tab != std::string::npos ? &b : nullptr, static_cast<size_t>(max_len),
                        vocab.cls_id(), vocab.sep_id(), &ids, &type_ids);
    append_numbers(ids, &out);
    out.push_back('\t');
    append_numbers(type_ids, &out);
    out.push_back('\n');
    if (out.size() > (1 << 20)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  MTDNN_INPUT_CHECK(!in.bad(), "{}: read error", pairs_path);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return mtdnn::program_main<mtdnn::NoUsageError>("mtdnn_tokenize_pairs", [&] { return run(argc, argv); });
}
