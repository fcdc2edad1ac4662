// The safetensors header (see safetensors_header.h).
#include "tensor_io/safetensors_header.h"

#include <algorithm>

#include "common/error.h"
#include "common/json_util.h"

namespace mtdnn::tensor_io {
namespace {

// In the order of the reference's `Dtype` enum.
constexpr SafetensorsDtype kDtypes[] = {
    {"BOOL", 1, 0}, {"U8", 1, 1},   {"I8", 1, 2},   {"I16", 2, 5},  {"F16", 2, 7},
    {"BF16", 2, 8}, {"I32", 4, 9},  {"F32", 4, 11}, {"F64", 8, 12}, {"I64", 8, 13},
};

}  // namespace

const SafetensorsDtype* find_safetensors_dtype(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

SafetensorsEntry parse_safetensors_entry(const nlohmann::json& value, const std::string& where,
                                         std::optional<uint64_t> data_bytes) {
  MTDNN_INPUT_CHECK(value.is_object() && value.contains("dtype") && value.contains("shape") &&
                        value.contains("data_offsets"),
                    "{}: entry must hold dtype, shape and data_offsets", where);
  SafetensorsEntry e;
  MTDNN_INPUT_CHECK(value["dtype"].is_string(), "{}: dtype must be a string", where);
  e.dtype = value["dtype"].get<std::string>();
  const SafetensorsDtype* d = find_safetensors_dtype(e.dtype);
  MTDNN_INPUT_CHECK(d != nullptr, "{}: unsupported dtype '{}'", where, e.dtype);
  MTDNN_INPUT_CHECK(value["shape"].is_array(), "{}: shape must be an array", where);
  uint64_t numel = 1;
  for (const auto& dim : value["shape"]) {
    MTDNN_INPUT_CHECK(dim.is_number_unsigned(), "{}: shape holds a bad dimension {}", where, dim.dump());
    e.shape.push_back(dim.get<int64_t>());
    numel *= dim.get<uint64_t>();
  }
  const auto& off = value["data_offsets"];
  MTDNN_INPUT_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(),
                    "{}: data_offsets must be two non-negative integers", where);
  e.begin = off[0].get<uint64_t>();
  e.end = off[1].get<uint64_t>();
  MTDNN_INPUT_CHECK(e.begin <= e.end && (!data_bytes || e.end <= *data_bytes),
                    "{}: data_offsets [{}, {}] fall outside the {} data bytes", where, e.begin, e.end,
                    data_bytes ? fmt::format("{}", *data_bytes) : "available");
  MTDNN_INPUT_CHECK(e.end - e.begin == numel * static_cast<uint64_t>(d->size),
                    "{}: shape {} of {} needs {} bytes but data_offsets span [{}, {})", where,
                    value["shape"].dump(), e.dtype, numel * d->size, e.begin, e.end);
  return e;
}

void check_safetensors_tiling(std::vector<std::pair<std::string, std::pair<uint64_t, uint64_t>>> ranges,
                              uint64_t data_bytes, const std::string& where) {
  std::sort(ranges.begin(), ranges.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  uint64_t expected = 0;
  for (const auto& [name, range] : ranges) {
    if (range.first == range.second && range.first <= expected) continue;  // empty tensors take no bytes
    MTDNN_INPUT_CHECK(range.first == expected,
                      "{}: tensor '{}' starts at byte {} of the data section, expected {} (overlapping or "
                      "non-contiguous tensors)",
                      where, name, range.first, expected);
    expected = range.second;
  }
  MTDNN_INPUT_CHECK(expected == data_bytes,
                    "{}: tensors cover {} bytes but the data section holds {} (truncated or trailing bytes)", where,
                    expected, data_bytes);
}

SafetensorsHeader parse_safetensors_header(const std::string& json_text, const std::string& where,
                                           std::optional<uint64_t> data_bytes) {
  const nlohmann::json j = parse_json_object(json_text, where + ": header");
  SafetensorsHeader h;
  for (const auto& [name, value] : j.items()) {
    if (name == "__metadata__") {
      MTDNN_INPUT_CHECK(value.is_object(), "{}: __metadata__ must be an object", where);
      for (const auto& [k, v] : value.items()) {
        MTDNN_INPUT_CHECK(v.is_string(), "{}: __metadata__ value of '{}' must be a string", where, k);
        h.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    h.entries.emplace(name, parse_safetensors_entry(value, fmt::format("{}: tensor '{}'", where, name), data_bytes));
  }
  return h;
}

}  // namespace mtdnn::tensor_io
