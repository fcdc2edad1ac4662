// TensorBoard's event files, written directly: `tensorboard --logdir` reads them as it reads
// TensorFlow's and PyTorch's SummaryWriter's. The format is a sequence of records
//   uint64 length, uint32 masked CRC-32C of the length, the bytes, uint32 masked CRC-32C of them
// (little endian; CRC-32C from Boost.CRC), each holding one serialized `Event` protocol
// buffer: wall_time (field 1, double), step (2, int64), and either file_version (3, string:
// "brain.Event:2", the file's first record) or a summary (5) of scalar values (Summary.value
// (1) -> Value{tag (1), simple_value (2, float)}). The three messages are encoded here by
// hand: a protobuf library and TensorBoard's .proto files would be far larger than they.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mtdnn::orchestrator {

// CRC-32C of `bytes`, masked as TensorBoard's records require.
uint32_t masked_crc32c(std::string_view bytes);
// One record framing `data`.
std::string tf_record(std::string_view data);
// A serialized Event holding `scalars` (tag, value) at `step`.
std::string scalar_event(const std::vector<std::pair<std::string, float>>& scalars, int64_t step, double wall_time);
// A serialized Event holding the file version.
std::string file_version_event(double wall_time);

class TfEventsWriter {
 public:
  // Creates `dir` when missing and a new file events.out.tfevents.<unix seconds>.<host>.<pid>
  // in it, starting with the file-version record. InputError when it cannot be written.
  explicit TfEventsWriter(const std::string& dir);
  ~TfEventsWriter();
  TfEventsWriter(const TfEventsWriter&) = delete;
  TfEventsWriter& operator=(const TfEventsWriter&) = delete;

  // Appends one event of `scalars` at `step` and flushes it to the file.
  void add_scalars(const std::vector<std::pair<std::string, float>>& scalars, int64_t step, double wall_time);
  const std::string& path() const { return path_; }

 private:
  void write(const std::string& event);
  std::string path_;
  std::FILE* file_ = nullptr;
};

// Seconds since the Unix epoch, as Event.wall_time holds them.
double unix_time_now();

}  // namespace mtdnn::orchestrator
