// Parsing and validation of mt-dnn task definition files (see task_def.h).
#include "task_kinds/task_def.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <fstream>
#include <iterator>
#include <set>

#include "common/error.h"
#include "task_kinds/task_kind.h"

namespace mtdnn {
namespace {

struct EnumName {
  const char* name;
  int value;
};

constexpr EnumName kDataFormats[] = {
    {"PremiseOnly", int(DataFormat::kPremiseOnly)},
    {"PremiseAndOneHypothesis", int(DataFormat::kPremiseAndOneHypothesis)},
    {"PremiseAndMultiHypothesis", int(DataFormat::kPremiseAndMultiHypothesis)},
    {"MLM", int(DataFormat::kMlm)}};
constexpr EnumName kMetrics[] = {{"ACC", int(Metric::kAcc)},           {"F1", int(Metric::kF1)},
                                 {"MCC", int(Metric::kMcc)},           {"Pearson", int(Metric::kPearson)},
                                 {"Spearman", int(Metric::kSpearman)}, {"AUC", int(Metric::kAuc)}};
// mt-dnn names that exist there but that this project does not implement: named in errors.
constexpr const char* kUnsupportedTaskTypes[] = {"Span", "SpanYN", "SeqenceLabeling",
                                                 "SequenceLabeling",
                                                 "SeqenceGeneration", "ClozeChoice"};
constexpr const char* kLosses[] = {"CeCriterion", "MseCriterion", "RankCeCriterion", "MlmCriterion"};
constexpr const char* kKeys[] = {"task_type", "data_format", "n_class",  "labels",
                                 "metric_meta", "loss",
                                 "dropout_p",  "enable_san", "split_names",
                                 // MaskLM (PretrainOptions)
                                 "mask_prob", "max_predictions_per_seq", "whole_word_mask",
                                 "next_sentence", "short_seq_prob", "dev_fraction"};
// mt-dnn's keys for what mtdnn does not implement: an error naming the key, the task and
// why, rather than a setting silently without effect.
struct Unimplemented {
  const char* key;
  const char* reason;
};
constexpr Unimplemented kUnimplementedKeys[] = {
    {"kd_loss", "mt-dnn's knowledge-distillation loss (its --mkd_opt); mtdnn has no distillation"},
    {"adv_loss", "mt-dnn's adversarial-training loss (its --adv_train); mtdnn has no adversarial training"},
    {"actf", "the activation of mt-dnn's extra pooler layer; mtdnn's heads read BERT's pretrained pooler (tanh)"},
};
// Keys that only MaskLM tasks take.
constexpr const char* kPretrainKeys[] = {"mask_prob", "max_predictions_per_seq", "whole_word_mask",
                                         "next_sentence", "short_seq_prob", "dev_fraction"};

template <size_t N>
std::string join_names(const EnumName (&names)[N]) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + std::string(n.name);
  return out;
}

template <size_t N>
std::string join_names(const char* const (&names)[N]) {
  std::string out;
  for (const char* n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

template <size_t N>
const char* name_of(const EnumName (&names)[N], int value) {
  for (const auto& n : names)
    if (n.value == value) return n.name;
  return "?";
}

class Parser {
 public:
  explicit Parser(std::string origin) : origin_(std::move(origin)) {}

  std::string where(const YAML::Node& node) const {
    return fmt::format("{}:{}", origin_, node.Mark().line + 1);
  }

  std::string scalar(const YAML::Node& node, const std::string& key) const {
    MTDNN_INPUT_CHECK(node.IsScalar(), "{}: '{}' must be a single value", where(node), key);
    return node.as<std::string>();
  }

  template <size_t N>
  int enum_value(const YAML::Node& node, const std::string& key, const EnumName (&names)[N]) const {
    std::string text = scalar(node, key);
    for (const auto& n : names)
      if (text == n.name) return n.value;
    throw InputError(fmt::format("{}: unknown {} '{}'; expected one of: {}", where(node), key,
                                 text, join_names(names)));
  }

  template <size_t N>
  std::string one_of(const YAML::Node& node, const std::string& key,
                     const char* const (&names)[N]) const {
    std::string text = scalar(node, key);
    for (const char* n : names)
      if (text == n) return text;
    throw InputError(fmt::format("{}: unknown {} '{}'; expected one of: {}", where(node), key,
                                 text, join_names(names)));
  }

  std::vector<std::string> list(const YAML::Node& node, const std::string& key) const {
    MTDNN_INPUT_CHECK(node.IsSequence(), "{}: '{}' must be a list", where(node), key);
    std::vector<std::string> out;
    for (const auto& item : node) out.push_back(scalar(item, key));
    return out;
  }

  int integer(const YAML::Node& node, const std::string& key) const {
    std::string text = scalar(node, key);
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(text.c_str(), &end, 10);
    MTDNN_INPUT_CHECK(!text.empty() && *end == '\0' && errno == 0 && v >= 0 && v < 1000000,
                      "{}: '{}' must be a non-negative integer, got '{}'", where(node), key, text);
    return static_cast<int>(v);
  }

  double real(const YAML::Node& node, const std::string& key) const {
    std::string text = scalar(node, key);
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    MTDNN_INPUT_CHECK(!text.empty() && *end == '\0' && v >= 0.0 && v < 1.0,
                      "{}: '{}' must be a number in [0, 1), got '{}'", where(node), key, text);
    return v;
  }

  bool boolean(const YAML::Node& node, const std::string& key) const {
    std::string text = scalar(node, key);
    if (text == "true" || text == "True" || text == "yes") return true;
    if (text == "false" || text == "False" || text == "no") return false;
    throw InputError(fmt::format("{}: '{}' must be true or false, got '{}'", where(node), key, text));
  }

  std::string task_type(const YAML::Node& node) const {
    std::string text = scalar(node, "task_type");
    const auto& registry = task_kinds::builtin_task_kinds();
    if (registry.find(text)) return text;
    std::string known;
    for (const auto& n : registry.names()) known += (known.empty() ? "" : ", ") + n;
    for (const char* u : kUnsupportedTaskTypes)
      MTDNN_INPUT_CHECK(text != u, "{}: task_type '{}' is an mt-dnn task type that mtdnn does not support; "
                        "supported: {}", where(node), text, known);
    throw InputError(fmt::format("{}: unknown task_type '{}'; expected one of: {}", where(node), text, known));
  }

  void pretrain_options(const YAML::Node& node, PretrainOptions* p) const {
    if (node["mask_prob"]) p->mask_prob = real(node["mask_prob"], "mask_prob");
    if (node["max_predictions_per_seq"])
      p->max_predictions = integer(node["max_predictions_per_seq"], "max_predictions_per_seq");
    if (node["whole_word_mask"]) p->whole_word = boolean(node["whole_word_mask"], "whole_word_mask");
    if (node["next_sentence"]) p->next_sentence = boolean(node["next_sentence"], "next_sentence");
    if (node["short_seq_prob"]) p->short_seq_prob = real(node["short_seq_prob"], "short_seq_prob");
    if (node["dev_fraction"]) p->dev_fraction = real(node["dev_fraction"], "dev_fraction");
    MTDNN_INPUT_CHECK(p->mask_prob > 0, "{}: mask_prob must be in (0, 1)", where(node));
    MTDNN_INPUT_CHECK(p->max_predictions >= 1, "{}: max_predictions_per_seq must be at least 1", where(node));
  }

  TaskDef task(const std::string& name, const YAML::Node& node) const {
    MTDNN_INPUT_CHECK(name.find('_') == std::string::npos,
                      "{}: task name '{}' contains '_'; mt-dnn file names use '_' to separate "
                      "task and split, so rename it (e.g. '{}')", where(node), name,
                      [&] { std::string s = name; s.erase(std::remove(s.begin(), s.end(), '_'), s.end()); return s; }());
    MTDNN_INPUT_CHECK(!name.empty(), "{}: empty task name", where(node));
    MTDNN_INPUT_CHECK(node.IsMap(), "{}: task '{}' must be a mapping of keys", where(node), name);
    for (const auto& kv : node) {
      std::string key = kv.first.as<std::string>();
      for (const auto& u : kUnimplementedKeys)
        MTDNN_INPUT_CHECK(key != u.key, "{}: task '{}' sets '{}': {}. Remove the key", where(kv.first), name, key,
                          u.reason);
      bool known = std::any_of(std::begin(kKeys), std::end(kKeys), [&](const char* k) { return key == k; });
      MTDNN_INPUT_CHECK(known, "{}: unknown key '{}' in task '{}'; known keys: {}",
                        where(kv.first), key, name, join_names(kKeys));
    }
    TaskDef t;
    t.name = name;
    auto required = [&](const char* key) {
      MTDNN_INPUT_CHECK(node[key], "{}: task '{}' lacks the required key '{}'", where(node), name, key);
      return node[key];
    };
    t.task_type = task_type(required("task_type"));
    const task_kinds::TaskKind& kind = *task_kinds::builtin_task_kinds().find(t.task_type);
    t.data_format = DataFormat(enum_value(required("data_format"), "data_format", kDataFormats));
    t.n_class = integer(required("n_class"), "n_class");
    if (node["labels"]) t.labels = list(node["labels"], "labels");
    if (node["metric_meta"])
      for (const auto& m : node["metric_meta"])
        t.metric_meta.push_back(Metric(enum_value(m, "metric_meta", kMetrics)));
    const std::string default_loss(kind.loss());
    t.loss = node["loss"] ? one_of(node["loss"], "loss", kLosses) : default_loss;
    if (node["dropout_p"]) t.dropout_p = real(node["dropout_p"], "dropout_p");
    if (node["enable_san"]) t.enable_san = boolean(node["enable_san"], "enable_san");
    t.split_names = node["split_names"] ? list(node["split_names"], "split_names")
                                        : std::vector<std::string>{"train", "dev", "test"};

    if (t.task_type == "MaskLM") {
      t.split_names = node["split_names"] ? t.split_names : std::vector<std::string>{"train", "dev"};
      pretrain_options(node, &t.pretrain);
    } else {
      for (const char* key : kPretrainKeys)
        MTDNN_INPUT_CHECK(!node[key], "{}: '{}' is a MaskLM key; task '{}' is {}", where(node[key]), key, name,
                          t.task_type);
    }

    // Consistency between keys: the generic ones here, the kind's own in its check().
    MTDNN_INPUT_CHECK(t.loss == default_loss, "{}: task '{}' of type {} needs loss {}, not {}",
                      where(node), name, t.task_type, default_loss, t.loss);
    const auto formats = kind.data_formats();
    if (std::find(formats.begin(), formats.end(), t.data_format) == formats.end()) {
      std::string allowed;
      for (DataFormat f : formats) allowed += (allowed.empty() ? "" : ", ") + std::string(to_string(f));
      throw InputError(fmt::format("{}: task '{}': task_type {} reads data_format {}, not {}", where(node), name,
                                   t.task_type, allowed, to_string(t.data_format)));
    }
    if (!t.labels.empty()) {
      MTDNN_INPUT_CHECK(static_cast<int>(t.labels.size()) == t.n_class,
                        "{}: task '{}' has {} labels but n_class: {}", where(node["labels"]), name,
                        t.labels.size(), t.n_class);
      std::set<std::string> seen;
      for (const auto& l : t.labels)
        MTDNN_INPUT_CHECK(seen.insert(l).second, "{}: task '{}' lists label '{}' twice",
                          where(node["labels"]), name, l);
    }
    kind.check(t, fmt::format("{}: task '{}'", where(node), name));
    MTDNN_INPUT_CHECK(!t.split_names.empty(), "{}: task '{}' has no split_names", where(node), name);
    std::set<std::string> splits;
    for (const auto& s : t.split_names) {
      MTDNN_INPUT_CHECK(!s.empty() && s.find('/') == std::string::npos && s.find('-') == std::string::npos,
                        "{}: task '{}': split name '{}' must be non-empty without '/' or '-'",
                        where(node), name, s);
      MTDNN_INPUT_CHECK(splits.insert(s).second, "{}: task '{}' lists split '{}' twice", where(node), name, s);
    }
    return t;
  }

 private:
  std::string origin_;
};

}  // namespace

const char* to_string(DataFormat f) { return name_of(kDataFormats, int(f)); }
const char* to_string(Metric m) { return name_of(kMetrics, int(m)); }

int TaskDef::label_id(std::string_view text) const {
  if (!labels.empty()) {
    for (size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == text) return static_cast<int>(i);
    return -1;
  }
  if (text.empty() || text.size() > 6) return -1;
  int v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v < n_class ? v : -1;
}

std::string TaskDef::label_text(int id) const {
  return labels.empty() ? std::to_string(id) : labels.at(static_cast<size_t>(id));
}

bool TaskDef::split_has_labels(std::string_view split) {
  return split.find("test") == std::string_view::npos;
}

nlohmann::json TaskDef::to_json() const {
  nlohmann::json j;
  j["name"] = name;
  j["task_type"] = task_type;
  j["data_format"] = to_string(data_format);
  j["n_class"] = n_class;
  j["labels"] = labels;
  std::vector<std::string> metrics;
  for (Metric m : metric_meta) metrics.push_back(to_string(m));
  j["metric_meta"] = metrics;
  j["loss"] = loss;
  j["dropout_p"] = dropout_p ? nlohmann::json(*dropout_p) : nlohmann::json(nullptr);
  j["enable_san"] = enable_san;
  j["split_names"] = split_names;
  if (task_type == "MaskLM")
    j["pretrain"] = {{"mask_prob", pretrain.mask_prob},         {"max_predictions_per_seq", pretrain.max_predictions},
                     {"whole_word_mask", pretrain.whole_word},  {"next_sentence", pretrain.next_sentence},
                     {"short_seq_prob", pretrain.short_seq_prob}, {"dev_fraction", pretrain.dev_fraction}};
  return j;
}

TaskDef TaskDef::from_json(const nlohmann::json& j) {
  // Re-validated through the YAML path so both forms obey the same rules.
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << j.at("name").get<std::string>() << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "task_type" << YAML::Value << j.at("task_type").get<std::string>();
  out << YAML::Key << "data_format" << YAML::Value << j.at("data_format").get<std::string>();
  out << YAML::Key << "n_class" << YAML::Value << j.at("n_class").get<int>();
  if (!j.at("labels").empty()) {
    out << YAML::Key << "labels" << YAML::Value << YAML::BeginSeq;
    for (const auto& l : j.at("labels")) out << YAML::DoubleQuoted << l.get<std::string>();
    out << YAML::EndSeq;
  }
  out << YAML::Key << "metric_meta" << YAML::Value << YAML::BeginSeq;
  for (const auto& m : j.at("metric_meta")) out << m.get<std::string>();
  out << YAML::EndSeq;
  out << YAML::Key << "loss" << YAML::Value << j.at("loss").get<std::string>();
  if (!j.at("dropout_p").is_null())
    out << YAML::Key << "dropout_p" << YAML::Value << fmt::format("{}", j.at("dropout_p").get<double>());
  out << YAML::Key << "enable_san" << YAML::Value << j.at("enable_san").get<bool>();
  out << YAML::Key << "split_names" << YAML::Value << YAML::BeginSeq;
  for (const auto& s : j.at("split_names")) out << s.get<std::string>();
  out << YAML::EndSeq;
  if (j.contains("pretrain"))
    for (const auto& [key, value] : j.at("pretrain").items()) out << YAML::Key << key << YAML::Value << value.dump();
  out << YAML::EndMap << YAML::EndMap;
  auto tasks = parse_task_defs(out.c_str(), "<stored task definition>");
  return tasks.at(0);
}

std::vector<TaskDef> parse_task_defs(const std::string& yaml_text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw InputError(fmt::format("{}:{}: invalid YAML: {}", origin, e.mark.line + 1, e.msg));
  }
  MTDNN_INPUT_CHECK(root.IsMap(), "{}: a task definition file is a mapping from task names to "
                    "their definitions", origin);
  Parser parser(origin);
  std::vector<TaskDef> tasks;
  std::set<std::string> names;
  for (const auto& kv : root) {
    std::string name = kv.first.as<std::string>();
    MTDNN_INPUT_CHECK(names.insert(name).second, "{}: task '{}' defined twice", parser.where(kv.first), name);
    tasks.push_back(parser.task(name, kv.second));
  }
  MTDNN_INPUT_CHECK(!tasks.empty(), "{}: no tasks defined", origin);
  return tasks;
}

std::vector<TaskDef> load_task_defs(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MTDNN_INPUT_CHECK(in.good(), "{}: cannot open task definition file", path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_task_defs(text, path);
}

std::vector<TaskDef> select_tasks(const std::vector<TaskDef>& all,
                                  const std::vector<std::string>& names,
                                  const std::string& origin) {
  if (names.empty()) return all;
  std::vector<TaskDef> out;
  for (const auto& n : names) {
    auto it = std::find_if(all.begin(), all.end(), [&](const TaskDef& t) { return t.name == n; });
    if (it == all.end()) {
      std::string known;
      for (const auto& t : all) known += (known.empty() ? "" : ", ") + t.name;
      throw InputError(fmt::format("task '{}' is not defined in {}; defined tasks: {}", n, origin, known));
    }
    out.push_back(*it);
  }
  return out;
}

}  // namespace mtdnn
