// The safetensors file format (Hugging Face's `model.safetensors`): reading through a
// memory map with zero-copy tensors, and writing byte-for-byte as the reference Rust
// implementation does. Layout: u64 little-endian header length N, N bytes of JSON header
// ({"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}}),
// padded with spaces to a multiple of 8, then the tensor bytes (offsets relative to them).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "tensor_io/safetensors_header.h"

namespace mtdnn::tensor_io {


// A safetensors file opened read-only. Tensors returned by tensor() alias the mapping
// (copy-on-write, so writing to them never changes the file) and keep it alive.
class SafetensorsFile {
 public:
  // Maps and validates the file: header JSON, dtypes, shapes against byte sizes, and that
  // the tensors tile the data section exactly (as the reference reader requires).
  // Throws InputError naming the file (and the tensor) on any violation.
  // Copies share the mapping, which lives as long as any copy or returned tensor does.
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  const SafetensorsEntry& entry(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // The tensor `name` without a copy when its bytes are aligned for its dtype (a copy
  // otherwise). Throws InputError naming file and tensor when absent.
  torch::Tensor tensor(const std::string& name) const;

 private:
  struct Mapping;
  std::string path_;
  std::shared_ptr<Mapping> mapping_;
  const uint8_t* data_ = nullptr;  // start of the data section
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Reads every tensor of a file (zero-copy views), in name order.
std::vector<std::pair<std::string, torch::Tensor>> read_safetensors(const std::string& path);

// Writes tensors (any device and layout; copied to contiguous CPU memory as needed) in the
// reference implementation's layout: tensors ordered by dtype alignment (largest first)
// then name, header entries in that order after "__metadata__", compact JSON, header
// padded with spaces to a multiple of 8. The file is written under a temporary name and
// renamed into place. Duplicate names are an Error.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// dtype names <-> torch scalar types (F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL).
std::string safetensors_dtype_name(torch::ScalarType type);
torch::ScalarType safetensors_scalar_type(const std::string& dtype, const std::string& where);

}  // namespace mtdnn::tensor_io
