// The on-disk checkpoint format (docs/checkpoints.md), torch-free: names, the manifest
// (meta.json), the safetensors layout of state.safetensors, and listing a checkpoint root.
//   <root>/ckpt-<step>/state.safetensors  every tensor (safetensors, reference layout)
//   <root>/ckpt-<step>/meta.json          format, step, tensor table with SHA-256s, meta
//   <root>/ckpt-<step>/DONE               "<sha256 of meta.json>  meta.json" (sha256sum -c)
//   <root>/latest                         "ckpt-<step>": the commit point, written last
// Used by the writer, the verifier, the reader and mtdnn-ckpt.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tensor_io/safetensors_header.h"

namespace mtdnn::checkpoints {

inline constexpr const char* kFormatName = "mtdnn-checkpoint";
inline constexpr int kFormatVersion = 1;
inline constexpr const char* kStateFile = "state.safetensors";
inline constexpr const char* kMetaFile = "meta.json";
inline constexpr const char* kDoneFile = "DONE";
inline constexpr const char* kLatestFile = "latest";
// Folders a save is written under before its rename; readers never look at them.
inline constexpr const char* kTempPrefix = ".tmp-ckpt-";

// "ckpt-<step>" and back (nullopt for any other name: temporaries, "ckpt-01x", ...).
std::string checkpoint_folder_name(int64_t step);
std::optional<int64_t> parse_checkpoint_folder_name(const std::string& name);

// One tensor of state.safetensors.
struct TensorRecord : tensor_io::SafetensorsEntry {
  std::string sha256;          // of the bytes [begin, end), lower-case hex
};

// meta.json.
struct Manifest {
  int format_version = kFormatVersion;
  int64_t step = 0;
  std::string created_utc;                       // "2024-05-01T12:00:00Z"
  nlohmann::json writer = nlohmann::json::object();  // program, host, pid
  uint64_t state_bytes = 0;                      // size of state.safetensors
  uint64_t header_bytes = 0;                     // 8 + JSON header length
  std::map<std::string, TensorRecord> tensors;
  nlohmann::json meta = nlohmann::json::object();  // the trainer's TrainingState::meta
};

nlohmann::json manifest_to_json(const Manifest& manifest);
// Parses and validates meta.json text (magic, version, counts, offsets that tile the data
// section); InputError prefixed by `where`.
Manifest parse_manifest(const std::string& text, const std::string& where);

// The layout of state.safetensors for a set of tensors: data offsets (largest element
// size first, then by name, so that every tensor is aligned for its dtype when the file
// is mapped) and the header bytes that precede the data.
struct StateLayout {
  std::vector<std::string> order;                // tensors in data order
  std::map<std::string, TensorRecord> records;   // sha256 left empty
  std::string header;                            // 8-byte length + JSON, padded to 8
  uint64_t data_bytes = 0;
};
struct TensorShape {
  std::string dtype;
  std::vector<int64_t> shape;
};
StateLayout plan_state_layout(const std::map<std::string, TensorShape>& tensors, int64_t step);

// Checkpoint folders directly under `root` (ckpt-<step> names only), by increasing step.
struct CheckpointRef {
  std::string path;
  int64_t step = 0;
};
std::vector<CheckpointRef> list_checkpoints(const std::string& root);

// The `latest` pointer of `root`: absent, or the folder it names, or why it is malformed.
struct LatestPointer {
  bool present = false;
  std::string target;   // "ckpt-<step>" when valid
  std::string problem;  // non-empty when present but malformed
};
LatestPointer read_latest_pointer(const std::string& root);

// Current UTC time as "YYYY-MM-DDTHH:MM:SSZ".
std::string utc_timestamp();

}  // namespace mtdnn::checkpoints
