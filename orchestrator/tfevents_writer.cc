// TensorBoard event files (see tfevents_writer.h).
#include "orchestrator/tfevents_writer.h"

#include <unistd.h>

#include <boost/crc.hpp>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "common/error.h"

namespace mtdnn::orchestrator {
namespace {

// Protocol-buffer wire format: a key is (field << 3) | wire type.
enum WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void put_varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void put_key(std::string* out, int field, WireType type) { put_varint(out, (static_cast<uint64_t>(field) << 3) | type); }

template <typename T>
void put_little_endian(std::string* out, T value) {
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // x86-64 and aarch64 are little endian, as the format is
  out->append(reinterpret_cast<const char*>(bytes), sizeof(T));
}

void put_bytes(std::string* out, int field, std::string_view bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out->append(bytes);
}

std::string event_header(int64_t step, double wall_time) {
  std::string e;
  put_key(&e, 1, kFixed64);
  put_little_endian(&e, wall_time);
  put_key(&e, 2, kVarint);
  put_varint(&e, static_cast<uint64_t>(step));
  return e;
}

}  // namespace

uint32_t masked_crc32c(std::string_view bytes) {
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;  // CRC-32C (Castagnoli)
  crc.process_bytes(bytes.data(), bytes.size());
  const uint32_t c = crc.checksum();
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

std::string tf_record(std::string_view data) {
  std::string length;
  put_little_endian(&length, static_cast<uint64_t>(data.size()));
  std::string out = length;
  put_little_endian(&out, masked_crc32c(length));
  out.append(data);
  put_little_endian(&out, masked_crc32c(data));
  return out;
}

std::string scalar_event(const std::vector<std::pair<std::string, float>>& scalars, int64_t step, double wall_time) {
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string v;
    put_bytes(&v, 1, tag);
    put_key(&v, 2, kFixed32);
    put_little_endian(&v, value);
    put_bytes(&summary, 1, v);
  }
  std::string e = event_header(step, wall_time);
  put_bytes(&e, 5, summary);
  return e;
}

std::string file_version_event(double wall_time) {
  std::string e = event_header(0, wall_time);
  put_bytes(&e, 3, "brain.Event:2");
  return e;
}

double unix_time_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TfEventsWriter::TfEventsWriter(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  MTDNN_INPUT_CHECK(!ec, "{}: cannot create the TensorBoard folder: {}", dir, ec.message());
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::strcpy(host, "localhost");
  const double now = unix_time_now();
  path_ = (fs::path(dir) / fmt::format("events.out.tfevents.{}.{}.{}", static_cast<int64_t>(now), host, getpid()))
              .string();
  file_ = std::fopen(path_.c_str(), "wb");
  MTDNN_INPUT_CHECK(file_ != nullptr, "{}: cannot write the TensorBoard event file", path_);
  write(file_version_event(now));
}

TfEventsWriter::~TfEventsWriter() {
  if (file_) std::fclose(file_);
}

void TfEventsWriter::add_scalars(const std::vector<std::pair<std::string, float>>& scalars, int64_t step,
                                 double wall_time) {
  write(scalar_event(scalars, step, wall_time));
}

void TfEventsWriter::write(const std::string& event) {
  const std::string record = tf_record(event);
  MTDNN_INPUT_CHECK(std::fwrite(record.data(), 1, record.size(), file_) == record.size() && std::fflush(file_) == 0,
                    "{}: cannot write the TensorBoard event file", path_);
}

}  // namespace mtdnn::orchestrator
