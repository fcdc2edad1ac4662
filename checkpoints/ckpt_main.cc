// mtdnn-ckpt: inspect, verify, export to and import from Hugging Face the checkpoints
// mtdnn-train writes (docs/checkpoints.md). One sub-command per invocation, each with its
// own --help. Exit status: 0 success, 1 a problem (named on stderr), 2 bad usage.
#include <boost/program_options.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <fmt/ranges.h>  // fmt::join (its home since fmt 11)

#include "checkpoints/checkpoint_format.h"
#include "checkpoints/checkpoint_reader.h"
#include "checkpoints/checkpoint_verify.h"
#include "checkpoints/checkpoint_writer.h"
#include "checkpoints/hf_convert.h"
#include "common/command_line.h"
#include "common/error.h"
#include "common/log.h"
#include "common/program_main.h"
#include "worker/hf_sequence_classifier.h"
#include "worker/model_folder.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace mtdnn::checkpoints;

namespace {

// A sub-command's command line: its options (captioned with its help) and positional names.
struct Command {
  po::options_description desc;
  po::positional_options_description positional;
  po::variables_map vm;
};

// DIR, a checkpoint folder or checkpoint root, as the command's first positional argument.
void add_dir_argument(Command& c, std::string* dir) {
  c.desc.add_options()("dir", po::value(dir)->required(), "checkpoint folder or checkpoint root (positional)");
  c.positional.add("dir", 1);
}

// Parses argv[2..]; returns false after printing --help.
bool parse(Command& c, int argc, char** argv) {
  c.desc.add_options()("help,h", "print this help and exit");
  if (mtdnn::parse_command_line_and_config(argc - 1, argv + 1, c.desc, c.vm, c.positional)) return true;
  std::cout << c.desc << "\n";
  return false;
}

bool is_checkpoint_folder(const std::string& dir) {
  const fs::path p = fs::path(dir).lexically_normal();
  return fs::exists(p / kDoneFile) || fs::exists(p / kMetaFile) || fs::exists(p / kStateFile) ||
         parse_checkpoint_folder_name((p.filename().empty() ? p.parent_path() : p).filename().string());
}

// A checkpoint folder, or the one a root resolves to.
std::string resolve(const std::string& dir) {
  if (is_checkpoint_folder(dir)) return dir;
  auto found = find_latest_valid(dir, VerifyLevel::kStructure);
  MTDNN_INPUT_CHECK(found.has_value(), "{}: holds no checkpoint", dir);
  return found->path;
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[u]);
}

std::string scalar_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string tasks_text(const json& meta) {
  std::vector<std::string> out;
  if (meta.contains("model") && meta["model"].contains("heads")) {
    for (const auto& h : meta["model"]["heads"]) {
      std::string kind = h.value("kind", "?");
      if (h.value("enable_san", false)) kind += "+san";
      if (kind.rfind("classification", 0) == 0 || kind == "next_sentence")
        kind += fmt::format(", {} classes", h.value("n_class", 0));
      out.push_back(fmt::format("{} ({})", h.value("task", "?"), kind));
    }
  } else if (meta.contains("tasks") && meta["tasks"].is_object()) {
    for (const auto& [name, def] : meta["tasks"].items()) out.push_back(name);
  }
  return out.empty() ? "(none recorded)" : fmt::format("{}", fmt::join(out, ", "));
}

int cmd_inspect(Command& c, int argc, char** argv) {
  std::string dir;
  bool list_tensors = false, as_json = false;
  add_dir_argument(c, &dir);
  c.desc.add_options()
      ("tensors", po::bool_switch(&list_tensors), "list every tensor: name, dtype, shape, bytes")
      ("json", po::bool_switch(&as_json), "print the checkpoint's meta.json (without the tensor table)");
  if (!parse(c, argc, argv)) return 0;
  const std::string path = resolve(dir);
  const Manifest m = read_manifest(path);
  if (as_json) {
    json j = manifest_to_json(m);
    j.erase("tensors");
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  const json& meta = m.meta;
  std::cout << fmt::format("checkpoint  {}\n", path);
  std::cout << fmt::format("format      {} v{}, written {} by {} on {}\n", kFormatName, m.format_version,
                           m.created_utc, m.writer.value("program", "?"), m.writer.value("host", "?"));
  std::cout << fmt::format("step        {}\n", m.step);
  if (meta.contains("kind")) std::cout << fmt::format("kind        {}\n", scalar_text(meta["kind"]));
  if (meta.contains("epoch")) std::cout << fmt::format("epoch       {}\n", scalar_text(meta["epoch"]));
  if (meta.contains("position")) std::cout << fmt::format("position    {}\n", meta["position"].dump());
  std::cout << fmt::format("tasks       {}\n", tasks_text(meta));
  if (meta.contains("world_size")) std::cout << fmt::format("world size  {}\n", scalar_text(meta["world_size"]));
  if (meta.contains("tokenizer")) std::cout << fmt::format("tokenizer   {}\n", meta["tokenizer"].dump());
  if (meta.contains("model") && meta["model"].contains("bert_config")) {
    const json& b = meta["model"]["bert_config"];
    std::cout << fmt::format("encoder     L={} H={} NH={} I={} V={}\n", b.value("num_hidden_layers", 0),
                             b.value("hidden_size", 0), b.value("num_attention_heads", 0),
                             b.value("intermediate_size", 0), b.value("vocab_size", 0));
  }
  uint64_t total = 0;
  struct Group {
    size_t count = 0;
    uint64_t bytes = 0;
    std::set<std::string> dtypes;
  };
  std::map<std::string, Group> groups;
  for (const auto& [name, r] : m.tensors) {
    const auto slash = name.find('/');
    Group& g = groups[slash == std::string::npos ? name : name.substr(0, slash + 1)];
    ++g.count;
    g.bytes += r.end - r.begin;
    g.dtypes.insert(r.dtype);
    total += r.end - r.begin;
  }
  std::cout << fmt::format("tensors     {} tensors, {} in {}\n", m.tensors.size(), human_bytes(total), kStateFile);
  for (const auto& [group, g] : groups)
    std::cout << fmt::format("  {:<10}{:>6} tensors {:>11}  {}\n", group, g.count, human_bytes(g.bytes),
                             fmt::join(g.dtypes, ","));
  if (meta.contains("config") && meta["config"].is_object()) {
    std::cout << "config\n";
    for (const auto& [key, value] : meta["config"].items()) {
      std::string text = value.is_structured() ? value.dump() : scalar_text(value);
      if (text.size() > 100) text = text.substr(0, 97) + "...";
      std::cout << fmt::format("  {} = {}\n", key, text);
    }
  }
  if (list_tensors) {
    std::cout << "tensor list\n";
    for (const auto& [name, r] : m.tensors)
      std::cout << fmt::format("  {}  {}  {}  {}\n", name, r.dtype, json(r.shape).dump(), r.end - r.begin);
  }
  return 0;
}

int cmd_verify(Command& c, int argc, char** argv) {
  std::string dir;
  bool quick = false;
  add_dir_argument(c, &dir);
  c.desc.add_options()
      ("quick", po::bool_switch(&quick), "skip the tensor checksums (structure only)");
  if (!parse(c, argc, argv)) return 0;
  const VerifyLevel level = quick ? VerifyLevel::kStructure : VerifyLevel::kChecksums;
  std::vector<std::string> folders;
  bool bad = false;
  if (is_checkpoint_folder(dir)) {
    folders.push_back(dir);
  } else {
    MTDNN_INPUT_CHECK(fs::is_directory(dir), "{}: no such folder", dir);
    for (const auto& ref : list_checkpoints(dir)) folders.push_back(ref.path);
    const LatestPointer latest = read_latest_pointer(dir);
    if (!latest.present) {
      std::cout << fmt::format("PROBLEM {}/{}: missing\n", dir, kLatestFile);
      bad = true;
    } else if (!latest.problem.empty()) {
      std::cout << fmt::format("PROBLEM {}\n", latest.problem);
      bad = true;
    } else if (!fs::is_directory(fs::path(dir) / latest.target)) {
      std::cout << fmt::format("PROBLEM {}/{}: names {}, which does not exist\n", dir, kLatestFile, latest.target);
      bad = true;
    } else {
      std::cout << fmt::format("latest  {}\n", latest.target);
    }
    if (folders.empty()) {
      std::cout << fmt::format("PROBLEM {}: no checkpoint folders (ckpt-<step>)\n", dir);
      bad = true;
    }
  }
  for (const auto& folder : folders) {
    const VerifyResult r = verify_checkpoint(folder, level);
    if (r.ok()) {
      uint64_t bytes = r.manifest->state_bytes;
      std::cout << fmt::format("OK      {}: step {}, {} tensors, {}{}\n", folder, r.manifest->step,
                               r.manifest->tensors.size(), human_bytes(static_cast<double>(bytes)),
                               quick ? " (checksums not checked)" : ", checksums match");
    } else {
      bad = true;
      for (const auto& p : r.problems) std::cout << fmt::format("PROBLEM {}\n", p);
    }
  }
  if (bad) mtdnn::log_info("verification failed; the lines starting with PROBLEM name each file and tensor");
  return bad ? 1 : 0;
}

// --task: one task of a trained-model folder (mtdnn-train's <out>/model) or of a checkpoint
// as Hugging Face's BertForSequenceClassification.
int export_task(const std::string& dir, const std::string& out, const std::string& task, const std::string& vocab) {
  MTDNN_INPUT_CHECK(!vocab.empty(), "--task needs --vocab: the vocab.txt the shards were made with "
                                    "(the encoder folder's for mtdnn-preprocess --encoder)");
  std::string source = dir;
  if (fs::exists(fs::path(dir) / "training.json")) {
    const mtdnn::worker::LoadedModel loaded = mtdnn::worker::load_model_folder(dir);
    const auto it = std::find_if(loaded.tasks.begin(), loaded.tasks.end(),
                                 [&](const auto& t) { return t.name == task; });
    MTDNN_INPUT_CHECK(it != loaded.tasks.end(), "--task {}: the model in {} was not trained on it", task, dir);
    mtdnn::worker::export_sequence_classifier(*loaded.model, *it, loaded.tokenizer, vocab, out);
  } else {
    source = resolve(dir);
    export_hf_task(load_checkpoint(source, /*verify=*/true), task, vocab, out, source);
  }
  std::cout << fmt::format("exported task {} of {} to {} as a BertForSequenceClassification: model.safetensors, "
                           "config.json, vocab.txt, tokenizer_config.json, special_tokens_map.json\n",
                           task, source, out);
  return 0;
}

int cmd_export_hf(Command& c, int argc, char** argv) {
  std::string dir, out, task, vocab;
  add_dir_argument(c, &dir);
  c.desc.add_options()
      ("out", po::value(&out)->required(), "output folder, created when missing (positional)")
      ("task", po::value(&task),
       "export this task alone as Hugging Face's BertForSequenceClassification; DIR may also be a trained-model "
       "folder (mtdnn-train's <out>/model)")
      ("vocab", po::value(&vocab), "with --task: the vocab.txt the model's shards were made with (checked)");
  c.positional.add("out", 1);
  if (!parse(c, argc, argv)) return 0;
  if (!task.empty()) return export_task(dir, out, task, vocab);
  MTDNN_INPUT_CHECK(vocab.empty(), "--vocab goes with --task");
  const std::string path = resolve(dir);
  const Manifest m = read_manifest(path);
  TrainingState state = load_checkpoint(path, /*verify=*/true);
  export_hf(state, out, path, m.step);
  std::cout << fmt::format("exported {} (step {}) to {}: model.safetensors, config.json, {}\n", path,
                           m.step, out, kHfHeadsFile);
  return 0;
}

int cmd_import_hf(Command& c, int argc, char** argv) {
  std::string model_dir, out;
  int64_t step = 0;
  bool force = false;
  c.desc.add_options()
      ("model-dir", po::value(&model_dir)->required(), "Hugging Face model folder (positional)")
      ("out", po::value(&out)->required(), "checkpoint root to write ckpt-<step> into (positional)")
      ("step", po::value(&step)->default_value(0), "step recorded for the checkpoint")
      ("force", po::bool_switch(&force), "write even when OUT already holds checkpoints");
  c.positional.add("model-dir", 1).add("out", 1);
  if (!parse(c, argc, argv)) return 0;
  MTDNN_INPUT_CHECK(force || (list_checkpoints(out).empty() && !read_latest_pointer(out).present),
                    "{}: already holds checkpoints; the imported one would become `latest`. Choose "
                    "an empty folder or pass --force",
                    out);
  TrainingState state = import_hf(model_dir);
  save_checkpoint(out, step, state, RetentionPolicy{0, 0}, "mtdnn-ckpt import-hf");
  std::cout << fmt::format("imported {} into {}: {} tensors\n", model_dir,
                           (fs::path(out) / checkpoint_folder_name(step)).string(), state.tensors.size());
  return 0;
}

// One sub-command: its line in mtdnn-ckpt --help, the rest of its own --help, and its code.
struct SubCommand {
  const char* name;
  const char* arguments;  // its positional arguments
  const char* summary;    // one line
  const char* details;    // for its own --help
  int (*run)(Command& c, int argc, char** argv);
};

const SubCommand kSubCommands[] = {
    {"inspect", "DIR", "step, epoch, tasks, tensors and config of a checkpoint", "", cmd_inspect},
    {"verify", "DIR", "checksums and completeness; exit 1 naming each problem",
     "Checks a checkpoint (or every checkpoint of a root): DONE marker, meta.json digest, format,\n"
     "sizes, header, every tensor's SHA-256. Prints one line per problem naming file and tensor.",
     cmd_verify},
    {"export-hf", "DIR OUT", "the model as a Hugging Face BERT (model.safetensors + config.json)",
     "model.safetensors holds the encoder under BertModel keys and the task heads under\n"
     "heads.<task>. (with a masked-LM head, a BertForPreTraining: the encoder under bert., the\n"
     "masked-LM and next-sentence heads under cls.*); mtdnn.json describes the heads, so that\n"
     "import-hf can restore them too.\n"
     "With --task T (DIR a checkpoint or a trained-model folder, --vocab its vocabulary): task T alone as a\n"
     "BertForSequenceClassification with its tokenizer's files, which transformers'\n"
     "AutoModelForSequenceClassification and AutoTokenizer load as they are. SAN and ranking\n"
     "heads have no Hugging Face class and are refused.",
     cmd_export_hf},
    {"import-hf", "MODEL_DIR OUT", "an initial checkpoint (step 0) from a Hugging Face BERT",
     "The checkpoint holds the model tensors only (meta.kind \"init\"); with an mtdnn.json from\n"
     "export-hf, the task heads too. Loading is strict: a missing, unexpected or mis-shaped\n"
     "tensor is an error naming it.",
     cmd_import_hf},
};

std::string usage() {
  std::string text =
      "mtdnn-ckpt: inspect, verify and convert mtdnn checkpoints\n\n"
      "Usage: mtdnn-ckpt COMMAND [options] (mtdnn-ckpt COMMAND --help for each)\n\nCommands:\n";
  for (const SubCommand& sub : kSubCommands)
    text += fmt::format("  {:<22} {}\n", fmt::format("{} {}", sub.name, sub.arguments), sub.summary);
  return text +
         "\nDIR is a checkpoint folder (ckpt-<step>) or a checkpoint root (then the checkpoint\n"
         "`latest` names, or the newest valid one; verify checks every checkpoint of a root).\n";
}

int run(int argc, char** argv) {
  const std::string command = argc >= 2 ? argv[1] : "";
  if (command.empty() || command == "--help" || command == "-h" || command == "help") {
    std::cout << usage();
    return command.empty() ? 2 : 0;
  }
  for (const SubCommand& sub : kSubCommands) {
    if (command != sub.name) continue;
    const std::string details = *sub.details ? fmt::format("\n{}\n", sub.details) : "";
    Command c{po::options_description(fmt::format("mtdnn-ckpt {}: {}\n{}\nUsage: mtdnn-ckpt {} {} [options]\n\nOptions",
                                                  sub.name, sub.summary, details, sub.name, sub.arguments)),
              {}, {}};
    return sub.run(c, argc, argv);
  }
  mtdnn::log_info("error: unknown command '{}' (see --help)", command);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  mtdnn::ProgramErrors errors;
  errors.usage_hint = fmt::format("see mtdnn-ckpt {} --help", argc >= 2 ? argv[1] : "");
  return mtdnn::program_main<po::error>("mtdnn-ckpt", [&] { return run(argc, argv); }, errors);
}
