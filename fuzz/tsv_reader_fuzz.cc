// libFuzzer target: arbitrary bytes as a task file, read through the canonical and GLUE
// row sources and featurized for each data format. Bad input must surface as row errors
// or InputError, never as a crash, a hang or a sanitizer report.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"
#include "preprocess/featurizer.h"
#include "preprocess/row_source.h"

using namespace mtdnn;
using namespace mtdnn::preprocess;

namespace {

struct Fixture {
  std::filesystem::path dir;
  Vocab vocab = Vocab::parse("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\n##s\na\n.\n", "fuzz-vocab");
  WordPieceTokenizer tokenizer{vocab, true};
  std::vector<TaskDef> tasks = parse_task_defs(
      "single:\n  task_type: Classification\n  data_format: PremiseOnly\n  n_class: 2\n  labels: [a, b]\n"
      "pair:\n  task_type: Regression\n  data_format: PremiseAndOneHypothesis\n  n_class: 1\n"
      "rank:\n  task_type: Ranking\n  data_format: PremiseAndMultiHypothesis\n  n_class: 1\n"
      "rte:\n  task_type: Classification\n  data_format: PremiseAndOneHypothesis\n  n_class: 2\n"
      "  labels: [not_entailment, entailment]\n",
      "fuzz-tasks");

  Fixture() {
    dir = std::filesystem::temp_directory_path() / ("mtdnn-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "RTE");
  }
};

void drain(RowSource& source, const Featurizer& featurizer) {
  RawRow row;
  Featurized out;
  while (source.next(&row)) featurizer.featurize(row, &out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture f;
  if (size == 0) return 0;
  const TaskDef& task = f.tasks[data[0] % f.tasks.size()];
  std::string split = (data[0] & 0x80) ? "test" : "train";
  std::string file = task.name == "rte" ? "RTE/" + split + ".tsv" : canonical_file_name(task.name, split);
  {
    std::ofstream out(f.dir / file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
  }
  try {
    auto source = open_row_source(f.dir.string(), task, split);
    Featurizer featurizer(f.vocab, f.tokenizer, task, 5 + data[0] % 20, TaskDef::split_has_labels(split));
    drain(*source, featurizer);
  } catch (const InputError&) {
  }
  return 0;
}
