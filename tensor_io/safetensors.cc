// safetensors reading (mmap + from_blob) and writing (reference byte layout); see
// safetensors.h for the format.
#include "tensor_io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common/error.h"

namespace mtdnn::tensor_io {
namespace {

using nlohmann::json;

// The reference reader refuses headers above 100 MB; so do we.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// A dtype with its torch scalar type; size and write order come from the header's table.
struct DtypeInfo {
  const char* name;
  torch::ScalarType type;
  int size;
  int rank;
};

const std::vector<DtypeInfo>& dtypes() {
  static const std::vector<DtypeInfo> all = [] {
    const std::pair<const char*, torch::ScalarType> types[] = {
        {"BOOL", torch::kBool}, {"U8", torch::kUInt8},     {"I8", torch::kInt8},  {"I16", torch::kInt16},
        {"F16", torch::kHalf},  {"BF16", torch::kBFloat16}, {"I32", torch::kInt32}, {"F32", torch::kFloat},
        {"F64", torch::kDouble}, {"I64", torch::kLong}};
    std::vector<DtypeInfo> out;
    for (const auto& [name, type] : types) {
      const SafetensorsDtype* d = find_safetensors_dtype(name);
      out.push_back({name, type, d->size, d->rank});
    }
    return out;
  }();
  return all;
}

const DtypeInfo* find_dtype(const std::string& name) {
  for (const auto& d : dtypes())
    if (name == d.name) return &d;
  return nullptr;
}

const DtypeInfo& dtype_of(torch::ScalarType type) {
  for (const auto& d : dtypes())
    if (d.type == type) return d;
  throw Error(fmt::format("safetensors: scalar type {} has no safetensors dtype",
                          c10::toString(type)));
}

}  // namespace

std::string safetensors_dtype_name(torch::ScalarType type) { return dtype_of(type).name; }

torch::ScalarType safetensors_scalar_type(const std::string& dtype, const std::string& where) {
  const DtypeInfo* d = find_dtype(dtype);
  MTDNN_INPUT_CHECK(d != nullptr, "{}: unsupported safetensors dtype '{}'", where, dtype);
  return d->type;
}

struct SafetensorsFile::Mapping {
  void* addr = MAP_FAILED;
  size_t size = 0;
  ~Mapping() {
    if (addr != MAP_FAILED) munmap(addr, size);
  }
};

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors is little-endian");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  MTDNN_INPUT_CHECK(fd >= 0, "{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    throw InputError(fmt::format("{}: cannot stat: {}", path, std::strerror(err)));
  }
  const auto file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    throw InputError(fmt::format("{}: {} bytes is too short for a safetensors file", path,
                                 file_size));
  }
  mapping_ = std::make_shared<Mapping>();
  mapping_->size = file_size;
  // Private and writable: tensors may be modified in place without touching the file.
  mapping_->addr = mmap(nullptr, file_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  int map_err = errno;
  ::close(fd);
  MTDNN_INPUT_CHECK(mapping_->addr != MAP_FAILED, "{}: mmap failed: {}", path,
                    std::strerror(map_err));
  const auto* bytes = static_cast<const uint8_t*>(mapping_->addr);

  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes, 8);
  MTDNN_INPUT_CHECK(header_len <= kMaxHeaderBytes && header_len <= file_size - 8,
                    "{}: header length {} does not fit the file ({} bytes); not a "
                    "safetensors file?",
                    path, header_len, file_size);
  data_ = bytes + 8 + header_len;
  const uint64_t data_size = file_size - 8 - header_len;
  SafetensorsHeader header = parse_safetensors_header(
      std::string(reinterpret_cast<const char*>(bytes) + 8, header_len), path, data_size);
  check_safetensors_tiling(header.entries, data_size, path);
  entries_ = std::move(header.entries);
  metadata_ = std::move(header.metadata);
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& kv : entries_) out.push_back(kv.first);
  return out;
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = entries_.find(name);
  MTDNN_INPUT_CHECK(it != entries_.end(), "{}: no tensor '{}'", path_, name);
  return it->second;
}

torch::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  const DtypeInfo* d = find_dtype(e.dtype);
  auto* ptr = const_cast<uint8_t*>(data_ + e.begin);
  auto options = torch::TensorOptions().dtype(d->type);
  if (reinterpret_cast<uintptr_t>(ptr) % d->size != 0) {
    // Misaligned (a file not written by the reference layout): copy to aligned memory.
    auto out = torch::empty(e.shape, options);
    std::memcpy(out.data_ptr(), ptr, e.end - e.begin);
    return out;
  }
  auto keep = mapping_;  // the deleter keeps the mapping alive as long as the tensor
  return torch::from_blob(
      ptr, e.shape, [keep](void*) mutable { keep.reset(); }, options);
}

std::vector<std::pair<std::string, torch::Tensor>> read_safetensors(const std::string& path) {
  SafetensorsFile file(path);
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& name : file.names()) out.emplace_back(name, file.tensor(name));
  return out;
}

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  struct Item {
    const std::string* name;
    torch::Tensor data;  // contiguous CPU
    const DtypeInfo* dtype;
  };
  std::vector<Item> items;
  std::set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    MTDNN_CHECK(seen.insert(name).second, "{}: tensor '{}' given twice", path, name);
    MTDNN_CHECK(name != "__metadata__", "{}: '__metadata__' is not a tensor name", path);
    MTDNN_CHECK(t.defined(), "{}: tensor '{}' is undefined", path, name);
    items.push_back({&name, t.detach().to(torch::kCPU).contiguous(), &dtype_of(t.scalar_type())});
  }
  // The reference layout: larger alignment first, then by name.
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    if (a.dtype->rank != b.dtype->rank) return a.dtype->rank > b.dtype->rank;
    return *a.name < *b.name;
  });

  std::string header = "{";
  if (!metadata.empty()) header += "\"__metadata__\":" + json(metadata).dump() + ",";
  uint64_t offset = 0;
  for (const auto& item : items) {
    const uint64_t nbytes = item.data.numel() * item.dtype->size;
    header += json(*item.name).dump() + ":{\"dtype\":\"" + item.dtype->name + "\",\"shape\":" +
              json(item.data.sizes().vec()).dump() + ",\"data_offsets\":[" +
              std::to_string(offset) + "," + std::to_string(offset + nbytes) + "]},";
    offset += nbytes;
  }
  if (header.back() == ',') header.pop_back();
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');

  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  MTDNN_INPUT_CHECK(f != nullptr, "{}: cannot create: {}", tmp, std::strerror(errno));
  const uint64_t header_len = header.size();
  bool ok = std::fwrite(&header_len, 8, 1, f) == 1 &&
            std::fwrite(header.data(), 1, header.size(), f) == header.size();
  for (const auto& item : items) {
    const size_t nbytes = item.data.numel() * item.dtype->size;
    if (ok && nbytes > 0) ok = std::fwrite(item.data.data_ptr(), 1, nbytes, f) == nbytes;
  }
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    throw SystemError(fmt::format("{}: write failed: {}", tmp, std::strerror(errno)));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw SystemError(fmt::format("{}: rename to {} failed: {}", tmp, path, ec.message()));
}

}  // namespace mtdnn::tensor_io
