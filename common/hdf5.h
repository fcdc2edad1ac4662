// RAII handles and checked calls for the HDF5 C API, used by the shard format (and
// later checkpoints). Every failing call throws SystemError naming the call, the
// object (file and dataset) and the source location.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace mtdnn::h5 {

// Owns one hid_t and closes it with the right H5*close for its type.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// Silences HDF5's own error printing (our messages say what failed); call once per process.
void quiet_errors();

// Throws SystemError("<what>: <call> failed") when an HDF5 call returns a negative value.
[[noreturn]] void fail(const std::string& what, const char* call, const char* file, int line);

// The HDF5 memory type for a C++ element type (int32, int64, uint8, uint16, float).
template <typename T>
hid_t native_type();

// Creates a file for writing with object time tracking off, so that the same content gives
// the same bytes. `what` names the file in errors.
Handle create_file(const std::string& path);
Handle open_file_readonly(const std::string& path);

void write_attr(hid_t obj, const char* name, const std::string& value, const std::string& what);
void write_attr(hid_t obj, const char* name, int64_t value, const std::string& what);
bool has_attr(hid_t obj, const char* name);
std::string read_attr_string(hid_t obj, const char* name, const std::string& what);
int64_t read_attr_int64(hid_t obj, const char* name, const std::string& what);

bool has_dataset(hid_t file, const char* name);
Handle open_dataset(hid_t file, const char* name, const std::string& what);
// Number of elements of a one-dimensional dataset.
int64_t dataset_length(hid_t dset, const std::string& what);
// Stored element size in bytes and class (for validation of the stored type).
H5T_class_t dataset_type_class(hid_t dset, const std::string& what);

// Reads elements [begin, begin + count) of a one-dimensional dataset into `out`,
// converting to T (e.g. stored uint16 ids into int32).
template <typename T>
void read_slice(hid_t dset, int64_t begin, int64_t count, T* out, const std::string& what);
template <typename T>
std::vector<T> read_all(hid_t dset, const std::string& what) {
  std::vector<T> out(static_cast<size_t>(dataset_length(dset, what)));
  read_slice(dset, 0, static_cast<int64_t>(out.size()), out.data(), what);
  return out;
}

// A one-dimensional dataset that grows by appends (chunked, unlimited). `stored` is the
// file type; appended values of type T are converted to it.
template <typename T>
class AppendableDataset {
 public:
  AppendableDataset(hid_t file, const char* name, hid_t stored, int64_t chunk,
                    std::string what);
  void append(const T* data, int64_t count);
  void append(const std::vector<T>& v) { append(v.data(), static_cast<int64_t>(v.size())); }
  int64_t size() const { return size_; }

 private:
  Handle dset_;
  int64_t size_ = 0;
  std::string what_;
};

}  // namespace mtdnn::h5

#define MTDNN_H5(what, call)                                                         \
  ([&]() {                                                                           \
    auto mtdnn_h5_rc = (call);                                                       \
    if (mtdnn_h5_rc < 0) ::mtdnn::h5::fail((what), #call, __FILE__, __LINE__);       \
    return mtdnn_h5_rc;                                                              \
  }())
