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

#include "common/error.h"
#include "preprocess/pair_truncation.h"
#include "preprocess/vocab.h"
#include "preprocess/wordpiece_tokenizer.h"

namespace {

using namespace mtdnn;
using namespace mtdnn::preprocess;

void append_numbers(const std::vector<int32_t>& values, std::string* out) {
  char buf[16];
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out->push_back(' ');
    int n = std::snprintf(buf, sizeof buf, "%d", values[i]);
    out->append(buf, static_cast<size_t>(n));
  }
}

int run(int argc, char** argv) {
  std::vector<std::string> positional;
  int lower = -1;
  long max_len = -1;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--uncased")) {
      lower = 1;
    } else if (!std::strcmp(argv[i], "--cased")) {
      lower = 0;
    } else if (!std::strcmp(argv[i], "--max-len") && i + 1 < argc) {
      max_len = std::strtol(argv[++i], nullptr, 10);
    } else {
      positional.push_back(argv[i]);
    }
  }
  MTDNN_INPUT_CHECK(positional.size() == 2 && lower >= 0 && max_len >= 3,
                    "usage: mtdnn_tokenize_pairs PAIRS VOCAB --uncased|--cased --max-len N "
                    "(N >= 3)");
  const std::string& pairs_path = positional[0];
  Vocab vocab = Vocab::load(positional[1]);
  WordPieceTokenizer tokenizer(vocab, lower == 1);

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
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mtdnn_tokenize_pairs: %s\n", e.what());
    return 1;
  }
}
