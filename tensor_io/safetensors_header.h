// The header of the safetensors format, without LibTorch: dtypes, one entry's checks, the
// tiling of the data section and the header JSON. The file reader (safetensors.h) and the
// checkpoint format (checkpoints/checkpoint_format.h) both read headers through it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace mtdnn::tensor_io {

struct SafetensorsEntry {
  std::string dtype;           // "F32", "BF16", "I64", ...
  std::vector<int64_t> shape;  // empty for a scalar
  uint64_t begin = 0;          // byte range in the data section
  uint64_t end = 0;
};

// A dtype of the format: bytes per element, and its rank in the reference's Dtype enum
// (the reference writes tensors by that rank, largest first).
struct SafetensorsDtype {
  const char* name;
  int size;
  int rank;
};
// nullptr for a dtype this project does not know.
const SafetensorsDtype* find_safetensors_dtype(const std::string& name);

// One entry {"dtype", "shape", "data_offsets"}: a known dtype, non-negative dimensions and a
// byte range that is the shape's size (within `data_bytes` when given, checked first).
// InputError prefixed by `where`.
SafetensorsEntry parse_safetensors_entry(const nlohmann::json& value, const std::string& where,
                                         std::optional<uint64_t> data_bytes = std::nullopt);

// The byte ranges (name, begin, end) must tile [0, data_bytes): no gap, no overlap, nothing
// left over. InputError naming `where` and the first tensor out of place.
void check_safetensors_tiling(std::vector<std::pair<std::string, std::pair<uint64_t, uint64_t>>> ranges,
                              uint64_t data_bytes, const std::string& where);
template <typename Entry>
void check_safetensors_tiling(const std::map<std::string, Entry>& entries, uint64_t data_bytes,
                              const std::string& where) {
  std::vector<std::pair<std::string, std::pair<uint64_t, uint64_t>>> ranges;
  for (const auto& [name, e] : entries) ranges.push_back({name, {e.begin, e.end}});
  check_safetensors_tiling(std::move(ranges), data_bytes, where);
}

struct SafetensorsHeader {
  std::map<std::string, SafetensorsEntry> entries;
  std::map<std::string, std::string> metadata;  // "__metadata__"
};
// A header's JSON (a JSON object of entries plus "__metadata__" of strings), every entry
// checked as parse_safetensors_entry does. InputError naming `where`.
SafetensorsHeader parse_safetensors_header(const std::string& json_text, const std::string& where,
                                           std::optional<uint64_t> data_bytes = std::nullopt);

}  // namespace mtdnn::tensor_io
