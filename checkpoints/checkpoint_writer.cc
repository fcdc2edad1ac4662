// Snapshot, background write and commit of checkpoints (see checkpoint_writer.h).
#include "checkpoints/checkpoint_writer.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <ATen/ATen.h>

#include "checkpoints/checkpoint_format.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/sha256.h"
#include "tensor_io/safetensors.h"

namespace mtdnn::checkpoints {
namespace {

namespace fs = std::filesystem;

// Bytes per write() call (a multiple of kDirectAlign): large enough for the disk's full
// bandwidth with O_DIRECT.
constexpr size_t kWritePiece = size_t{32} << 20;
// O_DIRECT needs buffer addresses, file offsets and lengths aligned to the logical block
// size; 4096 covers the disks and parallel file systems in use.
constexpr size_t kDirectAlign = 4096;

void write_all(int fd, const void* data, size_t size, const std::string& path) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw SystemError(fmt::format("{}: write failed: {}", path, std::strerror(n < 0 ? errno : ENOSPC)));
    p += n;
    size -= static_cast<size_t>(n);
  }
}

// An output file inside the temporary folder: created exclusively, fsynced and closed
// by finish(); closed (not synced) when abandoned. With `direct`, writes bypass the page
// cache (O_DIRECT) where the file system allows it: a checkpoint is not read back soon,
// and buffered writes of a few GiB are throttled to disk speed anyway, at a CPU cost.
class OutFile {
 public:
  explicit OutFile(std::string path, bool direct = false) : path_(std::move(path)) {
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
    if (direct) {
      fd_ = ::open(path_.c_str(), flags | O_DIRECT, 0644);
      direct_ = fd_ >= 0;
      if (!direct_ && errno != EINVAL)  // EINVAL: no O_DIRECT here (tmpfs): write buffered
        throw SystemError(fmt::format("{}: cannot create: {}", path_, std::strerror(errno)));
    }
    if (fd_ < 0) fd_ = ::open(path_.c_str(), flags, 0644);
    if (fd_ < 0) throw SystemError(fmt::format("{}: cannot create: {}", path_, std::strerror(errno)));
  }
  ~OutFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool direct() const { return direct_; }
  void write(const void* data, size_t size) { write_all(fd_, data, size, path_); }
  // Back to buffered writes, for a tail that is not a whole block.
  void end_direct() {
    if (!direct_) return;
    const int flags = ::fcntl(fd_, F_GETFL);
    if (flags < 0 || ::fcntl(fd_, F_SETFL, flags & ~O_DIRECT) != 0)
      throw SystemError(fmt::format("{}: cannot leave O_DIRECT: {}", path_, std::strerror(errno)));
    direct_ = false;
  }
  void finish() {
    if (::fsync(fd_) != 0) throw SystemError(fmt::format("{}: fsync failed: {}", path_, std::strerror(errno)));
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) throw SystemError(fmt::format("{}: close failed: {}", path_, std::strerror(errno)));
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool direct_ = false;
};

void write_small_file(const std::string& path, const std::string& content) {
  OutFile f(path);
  f.write(content.data(), content.size());
  f.finish();
}

// Atomically swaps two paths (both exist); false when the file system cannot.
bool exchange_paths(const fs::path& a, const fs::path& b) {
  return ::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0;
}

std::string host_name() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// "the latest checkpoint is still ..." for error messages.
std::string current_checkpoint_note(const std::string& root) {
  const LatestPointer p = read_latest_pointer(root);
  if (!p.present) return fmt::format("no checkpoint of {} was committed before", root);
  if (!p.problem.empty()) return p.problem;
  return fmt::format("{} still names {}, which is intact", (fs::path(root) / kLatestFile).string(),
                     p.target);
}

}  // namespace

// The snapshot of one save: the whole state file as it will be on disk (header, then
// the tensors' bytes at their data offsets), in one block-aligned buffer so that it can be
// written with O_DIRECT. Reused by the next save, which waits for this one anyway.
struct CheckpointWriter::Staging {
  uint8_t* image = nullptr;  // (header_bytes + data_bytes), kDirectAlign-aligned
  size_t capacity = 0;
  StateLayout layout;
  nlohmann::json meta;

  ~Staging() { std::free(image); }
  size_t size() const { return layout.header.size() + layout.data_bytes; }
  uint8_t* data() const { return image + layout.header.size(); }  // the data section
  void reserve(size_t bytes) {
    if (bytes <= capacity) return;
    std::free(image);
    image = nullptr;
    capacity = 0;
    const size_t rounded = (std::max<size_t>(bytes, 1) + kDirectAlign - 1) / kDirectAlign * kDirectAlign;
    image = static_cast<uint8_t*>(std::aligned_alloc(kDirectAlign, rounded));
    if (image == nullptr)
      throw SystemError(fmt::format("cannot allocate a {} MiB checkpoint staging buffer",
                                    rounded >> 20));
    capacity = rounded;
  }
};

CheckpointWriter::CheckpointWriter(CheckpointWriterOptions options)
    : options_(std::move(options)), staging_(std::make_unique<Staging>()) {
  if (!options_.is_writer) return;
  MTDNN_INPUT_CHECK(!options_.root.empty(), "checkpoint root folder is empty");
  std::error_code ec;
  if (!fs::is_directory(options_.root, ec)) {
    fs::create_directories(options_.root, ec);
    if (ec)
      throw SystemError(fmt::format("{}: cannot create the checkpoint folder: {}", options_.root,
                                    ec.message()));
    const fs::path parent = fs::absolute(options_.root).lexically_normal().parent_path();
    fsync_path(parent.string());
  }
  remove_leftovers(options_.root);
}

CheckpointWriter::~CheckpointWriter() {
  if (thread_.joinable()) thread_.join();
  if (error_) {
    try {
      std::rethrow_exception(error_);
    } catch (const std::exception& e) {
      log_info("warning: a checkpoint save failed and nobody called wait(): {}", e.what());
    }
  }
}

void CheckpointWriter::join_previous() {
  if (thread_.joinable()) thread_.join();
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void CheckpointWriter::wait() { join_previous(); }

SaveStats CheckpointWriter::last_completed() const {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  return completed_;
}

SaveStats CheckpointWriter::save(int64_t step, const TrainingState& state) {
  const auto t0 = Clock::now();
  SaveStats stats;
  stats.step = step;
  join_previous();
  stats.wait_previous_s = seconds_since(t0);
  if (!options_.is_writer) return stats;
  MTDNN_CHECK(step >= 0, "checkpoint step must be non-negative, got {}", step);
  MTDNN_CHECK(state.meta.is_object(), "TrainingState::meta must be a JSON object");

  const auto t1 = Clock::now();
  std::map<std::string, TensorShape> shapes;
  for (const auto& [name, t] : state.tensors) {
    MTDNN_CHECK(t.defined(), "tensor '{}' of the training state is undefined", name);
    MTDNN_CHECK(t.layout() == at::kStrided, "tensor '{}' is not dense", name);
    shapes[name] = {tensor_io::safetensors_dtype_name(t.scalar_type()), t.sizes().vec()};
  }
  Staging& s = *staging_;
  s.layout = plan_state_layout(shapes, step);
  s.reserve(s.size());
  std::memcpy(s.image, s.layout.header.data(), s.layout.header.size());
  // The header is a multiple of 8 bytes and the data sorted by element size, so every
  // destination is aligned for its dtype.
  for (const auto& name : s.layout.order) {
    const at::Tensor& t = state.tensors.at(name);
    if (t.numel() == 0) continue;
    at::Tensor dst = at::from_blob(s.data() + s.layout.records.at(name).begin, t.sizes(),
                                   at::TensorOptions().dtype(t.scalar_type()));
    dst.copy_(t.detach());
  }
  s.meta = state.meta;
  stats.snapshot_s = seconds_since(t1);
  stats.bytes = s.size();

  if (options_.async) {
    thread_ = std::thread([this, step, stats] {
      // Below the training threads: a checkpoint may take longer, training should not.
      if (options_.background_nice > 0)
        ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), options_.background_nice);
      try {
        write_and_commit(step, stats);
      } catch (...) {
        error_ = std::current_exception();
      }
    });
  } else {
    write_and_commit(step, stats);
  }
  stats.blocked_s = seconds_since(t0);
  return stats;
}

void CheckpointWriter::write_and_commit(int64_t step, SaveStats stats) {
  const auto t0 = Clock::now();
  const Staging& s = *staging_;
  const fs::path root(options_.root);
  const std::string folder = checkpoint_folder_name(step);
  const std::string tmp_name = kTempPrefix + std::to_string(step) + "-" + std::to_string(::getpid());
  const fs::path tmp = root / tmp_name, final_path = root / folder;
  auto hook = [&](SavePhase phase) {
    if (options_.phase_hook) options_.phase_hook(phase, step);
  };
  auto abandon = [&](const std::exception& e) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw SystemError(fmt::format("checkpoint step {} was not committed: {}; {}", step, e.what(),
                                  current_checkpoint_note(options_.root)));
  };

  try {
    // Steps 1-3: the complete checkpoint under the temporary name.
    std::error_code ec;
    fs::remove_all(tmp, ec);
    fs::create_directory(tmp, ec);
    if (ec) throw SystemError(fmt::format("{}: cannot create: {}", tmp.string(), ec.message()));
    Manifest m;
    m.step = step;
    m.created_utc = utc_timestamp();
    m.writer = {{"program", options_.program}, {"host", host_name()}, {"pid", ::getpid()}};
    m.header_bytes = s.layout.header.size();
    m.state_bytes = m.header_bytes + s.layout.data_bytes;
    m.meta = s.meta;
    {
      // Hash the tensors on a second thread while this one writes the image: the SHA-256
      // pass and the disk overlap instead of adding up.
      std::vector<std::string> digests(s.layout.order.size());
      std::exception_ptr hash_error;
      std::thread hasher([&] {  // inherits the writing thread's nice value
        try {
          for (size_t i = 0; i < s.layout.order.size(); ++i) {
            const TensorRecord& rec = s.layout.records.at(s.layout.order[i]);
            Sha256 hash;
            hash.update(s.data() + rec.begin, rec.end - rec.begin);
            digests[i] = hash.hex_digest();
          }
        } catch (...) {
          hash_error = std::current_exception();
        }
      });
      try {
        OutFile state((tmp / kStateFile).string(), /*direct=*/true);
        const size_t total = s.size();
        const size_t bulk = state.direct() ? total / kDirectAlign * kDirectAlign : total;
        for (size_t at = 0; at < bulk;) {
          const size_t n = std::min(kWritePiece, bulk - at);
          state.write(s.image + at, n);
          at += n;
          if (at == n) hook(SavePhase::kStateWriting);
        }
        state.end_direct();
        if (bulk < total) state.write(s.image + bulk, total - bulk);
        if (bulk == 0) hook(SavePhase::kStateWriting);
        state.finish();
      } catch (...) {
        hasher.join();
        throw;
      }
      hasher.join();
      if (hash_error) std::rethrow_exception(hash_error);
      for (size_t i = 0; i < s.layout.order.size(); ++i) {
        TensorRecord rec = s.layout.records.at(s.layout.order[i]);
        rec.sha256 = digests[i];
        m.tensors.emplace(s.layout.order[i], std::move(rec));
      }
    }
    const std::string meta_text = manifest_to_json(m).dump(1) + "\n";
    write_small_file((tmp / kMetaFile).string(), meta_text);
    write_small_file((tmp / kDoneFile).string(), sha256_hex(meta_text) + "  " + kMetaFile + "\n");
    fsync_path(tmp.string());
    hook(SavePhase::kBeforeRename);

    // Step 4: publish under ckpt-<step>. A folder of the same step (a save after a resume
    // from an earlier checkpoint) is swapped atomically where the file system allows.
    if (fs::exists(final_path, ec)) {
      if (!exchange_paths(tmp, final_path)) {
        const fs::path old = root / (".old-" + folder + "-" + std::to_string(::getpid()));
        fs::rename(final_path, old, ec);
        if (ec) throw SystemError(fmt::format("{}: cannot move aside: {}", final_path.string(), ec.message()));
        fs::rename(tmp, final_path, ec);
        if (ec) throw SystemError(fmt::format("{}: rename failed: {}", final_path.string(), ec.message()));
        fs::remove_all(old, ec);
      }
    } else {
      fs::rename(tmp, final_path, ec);
      if (ec) throw SystemError(fmt::format("{}: rename failed: {}", final_path.string(), ec.message()));
    }
    fsync_path(root.string());
    fs::remove_all(tmp, ec);  // the previous ckpt-<step> after an exchange
    hook(SavePhase::kRenamed);

    // Step 5: move the commit point (rank 0 writes the whole, replicated state).
    write_file_atomic((root / kLatestFile).string(), folder + "\n");
  } catch (const std::exception& e) {
    abandon(e);
  }
  hook(SavePhase::kCommitted);

  // Step 6: retention and clean-up; a failure here leaves extra folders, never a loss.
  try {
    apply_retention(options_.root, options_.retention);
    remove_leftovers(options_.root);
  } catch (const std::exception& e) {
    log_info("warning: checkpoint retention in {} failed: {}", options_.root, e.what());
  }
  stats.write_s = seconds_since(t0);
  std::lock_guard<std::mutex> lock(stats_mutex_);
  completed_ = stats;
}

void save_checkpoint(const std::string& root, int64_t step, const TrainingState& state,
                     const RetentionPolicy& retention, const std::string& program) {
  CheckpointWriterOptions options;
  options.root = root;
  options.async = false;
  options.retention = retention;
  options.program = program;
  CheckpointWriter writer(std::move(options));
  writer.save(step, state);
}

}  // namespace mtdnn::checkpoints
