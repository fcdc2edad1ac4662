// CheckpointWriter: saves TrainingStates as complete-or-nothing checkpoints without
// stalling training. The trainer's thread only copies the tensors into a staging buffer;
// a background thread writes, checksums and commits. Commit protocol (one save):
//   1. mkdir <root>/.tmp-ckpt-<step>-<pid>; write state.safetensors (O_DIRECT where the
//      file system allows), hashing each tensor on a second thread meanwhile
//   2. write meta.json (format, step, tensor table with SHA-256s, the trainer's meta)
//   3. write DONE = "<sha256 of meta.json>  meta.json"; fsync every file and the folder
//   4. rename the folder to ckpt-<step> (an older ckpt-<step> is moved aside first); fsync root
//   5. write <root>/latest = "ckpt-<step>" atomically (write_file_atomic): the commit point
//   6. retention (retention.h), never touching what `latest` names
// A crash anywhere before 5 leaves `latest` on the previous checkpoint, still intact; the
// temporary folder is ignored by readers and removed by the next writer. A failed write
// (disk full, EFBIG) abandons the save, removes its temporary folder and is reported by
// the next save() or wait(). One writer per checkpoint root at a time.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "checkpoints/retention.h"
#include "checkpoints/training_state.h"

namespace mtdnn::checkpoints {

// Points of a save at which CheckpointWriterOptions::phase_hook is called (tests kill the
// process there to check that every point leaves a valid checkpoint behind).
enum class SavePhase {
  kStateWriting,  // state.safetensors partly written (after its first tensor)
  kBeforeRename,  // the temporary folder is complete and synced
  kRenamed,       // ckpt-<step> exists, `latest` not yet updated
  kCommitted,     // `latest` names the new checkpoint; retention not yet run
};

struct CheckpointWriterOptions {
  std::string root;       // checkpoint root folder, created when missing
  bool is_writer = true;  // rank 0: writes; other ranks' save() and wait() do nothing
  bool async = true;      // false: save() writes and commits before returning
  // Nice value of the background threads (write, SHA-256), so that they yield to training;
  // 0 leaves them at the process's priority.
  int background_nice = 10;
  RetentionPolicy retention;
  // Identity recorded in meta.json ("writer": program, host, pid are added).
  std::string program = "mtdnn";
  // Tests only: called at each SavePhase, on the writing thread.
  std::function<void(SavePhase, int64_t step)> phase_hook;
};

// Where the time of one save went. blocked_s is what training waits for.
struct SaveStats {
  int64_t step = -1;
  uint64_t bytes = 0;            // size of state.safetensors
  double wait_previous_s = 0;    // save() waiting for the previous save to finish
  double snapshot_s = 0;         // copying the tensors into the staging buffer
  double blocked_s = 0;          // the caller's whole time in save()
  double write_s = 0;            // writing + fsync + commit (background), set when done
};

class CheckpointWriter {
 public:
  explicit CheckpointWriter(CheckpointWriterOptions options);
  // Waits for a save in flight; an error nobody collected is logged, not thrown.
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  // Saves `state` as ckpt-<step>. Waits for the previous save first and throws its error,
  // if it failed, without starting this one (call again to retry). Then snapshots every
  // tensor (so the caller may change them as soon as save() returns) and writes in the
  // background (or right away when !async). Throws Error for a tensor it cannot store.
  SaveStats save(int64_t step, const TrainingState& state);
  // Blocks until the save in flight is committed; throws its error (SystemError naming the
  // file, the step and the checkpoint that stays current). Call before exiting.
  void wait();
  // Whether a save is in flight (its thread may have finished but not been joined).
  bool busy() const { return thread_.joinable(); }
  // The last save that completed (write_s filled in); step -1 before any.
  SaveStats last_completed() const;
  const CheckpointWriterOptions& options() const { return options_; }

 private:
  struct Staging;
  void join_previous();
  void write_and_commit(int64_t step, SaveStats stats);

  CheckpointWriterOptions options_;
  std::unique_ptr<Staging> staging_;  // reused across saves (the next save waits anyway)
  std::thread thread_;
  std::exception_ptr error_;  // set by the background thread, read after join
  mutable std::mutex stats_mutex_;
  SaveStats completed_;
};

// Writes one checkpoint synchronously (import-hf, tests): CheckpointWriter with async off.
void save_checkpoint(const std::string& root, int64_t step, const TrainingState& state,
                     const RetentionPolicy& retention = {}, const std::string& program = "mtdnn");

}  // namespace mtdnn::checkpoints
