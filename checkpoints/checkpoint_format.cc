// Checkpoint names, meta.json, the state.safetensors layout and root listing (see
// checkpoint_format.h).
#include "checkpoints/checkpoint_format.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/json_util.h"

namespace mtdnn::checkpoints {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kFolderPrefix = "ckpt-";

// Bytes per element of a safetensors dtype; 0 when unknown.
int dtype_size_of(const std::string& dtype) {
  const tensor_io::SafetensorsDtype* d = tensor_io::find_safetensors_dtype(dtype);
  return d ? d->size : 0;
}

bool is_hex_digest(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

template <typename T>
T get_field(const json& j, const char* key, const std::string& where) {
  MTDNN_INPUT_CHECK(j.contains(key), "{}: missing key '{}'", where, key);
  try {
    return j.at(key).get<T>();
  } catch (const json::exception& e) {
    throw InputError(fmt::format("{}: key '{}' has the wrong type: {}", where, key, e.what()));
  }
}

}  // namespace

std::string checkpoint_folder_name(int64_t step) {
  MTDNN_CHECK(step >= 0, "negative step {}", step);
  return kFolderPrefix + std::to_string(step);
}

std::optional<int64_t> parse_checkpoint_folder_name(const std::string& name) {
  const size_t n = std::strlen(kFolderPrefix);
  if (name.size() <= n || name.compare(0, n, kFolderPrefix) != 0) return std::nullopt;
  const std::string digits = name.substr(n);
  if (digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  if (digits.size() > 1 && digits[0] == '0') return std::nullopt;  // one spelling per step
  return std::stoll(digits);
}

json manifest_to_json(const Manifest& m) {
  json tensors = json::object();
  for (const auto& [name, r] : m.tensors) {
    tensors[name] = {{"dtype", r.dtype},
                     {"shape", r.shape},
                     {"data_offsets", {r.begin, r.end}},
                     {"sha256", r.sha256}};
  }
  return json{{"format", kFormatName},
              {"format_version", m.format_version},
              {"step", m.step},
              {"created_utc", m.created_utc},
              {"writer", m.writer},
              {"state",
               {{"file", kStateFile},
                {"bytes", m.state_bytes},
                {"header_bytes", m.header_bytes},
                {"tensor_count", m.tensors.size()}}},
              {"tensors", std::move(tensors)},
              {"meta", m.meta}};
}

Manifest parse_manifest(const std::string& text, const std::string& where) {
  const json j = parse_json_object(text, where);
  const auto format = get_field<std::string>(j, "format", where);
  MTDNN_INPUT_CHECK(format == kFormatName, "{}: format is '{}', expected '{}'", where, format,
                    kFormatName);
  Manifest m;
  m.format_version = get_field<int>(j, "format_version", where);
  MTDNN_INPUT_CHECK(m.format_version >= 1 && m.format_version <= kFormatVersion,
                    "{}: format_version {} is not supported (this build reads 1..{}); a newer "
                    "mtdnn wrote it",
                    where, m.format_version, kFormatVersion);
  m.step = get_field<int64_t>(j, "step", where);
  MTDNN_INPUT_CHECK(m.step >= 0, "{}: negative step {}", where, m.step);
  m.created_utc = j.value("created_utc", "");
  m.writer = j.value("writer", json::object());
  const json state = get_field<json>(j, "state", where);
  MTDNN_INPUT_CHECK(state.is_object(), "{}: 'state' must be an object", where);
  const auto file = get_field<std::string>(state, "file", where + ": state");
  MTDNN_INPUT_CHECK(file == kStateFile, "{}: state file is '{}', expected '{}'", where, file,
                    kStateFile);
  m.state_bytes = get_field<uint64_t>(state, "bytes", where + ": state");
  m.header_bytes = get_field<uint64_t>(state, "header_bytes", where + ": state");
  const auto count = get_field<uint64_t>(state, "tensor_count", where + ": state");
  MTDNN_INPUT_CHECK(m.header_bytes >= 8 && m.header_bytes <= m.state_bytes,
                    "{}: header_bytes {} does not fit a {}-byte state file", where, m.header_bytes,
                    m.state_bytes);
  const json tensors = get_field<json>(j, "tensors", where);
  MTDNN_INPUT_CHECK(tensors.is_object(), "{}: 'tensors' must be an object", where);
  for (const auto& [name, value] : tensors.items()) {
    const std::string twhere = fmt::format("{}: tensor '{}'", where, name);
    TensorRecord r{tensor_io::parse_safetensors_entry(value, twhere), ""};
    MTDNN_INPUT_CHECK(value.contains("sha256") && value["sha256"].is_string() &&
                          is_hex_digest(value["sha256"].get<std::string>()),
                      "{}: sha256 must be 64 lower-case hex digits", twhere);
    r.sha256 = value["sha256"].get<std::string>();
    m.tensors.emplace(name, std::move(r));
  }
  MTDNN_INPUT_CHECK(m.tensors.size() == count, "{}: tensor_count says {} but {} tensors are listed",
                    where, count, m.tensors.size());
  tensor_io::check_safetensors_tiling(m.tensors, m.state_bytes - m.header_bytes, where);
  m.meta = get_field<json>(j, "meta", where);
  MTDNN_INPUT_CHECK(m.meta.is_object(), "{}: 'meta' must be an object", where);
  return m;
}

StateLayout plan_state_layout(const std::map<std::string, TensorShape>& tensors, int64_t step) {
  StateLayout layout;
  for (const auto& kv : tensors) layout.order.push_back(kv.first);
  std::stable_sort(layout.order.begin(), layout.order.end(),
                   [&](const std::string& a, const std::string& b) {
                     return dtype_size_of(tensors.at(a).dtype) > dtype_size_of(tensors.at(b).dtype);
                   });
  json meta = {{"format", "pt"},
               {"mtdnn_format", kFormatName},
               {"mtdnn_format_version", std::to_string(kFormatVersion)},
               {"mtdnn_step", std::to_string(step)}};
  std::string header = "{\"__metadata__\":" + meta.dump();
  uint64_t offset = 0;
  for (const auto& name : layout.order) {
    const TensorShape& t = tensors.at(name);
    const int size = dtype_size_of(t.dtype);
    MTDNN_CHECK(size > 0, "tensor '{}': unknown dtype '{}'", name, t.dtype);
    MTDNN_CHECK(name != "__metadata__" && !name.empty(), "bad tensor name '{}'", name);
    uint64_t numel = 1;
    for (int64_t d : t.shape) numel *= static_cast<uint64_t>(d);
    TensorRecord r{{t.dtype, t.shape, offset, offset + numel * size}, ""};
    header += "," + json(name).dump() + ":{\"dtype\":\"" + t.dtype + "\",\"shape\":" +
              json(t.shape).dump() + ",\"data_offsets\":[" + std::to_string(r.begin) + "," +
              std::to_string(r.end) + "]}";
    offset = r.end;
    layout.records.emplace(name, std::move(r));
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');
  const uint64_t len = header.size();
  layout.header.assign(reinterpret_cast<const char*>(&len), 8);  // little-endian host
  layout.header += header;
  layout.data_bytes = offset;
  return layout;
}

std::vector<CheckpointRef> list_checkpoints(const std::string& root) {
  std::vector<CheckpointRef> out;
  std::error_code ec;
  fs::directory_iterator it(root, ec);
  if (ec) return out;
  for (const auto& entry : it) {
    auto step = parse_checkpoint_folder_name(entry.path().filename().string());
    if (step && entry.is_directory(ec)) out.push_back({entry.path().string(), *step});
  }
  std::sort(out.begin(), out.end(),
            [](const CheckpointRef& a, const CheckpointRef& b) { return a.step < b.step; });
  return out;
}

LatestPointer read_latest_pointer(const std::string& root) {
  LatestPointer p;
  const fs::path path = fs::path(root) / kLatestFile;
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) return p;
  p.present = true;
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  if (!parse_checkpoint_folder_name(s)) {
    p.problem = fmt::format("{}: holds '{}', not a checkpoint folder name (ckpt-<step>)",
                            path.string(), s.substr(0, 80));
    return p;
  }
  p.target = s;
  return p;
}

std::string utc_timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace mtdnn::checkpoints
