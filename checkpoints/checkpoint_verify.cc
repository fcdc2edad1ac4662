// Checkpoint validation (see checkpoint_verify.h).
#include "checkpoints/checkpoint_verify.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/sha256.h"

namespace mtdnn::checkpoints {
namespace {

namespace fs = std::filesystem;

constexpr size_t kReadChunk = size_t{16} << 20;

std::optional<std::string> slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) return std::nullopt;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Reads exactly `size` bytes at `offset`; false on a short read or an error.
bool pread_all(int fd, void* buf, size_t size, uint64_t offset) {
  auto* p = static_cast<char*>(buf);
  while (size > 0) {
    ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

std::string describe(const tensor_io::SafetensorsEntry& r) {
  return fmt::format("{} {} [{}, {})", r.dtype, nlohmann::json(r.shape).dump(), r.begin, r.end);
}

// Compares the state file's header with meta.json and, at kChecksums, hashes each tensor.
void check_state_file(const std::string& path, const Manifest& m, VerifyLevel level,
                      std::vector<std::string>& problems) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    problems.push_back(fmt::format("{}: missing or unreadable: {}", path, std::strerror(errno)));
    return;
  }
  struct stat st {};
  if (fstat(f.fd, &st) != 0) {
    problems.push_back(fmt::format("{}: cannot stat: {}", path, std::strerror(errno)));
    return;
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size != m.state_bytes)
    problems.push_back(fmt::format("{}: {} bytes, meta.json records {} ({})", path, size,
                                   m.state_bytes, size < m.state_bytes ? "truncated" : "trailing bytes"));

  uint64_t header_len = 0;
  if (size < 8 || !pread_all(f.fd, &header_len, 8, 0) || 8 + header_len != m.header_bytes ||
      m.header_bytes > size) {
    problems.push_back(fmt::format("{}: safetensors header length does not match meta.json's "
                                   "header_bytes {}",
                                   path, m.header_bytes));
    return;
  }
  std::string header(header_len, '\0');
  if (!pread_all(f.fd, header.data(), header_len, 8)) {
    problems.push_back(fmt::format("{}: cannot read the header", path));
    return;
  }
  std::map<std::string, tensor_io::SafetensorsEntry> entries;
  try {
    entries = tensor_io::parse_safetensors_header(header, path).entries;
  } catch (const InputError& e) {
    problems.push_back(e.what());
    return;
  }
  for (const auto& [name, r] : m.tensors) {
    auto it = entries.find(name);
    if (it == entries.end()) {
      problems.push_back(fmt::format("{}: tensor '{}' listed in meta.json is missing", path, name));
      continue;
    }
    const tensor_io::SafetensorsEntry& h = it->second;
    if (h.dtype != r.dtype || h.shape != r.shape || h.begin != r.begin || h.end != r.end)
      problems.push_back(fmt::format("{}: tensor '{}' is {} in the header but {} in meta.json",
                                     path, name, describe(h), describe(r)));
  }
  for (const auto& [name, h] : entries)
    if (!m.tensors.count(name))
      problems.push_back(fmt::format("{}: unexpected tensor '{}' (not in meta.json)", path, name));
  if (level != VerifyLevel::kChecksums) return;

  std::vector<const std::pair<const std::string, TensorRecord>*> by_offset;
  for (const auto& kv : m.tensors) by_offset.push_back(&kv);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const auto* a, const auto* b) { return a->second.begin < b->second.begin; });
  std::vector<char> buf(kReadChunk);
  for (const auto* kv : by_offset) {
    const auto& [name, r] = *kv;
    const uint64_t begin = m.header_bytes + r.begin, end = m.header_bytes + r.end;
    if (end > size) {
      problems.push_back(fmt::format("{}: tensor '{}': bytes [{}, {}) lie past the end of the "
                                     "{}-byte file (truncated)",
                                     path, name, begin, end, size));
      continue;
    }
    Sha256 h;
    bool read_ok = true;
    for (uint64_t at = begin; at < end && read_ok;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kReadChunk, end - at));
      read_ok = pread_all(f.fd, buf.data(), n, at);
      h.update(buf.data(), n);
      at += n;
    }
    if (!read_ok) {
      problems.push_back(fmt::format("{}: tensor '{}': read error: {}", path, name, std::strerror(errno)));
      continue;
    }
    const std::string digest = h.hex_digest();
    if (digest != r.sha256)
      problems.push_back(fmt::format("{}: tensor '{}': SHA-256 mismatch (meta.json {}, data {}): "
                                     "the tensor's bytes are corrupted",
                                     path, name, r.sha256.substr(0, 16), digest.substr(0, 16)));
  }
}

}  // namespace

VerifyResult verify_checkpoint(const std::string& path, VerifyLevel level) {
  VerifyResult result;
  auto& problems = result.problems;
  fs::path dir = fs::path(path).lexically_normal();
  if (dir.filename().empty()) dir = dir.parent_path();  // "ckpt-5/"
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    problems.push_back(fmt::format("{}: not a checkpoint folder (missing or not a folder)", path));
    return result;
  }
  const fs::path done_path = dir / kDoneFile, meta_path = dir / kMetaFile;
  auto done = slurp(done_path);
  if (!done) {
    problems.push_back(fmt::format("{}: no {} marker: the save did not finish (incomplete "
                                   "checkpoint)",
                                   path, kDoneFile));
    return result;
  }
  // "<64 hex>  meta.json\n", the format of sha256sum.
  const std::string expected_suffix = std::string("  ") + kMetaFile;
  std::string line = *done;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.size() != 64 + expected_suffix.size() || line.compare(64, std::string::npos, expected_suffix) != 0 ||
      line.substr(0, 64).find_first_not_of("0123456789abcdef") != std::string::npos) {
    problems.push_back(fmt::format("{}: malformed (expected '<sha256>  {}')", done_path.string(), kMetaFile));
    return result;
  }
  auto meta_text = slurp(meta_path);
  if (!meta_text) {
    problems.push_back(fmt::format("{}: missing or unreadable", meta_path.string()));
    return result;
  }
  const std::string digest = sha256_hex(*meta_text);
  if (digest != line.substr(0, 64)) {
    problems.push_back(fmt::format("{}: SHA-256 {} differs from the one in {} ({}): the file was "
                                   "modified or corrupted",
                                   meta_path.string(), digest.substr(0, 16), kDoneFile,
                                   line.substr(0, 16)));
    return result;
  }
  try {
    result.manifest = parse_manifest(*meta_text, meta_path.string());
  } catch (const InputError& e) {
    problems.push_back(e.what());
    return result;
  }
  const Manifest& m = *result.manifest;
  auto folder_step = parse_checkpoint_folder_name(dir.filename().string());
  if (folder_step && *folder_step != m.step)
    problems.push_back(fmt::format("{}: records step {} but the folder is named for step {}",
                                   meta_path.string(), m.step, *folder_step));
  check_state_file((dir / kStateFile).string(), m, level, problems);
  return result;
}

}  // namespace mtdnn::checkpoints
